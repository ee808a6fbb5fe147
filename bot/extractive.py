"""The default answerer: quotes the sentences that answer the question, and cites each.

Nothing is generated. An FAQ hit whose question matches well is returned whole;
otherwise up to ``max_sentences`` sentences are chosen from the top hits by
meaning (the sentence vectors stored at ingest), by how many of the question's
terms they cover, and by whether they hold the kind of fact asked for (a number
for "wie viel", a duration for "wie lange"). They are shown in document order
with markers ``[n]`` that map to the citations.

    >>> extract = ExtractiveAnswerer(settings.answer).answer(question, retrieval)
    >>> extract.text
    'Größe L passt bei einer Rückenlänge von 46 bis 53 cm. [1]'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kb.retrieval import Retrieval
from kb.settings import AnswerSettings
from kb.text import fold, ngram_tokens
from kb.types import Citation, Hit

_NUMBER_QUESTION = re.compile(
    r"\b(wie (viel|viele|lange|schwer|gross|groß|breit|hoch|weit|warm|kalt|oft|teuer)|was kostet|"
    r"welche (wassersaule|komforttemperatur|weite|grosse|temperatur)|wann|bis wann|ab wann|ab welche\w*|"
    r"how (much|many|long|heavy|big|wide|warm|often)|what does .* cost|when)\b"
)
_HAS_NUMBER = re.compile(r"\d")

GERMAN_SOURCES_NOTE = "The sources that answer this are in German. Here is what they say:"


@dataclass(frozen=True)
class Candidate:
    hit_rank: int
    position: int
    text: str
    score: float
    similarity: float
    coverage: float


def asks_for_number(question: str) -> bool:
    """Does the question ask for an amount, a size, a duration or a date?"""
    return bool(_NUMBER_QUESTION.search(fold(question)))


def snippet(text: str, focus: str = "", limit: int = 240) -> str:
    """A short excerpt of ``text``, centred on ``focus`` when given."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    start = max(0, text.find(focus) - limit // 4) if focus and focus in text else 0
    piece = text[start : start + limit]
    return ("…" if start else "") + piece.rsplit(" ", 1)[0] + "…"


class ExtractiveAnswerer:
    """Grounded answers built only from retrieved text."""

    name = "extractive"

    def __init__(self, settings: AnswerSettings) -> None:
        self.settings = settings

    def faq_match(self, question: str, hit: Hit, retrieval: Retrieval) -> float:
        """How well ``question`` matches the FAQ question of ``hit`` (0..1)."""
        faq_q = hit.chunk.metadata.get("faq_question")
        if not faq_q:
            return 0.0
        sims = [sim for s, sim in retrieval.sentences.get(hit.chunk.id, []) if s.text in faq_q]
        dense = max(sims, default=hit.signals.get("dense", 0.0))
        lexical = float(retrieval.coverage(question, [faq_q])[0])
        return 0.5 * dense + 0.5 * lexical

    def answer(self, question: str, retrieval: Retrieval) -> "Extract":
        hits = retrieval.hits
        if not hits:
            return Extract("", (), [], 0.0, 0.0, False)
        top = hits[0]
        faq_score = self.faq_match(question, top, retrieval)
        if faq_score >= self.settings.faq_match:
            answer = top.chunk.metadata["faq_answer"]
            cite = _citation(1, top, answer)
            text = self._wrap([f"{answer} [1]"], retrieval.language, [top])
            return Extract(text, (cite,), [answer], faq_score, faq_score, True)

        candidates = self._candidates(question, retrieval)
        if not candidates:
            return Extract("", (), [], 0.0, 0.0, False)
        best = candidates[0]
        chosen = [best]
        for cand in candidates[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            if cand.score < 0.8 * best.score or cand.hit_rank > 2:
                continue
            if any(_near_duplicate(cand.text, c.text) for c in chosen):
                continue
            chosen.append(cand)
        chosen.sort(key=lambda c: (c.hit_rank, c.position))

        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for cand in chosen:
            if cand.hit_rank not in numbers:
                numbers[cand.hit_rank] = len(numbers) + 1
                citations.append(_citation(numbers[cand.hit_rank], hits[cand.hit_rank], cand.text))
            lines.append(f"{cand.text} [{numbers[cand.hit_rank]}]")
        text = self._wrap(lines, retrieval.language, [hits[c.hit_rank] for c in chosen])
        context = " ".join(f"{hits[c.hit_rank].chunk.title} {hits[c.hit_rank].chunk.section or ''} {c.text}"
                           for c in chosen)
        covered = float(retrieval.coverage(question, [context])[0])
        return Extract(text, tuple(citations), [c.text for c in chosen], best.similarity, covered, False)

    def _candidates(self, question: str, retrieval: Retrieval) -> list[Candidate]:
        wants_number = asks_for_number(question)
        top_score = max(retrieval.hits[0].score, 1e-6)
        rows: list[tuple[int, int, str, float, str]] = []
        for rank, hit in enumerate(retrieval.hits):
            # Title and section give a sentence its context: "Er wiegt 2,9 kg" is about the
            # product in the title, so the question's product name must not favour other sentences.
            context = f"{hit.chunk.title} {hit.chunk.section or ''}"
            for position, (sentence, sim) in enumerate(retrieval.sentences.get(hit.chunk.id, [])):
                if len(sentence.text) >= 12:
                    rows.append((rank, position, sentence.text, sim, f"{context} {sentence.text}"))
        if not rows:
            return []
        covs = retrieval.coverage(question, [r[4] for r in rows])
        out = []
        for (rank, position, text, sim, _), cov in zip(rows, covs):
            relevance = retrieval.hits[rank].score / top_score
            score = 0.45 * sim + 0.35 * float(cov) + 0.2 * relevance
            if wants_number and _HAS_NUMBER.search(text):
                score += 0.1
            out.append(Candidate(rank, position, text, score, sim, float(cov)))
        out.sort(key=lambda c: -c.score)
        return out

    @staticmethod
    def _wrap(lines: list[str], language: str, hits: Sequence[Hit]) -> str:
        body = " ".join(lines)
        if language == "en" and any(h.chunk.metadata.get("language") == "de" for h in hits):
            return f"{GERMAN_SOURCES_NOTE}\n{body}"
        return body


@dataclass(frozen=True)
class Extract:
    """What the extractive answerer found, before the chain decides on handoff."""

    text: str
    citations: tuple[Citation, ...]
    sentences: list[str]
    similarity: float
    coverage: float
    faq: bool


def _citation(n: int, hit: Hit, focus: str) -> Citation:
    chunk = hit.chunk
    return Citation(n=n, source=chunk.source, title=chunk.title, section=chunk.section,
                    snippet=snippet(chunk.text, focus), score=hit.score, audience=chunk.audience)


def _near_duplicate(a: str, b: str) -> bool:
    ga, gb = set(ngram_tokens(a)), set(ngram_tokens(b))
    return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) > 0.8
