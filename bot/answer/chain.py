"""The answer chain: a message read once, one route decided, that route's handler answering.

    >>> chain = AnswerChain(retriever, ExtractiveAnswerer(settings.answer), settings.answer)
    >>> answer = chain.ask("Wie lange habe ich Rückgaberecht?", view="customer")
    >>> answer.handoff, answer.citations[0].source
    (False, 'faq/ruecksendung-versand-zahlung.csv')

The routes are ``bot.answer.route``'s: an instruction to the bot is refused, an angry
customer or one who asks for a person goes to a human however good the retrieval is,
courtesy is answered politely, a need goes to the adviser, and a question is answered from
the documents when the answerability model is sure enough (``bot.answer.answerability``),
offered as likely topics when it is not, and handed to a person when nothing fits.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import replace


from bot.answer.advice import Advice, Adviser, source_lines
from bot.answer.bounds import bounded
from bot.answer.confidence import Signals, confidence, signals
from bot.answer.extractive import (
    Extract,
    ExtractiveAnswerer,
)
from bot.answer.followup import Turn, is_followup, rewrite
from bot.answer.generative import (
    GenerativeAnswerer,
    SentenceGate,
    is_dont_know,
    renumber,
)
from bot.answer.grounding import CitationChecker, source_text
from bot.answer.handoff import handoff_message
from bot.answer.question import Question
from bot.answer.answerability import (
    answer_features_of,
    answerability_model,
    chosen_suggestion,
    history_suggested,
)
from bot.answer.route import Route, decide, forwards, settle
from bot.answer.texts import (
    PERSON_OPTION,
    REFUSAL,
    SUGGEST_TEXT,
    ask_back_text,
    not_found_text,
)
from bot.understand.acts import ActModel
from bot.understand.answer_features import ANSWER_FEATURES, vector
from bot.answer.understanding import (
    Understanding,
    brand_names,
    found_share,
    names,
    read,
    reply_to,
    type_match,
    understand,
)
from kb.glossary import german_terms
from kb.lexical import is_dictionary_word
from kb.markup import plain_text
from kb.retrieval import HybridRetriever, Retrieval
from kb.settings import AnswerSettings, GroundingSettings, ReadingSettings
from kb.vocabulary import EMPTY, Vocabulary
from kb.text import fold, word_tokens
from kb.types import Answer, Chunk, Citation, Hit

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
    # A family the question names ("beim AlpinPro") keeps its models; other products that
    # retrieval brought along do not make the question less clear.
    asked = set(re.findall(r"[a-z0-9]+", folded))
    named = [p for p in products if fold(p).split()[0] in asked]
    if len({fold(p).split()[0] for p in named}) == 1 and len(named) >= 2:
        return named
    family = {fold(p).split()[0] for p in products}
    return products if len(family) == 1 else []


# A message the act model reads as off-topic at least this surely gets the polite "not my
# topic" rather than a person when the documents only touch it ("Wie wird das Wetter
# morgen?" in a hiking guide).
SURELY_OFFTOPIC = 0.9

# How sure an answer from the documents must be (and name a product) to be given instead
# of the adviser's first clarifying question.
DIRECT_OVER_ASKING = 0.7

class AnswerChain:
    """One question in, one ``Answer`` out. Stateless; sessions live in the bot layer.

    With a ``writer`` (an LLM) the answer is generated and every sentence checked
    against its cited sources before it is released; when the check leaves no
    answer, or the backend fails, the extractive answer (or a handoff) stands in.
    """

    def __init__(self, retriever: HybridRetriever, answerer: ExtractiveAnswerer,
                 settings: AnswerSettings, writer: GenerativeAnswerer | None = None,
                 grounding: GroundingSettings | None = None, brand: str = "",
                 acts: ActModel | None = None, reading: ReadingSettings | None = None) -> None:
        self.retriever = retriever
        self.reading = reading or ReadingSettings()  # how much of the input is read
        self.acts = acts  # the dialogue-act model; None: the shipped one
        self.answerer = answerer
        self.settings = settings
        self.writer = writer
        self.grounding = grounding or GroundingSettings()
        self.brand = brand
        self.adviser = Adviser(retriever.catalog,
                               lambda: retriever.vocabulary(retriever.generation()))

    def ask(self, question: str | Question, view: str = "customer",
            history: Sequence[Turn] = (), where: dict[str, str] | None = None) -> Answer:
        """Answer ``question`` after the earlier ``history`` of its conversation (oldest first)."""
        answer = None
        for item in self.stream(question, view, history, where):
            answer = item
        assert isinstance(answer, Answer)
        return answer

    def stream(self, question: str | Question, view: str = "customer",
               history: Sequence[Turn] = (), where: dict[str, str] | None = None,
               ticket_open: bool = False) -> Iterator[str | Answer]:
        """Deltas of the released text (with an LLM, checked sentence by sentence), then the
        ``Answer``. The deltas joined are the streamed text; the ``Answer`` is authoritative
        (it differs when the check left too little and the chain fell back).

        The message is read once (``read``), one decision picks its route (``decide``) and
        that route's handler answers. With ``ticket_open`` a message that only adds to the
        ticket takes the ``forward`` route: the caller sends a receipt instead."""
        q = Question.of(question)
        text, history = bounded(q.text, history, self.reading)  # all that is read from here on
        q = Question(text, q.language)
        # "egal" or "2 Personen" answers the adviser's question, "den 50er" the question
        # which product is meant: no goodbye, no request for a person.
        replying = bool(history and ((history[-1].advice or {}).get("pending")
                                     or history[-1].ask_back_options))
        understood = read(q.text, q.language, self.acts, replying)
        route = decide(understood, view, replying, lambda: self.adviser.respond(
            understood.core or q.text, q.language, view, history))
        if route.name == "refuse":
            handled: Iterator[str | Answer] = iter([self._refuse(understood)])
        elif route.name == "escalate":
            handled = iter([self._handoff(route, self._base(understood), confidence_value=0.0)])
        elif route.name == "smalltalk":
            handled = iter([self._smalltalk(understood, view, history, where)])
        elif route.name == "advise":
            handled = self._advise_route(route.advice, understood, view, history, where)
        else:
            handled = self._from_documents(understood, view, history, where, rescue=True)
        answer = None
        for item in handled:
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        assert answer is not None
        # What the model took for off-topic but the documents answer was a question.
        offtopic_answered = understood.act == "smalltalk" and answer.route in ("answer", "handoff")
        answer = replace(answer, act="question" if offtopic_answered else understood.contract_act)
        chosen = chosen_suggestion(q.text, history)
        if chosen is not None:  # counted: suggestions offered and taken (KPIs)
            answer = replace(answer, grounding={**answer.grounding, "topic_chosen": chosen["source"]})
        if ticket_open and forwards(understood, answer.handoff, answer.route == "smalltalk"):
            answer = replace(answer, route="forward")
        yield answer

    @staticmethod
    def _base(understood: Understanding) -> dict:
        return dict(question=understood.text, language=understood.language,
                    retrieval_query=understood.text)

    def _refuse(self, understood: Understanding) -> Answer:
        """A customer message that tries to instruct the bot reaches no answerer (nor the
        LLM's follow-up rewrite) at all."""
        return Answer(text=REFUSAL[understood.language], citations=(), confidence=0.0,
                      handoff=False, handoff_reason=None, kind="refused", route="refuse",
                      grounding={"instruction": understood.instruction},
                      **self._base(understood))

    def _smalltalk(self, understood: Understanding, view: str, history: Sequence[Turn],
                   where: dict[str, str] | None) -> Answer:
        """Small talk is answered politely, never a ticket.

        Whether a message is off-topic depends on what the shop sells, which no model of
        customer talk knows ("Wie hell ist eure Taschenlampe?", "Wer führte die Panthers bei
        den Sacks an?" in a sports archive): a message read as off-topic is looked up, and
        answered when the documents answer it, unless the act model is sure of its reading
        and surer than the documents of their answer ("Schönes Wetter heute, oder?" gets no
        rain jacket); its topics are offered when the act model is not sure, or the
        documents know the topic as well as they must for "not in our documents"; one the
        act model is not sure of and the documents touch without answering is a question for
        a person; otherwise it gets the polite "not my topic"."""
        assert understood.act is not None
        if understood.act == "smalltalk":
            found = None
            for item in self._from_documents(understood, view, history, where, rescue=False):
                found = item if isinstance(item, Answer) else found
            offtopic = understood.act_confidence
            unsure = offtopic < SURELY_OFFTOPIC
            if found is not None and (
                    # answered unless the act model is sure of its reading and surer of it
                    # than the documents are of their answer
                    not found.handoff and found.kind in ("answer", "faq")
                    and (unsure or found.confidence >= offtopic)
                    or found.route == "suggest" and (unsure or found.confidence >= self.thresholds()[2])
                    or found.handoff_reason == "low_confidence" and unsure):
                return found
        return Answer(text=reply_to(understood.act, understood.language, self.brand),
                      citations=(), confidence=1.0, handoff=False, handoff_reason=None,
                      kind="smalltalk", route="smalltalk", grounding={"act": understood.act},
                      **self._base(understood))

    def _advise_route(self, advice: Advice, understood: Understanding, view: str,
                      history: Sequence[Turn], where: dict[str, str] | None
                      ) -> Iterator[str | Answer]:
        """A pre-sales need, a comparison or a size question, answered from the catalog of
        facts: products and numbers come from there, never from a guess.

        Before the adviser's first clarifying question, the documents may answer this very
        situation ("Welcher Schlafsack für Norwegen im Oktober?" has a guide that names
        one); then that answer is given instead of the question."""
        if advice.kind == "ask" and not (history and history[-1].advice) \
                and advice.thread and advice.thread.needs.words:
            direct = None
            for item in self._from_documents(understood, view, history, where, rescue=False):
                direct = item if isinstance(item, Answer) else direct
            if direct is not None and direct.kind in ("answer", "faq") and not direct.handoff \
                    and direct.confidence >= DIRECT_OVER_ASKING \
                    and self._names_asked_category(direct.text, advice, view):
                yield direct
                return
        yield (yield from self._advise(advice, understood.text, understood.language, view))

    def _from_documents(self, understood: Understanding, view: str, history: Sequence[Turn],
                        where: dict[str, str] | None, rescue: bool) -> Iterator[str | Answer]:
        """The ``answer`` route: retrieve, maybe ask which product is meant, answer from the
        documents or hand off (``settle``). With ``rescue``, a message the documents cannot
        answer may still be a need the catalog meets: the adviser is asked then, on the way
        to a handoff, not for every question."""
        question, language = understood.text, understood.language
        chosen = chosen_suggestion(question, history)
        if chosen is not None:  # a click on an offered topic answers the question from it
            query, where = history[-1].question, {**(where or {}), "source": chosen["source"]}
        else:  # greetings and politeness say nothing about what to look for
            query = self.standalone(Question(understood.core, language), history, view)
        retrieval = self.retriever.retrieve(query, view=view, where=where, language=language)
        query = retrieval.query  # with misspellings mended
        resolved = understood.resolved(query)
        base = dict(question=question, language=language, retrieval_query=query,
                    hits=tuple(retrieval.hits))

        def rescued() -> Advice | None:
            return self.adviser.rescue(understood.core or question, language, view) \
                if rescue and not history else None

        if not retrieval.hits:
            advice = rescued()
            if advice is not None:
                yield (yield from self._advise(advice, question, language, view))
                return
            yield self._handoff(settle(False, 0.0, 0.0), base, confidence_value=0.0)
            return

        options = product_options(query, retrieval.hits, self.settings.ask_back_margin)
        if options:
            yield Answer(text=ask_back_text(options, language), citations=(), confidence=0.5,
                         handoff=False, handoff_reason=None, kind="ask_back",
                         options=tuple(options), **base)
            return

        grounding: dict = {}
        if self.writer is not None:
            generated, grounding = yield from self._generate(
                question, view, retrieval.hits, retrieval.vocabulary, base, history)
            if generated is not None:
                yield generated
                return

        # The rewritten follow-up carries the intent ("Und der AlpinPro 50?" -> "Wie schwer
        # ist der AlpinPro 50?"), so sentences are chosen for it, not for the fragment.
        extract, sig = self.assess(query, retrieval, resolved)
        conf = self.score(extract, sig, retrieval)
        answer_at, suggest_at, not_found_at = self.thresholds()
        # The customer picked the topic: its best passage is what they asked for, unless
        # even that is too unsure to offer. An agent is shown what the documents hold at
        # the same level: the agent is the person who judges it.
        route = settle(bool(extract.citations and sig is not None), conf,
                       suggest_at if chosen is not None or view != "customer" else answer_at)
        if route.handoff:
            advice = rescued()
            if advice is not None:
                yield (yield from self._advise(advice, question, language, view))
                return
        if route.reason == "no_sources":
            yield self._handoff(route, base, 0.0, grounding=grounding)
            return
        assert sig is not None
        missing = self._missing_name(query, retrieval, resolved) \
            if conf >= not_found_at else None
        if missing:  # "Kann ich mit PayPal zahlen?": an honest "not in our documents"
            if grounding:
                grounding["fallback"] = "extractive"
            yield Answer(text=not_found_text(missing, language), citations=(), confidence=conf,
                         handoff=False, handoff_reason=None, kind="not_found",
                         signals=sig.as_dict(), grounding=grounding, **base)
            return
        suggestions = self._suggestions(retrieval) if route.handoff and conf >= suggest_at \
            and not history_suggested(history) else ()
        if len(suggestions) >= 2:
            if grounding:
                grounding["fallback"] = "suggest"
            yield Answer(text=SUGGEST_TEXT[language], citations=(), confidence=conf,
                         handoff=False, handoff_reason=None, kind="ask_back", route="suggest",
                         options=tuple(s["title"] for s in suggestions) + (PERSON_OPTION[language],),
                         suggestions=suggestions, signals=sig.as_dict(), grounding=grounding,
                         **base)
            return
        if route.handoff:
            yield self._handoff(route, base, conf, sig.as_dict(), grounding)
            return
        if grounding:
            grounding["fallback"] = "extractive"
        yield Answer(text=extract.text, citations=extract.citations, confidence=conf,
                     handoff=False, handoff_reason=None, kind="faq" if extract.faq else "answer",
                     signals=sig.as_dict(), grounding=grounding, **base)

    def _names_asked_category(self, text: str, advice: Advice, view: str) -> bool:
        """Whether ``text`` names a product of the category the customer asks for (a guide
        that answers "welcher Schlafsack" with a tent does not answer it)."""
        wanted = set(advice.thread.needs.categories) if advice.thread else set()
        kinds = {p.name: p.category for p in self.retriever.catalog(view)}
        return any(not wanted or kinds.get(name) in wanted
                   for name in self.retriever.named_products(text, view))

    def _advise(self, advice: Advice, question: str, language: str,
                view: str) -> Generator[str, None, Answer]:
        """The adviser's answer; with an LLM, phrased by the model from the picked products'
        facts alone, every sentence checked, and the template standing in when the check
        leaves too little."""
        base = dict(question=question, language=language, retrieval_query=question)
        products = tuple(p.to_dict(language) for p in advice.picks)
        grounding: dict = {"advice": advice.kind}
        text, citations = advice.text, advice.citations
        # The products' facts are what the answer stands on: they are its hits.
        hits = [Hit(Chunk(f"advice:{p.n}", p.product.source, source_lines(p.product), 0, None,
                          {"title": p.product.title or p.product.name, "source": p.product.source,
                           "audience": p.product.audience, "product": p.product.name}), 1.0)
                for p in advice.picks]
        base["hits"] = tuple(hits)
        if self.writer is not None and advice.kind in ("recommend", "nothing_fits") and advice.picks:
            generated, outcome = yield from self._generate(
                f"{question}\n({advice.text})", view, hits, EMPTY, base, ())
            grounding.update(outcome)
            # The model may phrase the advice but not change it: a text that lost one of
            # the picked products to the check gives way to the template.
            if generated is not None and generated.citations and all(
                    p.product.name.casefold() in generated.text.casefold() for p in advice.picks):
                return replace(generated, kind="advice", route="advise", products=products,
                               advice=advice.state, grounding=grounding)
            grounding["fallback"] = "template"
        asking = advice.kind == "ask"
        return Answer(text=text, citations=citations, confidence=0.5 if asking else 0.9,
                      handoff=False, handoff_reason=None, kind="ask_back" if asking else "advice",
                      route="advise", options=advice.options, products=products,
                      advice=advice.state, grounding=grounding, **base)

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

    def _generate(self, question: str, view: str, found: Sequence[Hit], vocabulary: Vocabulary,
                  base: dict, history: Sequence[Turn]
                  ) -> Generator[str, None, tuple[Answer | None, dict]]:
        """The LLM's checked answer from the ``found`` hits, streamed; (None, outcome) when
        it must fall back."""
        assert self.writer is not None
        hits = list(found[: self.writer.settings.sources])
        checker = CitationChecker(self.retriever.embedder, self.retriever.products(view),
                                  self.grounding, vocabulary)
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
        q = Question(bounded(q.text, (), self.reading)[0], q.language)
        retrieval = self.retriever.retrieve(q.text, view=view)
        extract, sig = self.assess(q.text, retrieval) if retrieval.hits else (None, None)
        return Answer(text=extract.text if extract else "",
                      citations=extract.citations if extract else (),
                      confidence=self.score(extract, sig, retrieval) if extract else 0.0,
                      handoff=False,
                      handoff_reason=None, language=q.language, question=q.text,
                      retrieval_query=q.text, hits=tuple(retrieval.hits))

    def assess(self, question: str, retrieval: Retrieval,
               understood: Understanding | None = None) -> tuple[Extract, Signals | None]:
        """The extractive answer and the signals its confidence is computed from.

        ``understood`` is the chain's reading of the message, resolved for ``question``;
        benchmarks that assess a bare question leave it out and it is read here."""
        understood = understood or understand(question)
        top_language = retrieval.hits[0].chunk.metadata.get("language", retrieval.language) \
            if retrieval.hits else retrieval.language
        # Across languages only names, codes and numbers keep their form. Product names are
        # left out: they are found by retrieval anyway; what is asked *about* them decides.
        crosslingual = top_language != retrieval.language
        terms = names(question) if crosslingual else understood.focus
        naming = self._product_words()
        terms = tuple(t for t in terms if t not in naming)
        extract = self.answerer.answer(question, retrieval, understood.answer_type, terms)
        if not extract.citations:
            return extract, None
        cited = [h.chunk for h in retrieval.hits if h.chunk.source in
                 {c.source for c in extract.citations}]
        quoted = " ".join(extract.sentences)
        context = " ".join(f"{c.title} {c.section or ''}" for c in cited) + " " + quoted
        vocabulary = retrieval.vocabulary

        def alternatives(t: str) -> tuple[str, ...]:
            """The term and what stands for it in the documents: its German words across
            languages ("Norway" is found as "Norwegen"), the shop's vocabulary in German
            ("Taschenlampe" as "Stirnlampe")."""
            if crosslingual:
                return (t, *map(fold, german_terms(t) + vocabulary.german_terms(t)))
            return (t, *map(fold, vocabulary.alternatives(t, retrieval.language)))

        focus = sum(max(found_share((alt,), context) for alt in alternatives(t))
                    for t in terms) / len(terms) if terms else 1.0
        return extract, signals(retrieval.hits, extract.similarity, extract.coverage,
                                type_match(understood.answer_type, quoted), focus,
                                retrieval.language, retrieval.unknown_share)

    def thresholds(self) -> tuple[float, float, float]:
        """(answer at, suggest at, "not in our documents" at): the settings where set, else
        what training chose on the dev corpora (``bot/models/answerable.md``), else round
        3's values for its fitted confidence."""
        model = answerability_model()
        trained = model.thresholds if model is not None else {}
        answer_at = self.settings.handoff_below if self.settings.handoff_below is not None \
            else trained.get("answer_at", 0.42)
        suggest_at = self.settings.suggest_above if self.settings.suggest_above is not None \
            else min(trained.get("suggest_at", answer_at), answer_at)
        not_found_at = self.settings.not_found_above \
            if self.settings.not_found_above is not None else \
            trained.get("not_found_at", suggest_at if model is not None else 0.25)
        return answer_at, suggest_at, not_found_at

    def _suggestions(self, retrieval: Retrieval) -> tuple[dict[str, str], ...]:
        """The two or three most likely topics: the pages of the top hits, each once."""
        seen: dict[str, dict[str, str]] = {}
        for hit in retrieval.hits:
            if hit.chunk.source not in seen and len(seen) < 3:
                seen[hit.chunk.source] = {"title": plain_text(hit.chunk.title) or hit.chunk.source,
                                          "source": hit.chunk.source}
        return tuple(seen.values())

    def score(self, extract: Extract, sig: Signals | None, retrieval: Retrieval) -> float:
        """How likely the extract answers the question right: the trained answerability
        model (``bot/models/answerable.npz``) over the units' scores and the retrieval
        signals; round 3's fitted logistic (``bot.answer.confidence``) until one is trained."""
        if sig is None or not extract.citations:
            return 0.0
        model = answerability_model()
        if model is None:
            return confidence(sig)
        return float(model.probability(vector(ANSWER_FEATURES, answer_features_of(
            extract, sig, retrieval))))

    def _product_words(self) -> set[str]:
        """The words of the product names, folded and as stems: what retrieval finds anyway,
        so neither the focus signal nor a "not in our documents" answer turns on them."""
        products = self.retriever.products("customer")
        return ({fold(w) for p in products for w in p.split()}
                | {t for p in products for t in word_tokens(p)})

    def _missing_name(self, question: str, retrieval: Retrieval,
                      understood: Understanding) -> str | None:
        """The name a question asks about when no document mentions it at all ("PayPal",
        "American Express"), if the rest of the question found its topic. A yes/no
        question is about its names; in other questions only a name no dictionary
        knows counts (a colloquial noun, "Zeug", says nothing about the topic)."""
        strict = understood.answer_type != "yes_no"
        products = self._product_words()
        for name in brand_names(understood.core, retrieval.language):
            if name.isdigit() or name in products or retrieval.known(name):
                continue
            if strict and is_dictionary_word(name):
                continue
            # Report the name as the customer wrote it, joined with the next unknown one.
            found = re.search(rf"\b(?i:{re.escape(name)})\b(?:\s+[A-Z][\w-]+)?", question)
            return found.group() if found else name
        return None

    @staticmethod
    def _handoff(route: Route, base: dict, confidence_value: float,
                 sig: dict[str, float] | None = None, grounding: dict | None = None) -> Answer:
        """The answer of the ``escalate`` and ``handoff`` routes: a person takes over."""
        if grounding and "fallback" not in grounding:
            grounding["fallback"] = "handoff"
        return Answer(text=handoff_message(route.reason or "low_confidence", base["language"]),
                      citations=(), confidence=confidence_value, handoff=True,
                      handoff_reason=route.reason,  # type: ignore[arg-type]
                      kind="handoff", route=route.name, signals=sig or {},
                      grounding=grounding or {}, **base)
