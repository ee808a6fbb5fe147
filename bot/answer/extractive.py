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

import numpy as np

from kb.glossary import lexical_form
from kb.retrieval import Retrieval
from kb.settings import AnswerSettings
from kb.text import fold, ngram_tokens, word_tokens
from kb.types import Citation, Hit

_NUMBER_QUESTION = re.compile(
    r"\b(wie (viel|viele|lange|schwer|gross|groß|breit|hoch|weit|warm|kalt|oft|teuer)|was kostet|"
    r"welche (wassersaule|komforttemperatur|weite|grosse|temperatur)|wann|bis wann|ab wann|ab welche\w*|"
    r"how (much|many|long|heavy|big|wide|warm|often)|what does .* cost|when)\b"
)
_HAS_NUMBER = re.compile(r"\d")

GERMAN_SOURCES_NOTE = "From our documents (in German):"
_VERDICT = re.compile(r"(Ja|Nein)\b\s*[,.!]", re.I)


@dataclass(frozen=True)
class Candidate:
    hit_rank: int
    position: int
    text: str
    score: float
    similarity: float
    coverage: float


_PRODUCT_QUESTION = re.compile(
    r"\b(welche[rsn]?|which|what)\s+(\w+\s+)?(zelt|rucksack|schuh|laufschuh|wanderschuh|stocke|"
    r"wanderstocke|trekkingstocke|schlafsack|jacke|lampe|stirnlampe|bohrer|bohrhammer|monitor|"
    r"tent|backpack|shoe|shoes|poles|sleeping bag|jacket|drill|model|modell|produkt|product)\b|"
    r"\b(empfehlt|empfiehlst|empfehlen sie|recommend)\b"
)


def asks_for_product(question: str) -> bool:
    """Does the question ask which product to take ("Welches Zelt …?", "Which tent …?")?"""
    return bool(_PRODUCT_QUESTION.search(fold(question)))


def residual_question(question: str, title: str) -> str:
    """The words of ``question`` that the title does not contain (folded comparison)."""
    in_title = set(fold(title).replace("-", " ").split())
    return " ".join(w for w in re.findall(r"\w+", question) if fold(w) not in in_title)


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
        lexical = float(retrieval.coverage(_form(question, retrieval, hit), [faq_q])[0])
        return 0.5 * dense + 0.5 * lexical

    def answer(self, question: str, retrieval: Retrieval,
               kind: str | None = None) -> "Extract":
        """The sentences of the hits that answer ``question``; ``kind`` is the kind of answer
        it asks for (``Understanding.answer_type``: a yes/no question leads with its verdict)."""
        hits = retrieval.hits
        if not hits:
            return Extract("", (), [], 0.0, 0.0, False)
        top = hits[0]
        faq_score = self.faq_match(question, top, retrieval)
        if faq_score >= self.settings.faq_match:
            return self._whole_faq(question, top, retrieval, faq_score, kind)

        candidates = self._candidates(question, retrieval)
        if not candidates:
            return Extract("", (), [], 0.0, 0.0, False)
        best = candidates[0]
        best_hit = hits[best.hit_rank]
        if best_hit.chunk.metadata.get("faq_answer"):
            # The best sentence belongs to an FAQ: its whole answer reads better than a fragment.
            return self._whole_faq(question, best_hit, retrieval, best.similarity, kind)
        # Across languages the customer reads the quote through a translator or not at all:
        # the best sentence first, and one more at most.
        crosslingual = _language(best_hit) not in (retrieval.language, "")
        limit = min(2, self.settings.max_sentences) if crosslingual else self.settings.max_sentences
        chosen = [best]
        for cand in candidates[1:]:
            if len(chosen) >= limit:
                break
            if cand.score < 0.8 * best.score or cand.hit_rank > 2:
                continue
            if _product(hits[cand.hit_rank]) != _product(best_hit):
                continue  # one answer talks about one product
            if _language(hits[cand.hit_rank]) != _language(best_hit):
                continue  # and in one language
            if any(_near_duplicate(cand.text, c.text) for c in chosen):
                continue
            chosen.append(cand)
        # The sentence that decides a yes/no question comes first; otherwise document order.
        if not crosslingual and kind != "yes_no":
            chosen.sort(key=lambda c: (c.hit_rank, c.position))

        numbers: dict[int, int] = {}
        citations: list[Citation] = []
        lines: list[str] = []
        for cand in chosen:
            if cand.hit_rank not in numbers:
                numbers[cand.hit_rank] = len(numbers) + 1
                citations.append(_citation(numbers[cand.hit_rank], hits[cand.hit_rank], cand.text))
            lines.append(f"{cand.text} [{numbers[cand.hit_rank]}]")
        text = self._wrap(lines, kind, retrieval.language, [hits[c.hit_rank] for c in chosen])
        context = " ".join(f"{hits[c.hit_rank].chunk.title} {hits[c.hit_rank].chunk.section or ''} {c.text}"
                           for c in chosen)
        covered = float(retrieval.coverage(_form(question, retrieval, best_hit), [context])[0])
        return Extract(text, tuple(citations), [c.text for c in chosen], best.similarity, covered, False)

    def _candidates(self, question: str, retrieval: Retrieval) -> list[Candidate]:
        """Every sentence of the top hits, scored as an answer to ``question``.

        The decisive signal is *residual* coverage: the question's terms that the
        chunk's title does not already explain. For "Wie viel wiegt das Fjell 2?"
        that is "wiegt", which the weight sentence covers and the price sentence does not.
        """
        wants_number = asks_for_number(question)
        wants_product = asks_for_product(question)
        named = {p for h in retrieval.hits if (p := _product(h)) and fold(p) in fold(question)}
        asked = _actions(question)
        top_score = max(retrieval.hits[0].score, 1e-6)
        rows: list[tuple[int, int, str, float, str, str, str]] = []
        for rank, hit in enumerate(retrieval.hits):
            context = f"{hit.chunk.title} {hit.chunk.section or ''}"
            form = _form(question, retrieval, hit)
            residual = residual_question(form, hit.chunk.title)
            faq_q = hit.chunk.metadata.get("faq_question", "")
            for position, (sentence, sim) in enumerate(retrieval.sentences.get(hit.chunk.id, [])):
                if len(sentence.text) < 12 or (faq_q and sentence.text in faq_q):
                    continue  # never quote an FAQ's question as its answer
                rows.append((rank, position, sentence.text, sim, f"{context} {sentence.text}",
                             form, residual))
        if not rows:
            return []
        full = np.zeros(len(rows), dtype=np.float32)
        rest_cov = np.zeros(len(rows), dtype=np.float32)
        for column, target in ((5, full), (6, rest_cov)):
            groups: dict[str, list[int]] = {}
            for i, row in enumerate(rows):
                groups.setdefault(row[column], []).append(i)
            for query, members in groups.items():
                if query:
                    target[members] = retrieval.coverage(query, [rows[i][4] for i in members])
        rest_cov = np.where([bool(r[6]) for r in rows], rest_cov, full)
        out = []
        for (rank, position, text, sim, *_), cov, rest in zip(rows, full, rest_cov):
            relevance = retrieval.hits[rank].score / top_score
            score = 0.35 * float(rest) + 0.2 * float(cov) + 0.25 * sim + 0.2 * relevance
            if wants_number and _HAS_NUMBER.search(text):
                score += 0.1
            own = _product(retrieval.hits[rank])
            if wants_product and own and own not in named and fold(own) in fold(text):
                score += 0.15  # a sentence that names its own product answers "which one?"
            if named and own and own not in named:
                score -= 0.2  # the question names a product; this sentence is about another
            if _language(retrieval.hits[rank]) == retrieval.language:
                score += 0.15  # answer in the question's language where the sources have it
            if _opposite(asked, text):
                score -= 0.25  # "einschalten" is not answered by how to switch it off
            out.append(Candidate(rank, position, text, score, sim, float(cov)))
        out.sort(key=lambda c: -c.score)
        return out

    def _whole_faq(self, question: str, hit: Hit, retrieval: Retrieval,
                   similarity: float, kind: str | None) -> "Extract":
        answer = hit.chunk.metadata["faq_answer"]
        text = self._wrap([f"{answer} [1]"], kind, retrieval.language, [hit])
        covered = float(retrieval.coverage(_form(question, retrieval, hit), [hit.chunk.text])[0])
        return Extract(text, (_citation(1, hit, answer),), [answer], similarity, covered, True)

    @staticmethod
    def _wrap(lines: list[str], kind: str | None, language: str, hits: Sequence[Hit]) -> str:
        """The quoted lines, for an English question over German text after a short note;
        a yes/no question gets "Yes."/"No." first only when the German sentence that leads
        says "Ja"/"Nein" itself: the verdict is read off the source, never guessed."""
        body = " ".join(lines)
        if language == "en" and any(h.chunk.metadata.get("language") == "de" for h in hits):
            lead = _VERDICT.match(lines[0]) if kind == "yes_no" \
                else None
            verdict = {"ja": "Yes. ", "nein": "No. "}[lead.group(1).lower()] if lead else ""
            return f"{verdict}{GERMAN_SOURCES_NOTE}\n{body}"
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


def _form(question: str, retrieval: Retrieval, hit: Hit) -> str:
    """The question as matched against this hit's language (English gains German words
    only against German text)."""
    return lexical_form(question, retrieval.language, hit.chunk.metadata.get("language", ""),
                        retrieval.vocabulary)


def _language(hit: Hit) -> str:
    return hit.chunk.metadata.get("language", "")


def _product(hit: Hit) -> str:
    return hit.chunk.metadata.get("product", "")


# Actions and their opposites (German stems and English words, folded). A sentence about
# the opposite of what the question asks to do is a poor answer to it.
_OPPOSITES = [tuple(pair.split("/")) for pair in (
    "einschalt/ausschalt einschalten/ausschalten aktivier/deaktivier aktivieren/deaktivieren "
    "start/stopp starten/stoppen start/beend starten/beenden offn/schliess offnen/schliessen "
    "anmeld/abmeld anmelden/abmelden install/deinstall installieren/deinstallieren "
    "hinzufug/entfern aufbau/abbau aufbauen/abbauen einbau/ausbau verbind/trenn "
    "enable/disable on/off add/remove open/close login/logout subscribe/unsubscribe "
    "install/uninstall connect/disconnect mount/unmount lock/unlock").split()]


def _actions(text: str) -> set[str]:
    """Stems and folded words of ``text``; a German separable verb's particle at the end of
    the clause is joined to each stem ("Wie schalte ich es ein?" -> "einschalt")."""
    found = set(word_tokens(text)) | {fold(w) for w in re.findall(r"\w+", text)}
    last = re.findall(r"\w+", text)
    particle = fold(last[-1]) if last else ""
    if particle in ("ein", "aus", "an", "ab", "auf", "zu"):
        found |= {particle + stem for stem in word_tokens(text)}
    return found


def _opposite(asked: set[str], sentence: str) -> bool:
    """Does ``sentence`` speak of the opposite action of the one the question asks about?"""
    said = _actions(sentence)
    for a, b in _OPPOSITES:
        for want, other in ((a, b), (b, a)):
            if want in asked and other not in asked and other in said and want not in said:
                return True
    return False


def _near_duplicate(a: str, b: str) -> bool:
    """Nearly the same words and the same numbers ("Größe M wiegt 1,25 kg" and "Größe L
    wiegt 1,32 kg" are two facts, not one)."""
    if re.findall(r"\d+", a) != re.findall(r"\d+", b):
        return False
    ga, gb = set(ngram_tokens(a)), set(ngram_tokens(b))
    return bool(ga and gb) and len(ga & gb) / min(len(ga), len(gb)) > 0.8
