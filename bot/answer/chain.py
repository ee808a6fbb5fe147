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

import logging
import re
from collections.abc import Generator, Iterator, Sequence

from bot.answer.confidence import Signals, confidence, signals
from bot.answer.extractive import Extract, ExtractiveAnswerer, asks_for_number
from bot.answer.followup import Turn, is_followup, rewrite
from bot.answer.generative import GenerativeAnswerer, SentenceGate, is_dont_know, renumber
from bot.answer.grounding import CitationChecker, source_text
from bot.answer.handoff import escalation_reason, handoff_message
from bot.answer.question import Question
from kb.injection import instruction_in
from kb.retrieval import HybridRetriever, Retrieval
from kb.settings import AnswerSettings, GroundingSettings
from kb.text import fold
from kb.types import Answer, Citation, Hit

log = logging.getLogger(__name__)

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


REFUSAL = {
    "de": "Dabei kann ich nicht helfen. Ich beantworte Fragen zu unseren Produkten, zu "
          "Bestellungen und zum Service – frag mich gern dazu. Wenn du lieber mit einer Person "
          "sprechen möchtest, verbinde ich dich mit dem Serviceteam.",
    "en": "I can't help with that. I answer questions about our products, orders and service – "
          "feel free to ask me about those. If you'd rather talk to a person, I'll connect you "
          "with the service team.",
}


def ask_back_text(options: list[str], language: str) -> str:
    listed = " oder ".join(options) if language == "de" else " or ".join(options)
    if language == "en":
        return f"Which product do you mean: {listed}? Then I can answer precisely."
    return f"Welches Produkt meinst du: {listed}? Dann kann ich dir genau antworten."


class AnswerChain:
    """One question in, one ``Answer`` out. Stateless; sessions live in the bot layer.

    With a ``writer`` (an LLM) the answer is generated and every sentence checked
    against its cited sources before it is released; when the check leaves no
    answer, or the backend fails, the extractive answer (or a handoff) stands in.
    """

    def __init__(self, retriever: HybridRetriever, answerer: ExtractiveAnswerer,
                 settings: AnswerSettings, writer: GenerativeAnswerer | None = None,
                 grounding: GroundingSettings | None = None) -> None:
        self.retriever = retriever
        self.answerer = answerer
        self.settings = settings
        self.writer = writer
        self.grounding = grounding or GroundingSettings()

    def ask(self, question: str | Question, view: str = "customer",
            history: Sequence[Turn] = (), where: dict[str, str] | None = None) -> Answer:
        """Answer ``question`` after the earlier ``history`` of its conversation (oldest first)."""
        answer = None
        for item in self.stream(question, view, history, where):
            answer = item
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str | Question, view: str = "customer",
               history: Sequence[Turn] = (),
               where: dict[str, str] | None = None) -> Iterator[str | Answer]:
        """Deltas of the released text (with an LLM, checked sentence by sentence), then the
        ``Answer``. The deltas joined are the streamed text; the ``Answer`` is authoritative
        (it differs when the check left too little and the chain fell back)."""
        q = Question.of(question)
        question, language = q.text, q.language
        # A customer message that tries to instruct the bot reaches no answerer (nor the
        # LLM's follow-up rewrite) at all.
        attack = instruction_in(question) if view == "customer" else None
        if attack:
            yield Answer(text=REFUSAL[language], citations=(), confidence=0.0, handoff=False,
                         handoff_reason=None, language=language, kind="refused",
                         question=question, retrieval_query=question,
                         grounding={"instruction": attack})
            return
        query = self.standalone(q, history, view)
        retrieval = self.retriever.retrieve(query, view=view, where=where)
        base = dict(question=question, language=language, retrieval_query=query,
                    hits=tuple(retrieval.hits))

        # Agents ask about angry customers and lawyers as a matter of course.
        reason = escalation_reason(question) if view == "customer" else None
        if reason:
            yield self._handoff(reason, base, retrieval, confidence_value=0.0)
            return
        if not retrieval.hits:
            yield self._handoff("no_sources", base, retrieval, confidence_value=0.0)
            return

        options = product_options(query, retrieval.hits, self.settings.ask_back_margin)
        if options:
            yield Answer(text=ask_back_text(options, language), citations=(), confidence=0.5,
                         handoff=False, handoff_reason=None, kind="ask_back",
                         options=tuple(options), **base)
            return

        grounding: dict = {}
        if self.writer is not None:
            generated, grounding = yield from self._generate(question, view, retrieval, base, history)
            if generated is not None:
                yield generated
                return

        # The rewritten follow-up carries the intent ("Und der AlpinPro 50?" -> "Wie schwer
        # ist der AlpinPro 50?"), so sentences are chosen for it, not for the fragment.
        extract, sig = self.assess(query, retrieval)
        if not extract.citations or sig is None:
            yield self._handoff("no_sources", base, retrieval, 0.0, grounding=grounding)
            return
        conf = confidence(sig)
        if conf < self.settings.handoff_below:
            yield self._handoff("low_confidence", base, retrieval, conf, sig.as_dict(), grounding)
            return
        if grounding:
            grounding["fallback"] = "extractive"
        yield Answer(text=extract.text, citations=extract.citations, confidence=conf,
                     handoff=False, handoff_reason=None, kind="faq" if extract.faq else "answer",
                     signals=sig.as_dict(), grounding=grounding, **base)

    def standalone(self, question: Question, history: Sequence[Turn], view: str) -> str:
        """What to search for: the question itself, or a follow-up rewritten with what the
        earlier turns were about (by the LLM when one is configured and allowed to, else
        by rule; the rule also stands in when the LLM fails)."""
        if not history:
            return question.text
        if self.writer is not None and self.writer.settings.rewrite_followups \
                and is_followup(question.text):
            rewritten = self.writer.standalone(question.text, history)
            if rewritten:
                return rewritten
        return rewrite(question.text, history, self.retriever.products(view))

    def _generate(self, question: str, view: str, retrieval: Retrieval, base: dict,
                  history: Sequence[Turn]) -> Generator[str, None, tuple[Answer | None, dict]]:
        """The LLM's checked answer, streamed; (None, outcome) when it must fall back."""
        assert self.writer is not None
        hits = list(retrieval.hits[: self.writer.settings.sources])
        checker = CitationChecker(self.retriever.embedder, self.retriever.products(view),
                                  self.grounding)
        gate = SentenceGate(checker, [source_text(h.chunk) for h in hits])
        info: dict = {"backend": self.writer.backend}
        shown = ""
        try:
            for delta in self.writer.stream(question, hits, view, base["language"], history):
                released = renumber(gate.feed(delta), hits)[0]
                if len(released) > len(shown):
                    # Released text only grows: numbering follows first use, so a new
                    # sentence never renumbers the ones before it.
                    yield released[len(shown):]
                    shown = released
            released = renumber(gate.close(), hits)[0]
            if len(released) > len(shown):  # the last sentence is judged only at the end
                yield released[len(shown):]
        except Exception as exc:  # unreachable, timed out, refused: answer without the LLM
            log.warning("LLM backend %s failed, answering extractively: %s", self.writer.backend, exc)
            return None, {**info, "error": f"{exc.__class__.__name__}: {str(exc)[:200]}"}
        if is_dont_know(gate.raw):  # honest, and no hallucination: the quote may still answer
            info.update(sentences=0, dropped=[], said="dont_know")
            return None, info
        judged = [v for v in gate.verdicts if v.detail != "courtesy"]  # "Gern!" says nothing
        kept = [v for v in judged if v.ok]
        info.update(sentences=len(judged), dropped=[v.to_dict() for v in judged if not v.ok])
        if not kept or not judged[0].ok:
            return None, info  # what is left does not answer the question
        text, cited = renumber(gate.released, hits)
        citations = tuple(Citation(n=n, source=h.chunk.source, title=h.chunk.title,
                                   section=h.chunk.section, snippet=h.chunk.text[:240],
                                   score=h.score, audience=h.chunk.audience) for n, h in cited)
        supported = [max(v.lexical, v.semantic) for v in kept if v.cited]
        if not supported:  # only a clarifying question
            return Answer(text=text, citations=(), confidence=0.5, handoff=False,
                          handoff_reason=None, kind="ask_back", grounding=info, **base), info
        return Answer(text=text, citations=citations, confidence=sum(supported) / len(supported),
                      handoff=False, handoff_reason=None, kind="answer", grounding=info,
                      **base), info

    def suggest(self, question: str | Question, view: str = "agent") -> Answer:
        """The best extractive answer whatever its confidence, for an agent's reply draft.

        Never a handoff: the agent is the human, and decides what to send.
        """
        q = Question.of(question)
        retrieval = self.retriever.retrieve(q.text, view=view)
        extract, sig = self.assess(q.text, retrieval) if retrieval.hits else (None, None)
        return Answer(text=extract.text if extract else "",
                      citations=extract.citations if extract else (),
                      confidence=confidence(sig) if sig else 0.0, handoff=False,
                      handoff_reason=None, language=q.language, question=q.text,
                      retrieval_query=q.text, hits=tuple(retrieval.hits))

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
                 sig: dict[str, float] | None = None, grounding: dict | None = None) -> Answer:
        if grounding and "fallback" not in grounding:
            grounding["fallback"] = "handoff"
        return Answer(text=handoff_message(reason, base["language"]), citations=(),
                      confidence=confidence_value, handoff=True, handoff_reason=reason,  # type: ignore[arg-type]
                      kind="handoff", signals=sig or {}, grounding=grounding or {}, **base)
