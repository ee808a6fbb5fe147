"""Retrieval and handoff on XQuAD: BM25, dense, plain RRF and Lotse side by side.

    python -m bench.xquad --de ../shared/data/xquad/xquad.dev.de.json \\
                          --en ../shared/data/xquad/xquad.dev.en.json [--json OUT]

The German paragraphs go through Lotse's real ingest (loader, chunker, offline
embedder, store), so every method ranks the same chunks; a paragraph's rank is
that of its best chunk. German questions and the parallel English questions are
asked against the German paragraphs.

Handoff protocol: 40 paragraphs are held out (``random.Random(0).sample(range(n), 40)``),
the rest are indexed, and every German question is scored; questions about a held-out
paragraph must hand off. AUROC and best F1 (of the handoff class) are reported for each
method's confidence: the top-1 score for BM25, dense and RRF, the calibrated answer
confidence for Lotse.

Skips with a message, and exit code 0, when the data files are absent.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.calibrate import auroc, best_f1
from bot.chat.engine import Engine
from bot.wiring import build_engine
from kb.settings import LotseSettings

METHODS = ("bm25", "dense", "rrf", "lotse")
HOLD_OUT = 40


def fitted_article(index: int) -> bool:
    """Whether ``make train`` fits on the article at ``index`` of the development file (those
    at even positions); answer-level figures are reported on the others only, so a model
    fitted on XQuAD is never scored on the articles it saw."""
    return index % 2 == 0


def load_squad(path: Path) -> tuple[list[str], list[tuple[str, int]]]:
    """Paragraphs, and (question, paragraph index) pairs, in file order."""
    data = json.loads(path.read_text(encoding="utf-8"))
    paragraphs: list[str] = []
    questions: list[tuple[str, int]] = []
    for article in data["data"]:
        for para in article["paragraphs"]:
            paragraphs.append(para["context"])
            questions += [(qa["question"], len(paragraphs) - 1) for qa in para["qas"]]
    return paragraphs, questions


def build_store(paragraphs: list[str], keep: list[int], home: Path, embedder) -> Engine:
    """Ingest the kept paragraphs as Markdown files through Lotse's real pipeline."""
    folder = home / "docs"
    folder.mkdir(parents=True)
    for i in keep:
        (folder / f"p{i:03d}.md").write_text(
            f"---\ntitle: Absatz\ndoc_type: article\nlanguage: de\n---\n{paragraphs[i]}\n",
            encoding="utf-8")
    engine = build_engine(LotseSettings(home=home / "store"), embedder=embedder)
    report = engine.syncer.sync([folder])
    if report.failed:
        raise SystemExit(f"ingest failed: {report.failed}")
    return engine


class Baselines:
    """BM25 alone, dense alone and plain RRF over all chunks of one generation."""

    def __init__(self, engine: Engine) -> None:
        gen = engine.retriever.generation()
        self.lexical = engine.retriever.lexical(gen, "customer")
        rows = {chunk.id: (chunk, vec) for chunk, vec in gen.chunks("public", include_vectors=True)}
        self.ids = self.lexical.ids
        self.para = np.asarray([int(Path(rows[c][0].source).stem[1:]) for c in self.ids])
        self.vectors = np.stack([rows[c][1] for c in self.ids])
        self.embedder = engine.embedder

    def rankings(self, question: str, vector: np.ndarray) -> dict[str, tuple[list[int], float]]:
        """Paragraph ranking and top-1 score for each baseline."""
        bm25 = self.lexical.word_scores(question)
        dense = self.vectors @ vector
        out = {}
        for name, scores in (("bm25", bm25), ("dense", dense)):
            order = np.argsort(-scores)
            out[name] = (_paragraphs(self.para[order]), float(scores[order[0]]))
        fused = reciprocal_rank_fusion([[self.ids[i] for i in np.argsort(-bm25)],
                                        [self.ids[i] for i in np.argsort(-dense)]])
        index = {cid: i for i, cid in enumerate(self.ids)}
        top = 2.0 / 61  # the best possible RRF(k=60) score of two lists
        rrf_paras = _paragraphs(self.para[[index[c] for c in fused]])
        first = fused[0]
        rrf_top = (1 / (60 + 1 + int(np.sum(bm25 > bm25[index[first]])))
                   + 1 / (60 + 1 + int(np.sum(dense > dense[index[first]])))) / top
        out["rrf"] = (rrf_paras, rrf_top)
        return out


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = 60) -> list[str]:
    """Plain RRF (Cormack et al., 2009), the baseline Lotse's fusion is compared with."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, cid in enumerate(ranking, start=1):
            scores[cid] = scores.get(cid, 0.0) + 1.0 / (k + rank)
    return sorted(scores, key=lambda c: -scores[c])


def _paragraphs(ranked: np.ndarray) -> list[int]:
    return list(dict.fromkeys(int(p) for p in ranked))


def _metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks)
    return {
        "r@1": sum(r == 1 for r in ranks if r) / n,
        "r@5": sum(r <= 5 for r in ranks if r) / n,
        "mrr@10": sum(1 / r for r in ranks if r and r <= 10) / n,
    }


def _rank(ranking: list[int], gold: int) -> int | None:
    return ranking.index(gold) + 1 if gold in ranking else None


def retrieval_benchmark(engine: Engine, questions: list[tuple[str, int]],
                        embedder) -> dict[str, dict[str, float]]:
    base = Baselines(engine)
    vectors = embedder.embed_batch([q for q, _ in questions])
    ranks: dict[str, list[int | None]] = {m: [] for m in METHODS}
    for (question, gold), vector in zip(questions, vectors):
        for name, (ranking, _) in base.rankings(question, vector).items():
            ranks[name].append(_rank(ranking, gold))
        hits = engine.retriever.retrieve(question, k=10).hits
        lotse = _paragraphs(np.asarray([int(Path(h.chunk.source).stem[1:]) for h in hits]))
        ranks["lotse"].append(_rank(lotse, gold))
    return {m: _metrics(r) for m, r in ranks.items()}


def handoff_benchmark(paragraphs: list[str], questions: list[tuple[str, int]], embedder,
                      home: Path) -> dict[str, dict[str, float]]:
    held_out = set(random.Random(0).sample(range(len(paragraphs)),
                                           min(HOLD_OUT, len(paragraphs) // 3)))
    keep = [i for i in range(len(paragraphs)) if i not in held_out]
    engine = build_store(paragraphs, keep, home, embedder)
    base = Baselines(engine)
    vectors = embedder.embed_batch([q for q, _ in questions])
    scores: dict[str, list[float]] = {m: [] for m in METHODS}
    labels = np.asarray([1 if gold in held_out else 0 for _, gold in questions])
    for (question, _), vector in zip(questions, vectors):
        for name, (_, top) in base.rankings(question, vector).items():
            scores[name].append(-top)  # a low top score argues for a handoff
        retrieval = engine.retriever.retrieve(question)
        if retrieval.hits:
            extract, sig = engine.chain.assess(question, retrieval)
            scores["lotse"].append(-engine.chain.score(extract, sig, retrieval))
        else:
            scores["lotse"].append(0.0)
    out = {}
    for name, values in scores.items():
        s = np.asarray(values)
        out[name] = {"auroc": auroc(s, labels), "f1": best_f1(s, labels)[0]}
    return out


def table(result: dict) -> str:
    lines = ["| retriever | DE R@1 | DE R@5 | DE MRR@10 | EN→DE R@1 | EN→DE R@5 | EN→DE MRR@10 |"
             " handoff AUROC | handoff F1 |", "|---|---|---|---|---|---|---|---|---|"]
    for m in METHODS:
        de, en, h = result["de"][m], result["en_de"][m], result["handoff"][m]
        lines.append(f"| {m} | {de['r@1']:.3f} | {de['r@5']:.3f} | {de['mrr@10']:.3f} | "
                     f"{en['r@1']:.3f} | {en['r@5']:.3f} | {en['mrr@10']:.3f} | "
                     f"{h['auroc']:.3f} | {h['f1']:.3f} |")
    return "\n".join(lines)


def data_missing(*paths: Path) -> bool:
    """Say so (the benchmarks skip, they do not fail) when the XQuAD files are absent."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        print(f"SKIPPED: XQuAD data not found ({', '.join(missing)}); it lives in "
              "../shared/data/xquad/ and is never copied into the repo.")
    return bool(missing)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "xquad"
    ap.add_argument("--de", type=Path, default=shared / "xquad.dev.de.json")
    ap.add_argument("--en", type=Path, default=shared / "xquad.dev.en.json")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    if data_missing(args.de, args.en):
        return 0

    from kb.embedders import UseEmbedder

    started = time.monotonic()
    paragraphs, de_questions = load_squad(args.de)
    en_paragraphs, en_questions = load_squad(args.en)
    if len(en_paragraphs) != len(paragraphs) or [g for _, g in en_questions] != [g for _, g in de_questions]:
        raise SystemExit("the German and English files are not parallel")
    embedder = UseEmbedder()
    with tempfile.TemporaryDirectory(prefix="lotse-xquad-") as tmp:
        engine = build_store(paragraphs, list(range(len(paragraphs))), Path(tmp) / "all", embedder)
        result = {
            "de": retrieval_benchmark(engine, de_questions, embedder),
            "en_de": retrieval_benchmark(engine, en_questions, embedder),
            "handoff": handoff_benchmark(paragraphs, de_questions, embedder, Path(tmp) / "held"),
        }
    print(f"XQuAD dev: {len(paragraphs)} paragraphs, {len(de_questions)} questions per language, "
          f"{time.monotonic() - started:.0f} s")
    print(table(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
