"""What a customer's message is, before any retrieval: small talk or a question, and if a
question, its core, its focus and the kind of answer it wants.

    >>> understand("Hallo! Kurze Frage: wie lange dauert der Versand nach Wien?")
    Understanding(act=None, core='wie lange dauert der Versand nach Wien?', answer_type='duration', …)
    >>> understand("Danke, das war's!").act
    'thanks'

People write to a shop the way they talk: a greeting, "kurze Frage", "bitte" and
"danke im Voraus" around the question. Those words say nothing about what to
retrieve, and they lower every lexical signal, so the *core* drops them. A
message that is nothing but courtesy, a question about the assistant itself, or
small talk off the shop's topics gets a *dialogue act* instead: it is answered
politely, never handed to a person, and counted apart in the KPIs.

German and English; the patterns match folded text (lower case, ä -> a, ß -> ss).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from functools import lru_cache

from bot.answer.handoff import escalation_reason
from bot.understand.acts import ActModel, decide_act
from kb.glossary import german_terms
from kb.injection import instruction_in
from kb.text import fold, word_tokens, words

# -- courtesy around a question ---------------------------------------------------------
_GREETING = (r"(hallo|hallochen|hi|hey|huhu|moin( moin)?|servus|gruss gott|gruezi|gruzi|"
             r"guten (tag|morgen|abend)|good (morning|afternoon|evening)|hello|hiya|greetings|"
             r"liebes? (team|bergpfad[- ]team|support[- ]team)|dear (team|support|sir or madam)|"
             r"sehr geehrte damen und herren)")
_FILLER = (r"(kurze|kleine|eine|mal eine|noch eine|ne|n) frage|ich hab(e)? (da )?(mal )?(eine|ne|n) "
           r"frage|ich hatte (da )?(mal )?(eine|ne) frage|frage|quick question|short question|"
           r"a question|one question|i have a question|question|entschuldigung|entschuldigt|"
           r"sorry( to bother( you)?)?|excuse me|sag mal|sagt mal|also|ok(ay)?|na ja|naja|"
           r"ich wollte (mal )?fragen|i wanted to ask|i was wondering|i wonder")
_LEADING = re.compile(rf"^(?:(?:{_GREETING}|{_FILLER})(?:\s+(?:zusammen|leute|ihr|all|there|"
                      rf"everyone|bot|lotse))?\s*[,.!:;?-]*\s*)+")
_TRAILING = re.compile(r"(?:[\s,.!-]*(?:bitte|please|pls|plz|danke( schon| sehr)?( im voraus)?|"
                       r"vielen dank( im voraus)?|thanks?( you)?( in advance| a lot)?|"
                       r"thx|lg|mfg|liebe grusse|viele grusse|beste grusse|gruss|best regards|"
                       r"regards|cheers)[\s,.!]*)+$")

# -- dialogue acts --------------------------------------------------------------------------
_ACTS: list[tuple[str, re.Pattern[str]]] = [
    ("identity", re.compile(
        r"\b(wer|was) (bist|seid) (du|ihr)\b|\bbist du (ein|eine|ne|n)? ?(mensch|bot|roboter|"
        r"ki|maschine|computer|chatbot|echter?)\b|\bist (das|hier) (ein|eine)? ?(mensch|bot|"
        r"ki|chatbot)\b|\bredest du|\bwho (are|r) (you|u)\b|\bwhat are you\b|\bare (you|u) "
        r"(a |an )?(human|bot|robot|ai|real|person|machine)\b|\bam i (talking|chatting) to\b|"
        r"\bmit wem (spreche|schreibe|rede) ich\b|\bwas (kannst|machst) du (alles|so|eigentlich)\b|"
        r"\bwhat can (you|u) do\b|\bwobei kannst du (mir )?helfen\b|\bhow can you help\b")),
    ("not_helpful", re.compile(
        r"^(das|dies|it|that|this)( hat| has)? (hat )?(mir )?(nicht|nicht wirklich|kaum|"
        r"leider nicht|not|didn't|did not|doesn't|does not)( wirklich)? "
        r"(geholfen|weitergeholfen|help(ed)?|answer(ed)?( my question)?|beantwortet)\b|"
        r"^(das|this|that) (ist|is) (keine antwort|not an answer|nicht was ich|not what i)|"
        r"^(hilft|helps?) (mir )?(nicht|not)\b|^(not helpful|unhelpful|nutzlos|useless)\b")),
    ("greeting", re.compile(r"^(hallo|hi|hey|hello)?\W*(ist|is) (da|hier|there|anybody|anyone) "
                            r"(jemand|wer|anybody|anyone|there)\b|\bbist du (da|online)\b")),
    ("smalltalk", re.compile(
        r"\bwie geht('?s| es) (dir|euch)\b|\bhow are (you|u)\b|\bhow'?s it going\b|"
        r"\b(wetter|weather)\b|\b(erzahl|erzahle|tell) (mir |me )?(einen|nen|a) (witz|joke)\b|"
        r"\b(witz|joke)\b|\bwas machst du( so)?\b|\bwhat'?s up\b|\blangweilig\b|\bbored\b|"
        r"\bmagst du\b|\bdo you like\b|\bhast du (hunger|zeit|gefuhle)\b|\bsinn des lebens\b|"
        r"\bmeaning of life\b|\b(fussball|bundesliga|football|soccer|politik|politics|wahl|"
        r"election|horoskop|horoscope|lotto|kochrezept|recipe)\b")),
]
# A message made only of these words (and stop words) is courtesy, not a question.
_THANKS_WORDS = set("danke dankeschon dank vielen besten herzlichen lieben tausend vielmals merci "
                    "thx thanks thank cheers super toll prima perfekt klasse mega top spitze "
                    "wunderbar great perfect awesome cool brilliant hilfreich helpful nice gut "
                    "good lieb nett kind geholfen weitergeholfen helped passt verstanden".split())
# Words that only acknowledge or decline a choice ("ok", "egal", "passt schon", "no
# preference"): answered with a nod, never searched and never a ticket.
_ACK_WORDS = set("egal whatever matter doesn't doesnt preference keine ahnung idea sure "
                 "klar alright fine verstanden understood".split())
_GREETING_WORDS = {"hallo", "hi", "hey", "moin", "servus", "hello"}
_GOODBYE_WORDS = set("tschuss tschau ciao bye goodbye wiedersehen bis bald dann spater later see "
                     "ya schonen abend wochenende evening weekend alles wars war's ware all "
                     "erledigt".split())
_COURTESY_WORDS = _THANKS_WORDS | _GOODBYE_WORDS | set(
    "hallo hi hey moin servus ok okay ja yes jep yep nein no alright fine gern gerne sehr so "
    "much lot a you the das es ist war was s that's thats that it noch fur die der schnelle "
    "antwort antworten hilfe help answer quick your for info infos information dir dich euch "
    "ihnen mir hat hast habt has have und and auch too schon tag day einen ein eine mate "
    "exactly genau what i needed wollte wanted wirklich really echt very".split()) | _ACK_WORDS
# Phrases whose words mean something else alone ("alles" closes a chat, "alles klar" does not).
_COURTESY_PHRASES = re.compile(r"\balles klar\b|\ball good\b")

# -- what kind of answer is wanted -------------------------------------------------------
_TYPES: list[tuple[str, re.Pattern[str]]] = [
    ("duration", re.compile(r"\b(wie lange|wie lang|wieviel zeit|wie viel zeit|wie schnell|"
                            r"innerhalb welcher|how long|how soon|how quickly|how much time|"
                            r"how many (days|weeks|months|years|hours)|wie viele (tage|wochen|"
                            r"monate|jahre|stunden))\b")),
    ("date", re.compile(r"\b(wann|bis wann|ab wann|seit wann|in welchem jahr|an welchem tag|"
                        r"when|by when|since when|what year|which year|what date|in what year)\b")),
    # Amounts by what they measure: the quote must carry the matching unit.
    ("weight", re.compile(r"\b(wie schwer|wie viel wiegt|wieviel wiegt|wiegt|gewicht|how heavy|"
                          r"how much does .* weigh|weigh|weight)\b")),
    ("price", re.compile(r"\b(was kostet|was kosten|wie teuer|wie viel kostet|wieviel kostet|"
                         r"preis|kosten|kostet|gebuhr|zahl ich|zahle ich|how much (is|are|does|do|"
                         r"will)|cost|costs|price|fee|charge)\b")),
    ("length", re.compile(r"\b(wie (gross|hoch|breit|lang|weit|tief)|welche (grosse|lange|hohe)|"
                          r"how (big|tall|wide|long is|far|deep|high)|what size|which size|"
                          r"length|height|width)\b")),
    ("amount", re.compile(r"\b(wie viel|wieviel|wie viele|wie warm|wie kalt|welche temperatur|"
                          r"how (much|many|warm|cold))\b")),
    ("place", re.compile(r"\b(wo|wohin|woher|in welche[nm]? (land|stadt|lander)|where|"
                         r"which (country|countries|city))\b")),
    ("person", re.compile(r"\b(wer|an wen|bei wem|who|whom)\b")),
    ("procedure", re.compile(r"\b(wie (kann|konnen|muss|mache|geht|funktioniert|stelle|"
                             r"richte|gehe|lose|andere|reiche)|was muss ich tun|how (do|can|should) "
                             r"i|how to|what do i (do|need to do)|steps?)\b")),
    ("list", re.compile(r"\b(welche (zahlungsarten|moglichkeiten|arten|optionen|grossen|farben)|"
                        r"was fur (moglichkeiten|optionen)|what (options|ways|payment methods|sizes|"
                        r"colou?rs)|which (options|ways|payment methods|sizes))\b")),
    ("yes_no", re.compile(r"^(ist|sind|hat|haben|habt|kann|konnen|konnt|kannst|darf|durfen|"
                          r"muss|mussen|gibt|gibt's|bietet|bietest|liefert|lieferst|nehmt|nimmt|"
                          r"akzeptiert|wird|werden|passt|geht|lasst|is|are|does|do|can|could|"
                          r"will|has|have|should|may|must|did)\b")),
]
_QUESTION_WORDS = {"wie", "was", "wann", "wo", "wer", "warum", "wieso", "weshalb", "welche",
                   "welcher", "welches", "welchen", "how", "what", "when", "where", "who", "why",
                   "which", "lange", "viel", "viele", "long", "much", "many"}


# The dialogue acts of the ``--json`` and REST contracts, by the reading's own names.
CONTRACT_ACTS = {None: "question", "greeting": "greeting", "thanks": "thanks",
                 "goodbye": "goodbye", "ack": "acknowledgement", "identity": "about_bot",
                 "smalltalk": "offtopic", "not_helpful": "acknowledgement"}
ESCALATION_ACTS = {"negative_sentiment": "anger", "asked_for_human": "ask_human"}


@dataclass(frozen=True)
class Understanding:
    """The message read once: ``act`` is set for small talk (and then nothing is retrieved).

    ``read`` fills in the whole message (text, language, a wish to escalate, an
    instruction to the bot); ``understand`` reads only the words, which is what the
    benchmarks ask of a bare question."""

    # greeting | thanks | goodbye | ack | identity | smalltalk | not_helpful | None
    act: str | None
    core: str  # the question without greetings, filler and politeness
    # duration | date | weight | price | length | amount | place | person | procedure | list | yes_no
    answer_type: str | None
    focus: tuple[str, ...]  # the content words the answer must be about (stems)
    text: str = ""  # the cleaned message
    language: str = "de"
    escalation: str | None = None  # negative_sentiment | asked_for_human | None
    instruction: str | None = None  # the kind of instruction to the bot it carries, if any
    act_read: str | None = None  # the act ``read`` decided, in the contract's names
    act_confidence: float = 1.0  # the model's probability of that act (1.0 for a rule)
    courtesy_only: bool = False  # the words are nothing but courtesy ("Danke!", "Hallo")

    @property
    def contract_act(self) -> str:
        """The act as the JSON contract names it (``question`` for anything to answer)."""
        if self.act_read:
            return self.act_read
        if self.escalation:
            return ESCALATION_ACTS[self.escalation]
        return CONTRACT_ACTS.get(self.act, "question")

    def resolved(self, query: str) -> Understanding:
        """This reading for the question retrieval searched with: a follow-up rewritten with
        its subject ("Und der AlpinPro 50?" -> "Wie schwer ist der AlpinPro 50?") asks for
        the rewritten question's kind of answer and focus."""
        if query == self.core:
            return self
        core = core_of(query) or query
        return replace(self, core=core, answer_type=answer_type(core), focus=focus(core))


def core_of(text: str) -> str:
    """``text`` without a leading greeting or filler and without trailing politeness.

    Works on the original text (so case and umlauts stay) by measuring the courtesy on
    its folded twin, which keeps the same length for most characters; where folding
    changes the length (ß -> ss, ä -> a is one to one) the cut is made word-wise."""
    folded = fold(text)
    lead = _LEADING.match(folded)
    start = _position(text, folded, lead.end()) if lead else 0
    trail = _TRAILING.search(folded)
    end = _position(text, folded, trail.start()) if trail else len(text)
    core = text[start:end].strip(" ,;:-")
    return core if word_tokens(core) or not core else ""


def _position(text: str, folded: str, index: int) -> int:
    """The index in ``text`` that corresponds to ``index`` in its folded form."""
    if len(text) == len(folded):
        return index
    taken = len(words(folded[:index]))
    spans = [m.span() for m in re.finditer(r"\w+", text)]
    if taken >= len(spans):
        return len(text)
    return spans[taken][0] if index < len(folded) else len(text)


def dialogue_act(text: str, core: str) -> str | None:
    """Small talk that needs no documents, decided on the whole message and its core."""
    folded, folded_core = fold(text), fold(core)
    for act, pattern in _ACTS:
        if pattern.search(folded_core or folded):
            return act
    said = set(re.findall(r"[a-z']+", _COURTESY_PHRASES.sub("ok", folded)))
    if not word_tokens(core) or (said and said <= _COURTESY_WORDS):  # nothing but courtesy
        if said & _GOODBYE_WORDS and not said & _GREETING_WORDS:
            return "goodbye"
        if said & _THANKS_WORDS:
            return "thanks"
        if said & _GREETING_WORDS or not said:
            return "greeting"
        return "ack"
    return None


def answer_type(core: str) -> str | None:
    folded = fold(core)
    for kind, pattern in _TYPES:
        if pattern.search(folded):
            return kind
    return None


# Verbs and nouns any question may carry; they say nothing about what it is about.
_GENERIC = {t for w in ("gibt gibts geben kostet kosten kann kannst konnen muss mussen habe hast "
                        "habt hat haben geht gehen mache machen brauche brauchen bekomme bekommen "
                        "moglich frage wissen sagen bitte ihr euch eure euer mal denn eigentlich "
                        "beim bei vom zum zur does do get need know tell want can could would "
                        "should there").split()
            for t in word_tokens(w)}


def focus(core: str) -> tuple[str, ...]:
    """Stems of the content words, question words and generic verbs left out: what the
    answer must be about."""
    drop = {t for w in _QUESTION_WORDS for t in word_tokens(w)} | _GENERIC
    return tuple(dict.fromkeys(t for t in word_tokens(core) if t not in drop))


def names(text: str) -> tuple[str, ...]:
    """Words that keep their form across languages: names written with a capital inside a
    sentence ("AlpinPro", "Basel", "American Express"), codes and numbers. For an English
    question over German text these are what a source must share with it."""
    found = []
    end = 0
    for i, match in enumerate(re.finditer(r"[\w-]+", text)):
        word = match.group()
        # Only the gap since the last word can end a sentence: looking at all the text
        # before each word made a long message cost the square of its length.
        gap = text[end:match.start()].rstrip()
        end = match.end()
        sentence_start = i == 0 or gap.endswith((".", "?", "!", ":"))
        if any(c.isdigit() for c in word) or (word[:1].isupper() and not sentence_start
                                                and word.lower() not in _NOT_NAMES):
            found.append(fold(word))
    return tuple(dict.fromkeys(found))


_NOT_NAMES = {"i", "i'm", "i've", "i'd"}


def brand_names(question: str, language: str) -> tuple[str, ...]:
    """The names in a question that may be brands, services or places rather than words:
    what a "not in our documents" answer may name. In English, a capitalised word the
    glossary cannot translate ("American", "Netherlands"; "Saturday" it can); in German,
    where every noun is capitalised, any capitalised word: the caller keeps only those no
    document contains, whole or as a part of a compound."""
    found = []
    named = set(names(question))
    for word in re.findall(r"[\w-]+", question):
        folded = fold(word)
        if folded not in named or folded.isdigit():
            continue
        branded = bool(re.search(r"[a-z][A-Z]|^[A-Z]{2,}$|\d", word))
        if language != "en" or branded or not german_terms(folded):
            found.append(folded)
    return tuple(dict.fromkeys(found))


def found_share(terms: tuple[str, ...], text: str) -> float:
    """Share of ``terms`` (stems or folded words) that ``text`` contains, as a stem or, for
    longer terms, inside a word (compounds: "zelt" in "Zeltgestänge"). 1.0 without terms."""
    if not terms:
        return 1.0
    stems = set(word_tokens(text))
    folded = fold(text)
    return sum(1 for t in terms if t in stems or (len(t) >= 4 and t in folded)) / len(terms)


_UNIT_WORDS = re.compile(r"\b(sofort|umgehend|werktag\w*|tag\w*|woche\w*|monat\w*|jahr\w*|"
                         r"stunde\w*|minute\w*|days?|weeks?|months?|years?|hours?|minutes?|"
                         r"immediately|same day|overnight)\b")
_MONTHS = re.compile(r"\b(januar|februar|marz|april|mai|juni|juli|august|september|oktober|"
                     r"november|dezember|january|february|march|may|june|july|october|december|"
                     r"montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|monday|"
                     r"tuesday|wednesday|thursday|friday|saturday|sunday|heute|morgen|"
                     r"jahrhundert\w*)\b")


def type_match(kind: str | None, quoted: str) -> float:
    """1 when the quote holds the kind of answer asked for, 0 when it cannot, 0.5 when the
    kind says nothing checkable (yes/no, procedure, list, person, place, or none)."""
    folded = fold(quoted)
    has_number = bool(re.search(r"\d", folded))
    if kind == "duration":
        return float(bool(_UNIT_WORDS.search(folded)) and (has_number or "sofort" in folded
                                                            or "immediately" in folded))
    if kind == "date":
        return float(has_number or bool(_MONTHS.search(folded)))
    if kind in _UNITS_OF:
        return float(has_number and bool(_UNITS_OF[kind].search(folded)))
    if kind == "amount":
        return float(has_number)
    return 0.5


_UNITS_OF = {
    "weight": re.compile(r"\d\s*(kg|g|gramm|kilo\w*)\b|\b(gramm|kilogramm|kilo)\b"),
    "price": re.compile(r"€|\beur\b|\beuro\b|\bchf\b|\$|kostenlos|kostenfrei|gratis|\bfree\b"),
    "length": re.compile(r"\d\s*(mm|cm|m|km|zoll|liter|l)\b|\bgrosse\s+[a-z0-9]{1,3}\b|\b(xs|s|m|l|xl)\b"),
}


@lru_cache(maxsize=512)
def understand(text: str) -> Understanding:
    """The message read once; cached, since the chain, the answerer and the confidence all
    ask about the same text."""
    # Combining marks left after NFC are decoration ("Z̸e̷l̵t̶"), not letters: read without them.
    if any(unicodedata.combining(c) for c in text):
        text = unicodedata.normalize("NFC", "".join(
            c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c)
            or c in "\u0308\u0301\u0300\u0302\u0327"))
    core = core_of(text)
    act = dialogue_act(text, core)
    if act:
        return Understanding(act, core, None, ())
    return Understanding(None, core or text, answer_type(core or text), focus(core or text))


# The trained model's acts by the names the replies and the route use.
_MODEL_ACTS = {"question": None, "greeting": "greeting", "thanks": "thanks",
               "goodbye": "goodbye", "acknowledgement": "ack", "about_bot": "identity",
               "offtopic": "smalltalk"}
_ESCALATIONS = {"ask_human": "asked_for_human", "anger": "negative_sentiment"}


@lru_cache(maxsize=1)
def default_act_model() -> ActModel:
    """The shipped dialogue-act model (``bot/models/acts.npz``), loaded once a process."""
    return ActModel.load()


def read(text: str, language: str, acts: ActModel | None = None,
         replying: bool = False) -> Understanding:
    """A customer message read once, for the route: its words (``understand``), its
    dialogue act from the trained model with the explicit rules as the contract on top
    (``bot.understand.acts.decide_act``; the rules of ``bot.answer.handoff`` for a person
    or anger), and whether it tries to instruct the bot (``kb.injection``).

    ``replying`` is true when the message answers Lotse's own question (the adviser's, or
    which product is meant): "2 Personen" or "den 50er" are answers then, and only the
    explicit rules can turn them into something else. Anger the rules see is escalated
    even when the model reads a question in it; the act reported is the model's. The
    cue-word reading keeps only "that did not help", which the model has no class for."""
    words_read = understand(text)
    words_read = replace(words_read, courtesy_only=words_read.act is not None)
    rule = escalation_reason(text)
    instruction = instruction_in(text)
    confidence = 1.0
    if replying:
        act = "ask_human" if rule == "asked_for_human" else "question"
    else:
        model = acts or default_act_model()
        reading = model.read(text)
        act = decide_act(reading, rule, model.ask_human_at, model.sure_at)
        confidence = reading.probabilities.get(act, 1.0)
    # "Das hat nicht geholfen" is disappointment about the last answer, met with an offer
    # to rephrase or to get a person; anger the rules see, or a request for one, goes on.
    if words_read.act == "not_helpful" and act != "ask_human" and not rule:
        act = "acknowledgement"
    escalation = _ESCALATIONS.get(act) or ("negative_sentiment" if rule else None)
    if escalation:
        return replace(words_read, act=None, text=text, language=language, act_read=act,
                       escalation=escalation, instruction=instruction)
    kept = "not_helpful" if words_read.act == "not_helpful" else None
    if replying:  # the adviser and the ask-back read the reply themselves
        return replace(words_read, text=text, language=language, act_read=act,
                       instruction=instruction)
    reading = understand_words(text) if words_read.act and not _MODEL_ACTS[act] and not kept \
        else words_read
    return replace(reading, act=kept or _MODEL_ACTS[act], text=text, language=language,
                   act_read=act, act_confidence=confidence, escalation=None,
                   instruction=instruction, courtesy_only=words_read.courtesy_only)


def understand_words(text: str) -> Understanding:
    """The words of a message the cue words took for small talk but the model reads as a
    question ("Hallo, wo bleibt mein Paket?"): its core, kind of answer and focus."""
    core = core_of(text) or text
    return Understanding(None, core, answer_type(core), focus(core))


_REPLIES = {
    "de": {
        "greeting": "Hallo! Ich bin Lotse, der KI-Assistent von {brand}. Frag mich gern zu "
                    "Produkten, Bestellung, Versand, Rücksendung oder Garantie.",
        "thanks": "Gern geschehen! Wenn noch etwas offen ist, frag einfach.",
        "ack": "Alles klar. Wenn du noch etwas wissen möchtest, frag einfach.",
        "goodbye": "Danke für deine Nachricht und einen schönen Tag! Du kannst jederzeit "
                   "wiederkommen.",
        "identity": "Ich bin Lotse, ein KI-Assistent (kein Mensch) von {brand}. Ich beantworte "
                    "Fragen aus unseren Unterlagen und nenne dazu die Quellen. Wenn du lieber mit "
                    "einem Menschen sprechen möchtest, schreib „Mitarbeiter“ oder klick auf „Mit "
                    "Mitarbeiter sprechen“.",
        "smalltalk": "Dabei kann ich leider nicht helfen. Ich beantworte Fragen zu unseren "
                     "Produkten, zu Bestellung, Versand, Rücksendung und Garantie.",
        "not_helpful": "Das tut mir leid. Magst du deine Frage anders formulieren, zum Beispiel "
                       "mit dem Produktnamen? Oder ich verbinde dich mit dem Serviceteam: schreib "
                       "einfach „Mitarbeiter“.",
    },
    "en": {
        "greeting": "Hello! I'm Lotse, the AI assistant of {brand}. Ask me about products, "
                    "orders, shipping, returns or warranty.",
        "thanks": "You're welcome! If anything else comes up, just ask.",
        "ack": "All right. If there is anything else you'd like to know, just ask.",
        "goodbye": "Thanks for your message, and have a nice day! You can come back any time.",
        "identity": "I'm Lotse, an AI assistant (not a person) of {brand}. I answer questions "
                    "from our documents and name my sources. If you'd rather talk to a person, "
                    "write “agent” or click “Talk to a person”.",
        "smalltalk": "I can't help with that, I'm afraid. I answer questions about our products, "
                     "orders, shipping, returns and warranty.",
        "not_helpful": "I'm sorry about that. Could you put your question differently, for "
                       "example with the product name? Or I can connect you with our service team: "
                       "just write “agent”.",
    },
}


def reply_to(act: str, language: str, brand: str) -> str:
    """What Lotse says to a dialogue act, in the customer's language."""
    texts = _REPLIES.get(language, _REPLIES["de"])
    return texts[act].format(brand=brand or "unserem Shop" if language == "de" else brand or "our shop")
