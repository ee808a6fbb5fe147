"""The confidence combination: bounded, monotone in the evidence, language-aware."""

from __future__ import annotations

from bot.answer.confidence import WEIGHTS, Signals, confidence, signals
from kb.types import Chunk, Hit


def hit(score: float, language: str = "de", bm25_rank: float = 1, dense_rank: float = 1,
        coverage: float = 0.8) -> Hit:
    chunk = Chunk(id=f"c{score}", doc_id="d", text="t", position=0, section=None,
                  metadata={"language": language, "audience": "public"})
    return Hit(chunk, score, {"bm25_rank": bm25_rank, "dense_rank": dense_rank,
                              "coverage": coverage})


def base(**change) -> Signals:
    values = dict(similarity=0.6, coverage=0.6, chunk_coverage=0.6, type_match=0.5, focus=1.0,
                  agreement=1.0, margin=0.2, crosslingual=0.0, unknown=0.0)
    return Signals(**{**values, **change})


def test_confidence_stays_in_zero_one_at_the_extremes():
    low = base(similarity=0, coverage=0, chunk_coverage=0, unknown=1)
    high = base(similarity=1, coverage=1, chunk_coverage=1, type_match=1)
    assert 0 < confidence(low) < confidence(high) < 1


def test_more_coverage_more_confidence_and_unknown_words_less():
    assert confidence(base(coverage=0.9)) > confidence(base(coverage=0.3))
    # Each weight stays on the side of its meaning (bench.calibrate fits with that constraint).
    assert confidence(base(unknown=0.5)) <= confidence(base(unknown=0.0))
    assert all(WEIGHTS[k] >= 0 for k in ("similarity", "coverage", "chunk_coverage", "type_match",
                                          "focus", "agreement", "margin"))
    assert confidence(base(focus=0.0)) < confidence(base(focus=1.0))
    assert confidence(base(type_match=0.0)) < confidence(base(type_match=1.0))
    assert set(WEIGHTS) == {"bias", *base().as_dict()}


def test_signals_from_hits():
    s = signals([hit(1.0, coverage=0.7), hit(0.5)], similarity=0.8, coverage=0.6,
                type_match=0.0, focus=0.5, language="de", unknown_share=0.25)
    assert s.margin == 0.5 and s.type_match == 0.0 and s.chunk_coverage == 0.7 and s.focus == 0.5
    assert s.crosslingual == 0.0 and s.unknown == 0.25
    english = signals([hit(1.0)], 0.8, 0.6, 0.5, 1.0, "en", unknown_share=0.5)
    # Across languages, words the German index lacks say nothing about the answer.
    assert english.crosslingual == 1.0 and english.unknown == 0.0
