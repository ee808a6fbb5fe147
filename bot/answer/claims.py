"""What a generated sentence claims, clause by clause, compared with its cited text.

The citation check's word and meaning scores say whether a sentence is *about* its
source. These rules catch a sentence that is about its source but changes what it says,
in the ways a language model does (German and English, any corpus):

- ``place_not_in_source``: it names a country or city the source does not (``kb.gazetteer``);
- ``reference_changed``: a period counts from another point ("ab Bestellung" where the
  source says "ab Erhalt"), or before and after are swapped ("vor dem Bohren");
- ``polarity_changed``: a clause says the opposite of the source clause it matches, or
  drops the source's "nur"/"only";
- ``clause_not_in_source``: one clause of it is not in the source at all ("…, auch an
  Sonn- und Feiertagen"), however well the rest is supported.

Each function returns the reason's detail, or None when the sentence passes.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kb.gazetteer import places_in
from kb.text import fold, split_sentences, word_tokens, words

_CLAUSE = re.compile(r"[;,]\s+|\s+[–—-]\s+|\s+(?:sowie|whereas|while|während|wobei)\s+")


def clauses(text: str) -> list[str]:
    """A sentence cut at commas, semicolons, dashes and contrastive joiners (never inside
    a number like "9,90")."""
    return [c for c in _CLAUSE.split(text) if c and c.strip()]


def source_clauses(cited: str) -> list[str]:
    """The cited text's clauses; a table row ("Größe: S; Gewicht: 2,45") stays whole,
    since its first cell names what the others belong to."""
    out = []
    for line in cited.splitlines():
        if line.count(":") >= 2 and ";" in line:
            out.append(line)
            continue
        for sentence in split_sentences(line):
            out += clauses(sentence)
    return [c for c in out if c.strip()]


# -- places ------------------------------------------------------------------------------

def foreign_place(sentence: str, cited: str) -> str | None:
    """A country or city the sentence names and the cited text does not."""
    named = places_in(sentence)
    if not named:
        return None
    known = places_in(cited, anywhere=True)
    folded = fold(cited)
    for code, name in named.items():
        if code not in known and fold(name) not in folded:
            return f"{name} is not named in the cited text"
    return None


# -- reference points --------------------------------------------------------------------

# What a period can count from, by stem; words of one group mean the same point.
_POINTS = {
    "order": ("bestell", "order"),
    "delivery": ("erhalt", "liefer", "zustell", "empfang", "deliver", "receipt", "receiv",
                 "arriv"),
    "payment": ("zahlung", "payment", "paid", "bezahl"),
    "shipping": ("versand", "versend", "verschick", "dispatch", "ship"),
    "purchase": ("kauf", "purchas", "buy", "bought"),
    "invoice": ("rechnung", "invoice"),
    "opening": ("eroffn", "open"),
    "closing": ("abschluss", "schliess", "clos"),
}
_AFTER = {"ab", "nach", "seit", "from", "after", "since", "of", "following", "upon", "binnen",
          "innerhalb", "within"}
_BEFORE = {"vor", "before", "prior"}
_GAP = 3  # words allowed between the preposition and the point ("from the date of purchase")


def _point(token: str) -> str | None:
    return next((group for group, stems in _POINTS.items()
                 if any(token.startswith(s) for s in stems)), None)


_SINCE = {"ab", "seit", "since"}  # these tie a period to any point named after them
_ARTICLES = {"dem", "der", "den", "des", "the", "your", "deiner", "ihrer", "einem", "einer"}


def anchors(text: str) -> set[tuple[str, str]]:
    """(direction, point) for each point a preposition ties a period or step to:
    ("after", "delivery") for "14 Tage ab Erhalt", ("before", "opening") for "vor der
    Eröffnung". After "ab"/"seit" any noun is a point, named by its stem ("3 Jahre ab
    Ausstellung")."""
    raw = words(text)
    tokens = [fold(w) for w in raw]
    found = set()
    for i, token in enumerate(tokens):
        group = _point(token)
        if group:
            for back in range(1, _GAP + 2):
                prep = tokens[i - back] if i - back >= 0 else ""
                if prep in _AFTER or prep in _BEFORE:
                    found.add(("before" if prep in _BEFORE else "after", group))
                    break
        elif token in _SINCE:
            rest = [t for t in tokens[i + 1:i + 3] if t not in _ARTICLES]
            if rest and len(rest[0]) >= 4 and rest[0].isalpha():
                point = _point(rest[0]) or next(iter(word_tokens(rest[0])), rest[0])
                found.add(("after", point))
    return found


def _flips(sentence: str, cited: str) -> str | None:
    """"vor dem Bohren" where the source says "nach dem Bohren", and the other way round."""
    folded, source = fold(sentence), fold(cited)
    for m in re.finditer(r"\b(vor|nach|before|after)\s+((?:dem|der|den|des|the)\s+)?(\w{4,})",
                         folded):
        prep, noun = m.group(1), m.group(3)
        other = {"vor": "nach", "nach": "vor", "before": "after", "after": "before"}[prep]
        same = re.search(rf"\b{prep}\s+(?:\w+\s+)?{noun}", source)
        flipped = re.search(rf"\b{other}\s+(?:\w+\s+)?{noun}", source)
        if flipped and not same:
            return f"{prep!r} {noun}: the cited text says {other!r}"
    return None


def changed_reference(sentence: str, cited: str) -> str | None:
    """A period or step tied to another point, or to the other side of it, than in the
    cited text. A source that ties nothing to a point gives nothing to compare."""
    said, source = anchors(sentence), anchors(cited)
    if said and source:
        for direction, group in sorted(said):
            if (direction, group) in source:
                continue
            if any(g == group for _, g in source):
                return f"{direction} {group}: the cited text counts the other way"
            return f"counted from {group}, the cited text counts from " \
                   f"{'/'.join(sorted({g for _, g in source}))}"
    return _flips(sentence, cited)


# -- polarity ----------------------------------------------------------------------------

_NEGATION = {"nicht", "kein", "keine", "keinen", "keiner", "keines", "keinem", "nie", "niemals",
             "nichts", "not", "no", "never", "none", "nothing", "cannot", "nor", "weder"}
_FREE = re.compile(r"\b(kostet|kosten|costs?) (nichts|nothing)\b|\bfree of charge\b|"
                   r"\bno (charge|cost)\b|\bohne (aufpreis|kosten|gebuhr)\b")
_ONLY = {"nur", "ausschliesslich", "only", "exclusively", "lediglich", "solely"}
_ALSO = {"auch", "also", "too", "ebenfalls", "additionally", "zusatzlich"}
_MIN_SHARED = 2  # content words a source clause must share to be the one a clause restates


def _negated(tokens: set[str]) -> bool:
    return bool(tokens & _NEGATION) or any(t.endswith("n't") for t in tokens)


def _folded_words(text: str) -> set[str]:
    return set(words(_FREE.sub(" kostenlos ", fold(text))))


def changed_polarity(sentence: str, cited: str) -> str | None:
    """A clause negated where no source clause about the same things is, a clause that
    states plainly what the source clauses it restates all negate, or "auch" where those
    clauses say "nur". Clauses are matched by shared word stems, so only sentences in the
    source's language are compared."""
    units = [(set(word_tokens(u)), _folded_words(u)) for u in source_clauses(cited)]
    for clause in clauses(sentence):
        content = set(word_tokens(clause))
        if len(content) < _MIN_SHARED:
            continue
        shared = [(len(content & stems), said) for stems, said in units]
        related = [said for n, said in shared if n]
        best = max((n for n, _ in shared), default=0)
        mine = _folded_words(clause)
        if _negated(mine) and related and not any(_negated(said) for said in related):
            return f"{clause.strip()!r} negates what the cited text does not"
        if best < _MIN_SHARED:
            continue
        close = [said for n, said in shared if n >= max(_MIN_SHARED, best - 1)]
        if not _negated(mine) and all(_negated(said) for said in close):
            return f"{clause.strip()!r} drops the cited text's negation"
        if mine & _ALSO and not mine & _ONLY and all(said & _ONLY for said in close):
            return f"{clause.strip()!r} widens what the cited text limits"
    return None


# -- clause support ----------------------------------------------------------------------

_ADDED = 0.25  # less than this share of an added clause's words is in the cited text
_CARRIED = 0.5  # at least this share of another clause's words is
# Words that frame a claim rather than make one ("laut unseren Unterlagen gilt", "kurz
# gesagt", "das gilt auch für").
_FRAME = {t for w in ("gilt gelten auch also too und and oder or das dies this that es it "
                      "zwar namely sowie as well bei for für with mit laut unseren unterlagen "
                      "gesagt kurz wissen gut according documents short note kann kannst "
                      "können can could may").split()
          for t in word_tokens(w)}


def unsupported_clause(sentence: str, found: Callable[[str], bool]) -> str | None:
    """In a sentence of several clauses, one the cited text carries and one it does not
    (less than a quarter of its content words there): an addition the source does not make,
    such as a case the policy is extended to. ``found(stem)`` says whether a word stem
    is in the cited text. A one-clause sentence is left to the support scores."""
    shares = []
    for clause in re.split(r":\s+", sentence):
        for part in clauses(clause):
            content = [t for t in word_tokens(part) if t not in _FRAME and not t.isdigit()]
            if len(content) >= 2:
                shares.append((sum(1 for t in content if found(t)) / len(content), part))
    if len(shares) < 2 or max(share for share, _ in shares) < _CARRIED:
        return None
    share, part = min(shares)
    if share < _ADDED:
        return f"{part.strip()!r}: {share:.0%} of its words are in the cited text"
    return None
