"""How well the citation check blocks unsupported generated sentences.

    python -m bench.grounding [--json OUT]

``bench/data/grounding.jsonl`` holds generated-style sentences over docs_corpus/,
each labelled ``supported`` or ``unsupported`` by hand: paraphrases, number
words, English answers over German sources, wrong numbers and units, invented
products and brands, yes/no claims no source makes, missing and out-of-range
citations. Each sentence cites the chunks named in ``cite`` (``path#section``),
shown to the check as a prompt shows them (title, section, text). The positive class is *unsupported*: precision is the share of
blocked sentences that deserved it, recall the share of unsupported ones blocked.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from bench.contrast import contrast_set
from bot.answer.grounding import CitationChecker, source_text
from bot.wiring import build_engine
from kb.settings import GroundingSettings, LotseSettings
from kb.types import AUDIENCES

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "bench" / "data" / "grounding.jsonl"
# Written by someone who never saw the check, before it was changed for them (issue 15).
HANDWRITTEN = REPO / "bench" / "data" / "grounding_handwritten.jsonl"
TARGET_RECALL, TARGET_PRECISION = 0.95, 0.90
# What `make test` enforces (--check): measured 1.000 / 0.955 on 2026-11-25. No unsupported
# sentence of the set may pass, and at most two supported ones may be blocked.
CI_RECALL, CI_PRECISION = 1.0, 0.95
# Targets of the out-of-sample sets (issue 15) and what CI enforces, set from measured values.
CONTRAST_BLOCKED, CONTRAST_PASSED = 0.99, 0.95
HAND_BLOCKED, HAND_PASSED = 0.97, 0.90
# Floors from measured values, a little below them so run-to-run noise does not fail CI.
# First out-of-sample measurement (2026-11-25, check unchanged): contrast 0.318 blocked /
# 0.998 passed; hand-written dev de 0.303 / 0.850, en 0.679 / 0.409, test de 0.214 / 0.842,
# en 0.818 / 0.455. With the clause rules (bot/answer/claims.py, same day): contrast 0.936
# / 0.996; dev de 0.697 / 0.850, en 0.786 / 0.409; test de 0.571 / 0.763, en 0.955 / 0.455.
# Still below the targets; a regression fails CI.
CI_CONTRAST = (0.92, 0.99)
CI_HAND: dict[str, tuple[float, float]] = {"dev_de": (0.66, 0.82), "dev_en": (0.76, 0.38),
                                           "test_de": (0.55, 0.74), "test_en": (0.93, 0.43)}


def load_cases(path: Path = CASES) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def cited_sources(chunks: list, case: dict) -> list[str]:
    """The texts behind [1], [2], …: the chunk of each cited ``path#section``."""
    texts = []
    for cite in case["cite"]:
        path, _, section = cite.partition("#")
        chunk = next((c for c in chunks if c.source == path and c.section == section), None)
        if chunk is None:
            raise SystemExit(f"{case['id']}: no chunk {cite} in the store")
        texts.append(source_text(chunk))
    return texts


def score(rows: list[dict]) -> dict:
    tp = sum(r["blocked"] and r["label"] == "unsupported" for r in rows)
    fp = sum(r["blocked"] and r["label"] == "supported" for r in rows)
    fn = sum(not r["blocked"] and r["label"] == "unsupported" for r in rows)
    return {"precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0, "tp": tp, "fp": fp, "fn": fn}


def _judge(checker: CitationChecker, sentence: str, sources: list[str]) -> tuple[bool, str | None,
                                                                            float, float]:
    verdicts = checker.check(sentence, sources)
    reasons = [v.reason for v in verdicts if not v.ok]
    return (bool(reasons), reasons[0] if reasons else None,
            max((v.lexical for v in verdicts), default=0.0),
            max((v.semantic for v in verdicts), default=0.0))


def _rates(rows: list[dict]) -> dict:
    """Blocked share of the unsupported and passed share of the supported rows."""
    bad = [r for r in rows if r["label"] == "unsupported"]
    good = [r for r in rows if r["label"] == "supported"]
    return {"unsupported": len(bad), "supported": len(good),
            "blocked_unsupported": sum(r["blocked"] for r in bad) / len(bad) if bad else 1.0,
            "passed_supported": sum(not r["blocked"] for r in good) / len(good) if good else 1.0}


def _per_kind(title: str, rows: list[dict], by: tuple[str, ...] = ("kind", "label")) -> None:
    print(f"\n| {title}: {' / '.join(by)} | n | blocked |\n|---|---|---|")
    groups = Counter(tuple(r[k] for k in by) for r in rows)
    blocked = Counter(tuple(r[k] for k in by) for r in rows if r["blocked"])
    for key, n in sorted(groups.items()):
        print(f"| {' / '.join(key)} | {n} | {blocked[key]} ({blocked[key] / n:.2f}) |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "grounding.json")
    parser.add_argument("--check", action="store_true",
                        help="exit 1 below the thresholds of every set (CI)")
    parser.add_argument("--split", choices=["dev", "test", "all"], default="all",
                        help="which split of the hand-written set to report")
    parser.add_argument("--mistakes", action="store_true", help="list every wrong verdict")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as home:
        settings = LotseSettings(home=Path(home))
        engine = build_engine(settings)
        engine.syncer.sync([REPO / "docs_corpus"])
        gen = engine.store.current()
        checker = CitationChecker(engine.embedder, engine.retriever.products("agent"),
                                  settings.grounding, engine.retriever.vocabulary(gen))
        chunks = [c for audience in AUDIENCES for c, _ in gen.chunks(audience)]
        rows, handwritten = [], []
        for case in load_cases():
            blocked, reason, lexical, semantic = _judge(checker, case["sentence"],
                                                        cited_sources(chunks, case))
            rows.append({**case, "blocked": blocked, "reason": reason, "lexical": lexical,
                         "semantic": semantic})
        splits = ("dev", "test") if args.split == "all" else (args.split,)
        for case in load_cases(HANDWRITTEN):
            if case["split"] not in splits:
                continue
            blocked, reason, lexical, semantic = _judge(checker, case["sentence"],
                                                        cited_sources(chunks, case))
            handwritten.append({**case, "blocked": blocked, "reason": reason,
                                "lexical": lexical, "semantic": semantic})
        contrast_cases = contrast_set([(c.source, source_text(c)) for c in chunks])
        started = time.perf_counter()
        contrast = []
        for case in contrast_cases:
            blocked, reason, _, _ = _judge(checker, case.sentence, [case.cited])
            contrast.append({**case.as_row(), "blocked": blocked, "reason": reason})
        per_sentence_ms = 1000 * (time.perf_counter() - started) / max(1, len(contrast))

    result = score(rows)
    labels = Counter(r["label"] for r in rows)
    print(f"Citation check on the tuning set: {len(rows)} labelled sentences "
          f"({labels['supported']} supported, {labels['unsupported']} unsupported; in-sample)\n")
    print("| metric | value | target |\n|---|---|---|")
    print(f"| precision at blocking unsupported | {result['precision']:.3f} | >= {TARGET_PRECISION} |")
    print(f"| recall at blocking unsupported | {result['recall']:.3f} | >= {TARGET_RECALL} |")
    print(f"| blocked / wrongly blocked / let through | {result['tp']} / {result['fp']} / {result['fn']} | |")
    _per_kind("tuning set", rows)

    contrast_rates = _rates(contrast)
    print(f"\nContrast set, generated from docs_corpus/ on this run: {len(contrast)} sentences, "
          f"{per_sentence_ms:.2f} ms a sentence")
    print("\n| contrast set | value | target |\n|---|---|---|")
    print(f"| unsupported blocked | {contrast_rates['blocked_unsupported']:.3f} "
          f"(n={contrast_rates['unsupported']}) | >= {CONTRAST_BLOCKED} |")
    print(f"| supported passed | {contrast_rates['passed_supported']:.3f} "
          f"(n={contrast_rates['supported']}) | >= {CONTRAST_PASSED} |")
    _per_kind("contrast set", contrast)

    hand: dict[str, dict] = {}
    print("\n| hand-written set | unsupported blocked | supported passed | n |\n|---|---|---|---|")
    for split in splits:
        for language in ("de", "en"):
            part = [r for r in handwritten if r["split"] == split and r["lang"] == language]
            rates = hand[f"{split}_{language}"] = _rates(part)
            print(f"| {split} {language} | {rates['blocked_unsupported']:.3f} | "
                  f"{rates['passed_supported']:.3f} | {len(part)} |")
    print(f"\n(targets: >= {HAND_BLOCKED} blocked at >= {HAND_PASSED} passed, both languages)")
    _per_kind("hand-written set", handwritten, ("split", "lang", "kind", "label"))

    if args.mistakes:
        for name, part in (("tuning", rows), ("hand-written", handwritten), ("contrast", contrast)):
            wrong = [r for r in part if r["blocked"] != (r["label"] == "unsupported")]
            print(f"\n{name} mistakes ({len(wrong)}):")
            for r in wrong[:200]:
                print(f"  {r.get('id', r.get('source'))} [{r['label']} {r['kind']}] {r['sentence']!r} "
                      f"-> {'blocked: ' + str(r['reason']) if r['blocked'] else 'passed'}")
    reasons = Counter(r["reason"] for r in rows if r["blocked"])
    print("\nblocked by (tuning set):", ", ".join(f"{k} {v}" for k, v in reasons.most_common()))

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "date": date.today().isoformat(), "machine": f"{platform.machine()} {platform.processor()}",
        "cases": len(rows), "thresholds": GroundingSettings().model_dump(), **result,
        "met": result["recall"] >= TARGET_RECALL and result["precision"] >= TARGET_PRECISION,
        "contrast": {**contrast_rates, "ms_per_sentence": per_sentence_ms},
        "handwritten": hand, "rows": rows, "handwritten_rows": handwritten}, ensure_ascii=False,
        indent=2))
    print(f"\nwrote {args.json}")
    failures = []
    if result["recall"] < CI_RECALL or result["precision"] < CI_PRECISION:
        failures.append(f"tuning set: recall {result['recall']:.3f} (needs {CI_RECALL}), "
                        f"precision {result['precision']:.3f} (needs {CI_PRECISION})")
    if contrast_rates["blocked_unsupported"] < CI_CONTRAST[0] or \
            contrast_rates["passed_supported"] < CI_CONTRAST[1]:
        failures.append(f"contrast set: {contrast_rates['blocked_unsupported']:.3f} blocked, "
                        f"{contrast_rates['passed_supported']:.3f} passed (needs {CI_CONTRAST})")
    for key, rates in hand.items():
        floor = CI_HAND.get(key)
        if floor and (rates["blocked_unsupported"] < floor[0] or rates["passed_supported"] < floor[1]):
            failures.append(f"hand-written {key}: {rates['blocked_unsupported']:.3f} blocked, "
                            f"{rates['passed_supported']:.3f} passed (needs {floor})")
    if args.check and failures:
        for line in failures:
            print(f"BELOW THRESHOLD: {line}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
