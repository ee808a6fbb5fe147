"""Features of a candidate answer, the same for training (``learn/answers.py``) and serving.

Two models read them (``bot/models/units.npz``, ``bot/models/answerable.npz``):
- the **unit ranker** scores every sentence of the top hits as the one that holds the fact
  asked for, so the answer may come from the second or fifth chunk, and a lead sentence that
  only introduces a page loses to the one with the number;
- the **answerability model** gives the probability that the best unit answers the
  question right, which decides between answering, offering topics and a handoff.

The functions take plain values (scores, shares, flags) that ``bot.answer.extractive`` and
``bot.answer.chain`` compute from a retrieval; they only fix the order and the form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

UNIT_FEATURES = (
    "residual_coverage",  # the question's terms the chunk title does not already explain
    "coverage",           # IDF-weighted share of the question's terms in title+section+unit
    "similarity",         # dense similarity of question and unit
    "relevance",          # the hit's fused score over the top hit's
    "inverse_rank",       # 1 / (hit rank + 1)
    "lead",               # the unit opens its chunk
    "position",           # its position in the chunk, damped
    "number_wanted_and_given",
    "number_given",
    "names_own_product",  # "which one?" answered by a unit naming its product
    "other_product",      # the question names a product; this unit is about another
    "same_language",
    "opposite_action",    # "einschalten" answered by how to switch off
    "type_match",         # the unit holds the kind of answer asked for
    "focus_in_unit",      # share of the question's content words in the unit
    "focus_in_heading",   # ... in the chunk's title and section
    "length",             # words in the unit, damped
    "faq_answer",         # the unit belongs to an FAQ answer
    "similarity_gap",     # similarity minus the best similarity among the candidates
    "coverage_gap",       # residual coverage minus the best among the candidates
    "lexical_rank",       # 1 / BM25 rank of the hit
    "dense_rank",         # 1 / dense rank of the hit
)

ANSWER_FEATURES = (
    "unit_score",         # the ranker's probability for the best unit
    "unit_margin",        # its lead over the second-best unit of another sentence
    "units_above_half",   # how many units the ranker gives at least 0.5, damped
    "similarity", "coverage", "chunk_coverage", "type_match", "focus", "agreement",
    "margin", "crosslingual", "unknown",  # the retrieval signals (bot.answer.confidence)
    "faq", "faq_match",   # a whole FAQ answer, and how well its question matched
    "top_score",          # the top hit's fused score
    "best_in_top_hit",    # the best unit comes from the first hit
)


def vector(names: tuple[str, ...], values: Mapping[str, float]) -> np.ndarray:
    """``values`` in the order of ``names``; a missing value is 0."""
    return np.array([float(values.get(n, 0.0)) for n in names], dtype=np.float32)


def unit_values(*, residual_coverage: float, coverage: float, similarity: float,
                relevance: float, rank: int, position: int, wants_number: bool,
                has_number: bool, names_own_product: bool, other_product: bool,
                same_language: bool, opposite_action: bool, type_match: float,
                focus_in_unit: float, focus_in_heading: float, words: int, faq_answer: bool,
                lexical_rank: float, dense_rank: float) -> dict[str, float]:
    """One unit's features, before the gaps to the best candidate are known."""
    return {
        "residual_coverage": residual_coverage, "coverage": coverage,
        "similarity": similarity, "relevance": relevance, "inverse_rank": 1.0 / (rank + 1),
        "lead": float(position == 0), "position": math.log1p(position),
        "number_wanted_and_given": float(wants_number and has_number),
        "number_given": float(has_number), "names_own_product": float(names_own_product),
        "other_product": float(other_product), "same_language": float(same_language),
        "opposite_action": float(opposite_action), "type_match": type_match,
        "focus_in_unit": focus_in_unit, "focus_in_heading": focus_in_heading,
        "length": math.log1p(words), "faq_answer": float(faq_answer),
        "lexical_rank": 1.0 / max(lexical_rank, 1.0), "dense_rank": 1.0 / max(dense_rank, 1.0),
    }


def with_gaps(rows: list[dict[str, float]]) -> np.ndarray:
    """The units of one question as a matrix, each with its gaps to the best of them."""
    if not rows:
        return np.zeros((0, len(UNIT_FEATURES)), dtype=np.float32)
    best_sim = max(r["similarity"] for r in rows)
    best_cov = max(r["residual_coverage"] for r in rows)
    return np.stack([vector(UNIT_FEATURES, {**r, "similarity_gap": r["similarity"] - best_sim,
                                            "coverage_gap": r["residual_coverage"] - best_cov})
                     for r in rows])


def answer_values(*, unit_scores: list[float], best_in_top_hit: bool, signals: Mapping[str, float],
                  faq: bool, faq_match: float, top_score: float) -> dict[str, float]:
    """The features of an answer: the ranker's scores of the units (best first, one per
    distinct unit), the retrieval signals (``bot.answer.confidence.Signals.as_dict``) and
    whether the answer is a whole FAQ answer."""
    best = unit_scores[0] if unit_scores else 0.0
    second = unit_scores[1] if len(unit_scores) > 1 else 0.0
    return {**{k: float(v) for k, v in signals.items()},
            "unit_score": best, "unit_margin": best - second,
            "units_above_half": math.log1p(sum(1 for s in unit_scores if s >= 0.5)),
            "faq": float(faq), "faq_match": faq_match, "top_score": top_score,
            "best_in_top_hit": float(best_in_top_hit)}
