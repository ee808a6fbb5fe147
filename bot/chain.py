"""The answer chain: escalate, retrieve, maybe ask back, answer, and decide on handoff.

    >>> chain = AnswerChain(retriever, ExtractiveAnswerer(settings.answer), settings.answer)
    >>> answer = chain.ask("Wie lange habe ich Rückgaberecht?", view="customer")
    >>> answer.handoff, answer.citations[0].source
    (False, 'faq/ruecksendung-versand-zahlung.csv')

Order matters: an angry customer or one who asks for a person goes to a
human no matter how good the retrieval is; a question the sources do not
answer well goes to a human instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.confidence import Signals, confidence, signals
from bot.extractive import Extract, ExtractiveAnswerer, asks_for_number
from bot.handoff import escalation_reason, handoff_message
from kb.errors import LotseError
from kb.retrieval import HybridRetriever, Retrieval
from kb.settings import AnswerSettings
from kb.text import detect_language, fold
from kb.types import Answer, Hit

MAX_QUESTION_CHARS = 4000


class InvalidQuestion(LotseError):
    """The question is empty or too long to answer."""


def clean_question(question: str) -> str:
    """Whitespace folded; ``InvalidQuestion`` when empty or too long to answer."""
    question = re.sub(r"\s+", " ", question or "").strip()
    if not question:
        raise InvalidQuestion("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise InvalidQuestion(
            f"the question has {len(question)} characters; at most {MAX_QUESTION_CHARS} are answered"
        )
    return question


def product_options(question: str, hits: Sequence[Hit], margin: float) -> list[str]:
    """Products of one family that the top hits split between, when the question names none.

    "Welche Größen gibt es beim AlpinPro?" -> ["AlpinPro 35", "AlpinPro 50"].
    """
    if not hits:
        return []
    top = hits[0].score
    products: list[str] = []
    for hit in hits[:4]:
        product = hit.chunk.metadata.get("product", "")
        if product and product not in products and hit.score >= top * (1 - margin):
            products.append(product)
    if len(products) < 2:
        return []
    folded = fold(question)
    if any(fold(p) in folded for p in products):
        return []
    family = {fold(p).split()[0] for p in products}
    return products if len(family) == 1 else []


def ask_back_text(options: list[str], language: str) -> str:
    listed = " oder ".join(options) if language == "de" else " or ".join(options)
    if language == "en":
        return f"Which product do you mean: {listed}? Then I can answer precisely."
    return f"Welches Produkt meinst du: {listed}? Dann kann ich dir genau antworten."


class AnswerChain:
    """One question in, one ``Answer`` out. Stateless; sessions live in the bot layer."""

    def __init__(self, retriever: HybridRetriever, answerer: ExtractiveAnswerer,
                 settings: AnswerSettings) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.settings = settings

    def ask(self, question: str, view: str = "customer", retrieval_query: str | None = None,
            where: dict[str, str] | None = None) -> Answer:
        """Answer ``question``; ``retrieval_query`` is what to search for when a follow-up
        was rewritten with context from earlier turns."""
        question = clean_question(question)
        language = detect_language(question)
        query = retrieval_query or question
        retrieval = self.retriever.retrieve(query, view=view, where=where)
        base = dict(question=question, language=language, retrieval_query=query,
                    hits=tuple(retrieval.hits))

        # Agents ask about angry customers and lawyers as a matter of course.
        reason = escalation_reason(question) if view == "customer" else None
        if reason:
            return self._handoff(reason, base, retrieval, confidence_value=0.0)
        if not retrieval.hits:
            return self._handoff("no_sources", base, retrieval, confidence_value=0.0)

        options = product_options(query, retrieval.hits, self.settings.ask_back_margin)
        if options:
            return Answer(text=ask_back_text(options, language), citations=(), confidence=0.5,
                          handoff=False, handoff_reason=None, kind="ask_back",
                          options=tuple(options), **base)

        # The rewritten follow-up carries the intent ("Und der AlpinPro 50?" -> "Wie schwer
        # ist der AlpinPro 50?"), so sentences are chosen for it, not for the fragment.
        extract, sig = self.assess(query, retrieval)
        if not extract.citations or sig is None:
            return self._handoff("no_sources", base, retrieval, confidence_value=0.0)
        conf = confidence(sig)
        if conf < self.settings.handoff_below:
            return self._handoff("low_confidence", base, retrieval, conf, sig.as_dict())
        return Answer(text=extract.text, citations=extract.citations, confidence=conf,
                      handoff=False, handoff_reason=None, kind="faq" if extract.faq else "answer",
                      signals=sig.as_dict(), **base)

    def suggest(self, question: str, view: str = "agent") -> Answer:
        """The best extractive answer whatever its confidence, for an agent's reply draft.

        Never a handoff: the agent is the human, and decides what to send.
        """
        question = clean_question(question)
        language = detect_language(question)
        retrieval = self.retriever.retrieve(question, view=view)
        extract, sig = self.assess(question, retrieval) if retrieval.hits else (None, None)
        return Answer(text=extract.text if extract else "",
                      citations=extract.citations if extract else (),
                      confidence=confidence(sig) if sig else 0.0, handoff=False,
                      handoff_reason=None, language=language, question=question,
                      retrieval_query=question, hits=tuple(retrieval.hits))

    def assess(self, question: str, retrieval: Retrieval) -> tuple[Extract, Signals | None]:
        """The extractive answer and the signals its confidence is computed from."""
        extract = self.answerer.answer(question, retrieval)
        if not extract.citations:
            return extract, None
        has_number = any(re.search(r"\d", s) for s in extract.sentences)
        return extract, signals(retrieval.hits, extract.similarity, extract.coverage,
                                asks_for_number(question), has_number, retrieval.language,
                                retrieval.unknown_share)

    def _handoff(self, reason: str, base: dict, retrieval: Retrieval, confidence_value: float,
                 sig: dict[str, float] | None = None) -> Answer:
        return Answer(text=handoff_message(reason, base["language"]), citations=(),
                      confidence=confidence_value, handoff=True, handoff_reason=reason,  # type: ignore[arg-type]
                      kind="handoff", signals=sig or {}, **base)
