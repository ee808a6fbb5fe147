"""Whether to answer: the trained answerability model and the offered topics.

The model (``bot/models/answerable.npz``, made by ``make train``) gives the probability that
the answer the chain would give is right, from the answer units' scores and the retrieval
signals (``bot.understand.answer_features``); the thresholds chosen with it decide between
answering, offering the likely topics and a handoff (``AnswerChain.thresholds``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from bot.answer.confidence import Signals
from bot.answer.extractive import Extract, near_duplicate
from bot.answer.followup import Turn
from bot.understand.answer_features import ANSWER_FEATURES, answer_values
from bot.understand.linear import MODELS, LinearModel
from kb.retrieval import Retrieval
from kb.text import fold


def history_suggested(history: Sequence[Turn]) -> bool:
    """Topics were offered in the last turn: a second round of them helps nobody."""
    return bool(history and history[-1].suggestions)


def chosen_suggestion(message: str, history: Sequence[Turn]) -> dict[str, str] | None:
    """The offered topic a message picks (its title, as a quick reply sends it)."""
    if not history:
        return None
    picked = fold(message).strip(" .!?")
    return next((s for s in history[-1].suggestions if fold(s["title"]).strip() == picked), None)


@lru_cache(maxsize=1)
def answerability_model() -> LinearModel | None:
    """The trained answerability model; None before ``make train`` has made one."""
    path = MODELS / "answerable.npz"
    return LinearModel.load(path, ANSWER_FEATURES) if path.exists() else None


def answer_features_of(extract: Extract, sig: Signals, retrieval: Retrieval) -> dict[str, float]:
    """The answerability features of an extract (``bot.understand.answer_features``): one
    score per distinct unit, best first, so a near-copy of the best does not hide how far
    ahead it is."""
    distinct: list[float] = []
    seen: list[str] = []
    for cand in extract.candidates:
        if any(near_duplicate(cand.text, t) for t in seen):
            continue
        seen.append(cand.text)
        distinct.append(cand.score)
        if len(distinct) >= 8:
            break
    best_rank = extract.candidates[0].hit_rank if extract.candidates else 0
    return answer_values(unit_scores=distinct, best_in_top_hit=best_rank == 0,
                         signals=sig.as_dict(), faq=extract.faq, faq_match=extract.faq_score,
                         top_score=retrieval.hits[0].score if retrieval.hits else 0.0)
