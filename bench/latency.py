"""Warm ``ask`` latency at the docs_corpus size and with synthetic stores of 10k and 100k chunks.

    python -m bench.latency [--sizes 10000 100000] [--questions 60] [--json OUT]

The docs_corpus store is built by the real ingest. Synthetic stores are written
through the same generation writer, with chunks recombined from the corpus's
sentences and vectors mixed from those sentences' real embeddings (plus noise),
so the dense index sees a realistic distribution without embedding 100k texts.
Every measured call is the full answer chain (retrieval, sentence selection,
confidence) on the gold questions, after a warm-up pass.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bot.chat.engine import Engine
from bot.wiring import build_engine
from ingest.chunking import chunk_units
from kb.chroma_records import Sentence
from kb.embedders import UseEmbedder
from kb.retrieval import VIEWS, build_lexical
from kb.settings import LotseSettings
from kb.types import AUDIENCES, Chunk

REPO = Path(__file__).resolve().parents[1]


def gold_questions(n: int) -> list[str]:
    lines = (REPO / "docs_corpus" / "eval" / "gold.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines][:n]


def measure(engine: Engine, questions: list[str]) -> dict[str, float]:
    for q in questions[:10]:  # warm-up: lexical index load, caches, first queries
        engine.chain.ask(q)
    times = []
    for q in questions:
        started = time.perf_counter()
        engine.chain.ask(q)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {"p50_ms": float(np.percentile(times, 50)), "p95_ms": float(np.percentile(times, 95)),
            "n": float(len(times))}


def synthetic_store(base: Engine, size: int, home: Path, seed: int = 0) -> Engine:
    """A generation of ``size`` chunks recombined from the corpus behind ``base``.

    Chunks are written first and their sentences second, with the writer's in-memory
    indexes released in between (``GenerationWriter.release``), so the build holds one
    index at a time; both passes draw the same chunks from per-batch seeds."""
    gen = base.retriever.generation()
    pool: list[tuple[str, np.ndarray]] = []
    for audience in AUDIENCES:
        for chunk, _ in gen.chunks(audience):
            for sentence, vec in gen.sentence_vectors([chunk], (audience,)):
                pool.append((sentence.text, vec))
    texts = [t for t, _ in pool]
    vecs = np.stack([v for _, v in pool])
    engine = build_engine(LotseSettings(home=home), embedder=base.embedder)
    writer = engine.store.begin()
    batch = 2000

    def draw(start: int):
        rng = np.random.default_rng([seed, start])
        for i in range(start, min(size, start + batch)):
            picks = rng.choice(len(pool), size=int(rng.integers(2, 6)), replace=False)
            text = "\n".join(texts[p] for p in picks)
            meta = {"audience": "public", "source": f"synthetic/{i // 5}.md",
                    "title": f"Synthetisches Dokument {i // 5}", "doc_type": "product",
                    "product": "", "language": "de"}
            draft = Chunk(f"syn{i}", f"doc{i // 5}", text, i % 5, f"Abschnitt {i % 17}", meta)
            chunk = Chunk(draft.id, draft.doc_id, text, draft.position, draft.section,
                          {**meta, "sentences": len(chunk_units(draft))})
            yield chunk, picks, rng

    for start in range(0, size, batch):
        chunks, chunk_vecs = [], []
        for chunk, picks, rng in draw(start):
            mixed = vecs[picks].sum(axis=0) + rng.normal(scale=0.05, size=vecs.shape[1])
            chunks.append(chunk)
            chunk_vecs.append(mixed / np.linalg.norm(mixed))
        writer.add(chunks, np.asarray(chunk_vecs, dtype=np.float32))
    writer.release()
    for start in range(0, size, batch):
        chunks, sentences, sentence_vecs = [], [], []
        for chunk, picks, rng in draw(start):
            chunks.append(chunk)
            for j, (unit, p) in enumerate(zip(chunk_units(chunk), picks)):
                sentences.append(Sentence(f"{chunk.id}:{j}", chunk.id, unit, "public",
                                          {"doc_type": "product"}))
                noisy = vecs[p] + rng.normal(scale=0.02, size=vecs.shape[1])
                sentence_vecs.append(noisy / np.linalg.norm(noisy))
        writer.add_sentences(sentences, np.asarray(sentence_vecs, dtype=np.float32), chunks)
    new = writer.as_generation()
    for view in VIEWS:
        build_lexical(new, view).save(new.cache_dir / f"lexical-{view}")
    writer.publish({"embedder": base.embedder.name, "dim": base.embedder.dim, "chunks": size})
    return engine


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    questions = gold_questions(args.questions)
    embedder = UseEmbedder()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="lotse-latency-") as tmp:
        base = build_engine(LotseSettings(home=Path(tmp) / "corpus"), embedder=embedder)
        base.syncer.sync([REPO / "docs_corpus"])
        chunks = sum(base.retriever.generation().count(a) for a in AUDIENCES)
        results[f"docs_corpus ({chunks} chunks)"] = measure(base, questions)
        for size in args.sizes:
            started = time.monotonic()
            engine = synthetic_store(base, size, Path(tmp) / f"syn{size}")
            build_s = time.monotonic() - started
            results[f"synthetic {size} chunks"] = {**measure(engine, questions),
                                                   "build_s": build_s}
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ask latency, warm, {len(questions)} gold questions each, "
          f"{platform.machine()} {time.strftime('%Y-%m-%d')}, peak RSS {rss_mb:.0f} MB")
    print("| store | p50 ms | p95 ms |")
    print("|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} |")
    if args.json:
        args.json.write_text(json.dumps({"results": results, "peak_rss_mb": rss_mb}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
