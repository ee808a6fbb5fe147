"""Fit the confidence weights: ``python -m bench.calibrate [--store DIR]``.

The fit sees the gold set and the *dev* split of the customer-phrased set, never its
test split and never XQuAD, so those stay out-of-sample for the figures we report.
Label 1: an answerable question whose extractive answer is right (expected source
cited, key fact present). Label 0: an unanswerable question, or an answerable one
answered wrongly; handing those off is the right call. The fit is an
L2-regularised logistic regression in numpy; the printed weights go into
``bot/answer/confidence.py``. Needs an ingested store of docs_corpus/ (``lotse ingest``).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from bot.answer.confidence import FEATURES
from bot.answer.understanding import understand
from bot.evaluate import _norm
from bot.wiring import build_engine
from kb.settings import LotseSettings, get_settings


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def best_f1(scores: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Best F1 for the positive class over all thresholds, and that threshold."""
    best = (0.0, 0.0)
    for t in np.unique(scores):
        pred = scores >= t
        tp = float((pred & (labels == 1)).sum())
        if tp == 0:
            continue
        precision, recall = tp / pred.sum(), tp / (labels == 1).sum()
        best = max(best, (2 * precision * recall / (precision + recall), float(t)))
    return best


# The direction each signal may push the confidence. With a few hundred cases a free fit
# flips signs of correlated signals (more unknown words making an answer *more* likely);
# the constraint keeps every weight on the side its meaning gives it. None: either side.
SIGNS = {"similarity": 1, "coverage": 1, "chunk_coverage": 1, "type_match": 1, "focus": 1,
         "agreement": 1, "margin": 1, "crosslingual": None, "unknown": -1}


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.002, steps: int = 20000,
                 lr: float = 0.5, signs: tuple[int | None, ...] | None = None) -> np.ndarray:
    """Weights (bias first) of a logistic regression by projected gradient descent; a weight
    with a sign in ``signs`` is held at zero rather than cross to the other side."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]]
        w -= lr * grad
        for i, sign in enumerate(signs or (), start=1):
            if sign is not None and w[i] * sign < 0:
                w[i] = 0.0
    return w


def collect(engine, *paths: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rows, labels, ids = [], [], []
    cases = [json.loads(line) for path in paths
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    for case in cases:
        if case["kind"] not in ("answerable", "english", "agent", "unanswerable"):
            continue
        if case.get("split", "dev") != "dev":
            continue  # the customer set's test split is never fitted on
        view = "agent" if case.get("role") == "agent" else "customer"
        understood = understand(case["question"])
        if understood.act:
            continue
        retrieval = engine.retriever.retrieve(understood.core, view=view)
        if not retrieval.hits:
            continue
        extract, sig = engine.chain.assess(retrieval.query, retrieval)
        if sig is None:
            continue
        right = (case["kind"] != "unanswerable"
                 and bool({c.source for c in extract.citations} & set(case["sources"]))
                 and _norm(case["fact"]) in _norm(extract.text))
        rows.append([sig.as_dict()[f] for f in FEATURES])
        labels.append(1.0 if right else 0.0)
        ids.append(case["id"])
    return np.asarray(rows), np.asarray(labels), ids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store")
    ap.add_argument("--gold", default="docs_corpus/eval/gold.jsonl")
    ap.add_argument("--customer", default="docs_corpus/eval/customer.jsonl")
    ap.add_argument("--foreign-docs", type=Path, help="third-party pages (see bench.corpora)")
    ap.add_argument("--foreign-questions", type=Path, help="their questions; dev split used")
    args = ap.parse_args()
    settings = get_settings()
    if args.store:
        settings = settings.model_copy(update={"home": Path(args.store)})
    engine = build_engine(settings)
    x, y, _ = collect(engine, Path(args.gold), Path(args.customer))
    if args.foreign_docs and args.foreign_questions:
        with tempfile.TemporaryDirectory(prefix="lotse-calibrate-") as home:
            foreign = build_engine(LotseSettings(home=Path(home)), embedder=engine.embedder)
            foreign.syncer.sync([args.foreign_docs])
            fx, fy, _ = collect(foreign, args.foreign_questions)
        x, y = np.vstack([x, fx]), np.concatenate([y, fy])
    w = fit_logistic(x, y, signs=tuple(SIGNS[f] for f in FEATURES))
    scores = 1 / (1 + np.exp(-(np.hstack([np.ones((len(x), 1)), x]) @ w)))
    f1, threshold = best_f1(scores, y)
    print(f"{len(y)} cases, {int(y.sum())} answered right; AUROC {auroc(scores, y):.3f}, "
          f"best F1 {f1:.3f} at {threshold:.3f}")
    print("WEIGHTS = {")
    for name, value in zip(("bias",) + FEATURES, w):
        print(f'    "{name}": {value:.3f},')
    print("}")


if __name__ == "__main__":
    main()
