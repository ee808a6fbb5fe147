"""The committed training data, by split: the dialogue-act bank and the corpora's cases.

Splits come from ``bench/corpora/splits.yaml``: corpora and the bank's writers are each
``train``, ``dev`` or ``test``. Nothing here reads a test split unless asked by name.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CORPORA = REPO / "bench" / "corpora"
# What a case's kind says about the act of its message.
KIND_ACT = {"answerable": "question", "unanswerable": "question", "advice": "question",
            "offtopic": "offtopic", "anger": "anger", "ask_human": "ask_human"}


def splits() -> dict:
    return yaml.safe_load((CORPORA / "splits.yaml").read_text(encoding="utf-8"))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]


def bank_files() -> list[Path]:
    """The checked bank, or (before the second reader is done) the writers' files."""
    checked = CORPORA / "dialogue_acts.jsonl"
    return [checked] if checked.exists() else sorted(CORPORA.glob("dialogue_acts.w*.jsonl"))


def bank(split: str) -> list[dict]:
    """The utterances whose writer is in ``split``: ``{"text", "act", "group"}``."""
    writers = {w for w, s in (splits().get("dialogue_acts") or {}).items() if s == split}
    rows = [r for path in bank_files() for r in read_jsonl(path)]
    return [{"text": r["text"], "act": r["act"], "group": r["writer"]}
            for r in rows if r["writer"] in writers]


def corpora(split: str) -> list[str]:
    return [name for name, s in (splits().get("corpora") or {}).items() if s == split]


def corpus_cases(name: str) -> list[dict]:
    path = CORPORA / name / "cases.jsonl"
    return read_jsonl(path) if path.exists() else []


def case_messages(split: str) -> list[dict]:
    """Every customer message of the corpora in ``split`` with the act its case implies:
    ``{"text", "act", "group"}`` (the group is the corpus)."""
    out = []
    for name in corpora(split):
        for case in corpus_cases(name):
            for turn in case.get("turns", [case]):
                text = turn.get("message")
                kind = turn.get("kind", case["kind"])
                act = turn.get("act") or case.get("act") if kind == "smalltalk" else KIND_ACT.get(kind)
                if text and act:
                    out.append({"text": text, "act": act, "group": name})
    return out


def data_files(split: str) -> list[Path]:
    """The files a split's data comes from, for a model card."""
    files = [p for p in bank_files()]
    files += [CORPORA / n / "cases.jsonl" for n in corpora(split)
              if (CORPORA / n / "cases.jsonl").exists()]
    return files
