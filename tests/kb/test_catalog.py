"""The catalog of facts: front matter, size and spec tables, and product feeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_file
from kb.catalog import from_feed, loads, measure, number

DOC = """---
title: Kammweg 45 – Trekkingrucksack
doc_type: product
product: Kammweg 45
kategorie: Rucksack
preis: 169,00 €
gewicht: 1,38 kg
volumen: 45 l
einsatz: [Hüttentrekking, Alpenüberquerung]
Tragesystem: verstellbar
---
# Kammweg 45

Der Kammweg 45 ist unser Rucksack für Hüttentouren.

## Größen

| Größe | Rückenlänge (cm) | Gewicht (kg) |
|---|---|---|
| M | 42–49 | 1,38 |
| L | 47–54 | 1,45 |

## Technische Daten

| Merkmal | Wert |
|---|---|
| Zuladung | 15 kg |
"""


def _load(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_file(path, name)


def test_numbers_and_measures_in_german_and_english_notation():
    assert number("1,25 kg") == 1.25
    assert number("5.000 mm") == 5000
    assert number("1.5") == 1.5
    assert number("-5 °C") == -5
    assert measure("40–47 cm") == (40, 47, "cm")
    assert measure("480 g") == (0.48, 0.48, "kg")
    assert measure("139,90 €") == (139.9, 139.9, "€")
    assert measure("42", "cm") == (42, 42, "cm")


def test_front_matter_and_tables_become_facts_with_their_lines(tmp_path):
    doc = _load(tmp_path, "kammweg.md", DOC).documents[0]
    [product] = loads(doc.metadata["catalog"], "public")
    assert product.name == "Kammweg 45" and product.category == "Rucksack"
    assert product.value("price") == 169.0 and product.value("volume") == 45
    assert product.facts["use"].items == ("Hüttentrekking", "Alpenüberquerung")
    lines = DOC.splitlines()
    assert "preis: 169,00 €" in lines[product.facts["price"].line - 1]
    # a free key is kept under its own name
    assert product.facts["Tragesystem"].text == "verstellbar"
    # the spec table's row
    assert product.facts["Zuladung"].low == 15
    sizes = {s.name: s for s in product.sizes}
    assert sizes["L"].measures["Rückenlänge"].low == 47
    assert sizes["L"].measures["Rückenlänge"].high == 54
    assert lines[sizes["L"].line - 1].startswith("| L |")


def test_a_product_feed_with_variants_and_free_columns(tmp_path):
    feed = ("Artikelnummer;Produktname;Kategorie;Variante;Preis;Gewicht;Länge (cm);R-Wert\n"
            "A-1;Faltwabe 8;Isomatte;Regular;39,90 €;410 g;183;2,0\n"
            "A-2;Faltwabe 8;Isomatte;Short;34,90 €;290 g;130;2,0\n"
            "A-3;;Isomatte;;9 €;;;\n"
            "B-1;Feuerkopf 3000;Kocher;;49,90 €;88 g;;\n")
    loaded = _load(tmp_path, "feed.csv", feed)
    assert [d.title for d in loaded.documents] == ["Faltwabe 8", "Feuerkopf 3000"]
    assert any("line 4" in w for w in loaded.warnings)  # the row without a name is named
    mat = loads(loaded.documents[0].metadata["catalog"], "public")[0]
    assert mat.category == "Isomatte" and mat.facts["R-Wert"].low == 2.0
    assert [s.name for s in mat.sizes] == ["Regular", "Short"]
    assert mat.value("price") == 34.9 and mat.value("price", "high") == 39.9
    assert "Variante Short" in loaded.documents[0].text  # retrieval and quotes see the facts
    stove = loads(loaded.documents[1].metadata["catalog"], "public")[0]
    assert stove.value("weight") == pytest.approx(0.088)


def test_a_csv_that_is_neither_faq_nor_feed_is_refused_with_the_reason(tmp_path):
    from kb.errors import LoaderError

    with pytest.raises(LoaderError, match="product name column"):
        _load(tmp_path, "x.csv", "foo;bar\n1;2\n")


def test_feed_rows_keep_their_line_numbers():
    products, skipped = from_feed([(2, {"Name": "Zelt A", "Preis": "99 €"})], "f.csv")
    assert products[0].facts["price"].line == 2 and not skipped
