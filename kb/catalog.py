"""The catalog of facts: what each product is, costs, weighs and fits, with where it says so.

Product advice must never guess a price or a size, so it works from facts, not from
prose. Facts come from three places, read at ingest:

- the front matter of a product document (``preis: 139,90 €``, ``personen: 2``,
  ``einsatz: [Wandern, Trekking]``, ``groessen: {M: {rueckenlaenge: 40–47 cm}}``);
- tables inside a document: a size table (first column "Größe"/"Size"/"Variante", one
  row per size, measures with their unit in the header) or a spec table (two columns,
  label and value);
- a product feed as shops export it (CSV, one row per product or variant, free columns;
  see ``FEED_COLUMNS`` for the header names that are understood, every other column is
  kept as a fact under its own header).

Each fact keeps its file and line, so an answer can cite it. The records travel as JSON
in the metadata of their document's chunks: a generation publishes them with the chunks
and an ingest that removes the file removes them too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kb.text import fold

# Canonical facet -> (German label, English label, unit, names a document or feed uses).
FACETS: dict[str, tuple[str, str, str, tuple[str, ...]]] = {
    "category": ("Kategorie", "category", "", (
        "kategorie", "category", "produktart", "produkttyp", "product type", "product_type",
        "warengruppe", "typ", "type")),
    "price": ("Preis", "price", "€", (
        "preis", "price", "preis eur", "preis (eur)", "preis in eur", "verkaufspreis", "vk",
        "vk-preis", "price eur", "kosten")),
    "weight": ("Gewicht", "weight", "kg", ("gewicht", "weight", "masse", "gewicht kg",
                                           "gewicht g")),
    "volume": ("Volumen", "volume", "l", ("volumen", "volume", "fassungsvermoegen",
                                          "kapazitaet", "capacity", "liter", "packvolumen")),
    "persons": ("Personen", "persons", "", ("personen", "persons", "people", "schlafplaetze",
                                            "personenzahl", "sleeps")),
    "seasons": ("Jahreszeiten", "seasons", "", ("jahreszeiten", "seasons", "saisons")),
    "comfort_temperature": ("Komforttemperatur", "comfort temperature", "°C", (
        "komforttemperatur", "komfort", "comfort temperature", "comfort_temperature",
        "comfort")),
    "limit_temperature": ("Grenztemperatur", "limit temperature", "°C", (
        "grenztemperatur", "limit temperature", "limit_temperature", "limit", "grenzbereich")),
    "waterproof": ("Wassersäule", "hydrostatic head", "mm", (
        "wassersaeule", "wassersäule", "hydrostatic head", "hydrostatic_head", "waterproof_mm")),
    "waterproof_flag": ("wasserdicht", "waterproof", "", ("wasserdicht", "waterproof")),
    "brightness": ("Helligkeit", "brightness", "lm", ("helligkeit", "brightness", "lumen",
                                                      "leuchtkraft")),
    "range": ("Leuchtweite", "beam distance", "m", ("leuchtweite", "beam distance", "range")),
    "length": ("Länge", "length", "cm", ("laenge", "länge", "length", "laenge cm")),
    "use": ("Einsatz", "use", "", ("einsatz", "einsatzbereich", "einsatzzweck", "verwendung",
                                   "use", "uses", "activity", "activities", "aktivitaet")),
    "features": ("Ausstattung", "features", "", ("ausstattung", "eigenschaften", "features",
                                                 "merkmale", "besonderheiten")),
    "variants": ("Varianten", "variants", "", ("varianten", "farben", "farbe", "variants",
                                               "colors", "colours", "color", "colour")),
}
_LIST_FACETS = {"use", "features", "variants"}
# Front-matter keys that describe the file, not the product.
_NOT_FACTS = {"title", "doc_type", "product", "audience", "updated", "language", "tags",
              "groessen", "sizes", "größen", "slug", "author", "date", "description", "link",
              "url", "beschreibung"}
# Product feed columns besides the facets: the product's name, its variant and its id.
FEED_COLUMNS = {
    "name": ("produktname", "name", "title", "titel", "artikelname", "artikel", "produkt",
             "product", "product name", "bezeichnung"),
    "variant": ("variante", "variant", "groesse", "größe", "size", "ausfuehrung", "modell"),
    "sku": ("artikelnummer", "sku", "id", "art.-nr.", "artnr", "item id", "ean", "gtin"),
    "description": ("beschreibung", "description", "kurzbeschreibung"),
    "link": ("link", "url", "produktlink"),
}
_SIZE_HEADERS = ("groesse", "größe", "size", "variante", "variant", "modell", "model",
                 "ausfuehrung", "ausführung")


def facet_key(label: str) -> str:
    """A header or key as compared: folded, umlauts spelled out, no unit in brackets."""
    label = re.sub(r"\(.*?\)|\[.*?\]", " ", str(label))
    folded = fold(label.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
                  .replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue").replace("ß", "ss"))
    return re.sub(r"[\s_]+", " ", folded).strip()


_ALIASES = {facet_key(alias): facet for facet, (*_, aliases) in FACETS.items() for alias in aliases}


def facet_of(label: str) -> str | None:
    """The canonical facet a key or column name stands for ("Preis (EUR)" -> "price")."""
    return _ALIASES.get(facet_key(label))


def pretty_label(key: str) -> str:
    """A front-matter key as a person reads it: "rueckenlaenge" -> "Rückenlänge"."""
    if any(c in key for c in "äöüÄÖÜ") or " " in key or not key.islower():
        return key[:1].upper() + key[1:]
    text = re.sub(r"(?<![aeq])ue", "ü", re.sub(r"(?<!e)ae", "ä", re.sub(r"(?<!e)oe", "ö", key)))
    return text.replace("_", " ")[:1].upper() + text.replace("_", " ")[1:]


_NUMBER = r"[-−–]?\s?\d+(?:[.,]\d+)*"
_RANGE = re.compile(rf"({_NUMBER})\s*(?:[-–—]|bis|to)\s*({_NUMBER})")
_UNIT_SCALE = {"kg": ("kg", 1.0), "g": ("kg", 0.001), "€": ("€", 1.0), "eur": ("€", 1.0),
               "euro": ("€", 1.0), "l": ("l", 1.0), "liter": ("l", 1.0), "ml": ("l", 0.001),
               "cm": ("cm", 1.0), "mm": ("mm", 1.0), "m": ("m", 1.0), "°c": ("°C", 1.0),
               "grad": ("°C", 1.0), "c": ("°C", 1.0), "lm": ("lm", 1.0), "lumen": ("lm", 1.0)}


def number(text: str) -> float | None:
    """A German or English number: "1,25" 1.25; "5.000" 5000; "1.5" 1.5; "-5" -5."""
    m = re.search(_NUMBER, str(text))
    if not m:
        return None
    raw = m.group().replace(" ", "").replace("−", "-").replace("–", "-")
    if "," in raw:
        raw = raw.replace(".", "").replace(",", ".")
    elif re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+", raw):
        raw = raw.replace(".", "")
    try:
        return float(raw)
    except ValueError:
        return None


def unit_of(text: str) -> str:
    """The unit written after the first number ("1,25 kg" -> "kg", "480 g" -> "g")."""
    m = re.search(rf"{_NUMBER}\s*(°\s?c|€|[a-zA-Z]+)?", str(text))
    return fold(m.group(1).replace(" ", "")) if m and m.group(1) else ""


def measure(text: str, header_unit: str = "") -> tuple[float, float, str] | None:
    """A value or range with its unit in a base unit: "40–47 cm" -> (40, 47, "cm");
    "480 g" -> (0.48, 0.48, "kg"); "139,90 €" -> (139.9, 139.9, "€")."""
    text = str(text).strip()
    m = _RANGE.search(text)
    low = number(m.group(1)) if m else number(text)
    high = number(m.group(2)) if m else low
    if low is None or high is None:
        return None
    after = re.match(r"\s*(°\s?c|€|[a-zA-Z]+)", text[m.end(2):]) if m else None
    raw_unit = (fold(after.group(1).replace(" ", "")) if after else "") if m else unit_of(text)
    raw_unit = raw_unit or fold(header_unit)
    if raw_unit in ("bis", "to"):
        raw_unit = fold(header_unit)
    unit, scale = _UNIT_SCALE.get(raw_unit, (raw_unit, 1.0))
    return round(low * scale, 4), round(high * scale, 4), unit


@dataclass(frozen=True)
class Fact:
    """One fact about a product: its facet (canonical, or the label as written for a free
    column), how the source writes it, its value in a base unit, and where it stands."""

    facet: str
    label: str
    text: str
    low: float | None = None
    high: float | None = None
    unit: str = ""
    items: tuple[str, ...] = ()
    line: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if v not in (None, "", ()) or k in ("low", "high") and v is not None}


@dataclass(frozen=True)
class Size:
    """One size or variant with its measures by label ("Rückenlänge" -> 40–47 cm)."""

    name: str
    measures: dict[str, Fact]
    line: int = 0


@dataclass(frozen=True)
class Product:
    """A product and its facts, as one source file (or feed rows) give them."""

    name: str
    source: str
    category: str = ""
    facts: dict[str, Fact] = field(default_factory=dict)
    sizes: tuple[Size, ...] = ()
    intro: str = ""
    audience: str = "public"
    title: str = ""

    def value(self, facet: str, pick: str = "low") -> float | None:
        """The facet's number: a fact's value, else the lowest (or highest) over the sizes."""
        fact = self.facts.get(facet)
        if fact is not None and fact.low is not None:
            return fact.low if pick == "low" else fact.high
        label = FACETS[facet][0] if facet in FACETS else facet
        values = [f.low if pick == "low" else f.high for s in self.sizes
                  for lab, f in s.measures.items() if facet_of(lab) == facet or lab == label]
        values = [v for v in values if v is not None]
        if not values:
            return None
        return min(values) if pick == "low" else max(values)

    def words(self) -> set[str]:
        """Folded words of the name, category, uses, features, variants and intro."""
        parts = [self.name, self.category, self.title, self.intro]
        for fact in self.facts.values():
            parts += list(fact.items) or ([fact.text] if fact.facet not in FACETS else [])
        return set(re.findall(r"[a-z0-9]+", fold(" ".join(parts))))

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "source": self.source, "category": self.category,
                "intro": self.intro, "title": self.title,
                "facts": [f.to_dict() for f in self.facts.values()],
                "sizes": [{"name": s.name, "line": s.line,
                           "measures": [f.to_dict() for f in s.measures.values()]}
                          for s in self.sizes]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], audience: str) -> Product:
        def fact(d: Mapping[str, Any]) -> Fact:
            return Fact(**{**d, "items": tuple(d.get("items", ()))})
        facts = {f["facet"]: fact(f) for f in data.get("facts", [])}
        sizes = tuple(Size(s["name"], {m["label"]: fact(m) for m in s["measures"]}, s.get("line", 0))
                      for s in data.get("sizes", []))
        return cls(data["name"], data["source"], data.get("category", ""), facts, sizes,
                   data.get("intro", ""), audience, data.get("title", ""))


def _items(value: Any) -> tuple[str, ...]:
    if isinstance(value, (list, tuple)):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(p.strip() for p in re.split(r"[,;|/]", str(value)) if p.strip())


def make_fact(label: str, value: Any, line: int = 0, header_unit: str = "") -> Fact | None:
    """A fact from a key (or column) and its value; None for an empty value."""
    if value is None or str(value).strip() in ("", "-", "–"):
        return None
    facet = facet_of(label) or label.strip()
    shown = pretty_label(label.strip()) if facet not in FACETS else FACETS[facet][0]
    if isinstance(value, bool):
        value = "ja" if value else "nein"
    if facet in _LIST_FACETS or isinstance(value, (list, tuple)):
        items = _items(value)
        return Fact(facet, shown, ", ".join(items), items=items, line=line)
    text = str(value).strip()
    if facet in ("category", "waterproof_flag"):
        return Fact(facet, shown, text, line=line)
    unit = FACETS[facet][2] if facet in FACETS else ""
    if facet == "seasons":
        seasons = number(text)
        return Fact(facet, shown, text, seasons, seasons, "", line=line) if seasons else \
            Fact(facet, shown, text, line=line)
    found = measure(text, header_unit or unit)
    if found is None:
        return Fact(facet, shown, text, line=line)
    low, high, got_unit = found
    if facet == "weight" and got_unit not in ("kg", ""):
        return Fact(facet, shown, text, line=line)
    return Fact(facet, shown, text, low, high, got_unit or unit, line=line)


def _line_of(key: str, lines: list[str], start: int = 0) -> int:
    pattern = re.compile(rf"^\s*['\"]?{re.escape(str(key))}['\"]?\s*:", re.IGNORECASE)
    return next((n + 1 for n, line in enumerate(lines) if n >= start and pattern.match(line)), 0)


def _size_from_mapping(name: str, measures: Any, lines: list[str]) -> Size | None:
    line = _line_of(name, lines)
    if isinstance(measures, Mapping):
        facts = {}
        for label, value in measures.items():
            fact = make_fact(str(label), value, line)
            if fact is not None:
                facts[fact.label] = fact
        return Size(str(name), facts, line)
    fact = make_fact("Maß", measures, line)
    return Size(str(name), {fact.label: fact} if fact else {}, line)


# -- tables ---------------------------------------------------------------------------

_TABLE_ROW = re.compile(r"^\s*\|(.+)\|\s*$")
_RULE = re.compile(r"^\s*\|?\s*:?-{2,}")


def tables(text: str) -> Iterable[tuple[list[str], list[tuple[int, list[str]]]]]:
    """Markdown tables in ``text``: (header cells, [(line number, cells)]), lines 1-based."""
    lines = text.splitlines()
    n = 0
    while n < len(lines):
        if _TABLE_ROW.match(lines[n]) and n + 1 < len(lines) and _RULE.match(lines[n + 1]):
            header = [c.strip() for c in _TABLE_ROW.match(lines[n]).group(1).split("|")]
            rows, n = [], n + 2
            while n < len(lines) and _TABLE_ROW.match(lines[n]):
                rows.append((n + 1, [c.strip() for c in _TABLE_ROW.match(lines[n]).group(1).split("|")]))
                n += 1
            yield header, rows
        else:
            n += 1


def _header_unit(header: str) -> tuple[str, str]:
    """"Rückenlänge (cm)" -> ("Rückenlänge", "cm")."""
    m = re.match(r"^(.*?)\s*[(\[]\s*([^)\]]+?)\s*[)\]]\s*$", header)
    return (m.group(1).strip(), m.group(2)) if m else (header.strip(), "")


def table_facts(text: str, line_offset: int = 0) -> tuple[list[Size], dict[str, Fact]]:
    """Size tables (a first column of sizes) and two-column spec tables in a document."""
    sizes: list[Size] = []
    facts: dict[str, Fact] = {}
    for header, rows in tables(text):
        if not header or not rows:
            continue
        if facet_key(header[0]) in _SIZE_HEADERS and len(header) >= 2:
            for line, cells in rows:
                measures = {}
                for head, cell in zip(header[1:], cells[1:], strict=False):
                    label, unit = _header_unit(head)
                    fact = make_fact(label, cell, line + line_offset, unit)
                    if fact is not None:
                        measures[fact.label] = fact
                if cells and cells[0]:
                    sizes.append(Size(cells[0], measures, line + line_offset))
        elif len(header) == 2:
            for line, cells in [(0, header)] + rows:
                if len(cells) >= 2 and line:
                    label, unit = _header_unit(cells[0])
                    fact = make_fact(label, cells[1], line + line_offset, unit)
                    if fact is not None:
                        facts.setdefault(fact.facet, fact)
    return sizes, facts


# -- the three sources ----------------------------------------------------------------

def _intro(body: str) -> str:
    """The first paragraph of prose: what the product is and who it is for."""
    for block in re.split(r"\n\s*\n", body):
        block = block.strip()
        if block and not block.startswith(("#", "|", "-", "*", "!")):
            return block[:400]
    return ""


def from_front_matter(meta: Mapping[str, Any], front: str, body: str, source: str,
                      body_line: int) -> Product | None:
    """The product a document describes, when its front matter names one and gives facts
    (or its body has a size or spec table)."""
    name = str(meta.get("product") or "").strip()
    if not name:
        return None
    lines = front.splitlines()
    facts: dict[str, Fact] = {}
    for key, value in meta.items():
        if str(key).lower() in _NOT_FACTS or isinstance(value, Mapping):
            continue
        fact = make_fact(str(key), value, _line_of(str(key), lines) + 1)
        if fact is not None:
            facts[fact.facet] = fact
    sizes, table = table_facts(body, body_line)
    for facet, fact in table.items():
        facts.setdefault(facet, fact)
    declared = meta.get("groessen") or meta.get("sizes") or meta.get("größen")
    if isinstance(declared, Mapping):
        start = _line_of(next(k for k in ("groessen", "sizes", "größen") if k in meta), lines)
        for size_name, measures in declared.items():
            size = _size_from_mapping(str(size_name), measures, lines[start:])
            if size is not None:
                sizes.append(Size(size.name, {k: _moved(f, start + 1) for k, f in size.measures.items()},
                                  size.line + start + 1 if size.line else 0))
    if not facts and not sizes:
        return None
    category = facts.pop("category").text if "category" in facts else ""
    return Product(name, source, category, facts, tuple(sizes), _intro(body),
                   title=str(meta.get("title") or name))


def _moved(fact: Fact, by: int) -> Fact:
    return Fact(fact.facet, fact.label, fact.text, fact.low, fact.high, fact.unit, fact.items,
                fact.line + by if fact.line else 0)


def feed_columns(header: Iterable[str]) -> dict[str, str]:
    """Which feed column plays which role: name, variant, sku, description, link."""
    roles: dict[str, str] = {}
    for column in header:
        key = facet_key(column)
        for role, names in FEED_COLUMNS.items():
            if key in {facet_key(n) for n in names} and role not in roles.values():
                roles[column] = role
                break
    return roles


def is_feed(header: Iterable[str]) -> bool:
    """A product feed names its products and gives at least one fact per row."""
    header = list(header)
    roles = feed_columns(header)
    return "name" in roles.values() and any(facet_of(c) for c in header if c not in roles)


def from_feed(rows: list[tuple[int, dict[str, str]]], source: str) -> tuple[list[Product], list[str]]:
    """Products from feed rows ((line, row) pairs); rows of one name are its variants.
    Returns the products and a note per row that was skipped."""
    if not rows:
        return [], []
    roles = feed_columns(rows[0][1].keys())
    role_of = {role: column for column, role in roles.items()}
    by_name: dict[str, list[tuple[int, dict[str, str]]]] = {}
    skipped = []
    for line, row in rows:
        name = str(row.get(role_of["name"]) or "").strip()
        if not name:
            skipped.append(f"line {line}: no product name; skipped")
            continue
        by_name.setdefault(name, []).append((line, row))
    products = []
    for name, group in by_name.items():
        first_line, first = group[0]
        facts: dict[str, Fact] = {}
        for column, value in first.items():
            if column is None or column in roles:
                continue
            label, unit = _header_unit(column)
            fact = make_fact(label, value, first_line, unit)
            if fact is not None:
                facts[fact.facet] = fact
        sizes = []
        variant_col = role_of.get("variant")
        if variant_col and (len(group) > 1 or str(first.get(variant_col) or "").strip()):
            for line, row in group:
                measures = {}
                for column, value in row.items():
                    if column is None or column in roles:
                        continue
                    label, unit = _header_unit(column)
                    fact = make_fact(label, value, line, unit)
                    if fact is not None and fact.low is not None:
                        measures[fact.label] = fact
                sizes.append(Size(str(row.get(variant_col) or "").strip() or name, measures, line))
            if len(group) > 1:  # these differ per variant: the variants carry them
                for facet in ("price", "weight", "length", "volume"):
                    facts.pop(facet, None)
        category = facts.pop("category").text if "category" in facts else ""
        description = str(first.get(role_of.get("description", ""), "") or "").strip()
        products.append(Product(name, source, category, facts, tuple(sizes), description[:400],
                                title=name))
    return products, skipped


def feed_text(product: Product) -> str:
    """A feed product as prose for retrieval and quotes: its facts and variants, one line each."""
    lines = [product.name + (f" ({product.category})" if product.category else "")]
    if product.intro:
        lines.append(product.intro)
    for fact in product.facts.values():
        lines.append(f"{fact.label}: {fact.text}")
    for size in product.sizes:
        measures = ", ".join(f"{f.label} {f.text}" for f in size.measures.values())
        lines.append(f"Variante {size.name}: {measures}" if measures else f"Variante {size.name}")
    return "\n".join(lines)


def dumps(products: Iterable[Product]) -> str:
    return json.dumps([p.to_json() for p in products], ensure_ascii=False, separators=(",", ":"))


def loads(text: str, audience: str) -> list[Product]:
    return [Product.from_json(d, audience) for d in json.loads(text or "[]")]
