"""Text primitives shared by chunking, the lexical index and the answerer.

Sentence splitting knows German abbreviations ("z.B.", "ca.", "bzw.") and
ordinals ("3. Oktober"), so they never end a sentence. Tokens for BM25 are
German Snowball stems without stop words; character n-grams within words
catch compound parts ("Regenjacke" ~ "Jacke") and names shared across
languages.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import Stemmer


def _bm25s_stopwords():
    """bm25s's stop word lists, read from their own file: importing them through the
    package loads bm25s with scipy and tqdm (about half a second), which a process that
    only reads files (the ingest's loader worker) never needs. Where the file cannot be
    read that way (a zipped install), the package is imported after all."""
    try:
        package = importlib.util.find_spec("bm25s")
        path = Path(package.submodule_search_locations[0]) / "stopwords.py"
        spec = importlib.util.spec_from_file_location("lotse_bm25s_stopwords", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except Exception:
        from bm25s import stopwords

        return stopwords


_bm25s = _bm25s_stopwords()

_ABBREVIATIONS = {
    # German
    "z.b", "ca", "bzw", "usw", "evtl", "ggf", "inkl", "exkl", "zzgl", "vgl", "d.h", "u.a",
    "s.o", "s.u", "etc", "nr", "str", "tel", "abs", "art", "bzgl", "min", "max", "mind",
    "dr", "prof", "hr", "fr", "jh", "mio", "mrd", "gem", "lt", "o.ä", "u.ä", "z.t",
    "i.d.r", "u.u", "v.a", "sog", "zb", "dt", "engl", "geb", "ggü", "kl", "gr", "st", "std",
    "jan", "feb", "mär", "apr", "jun", "jul", "aug", "sep", "sept", "okt", "nov", "dez",
    # English
    "e.g", "i.e", "approx", "incl", "no", "vs", "mr", "mrs", "ms",
}

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»«“”)\]]*\s+")
_WORD = re.compile(r"\w+", re.UNICODE)
_GERMAN_STOP = frozenset(_bm25s.STOPWORDS_GERMAN)
_ENGLISH_STOP = frozenset(_bm25s.STOPWORDS_EN)
_STOP = _GERMAN_STOP | _ENGLISH_STOP
STOP_WORDS = _STOP

# Function words that only one of the two languages uses; short questions
# carry too little text for statistical detectors, but almost always one of these.
_DE_MARKERS = frozenset(
    "der die das und ist nicht ich du sie wir ihr mit für auf bei wie was wann wo warum "
    "kann können muss gibt es ein eine einen welche welcher welches mein meine mir mich "
    "noch schon auch oder aber wenn dass zum zur vom im am den dem des habe hat sind "
    "wird werden bitte danke gibt's geht kostet lange größe und ja nein".split()
)
_EN_MARKERS = frozenset(
    "the and is are not i you we they with for on at how what when where why can could "
    "must there a an which my me still already also or but if that to of in have has "
    "will be please thanks does do cost long size yes no it this your".split()
)


def split_sentences(text: str) -> list[str]:
    """Split text into sentences without breaking after abbreviations or ordinals."""
    text = text.strip()
    if not text:
        return []
    pieces: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].rstrip()
        if _ends_with_abbreviation(candidate) or _SPACED_ABBREVIATION.match(
                text, match.end()) and re.search(r"(?:^|\s)\w\.$", candidate):
            continue  # "z. B." and "u. a." are written with a space, too
        nxt = text[match.end() : match.end() + 1]
        if nxt and nxt.islower():
            # "ca. 2 kg" is caught above; a lower-case start after a period is
            # almost never a new sentence in German or English prose.
            continue
        pieces.append(text[start : match.end()].strip())
        start = match.end()
    tail = text[start:].strip()
    if tail:
        pieces.append(tail)
    return [p for p in pieces if p]


_SPACED_ABBREVIATION = re.compile(r"\w\.(?:\s|$)")


def _ends_with_abbreviation(candidate: str) -> bool:
    if not candidate.endswith("."):
        return False
    if re.search(r"(?:^|\s)\w\.\s\w\.$", candidate):
        return True  # the second half of "z. B.", "d. h.", "u. a."
    last = candidate.rsplit(None, 1)[-1].lower().rstrip(".")
    last = last.lstrip("(\"'„“»")
    if last in _ABBREVIATIONS:
        return True
    # Ordinals and dates: "3. Oktober", "24.12. geliefert". Single letters are not
    # abbreviations here: "in den Größen M und L." ends a sentence.
    return bool(re.fullmatch(r"\d{1,2}|\d{1,2}\.\d{1,2}", last))


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


_FOLD = str.maketrans({"ä": "a", "ö": "o", "ü": "u", "ß": "ss", "é": "e", "è": "e", "à": "a"})


def fold(text: str) -> str:
    """Lower-case and strip accents so "Größe", "grösse" and "GROESSE" compare closely."""
    text = text.lower().translate(_FOLD)
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def named_products(text: str, products: Iterable[str]) -> list[str]:
    """Products named in ``text`` in full, longest names first, matched on folded words
    ("AlpinPro 35" in "beim alpinpro 35?"; the family "AlpinPro" alone names none)."""
    folded = _name_key(text)
    found = [p for p in products if _name_key(p) in folded]
    return sorted(found, key=len, reverse=True)


def mentioned_products(text: str, products: Iterable[str]) -> list[str]:
    """Products named in full or by a short form people use in a comparison, in the order
    they are mentioned: the name's first words up to its number when only one product
    starts so ("Fjell 2" for "Fjell 2 Expedition"), and a bare number after its family
    was named ("AlpinPro 50 oder reicht der 35?", "der 35er")."""
    products = list(products)
    folded = _name_key(text)
    spans: dict[str, int] = {}
    for p in products:
        key = _name_key(p)
        if key in folded:
            spans.setdefault(p, folded.index(key))
            continue
        parts = key.split()
        numbered = next((i for i, w in enumerate(parts) if any(c.isdigit() for c in w)), None)
        if numbered is not None and 0 < numbered < len(parts) - 1:
            short = f" {' '.join(parts[:numbered + 1])} "
            if short in folded and sum(_name_key(q).startswith(short) for q in products) == 1:
                spans.setdefault(p, folded.index(short))
    families = {_name_key(p).split()[0] for p in spans}
    for p in products:
        parts = _name_key(p).split()
        if p in spans or len(parts) != 2 or parts[0] not in families:
            continue
        m = re.search(rf" {re.escape(parts[1])}(?:er|ers|s)? ", folded)
        if m:
            spans[p] = m.start()
    return sorted(spans, key=spans.get)


@lru_cache(maxsize=8192)
def _name_key(text: str) -> str:
    """Folded words between spaces; cached, since every retrieval compares every name."""
    return f" {' '.join(fold(w) for w in words(text))} "


def word_tokens(text: str) -> list[str]:
    """German Snowball stems of the content words of ``text``."""
    stem = _stemmer("german").stemWord
    return [fold(stem(w)) for w in words(text) if w not in _STOP and (len(w) > 1 or w.isdigit())]


def ngram_tokens(text: str, n: int = 4) -> list[str]:
    """Character n-grams of each content word, with word boundaries marked by '#'."""
    grams: list[str] = []
    for w in words(text):
        if w in _STOP:
            continue
        padded = f"#{fold(w)}#"
        if len(padded) <= n:
            grams.append(padded)
        else:
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


def detect_language(text: str, default: str = "de") -> str:
    """'de' or 'en' from function words and German letters; ``default`` when undecided."""
    ws = words(text)
    de = sum(w in _DE_MARKERS for w in ws) + 2 * len(re.findall(r"[äöüß]", text.lower()))
    en = sum(w in _EN_MARKERS for w in ws)
    if de == en:
        return default
    return "de" if de > en else "en"


def content_hash(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()


def short_hash(*parts: str, length: int = 16) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:length]
