"""Questions over documents nobody here wrote, through the CLI contract.

    python -m bench.foreign --docs DIR --questions FILE.jsonl [--split dev|test|all] [--json OUT]

``DIR`` holds third-party help pages (never committed: the README names the ones we
used, their repository, commit and licence); ``FILE`` has one case a line, as
``docs_corpus/eval/customer.jsonl``: ``kind`` answerable (``sources`` relative to
``DIR`` and a ``fact`` that a right quote contains) or unanswerable (must be handed
off), a ``split``, and optionally the ``structure`` that holds the answer (list,
table, heading, faq, steps, sentence). The folder is ingested with ``lotse ingest``
and every question asked with ``lotse ask --json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from bench.answers import lotse
from bot.answer.chain import says_not_found
from kb.text import fold


def _norm(text: str) -> str:
    return " ".join(fold(text).split())


def judge(case: dict, answer: dict) -> bool:
    if case["kind"] == "unanswerable":  # handed off, or an honest "not in our documents"
        return answer["handoff"] or says_not_found(answer["answer"])
    cited = {c["source"] for c in answer["citations"]}
    return (not answer["handoff"] and not says_not_found(answer["answer"])
            and bool(cited & set(case["sources"]))
            and _norm(case["fact"]) in _norm(answer["answer"]))


def run(docs: Path, cases: list[dict]) -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="lotse-foreign-") as home:
        lotse("ingest", str(docs), home=Path(home))
        out = lotse("ask", "--json", home=Path(home),
                    stdin="\n".join(c["question"] for c in cases) + "\n").stdout
    answers = [json.loads(line) for line in out.splitlines() if line.strip()]
    return [{**c, "answer": a, "correct": judge(c, a)} for c, a in zip(cases, answers)]


def report(rows: list[dict]) -> dict:
    groups: dict[str, list[bool]] = defaultdict(list)
    for r in rows:
        groups[r["kind"]].append(r["correct"])
        groups[f"{r['kind']} {r['language']}"].append(r["correct"])
        if r["kind"] == "answerable":
            groups[f"answerable in a {r.get('structure', 'sentence')}"].append(r["correct"])
    return {k: {"n": len(v), "correct": sum(v) / len(v)} for k, v in sorted(groups.items())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--docs", type=Path, required=True)
    ap.add_argument("--questions", type=Path, required=True)
    ap.add_argument("--split", choices=["dev", "test", "all"], default="dev")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--misses", action="store_true", help="print every wrong case")
    args = ap.parse_args(argv)
    if not args.docs.is_dir() or not args.questions.exists():
        print(f"SKIPPED: {args.docs} or {args.questions} not found")
        return 0
    cases = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    cases = [c for c in cases if args.split == "all" or c["split"] == args.split]
    rows = run(args.docs, cases)
    result = report(rows)
    print(f"| {args.split} split | cases | right |\n|---|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value['n']} | {value['correct']:.3f} |")
    if args.misses:
        for r in rows:
            if not r["correct"]:
                a = r["answer"]
                print(f"  {r['id']} [{r['kind']} {r.get('structure', '')}] {r['question']} -> "
                      f"{a['handoff_reason'] or a['answer'][:140]!r} (conf {a['confidence']:.2f}; "
                      f"fact {r.get('fact', '')!r})")
    if args.json:
        args.json.write_text(json.dumps({"result": result, "rows": rows}, ensure_ascii=False,
                                        indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
