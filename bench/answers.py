"""XQuAD at answer level, through the CLI contract: is the gold span in the answer, and who is
handed off?

    python -m bench.answers [--de …/xquad.dev.de.json --en …/xquad.dev.en.json] [--json OUT]

The development half of XQuAD (``../shared/data/xquad/``) is split as in ``bench.xquad``:
40 paragraphs held out with ``random.Random(0)``, the other 80 written as one Markdown file
each and ingested with ``lotse ingest``. Every German question, and its parallel English
question, is asked through ``lotse ask --json`` (one process per language, questions on
stdin), so the figures are those of the contract an outside caller sees.

For a question about a kept paragraph ("answerable"): *span* is the share whose answer
contains one of the German gold answer spans (a handoff counts as a miss), *false handoff*
the share handed off. For a question about a held-out paragraph: *held-out handoff* is the
share handed off. A sweep over the handoff threshold (``answer.handoff_below``) shows the
trade-off: a question counts as handed off at threshold t when it was escalated, found no
source, or its confidence is below t.

``make train`` fits the answer models on the articles at even positions
(``bench.xquad.fitted_article``); every question is asked, but the figures count only the
questions of the other twelve articles.

Skips with a message, and exit code 0, when the data files are absent.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from bench import XQUAD
from bench.xquad import HOLD_OUT, data_missing, fitted_article
from bot.answer.texts import says_not_found
from kb.text import fold

REPO = Path(__file__).resolve().parents[1]

THRESHOLDS = (0.30, 0.35, 0.40, 0.42, 0.45, 0.50, 0.55, 0.60)


def load(path: Path) -> tuple[list[str], list[dict]]:
    """Paragraphs and questions (text, paragraph index, answer spans) in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[str] = []
    questions: list[dict] = []
    for n, article in enumerate(data["data"]):
        for para in article["paragraphs"]:
            paragraphs.append(para["context"])
            for qa in para["qas"]:
                questions.append({"id": qa["id"], "question": qa["question"],
                                  "paragraph": len(paragraphs) - 1, "article": n,
                                  "spans": [a["text"] for a in qa["answers"]]})
    return paragraphs, questions


def held_out(n: int) -> set[int]:
    """The paragraphs whose questions must be handed off (the protocol of bench.xquad)."""
    return set(random.Random(0).sample(range(n), min(HOLD_OUT, n // 3)))


def _norm(text: str) -> str:
    return " ".join(fold(text).replace("[", " ").replace("]", " ").split())


def contains_span(answer: str, spans: list[str]) -> bool:
    said = _norm(answer)
    return any(_norm(s) and _norm(s) in said for s in spans)


def lotse(*args: str, home: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "LOTSE_HOME": str(home)}
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, cwd=REPO, check=True)


def ask_all(questions: list[str], home: Path) -> list[dict]:
    out = lotse("ask", "--json", home=home, stdin="\n".join(questions) + "\n").stdout
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(answers) != len(questions):
        raise SystemExit(f"asked {len(questions)} questions, got {len(answers)} answers")
    return answers


def score(rows: list[dict], threshold: float | None = None) -> dict[str, float]:
    """Span, false handoff and held-out handoff over rows of (kept, spans, answer)."""
    def handed_off(a: dict) -> bool:
        """Not answered: a handoff, or likely topics offered (the ``suggest`` route)."""
        if threshold is None or a["handoff_reason"] not in (None, "low_confidence"):
            return a["handoff"] or a.get("route") == "suggest"
        return a["confidence"] < threshold

    kept = [r for r in rows if r["kept"]]
    gone = [r for r in rows if not r["kept"]]
    out = {"false_handoff": sum(handed_off(r["answer"]) for r in kept) / max(1, len(kept)),
           "held_out_handoff": sum(handed_off(r["answer"]) for r in gone) / max(1, len(gone))}
    if threshold is None:
        answered = [r for r in kept if not handed_off(r["answer"])
                    and not says_not_found(r["answer"]["answer"])]
        out["span"] = sum(contains_span(r["answer"]["answer"], r["spans"])
                          for r in answered) / max(1, len(kept))
        # An honest "not in our documents" is no false answer either.
        out["held_out_not_answered"] = sum(
            handed_off(r["answer"]) or says_not_found(r["answer"]["answer"]) for r in gone
        ) / max(1, len(gone))
    return out


def run(de_path: Path, en_path: Path) -> dict:
    paragraphs, de_questions = load(de_path)
    _, en_questions = load(en_path)
    if [q["paragraph"] for q in en_questions] != [q["paragraph"] for q in de_questions]:
        raise SystemExit("the German and English files are not parallel")
    gone = held_out(len(paragraphs))
    result: dict = {"paragraphs": len(paragraphs), "held_out": len(gone)}
    with tempfile.TemporaryDirectory(prefix="lotse-answers-") as tmp:
        docs, home = Path(tmp) / "docs", Path(tmp) / "home"
        docs.mkdir()
        for i, text in enumerate(paragraphs):
            if i not in gone:
                (docs / f"p{i:03d}.md").write_text(
                    f"---\ntitle: Absatz\ndoc_type: article\nlanguage: de\n---\n{text}\n",
                    encoding="utf-8")
        started = time.monotonic()
        lotse("ingest", str(docs), home=home)
        result["ingest_seconds"] = round(time.monotonic() - started, 1)
        for language, questions in (("de", de_questions), ("en", en_questions)):
            started = time.monotonic()
            answers = ask_all([q["question"] for q in questions], home)
            seconds = time.monotonic() - started
            # English questions are answered from German paragraphs: the German spans count.
            rows = [{"id": q["id"], "question": q["question"], "kept": q["paragraph"] not in gone,
                     "spans": de_questions[i]["spans"], "answer": a}
                    for i, (q, a) in enumerate(zip(questions, answers, strict=True))
                    if not fitted_article(q["article"])]
            result[language] = {
                **score(rows), "questions": len(rows),
                "answerable": sum(r["kept"] for r in rows),
                "ms_per_question": round(1000 * seconds / len(answers), 1),
                "sweep": {f"{t:.2f}": score(rows, t) for t in THRESHOLDS},
                "held_out_routes": dict(Counter(r["answer"].get("route") for r in rows
                                                if not r["kept"])),
                "misses": [{"id": r["id"], "question": r["question"], "spans": r["spans"],
                            "answer": r["answer"]["answer"][:300],
                            "handoff": r["answer"]["handoff"],
                            "confidence": r["answer"]["confidence"]}
                           for r in rows
                           if r["kept"] and (r["answer"]["handoff"]
                                             or not contains_span(r["answer"]["answer"], r["spans"]))],
            }
    return result


def table(result: dict) -> str:
    lines = ["| questions | span in answer (of answerable) | false handoff (of answerable) | "
             "held-out handed off | held-out handed off or 'not in our documents' |",
             "|---|---|---|---|---|"]
    names = {"de": "German", "en": "English over German paragraphs"}
    for language in ("de", "en"):
        r = result[language]
        lines.append(f"| {names[language]} | {r['span']:.3f} | {r['false_handoff']:.3f} | "
                     f"{r['held_out_handoff']:.3f} | {r['held_out_not_answered']:.3f} |")
    lines += ["", "Threshold sweep (false handoff / held-out handoff):", "",
              "| handoff below | German | English |", "|---|---|---|"]
    for t in THRESHOLDS:
        de, en = result["de"]["sweep"][f"{t:.2f}"], result["en"]["sweep"][f"{t:.2f}"]
        lines.append(f"| {t:.2f} | {de['false_handoff']:.3f} / {de['held_out_handoff']:.3f} | "
                     f"{en['false_handoff']:.3f} / {en['held_out_handoff']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--de", type=Path, default=XQUAD / "xquad.dev.de.json")
    ap.add_argument("--en", type=Path, default=XQUAD / "xquad.dev.en.json")
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "answers.json")
    args = ap.parse_args(argv)
    if data_missing(args.de, args.en):
        return 0
    started = time.monotonic()
    result = run(args.de, args.en)
    print(f"XQuAD dev at answer level: {result['paragraphs'] - result['held_out']} paragraphs "
          f"ingested, {result['held_out']} held out, {result['de']['questions']} questions per "
          f"language, {time.monotonic() - started:.0f} s\n")
    print(table(result))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"date": date.today().isoformat(),
                                     "machine": f"{platform.machine()} {os.cpu_count()} cores",
                                     **result}, ensure_ascii=False, indent=2))
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
