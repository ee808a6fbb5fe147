"""Fit the confidence weights on the gold set: ``python -m bench.calibrate [--store DIR]``.

Label 1: an answerable gold question whose extractive answer is right (expected
source cited, key fact present). Label 0: an unanswerable question, or an
answerable one answered wrongly; handing those off is the right call. The fit is
an L2-regularised logistic regression in numpy; the printed weights go into
``bot/confidence.py``. Needs an ingested store of docs_corpus/ (``lotse ingest``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bot.answer.confidence import FEATURES
from bot.evaluate import _norm
from bot.wiring import build_engine
from kb.settings import get_settings


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


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 0.002, steps: int = 20000,
                 lr: float = 0.5) -> np.ndarray:
    """Weights (bias first) of a logistic regression by plain gradient descent."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-xb @ w))
        grad = xb.T @ (p - y) / len(y) + l2 * np.r_[0, w[1:]]
        w -= lr * grad
    return w


def collect(engine, gold: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    rows, labels, ids = [], [], []
    for line in gold.read_text(encoding="utf-8").splitlines():
        case = json.loads(line)
        if case["kind"] not in ("answerable", "english", "agent", "unanswerable"):
            continue
        view = "agent" if case["role"] == "agent" else "customer"
        retrieval = engine.retriever.retrieve(case["question"], view=view)
        if not retrieval.hits:
            continue
        extract, sig = engine.chain.assess(case["question"], retrieval)
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
    args = ap.parse_args()
    settings = get_settings()
    if args.store:
        settings = settings.model_copy(update={"home": Path(args.store)})
    x, y, _ = collect(build_engine(settings), Path(args.gold))
    w = fit_logistic(x, y)
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
