"""Crawl throughput, a re-crawl with nothing changed, and the retrieval test's latency.

    python -m bench.crawl [--pages 500] [--runs 3] [--json bench/results/crawl.json]

A local help center of ``--pages`` topic pages (plus the start page and one hub per ten
topics; tests/help_center.py) is served over real HTTP; each run crawls it with
``lotse ingest URL --crawl`` into a fresh store (the default embedder, the pause between
requests set to 0 so the machine, not the politeness, is measured), then crawls it again
unchanged (every page answers 304). Then the retrieval test (``check_retrieval``, both
views) runs for the gold questions on that store. Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _ingest(env: dict, url: str, pages: int) -> tuple[float, dict]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot.cli", "ingest", url, "--crawl",
                           "--max-pages", str(2 * pages), "--depth", "4", "--json"],
                          env=env, cwd=REPO, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 3):
        raise RuntimeError(done.stderr[-2000:])
    return seconds, json.loads(done.stdout)


def _retrieval_latency(home: Path, questions: list[str]) -> list[float]:
    from bot.chat.retrieval_check import check_retrieval
    from bot.wiring import build_engine
    from kb.settings import LotseSettings

    engine = build_engine(LotseSettings(home=home))
    check_retrieval(engine, questions[0])  # warm: model and indexes loaded
    times = []
    for question in questions:
        started = time.perf_counter()
        check_retrieval(engine, question)
        times.append(time.perf_counter() - started)
    return times


def run(pages: int, runs: int) -> dict:
    from bench.help_center import HelpCenter
    from bench.servers import uvicorn_thread

    site = HelpCenter.generated(pages)
    total_pages = len(site.pages)
    gold = [json.loads(line)["question"] for line in
            (REPO / "docs_corpus/eval/gold.jsonl").read_text(encoding="utf-8").splitlines()
            if line.strip()]
    first, again, probe = [], [], []
    with uvicorn_thread(site.app()) as url:
        for _ in range(runs):
            home = Path(tempfile.mkdtemp(prefix="lotse-crawl-bench-"))
            env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_INGEST__WEB_DELAY_SECONDS": "0",
                   "LOTSE_INGEST__WEB_ALLOW_LOOPBACK": "true"}
            try:
                seconds, report = _ingest(env, url + "/", pages)
                assert report["added"] == total_pages, report
                first.append(seconds)
                seconds, report = _ingest(env, url + "/", pages)
                assert report["web"][0]["not_modified"] == total_pages, report
                again.append(seconds)
                if not probe:
                    probe = _retrieval_latency(home, gold[:40] + [
                        f"Wie lange ist die Lieferzeit bei Produkt {i}?" for i in range(20)])
            finally:
                shutil.rmtree(home, ignore_errors=True)
    ordered = sorted(probe)
    return {"date": date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "pages": total_pages, "runs": runs,
            "crawl_s": first, "crawl_median_s": statistics.median(first),
            "pages_per_s": total_pages / statistics.median(first),
            "recrawl_s": again, "recrawl_median_s": statistics.median(again),
            "retrieval_test": {"n": len(probe), "p50_ms": 1000 * statistics.median(ordered),
                               "p95_ms": 1000 * ordered[round(0.95 * (len(ordered) - 1))]}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, default=REPO / "bench/results/crawl.json")
    args = parser.parse_args(argv)
    result = run(args.pages, args.runs)
    print(f"crawl of a local help center, {result['pages']} pages, {result['runs']} runs, "
          f"{result['date']}, {result['machine']}")
    print("| measure | median | runs |\n|---|---|---|")
    print(f"| first crawl (fetch, extract, embed, publish) | {result['crawl_median_s']:.1f} s "
          f"({result['pages_per_s']:.1f} pages/s) | "
          f"{', '.join(f'{s:.1f}' for s in result['crawl_s'])} |")
    print(f"| re-crawl, nothing changed (all 304) | {result['recrawl_median_s']:.1f} s | "
          f"{', '.join(f'{s:.1f}' for s in result['recrawl_s'])} |")
    probe = result["retrieval_test"]
    print(f"| retrieval test, both views (p50 / p95 of {probe['n']}) | "
          f"{probe['p50_ms']:.0f} / {probe['p95_ms']:.0f} ms | – |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
