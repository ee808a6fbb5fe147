"""When a person should take over, and what the customer is told.

Escalation is decided on the customer's words before any retrieval result can
talk the bot out of it: anger, frustration or a threat of lawyers
(``negative_sentiment``), or a plain wish for a person (``asked_for_human``).
The lexicons cover German and English, fold umlauts, and were checked against
the escalation cases of the gold set.
"""

from __future__ import annotations

import re

from kb.text import fold

# Each pattern is matched against folded text (lower case, ä -> a, ß -> ss).
_NEGATIVE = [
    r"stinksauer", r"\bsauer\b", r"wutend", r"\bwut\b", r"frechheit", r"unverschamt",
    r"katastroph", r"enttauscht", r"argerlich", r"\barger\b", r"zum kotzen", r"reicht mir",
    r"\bskandal", r"\bbetrug", r"abzocke", r"\banwalt", r"rechtsanwalt", r"verbraucherzentrale",
    r"\bverklag", r"\bklage\b", r"unzumutbar", r"\bmist\b", r"\bscheiss", r"nie wieder",
    r"schon wieder (nicht|kaputt|falsch|zu spat|keine?)", r"\bfurious\b", r"\bangry\b",
    r"ridiculous", r"terrible", r"unacceptable", r"disappointed", r"\bworst\b", r"\blawyer",
    r"\battorney", r"\bsue\b", r"\bscam\b", r"outrageous", r"fed up", r"\bpissed\b",
    r"\bawful\b", r"\bhorrible\b", r"\bfraud\b", r"never again", r"\bannoyed\b",
]
_HUMAN = [
    r"\b(mit|an)\s+(einem|einer|einen|dem|der|den|nem|ner|jemandem)?\s*(echten\s+|richtigen\s+)?"
    r"(mitarbeiter\w*|menschen?|person|berater\w*|kolleg\w*|kundenservice|kundendienst|support)\b"
    r"(?!\s+(fur|uber|von)\b)",
    r"(mitarbeiter\w*|menschen?|person|berater\w*|kolleg\w*)\s+(sprechen|reden|verbinden|haben|bitte)",
    r"\bkein\w*\s+(bot|roboter|computer|maschine|chatbot)",
    r"\b(verbinde|verbinden)\s+(mich|sie)",
    r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|someone|somebody|real|human|person|agent|"
    r"representative|staff|your)",
    r"\breal (person|human)", r"\bhuman (agent|being|please)", r"\brepresentative\b",
    # The one-word answer to "write 'Mitarbeiter'" (and its English twin).
    r"^\W*(mitarbeiter\w*|mensch|kundenservice|serviceteam|agent|human|person|operator)\W*$",
    r"\bconnect me\b", r"\bnot a (bot|robot)\b",
]
_NEGATIVE_RE = re.compile("|".join(_NEGATIVE))
_HUMAN_RE = re.compile("|".join(_HUMAN))


def escalation_reason(message: str) -> str | None:
    """``asked_for_human``, ``negative_sentiment`` or None for one customer message."""
    text = fold(message)
    if _HUMAN_RE.search(text):
        return "asked_for_human"
    if _NEGATIVE_RE.search(text):
        return "negative_sentiment"
    shouting = sum(1 for w in re.findall(r"\b[A-ZÄÖÜ]{4,}\b", message))
    if shouting >= 3 or message.count("!") >= 4:
        return "negative_sentiment"
    return None


_MESSAGES = {
    "de": {
        "asked_for_human": "Sehr gern verbinde ich dich mit einer Kollegin oder einem Kollegen aus "
        "unserem Serviceteam.",
        "negative_sentiment": "Das tut mir leid, und ich verstehe deinen Ärger. Damit dir schnell "
        "geholfen wird, übernimmt jetzt eine Kollegin oder ein Kollege aus unserem Serviceteam.",
        "low_confidence": "Darauf möchte ich dir keine ungenaue Antwort geben. Eine Kollegin oder ein "
        "Kollege aus unserem Serviceteam übernimmt deine Frage.",
        "no_sources": "Dazu finde ich in unseren Unterlagen nichts Verlässliches. Eine Kollegin oder "
        "ein Kollege aus unserem Serviceteam übernimmt deine Frage.",
        "policy": "Diese Anfrage kann ich hier nicht beantworten. Eine Kollegin oder ein Kollege aus "
        "unserem Serviceteam übernimmt.",
        "long_message": "Deine Nachricht ist ausführlich: Damit nichts untergeht, liest sie eine "
        "Kollegin oder ein Kollege aus unserem Serviceteam.",
        "no_text": "In deiner Nachricht finde ich keinen Text, den ich beantworten kann: Eine "
        "Kollegin oder ein Kollege aus unserem Serviceteam sieht sie sich an.",
        "mail_limit": "Du hast uns heute schon oft geschrieben: Damit nichts untergeht, liest eine "
        "Kollegin oder ein Kollege aus unserem Serviceteam deine Nachrichten.",
        "mail_failed": "Meine Antwort an dich ließ sich nicht zustellen. Eine Kollegin oder ein "
        "Kollege aus unserem Serviceteam meldet sich.",
        "tail": "Sie sehen unseren bisherigen Chat, du musst also nichts wiederholen.",
    },
    "en": {
        "asked_for_human": "Of course, I'll connect you with a colleague from our service team.",
        "negative_sentiment": "I'm sorry about this, and I understand your frustration. A colleague "
        "from our service team will take over so you get help quickly.",
        "low_confidence": "I don't want to give you an inaccurate answer to this. A colleague from our "
        "service team will take over your question.",
        "no_sources": "I couldn't find anything reliable on this in our documents. A colleague from our "
        "service team will take over your question.",
        "policy": "I can't answer this request here. A colleague from our service team will take over.",
        "long_message": "Your message covers a lot: so that nothing gets lost, a colleague from our "
        "service team will read it.",
        "no_text": "I can't find any text to answer in your message: a colleague from our service "
        "team will look at it.",
        "mail_limit": "You have written to us many times today: so that nothing gets lost, a "
        "colleague from our service team will read your messages.",
        "mail_failed": "My reply to you could not be delivered. A colleague from our service team "
        "will get in touch.",
        "tail": "They will see our conversation so far, so you won't need to repeat anything.",
    },
}


def handoff_message(reason: str, language: str) -> str:
    """A polite handoff text in the customer's language that promises continuity."""
    texts = _MESSAGES.get(language, _MESSAGES["de"])
    return f"{texts.get(reason, texts['low_confidence'])} {texts['tail']}"
