"""Fit the unit ranker and the answerability model; write them to ``bot/models/``.

    python -m learn.answers [--test]

Data: the training corpora of ``bench/corpora/splits.yaml``, each ingested into a
temporary home, and their answerable and unanswerable messages (single messages and the
first turn of conversations). Each answerable question also becomes an unanswerable one
with its labelled pages taken out of the hits, as if the page were not in the index.

1. The **unit ranker** learns which sentence among the top hits holds the labelled fact
   (a sentence that contains it, from a labelled page).
2. The chain is run again with that ranker, and the **answerability model** learns from
   the features of the answer it gives whether that answer is right: the same criterion
   as ``bench.corpora.judge`` (the fact said, and the sentence that says it cites a
   labelled page); unanswerable questions and page-less copies are never right.

The thresholds between answering, suggesting topics and handing off are chosen on the
dev corpora, whose figures the cards report (models fitted on train only). ``--test``
scores the test corpora as well: once, at the end of a round.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression

from bench.corpora.__main__ import docs_of
from bench.corpora.judge import fact_said, norm
from bot.understand.answer_features import ANSWER_FEATURES, UNIT_FEATURES, vector
from bot.understand.linear import MODELS, LinearModel
from learn import xquad
from learn.data import CORPORA, corpora, corpus_cases, sha256
from learn.report import write_card

PAGELESS = "pageless"


def questions(name: str) -> list[dict]:
    """The answerable and unanswerable messages of a corpus with what a right answer says."""
    out = []
    for case in corpus_cases(name):
        first = case["turns"][0] if "turns" in case else case
        kind = first.get("kind", case["kind"])
        if kind in ("answerable", "unanswerable") and first.get("message"):
            out.append({"corpus": name, "id": case["id"], "kind": kind,
                        "text": first["message"], "target": first})
    return out


def build(name: str, home: Path, embedder, docs: Path | None = None):
    from bot.wiring import build_engine
    from kb.settings import LotseSettings

    engine = build_engine(LotseSettings(home=home), embedder=embedder)
    report = engine.syncer.sync([docs or docs_of(name)])
    print(f"  {name}: {report.summary()}", file=sys.stderr)
    return engine


def run(engine, item: dict):
    """The chain's answer path for one message, up to the extract: (retrieval, extract,
    signals), with the labelled pages left out for a page-less copy."""
    from bot.answer.question import Question
    from bot.answer.understanding import understand

    question = Question.of(item["text"])
    understood = understand(question.text)
    query = understood.core or question.text
    k = engine.retriever.settings.top_k
    retrieval = engine.retriever.retrieve(query, view="customer", language=question.language,
                                          k=k + 5 if item.get(PAGELESS) else None)
    if item.get(PAGELESS):
        pages = pages_of(item["target"])
        retrieval = replace(retrieval, hits=[h for h in retrieval.hits
                                             if h.chunk.source not in pages][:k])
    if not retrieval.hits:
        return retrieval, None, None
    resolved = understood.resolved(retrieval.query)
    extract, sig = engine.chain.assess(retrieval.query, retrieval, resolved)
    return retrieval, extract, sig


def with_pageless(items: list[dict]) -> list[dict]:
    """``items`` and a page-less copy of each answerable one: the question as if its page
    were not in the index, an unanswerable example."""
    return items + [{**q, PAGELESS: True} for q in items if q["kind"] == "answerable"]


def pages_of(target: dict) -> set[str]:
    return {target["source"], *target.get("alt_sources", [])} if "source" in target else set()


def unit_labels(item: dict, retrieval, extract) -> np.ndarray:
    """1 for a unit that holds the labelled fact (or an accepted variant) on a labelled page."""
    target = item["target"]
    if item["kind"] != "answerable" or item.get(PAGELESS):
        return np.zeros(len(extract.candidates))
    spans = [norm(s) for s in [target["fact"], *target.get("accept", [])] if norm(s)]
    pages = pages_of(target)
    labels = []
    for cand in extract.candidates:
        text = norm(cand.text)
        on_page = retrieval.hits[cand.hit_rank].chunk.source in pages
        holds = any(s in text or (len(text.split()) >= 5 and text in s) for s in spans)
        labels.append(float(on_page and holds))
    return np.array(labels)


def answer_right(item: dict, extract) -> bool:
    """The benchmark's criterion (``bench.corpora.judge.fact_said``) on the extract."""
    if item["kind"] != "answerable" or item.get(PAGELESS) or not extract.citations:
        return False
    answer = {"answer": extract.text,
              "citations": [{"n": c.n, "source": c.source} for c in extract.citations]}
    return fact_said(answer, item["target"])


def standardised_fit(x: np.ndarray, y: np.ndarray, c: float, balanced: bool
                     ) -> tuple[LogisticRegression, np.ndarray, np.ndarray]:
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    model = LogisticRegression(C=c, max_iter=5000,
                               class_weight="balanced" if balanced else None)
    return model.fit((x - mean) / scale, y), mean, scale


def as_linear(names: tuple[str, ...], fitted) -> LinearModel:
    model, mean, scale = fitted
    return LinearModel(names, mean, scale, model.coef_[0], float(model.intercept_[0]))


def collect(engines: dict, items: list[dict]) -> list[dict]:
    """Each item with its units (features, labels) and its answer (features, right)."""
    from bot.answer.answerability import answer_features_of

    out = []
    for item in items:
        retrieval, extract, sig = run(engines[item["corpus"]], item)
        if extract is None or not extract.candidates:
            out.append({**item, "units": None, "answer": None, "right": False})
            continue
        x_units = np.stack([c.features for c in extract.candidates])
        answer = vector(ANSWER_FEATURES, answer_features_of(extract, sig, retrieval)) \
            if sig is not None else None
        offered = list(dict.fromkeys(h.chunk.source for h in retrieval.hits))[:3]
        out.append({**item, "units": (x_units, unit_labels(item, retrieval, extract)),
                    "answer": answer, "right": answer_right(item, extract),
                    "topic_offered": bool(pages_of(item["target"]) & set(offered))
                    and not item.get(PAGELESS) and len(offered) >= 2})
    return out


def tradeoff(rows: list[dict], p: np.ndarray, thresholds) -> list[dict]:
    """At each threshold: answerable questions answered right, answers given that are
    wrong (over the answers given), unanswerable ones not answered, and, for the questions
    below the threshold, how often the topics offered hold the labelled page."""
    answerable = [i for i, r in enumerate(rows) if r["kind"] == "answerable" and not r.get(PAGELESS)]
    unanswerable = [i for i, r in enumerate(rows) if r["kind"] == "unanswerable"]
    out = []
    for t in thresholds:
        given = [i for i in answerable + unanswerable if p[i] >= t]
        right = [i for i in answerable if p[i] >= t and rows[i]["right"]]
        wrong = [i for i in given if not rows[i]["right"]]
        below = [i for i in answerable if p[i] < t]
        out.append({"threshold": t, "answered_right": round(len(right) / max(len(answerable), 1), 4),
                    "wrong_of_given": round(len(wrong) / max(len(given), 1), 4),
                    "unanswerable_handled": round(sum(1 for i in unanswerable if p[i] < t)
                                                  / max(len(unanswerable), 1), 4),
                    "topic_offered_below": round(sum(rows[i].get("topic_offered", False)
                                                     for i in below) / max(len(below), 1), 4),
                    "given": len(given)})
    return out


def gain(point: dict, rows: list[dict]) -> float:
    """What answering at a trade-off ``point`` gains over not answering: right answers
    minus WRONG_COST times the wrong ones, per question."""
    answerable = sum(1 for r in rows if r["kind"] == "answerable" and not r.get(PAGELESS))
    right = point["answered_right"] * answerable
    wrong = point["wrong_of_given"] * point["given"]
    return (right - WRONG_COST * wrong) / max(len(rows), 1)


def probabilities(model: LinearModel, rows: list[dict]) -> np.ndarray:
    return np.array([float(model.probability(r["answer"])) if r["answer"] is not None else 0.0
                     for r in rows])


def main(argv: list[str] | None = None) -> int:
    from kb.embedders import UseEmbedder

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--test", action="store_true", help="score the test corpora too (once)")
    args = ap.parse_args(argv)
    names = {split: corpora(split) for split in ("train", "dev", "test")}
    items = {split: [q for n in names[split] for q in questions(n)] for split in names}
    for split in ("train", "dev"):
        items[split] = with_pageless(items[split])
    embedder = UseEmbedder(threads=2)
    wanted = names["train"] + names["dev"] + (names["test"] if args.test else [])
    with tempfile.TemporaryDirectory(prefix="lotse-learn-") as tmp:
        engines = {n: build(n, Path(tmp) / n, embedder) for n in wanted}
        if xquad.available():  # half its articles; bench.answers reports on the others
            docs = Path(tmp) / "xquad-docs"
            items["train"] += with_pageless(xquad.write_docs(docs))
            engines[xquad.NAME] = build(xquad.NAME, Path(tmp) / xquad.NAME, embedder, docs)
        else:
            print(f"XQuAD not found in {xquad.FILES[0].parent}: fitting on the corpora only",
                  file=sys.stderr)
        for path in (MODELS / "units.npz", MODELS / "answerable.npz"):
            path.unlink(missing_ok=True)  # collect with the hand-set ranker, then refit
        from bot.answer import answerability, extractive

        extractive.unit_ranker.cache_clear()
        answerability.answerability_model.cache_clear()
        # The ranker learns from the help centers only: XQuAD's questions repeat their
        # paragraph's words, and a ranker fitted on them leans on overlap that customers'
        # questions lack (it chose "innerhalb Deutschlands" for "Versand nach Graz").
        train = collect(engines, items["train"])
        units = [r["units"] for r in train if r["units"] is not None and r["corpus"] != xquad.NAME]
        x, y = np.vstack([u[0] for u in units]), np.concatenate([u[1] for u in units])
        ranker = as_linear(UNIT_FEATURES, standardised_fit(x, y, RANKER_C, balanced=False))
        ranker.save(MODELS / "units.npz")
        extractive.unit_ranker.cache_clear()
        # Again with the trained ranker: the answers the chain will give, and their features.
        train, dev = collect(engines, items["train"]), collect(engines, items["dev"])
        rows = [r for r in train + dev if r["answer"] is not None]
        # Leave one corpus out: each corpus's answers scored by a model fitted on the others;
        # the thresholds are chosen on these pooled out-of-corpus scores.
        scored = train + dev
        p_all = np.zeros(len(scored))
        for name in sorted({r["corpus"] for r in scored}):
            fit_rows = [r for r in rows if r["corpus"] != name]
            held = as_linear(ANSWER_FEATURES, standardised_fit(
                np.stack([r["answer"] for r in fit_rows]),
                np.array([float(r["right"]) for r in fit_rows]), ANSWER_C, balanced=False))
            for i, r in enumerate(scored):
                if r["corpus"] == name and r["answer"] is not None:
                    p_all[i] = float(held.probability(r["answer"]))
        model = as_linear(ANSWER_FEATURES, standardised_fit(
            np.stack([r["answer"] for r in rows]), np.array([float(r["right"]) for r in rows]),
            ANSWER_C, balanced=False))
        grid = [round(t, 2) for t in np.arange(0.1, 0.96, 0.05)]
        grid_low = [round(t, 2) for t in np.arange(0.0, 0.5, 0.05)]
        # The thresholds are a shop's trade-off: chosen on the help centers alone, XQuAD
        # only helps fit the model.
        shops = [i for i, r in enumerate(scored) if r["corpus"] != xquad.NAME]
        p_out, pooled = p_all[shops], [scored[i] for i in shops]
        curve = tradeoff(pooled, p_out, grid)
        # Answer where answering gains most over offering topics, out of corpus: a right
        # answer counts +1, a wrong one -WRONG_COST (ties go to the higher threshold). Offer
        # topics above the lowest threshold at which they hold the asked page at least
        # TOPICS_AT_LEAST of the time; hand off below.
        answer_at = max(curve, key=lambda c: (gain(c, pooled), c["threshold"]))["threshold"]
        fine = [c["threshold"] for c in tradeoff(pooled, p_out, grid_low)
                if c["topic_offered_below"] >= TOPICS_AT_LEAST]
        suggest_at = min([t for t in fine if t <= answer_at] or [answer_at])
        # "Not in our documents" needs the rest of the question to have found its topic:
        # halfway between offering topics and answering.
        model.thresholds = {"answer_at": answer_at, "suggest_at": suggest_at,
                            "not_found_at": round((answer_at + suggest_at) / 2, 3)}
        model.save(MODELS / "answerable.npz")
        by_corpus = {name: tradeoff([r for r in scored if r["corpus"] == name],
                                    np.array([p for p, r in zip(p_all, scored, strict=True)
                                              if r["corpus"] == name]), [answer_at])[0]
                     for name in sorted({r["corpus"] for r in scored})}
        figures = {"trade-off, each corpus scored by a model fitted on the others "
                   "(train and dev corpora)": curve,
                   f"per corpus at answer_at={answer_at}, out of corpus": by_corpus,
                   "dev unit ranker (fitted on train): best unit holds the fact, "
                   "answerable questions": ranker_top1(dev)}
        if args.test:
            answerability.answerability_model.cache_clear()
            test_items = [q for n in names["test"] for q in questions(n)]
            test = collect(engines, test_items)
            figures["test trade-off (fitted on train and dev)"] = tradeoff(
                test, probabilities(model, test), [answer_at])
    files = [CORPORA / n / "cases.jsonl" for n in names["train"] + names["dev"]
             if (CORPORA / n / "cases.jsonl").exists()]
    outside = list(xquad.FILES) if xquad.available() else []
    day = str(date.today())
    write_card(MODELS / "units.md", "Answer units",
               "Logistic regression over the features of each sentence of the top hits "
               "(bot/understand/answer_features.py: UNIT_FEATURES).",
               [(f, sha256(f)) for f in files], f"C={RANKER_C}",
               {k: v for k, v in figures.items() if "ranker" in k}, len(y), day)
    write_card(MODELS / "answerable.md", "Answerability",
               "Logistic regression over the features of the answer the chain gives "
               "(ANSWER_FEATURES), fitted on the train and dev corpora and XQuAD's articles "
               "at even positions (bench.answers reports on the others). With each help center "
               "scored by a model fitted on the others, answer_at is the threshold where "
               f"answering gains most (a right answer +1, a wrong one -{WRONG_COST:g}), "
               "suggest_at the lowest at which the topics offered hold the asked page at "
               f"least {TOPICS_AT_LEAST:.0%} of the time.",
               [(f, sha256(f)) for f in files + outside],
               f"C={ANSWER_C}, answer_at={answer_at}, suggest_at={suggest_at}",
               {k: v for k, v in figures.items() if "ranker" not in k}, len(rows), day)
    print(f"wrote units.npz and answerable.npz (answer_at={answer_at}, "
          f"suggest_at={suggest_at})")
    for c in curve:
        print(f"  t={c['threshold']:.2f} right {c['answered_right']:.3f} wrong/given "
              f"{c['wrong_of_given']:.3f} unanswerable handled {c['unanswerable_handled']:.3f}")
    return 0


WRONG_COST = 1.0
TOPICS_AT_LEAST = 0.5
RANKER_C = 0.1
ANSWER_C = 0.1


def ranker_top1(rows: list[dict]) -> dict:
    answerable = [r for r in rows if r["kind"] == "answerable" and not r.get(PAGELESS)]
    with_units = [r for r in answerable if r["units"] is not None]
    ranker = LinearModel.load(MODELS / "units.npz", UNIT_FEATURES)
    top = [float(r["units"][1][int(np.argmax(ranker.probability(r["units"][0])))] > 0)
           for r in with_units]
    reachable = [float(r["units"][1].max() > 0) for r in with_units]
    return {"n": len(answerable), "best_unit_right": sum(top) / max(len(answerable), 1),
            "a_right_unit_among_candidates": sum(reachable) / max(len(answerable), 1)}


if __name__ == "__main__":
    sys.exit(main())
