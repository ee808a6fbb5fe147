"""How one answer is judged against one blind-written case (see ``bench/corpora/README.md``).

The outcomes, per kind of case:
- answerable: ``right`` (no handoff, the fact is said, and the sentence holding it cites the
  labelled page), ``suggested`` (the labelled page among the offered topics), ``handoff``
  (needless), ``not_found`` (an honest "not in our documents" for what they do say) or
  ``wrong`` (an answer without the fact, or from another page: the worst outcome);
- unanswerable: ``handled`` (handed off, suggested, or "not in our documents" quoting
  nothing) or ``wrong`` (an answer given anyway);
- advice: ``right`` (a labelled product recommended, or a clarifying question where one is
  right), ``handoff`` or ``wrong``;
- small talk, off-topic, anger, asking for a person: ``right`` when the act is read and
  the handoff is as it must be (a person for anger and for a request for one, none for
  small talk), else ``wrong``.
"""

from __future__ import annotations

import re
import unicodedata

SPOKEN_KINDS = ("smalltalk", "offtopic", "anger", "ask_human")
_NOT_FOUND = ("steht in unseren Unterlagen nichts", "say nothing about")


def norm(text: str) -> str:
    """Lower case, umlauts and accents folded, markdown marks and citation markers out."""
    text = unicodedata.normalize("NFKD", text.replace("ß", "ss"))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"\[\d+\]|[*`_#|]", " ", text)
    return " ".join(text.split())


def says_not_found(answer: dict) -> bool:
    return any(marker in answer["answer"] for marker in _NOT_FOUND)


def _gave_answer(answer: dict) -> bool:
    return not answer["handoff"] and answer.get("route") not in ("suggest", "forward") \
        and not says_not_found(answer)


def _sentences_citing(answer: dict, span: str) -> set[str] | None:
    """The sources cited by the piece of the answer that holds ``span``; None when the
    answer does not say it."""
    wanted = norm(span)
    if not wanted or wanted not in norm(answer["answer"]):
        return None
    by_n = {c["n"]: c["source"] for c in answer["citations"]}
    # A piece is the text up to and including its markers: "Satz [1] [2]."
    pieces = re.findall(r".+?(?:\[\d+\][\s.,;:]*)+|.+$", answer["answer"], flags=re.S)
    for piece in pieces:
        if wanted in norm(piece):
            cited = {by_n[int(n)] for n in re.findall(r"\[(\d+)\]", piece) if int(n) in by_n}
            return cited or set(by_n.values())
    return set(by_n.values())  # the span runs across pieces: any citation of the answer


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_STOP = set("der die das den dem des ein eine einen einem einer und oder mit fur von vom zum zur "
            "bei beim ist sind wird werden kann konnen auf aus als auch nicht nur wie wenn dann "
            "the and for with from that this are can will".split())


def numbers(text: str) -> set[str]:
    """The numbers of a text, decimal commas as points ("11,2" and "11.2" are one number)."""
    return {n.replace(",", ".") for n in _NUMBER.findall(text)}


def restated(piece: str, span: str) -> bool:
    """Whether ``piece`` states the numeric fact ``span`` in other words, as a translated or
    templated answer does ("The Talgrund 4 weighs 11.2 kg" for "Das Zelt wiegt 11,2 kg"):
    every number of the span, and a third of its longer words or, across languages, none."""
    wanted = numbers(span)
    if not wanted or not wanted <= numbers(piece):
        return False
    words = [w for w in norm(span).split() if len(w) >= 4 and w not in _STOP and not w[0].isdigit()]
    said = set(norm(piece).split())
    shared = sum(1 for w in words if w in said)
    return not words or shared * 3 >= len(words) or not shared and _other_language(piece, span)


def _other_language(piece: str, span: str) -> bool:
    english = {"the", "is", "are", "of", "and", "with", "weighs", "costs", "has"}
    return bool(english & set(norm(piece).split())) != bool(english & set(norm(span).split()))


def fact_said(answer: dict, target: dict) -> bool:
    """Whether the answer says ``target``'s fact (or an accepted variant) and cites its page
    for it: the span itself, or, for a fact with numbers, those numbers restated."""
    pages = {target["source"], *target.get("alt_sources", [])}
    by_n = {c["n"]: c["source"] for c in answer["citations"]}
    pieces = re.findall(r".+?(?:\[\d+\][\s.,;:]*)+|.+$", answer["answer"], flags=re.S)
    for span in [target["fact"], *target.get("accept", [])]:
        cited = _sentences_citing(answer, span)
        if cited is not None and cited & pages:
            return True
        for piece in pieces:
            marks = {by_n[int(n)] for n in re.findall(r"\[(\d+)\]", piece) if int(n) in by_n}
            if marks & pages and restated(piece, span):
                return True
    return False


def judge(case: dict, answer: dict) -> str:
    """The outcome of ``answer`` (one object of the ``--json`` or REST contract) for ``case``
    (or one turn of a conversation)."""
    kind = case["kind"]
    suggested = {s.get("source") for s in answer.get("suggestions") or []}
    if kind == "answerable":
        if _gave_answer(answer):
            return "right" if fact_said(answer, case) else "wrong"
        if {case["source"], *case.get("alt_sources", [])} & suggested:
            return "suggested"
        if says_not_found(answer) and not answer["handoff"]:
            return "not_found"
        return "handoff"
    if kind == "unanswerable":
        if answer["handoff"] or answer.get("route") == "suggest":
            return "handled"
        if says_not_found(answer) and not answer["citations"]:
            return "handled"
        return "wrong"
    if kind == "advice":
        if answer["handoff"]:
            return "handoff"
        products = {p.get("source") for p in answer.get("products") or []}
        if products & set(case.get("products", [])):
            return "right"
        if case.get("clarify") and answer.get("options") and not products:
            return "right"
        return "wrong"
    if kind in SPOKEN_KINDS:
        act = case.get("act") or kind
        person = kind in ("anger", "ask_human")
        return "right" if answer.get("act") == act and answer["handoff"] == person else "wrong"
    raise ValueError(f"case {case.get('id')}: unknown kind {kind!r}")
