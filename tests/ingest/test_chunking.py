"""Markdown chunking: headings, lists, tables and code from a real parser."""

from __future__ import annotations

from ingest.chunking import chunk_document, sections
from kb.settings import ChunkingSettings
from kb.types import Document

GUIDE = """# Pflege

Wasche die Jacke bei 30 Grad. Verwende kein Weichspüler.

## Imprägnieren

Nach dem Waschen:

- Spray gleichmäßig auftragen
- 24 Stunden trocknen lassen
• bei Bedarf wiederholen

| Größe | Rückenlänge |
|---|---|
| M | 40–47 cm |

```bash
# kein Heading, sondern ein Kommentar
lotse ingest docs
```
"""


def test_headings_open_sections_and_code_comments_do_not():
    found = sections(GUIDE)
    assert [s.title for s in found] == ["Pflege", "Imprägnieren"]
    units = found[1].units
    # The list is one unit with the sentence that leads into it.
    assert ("Nach dem Waschen: Spray gleichmäßig auftragen; 24 Stunden trocknen lassen; "
            "bei Bedarf wiederholen.") in units
    # A table row carries its header.
    assert "Größe: M; Rückenlänge: 40–47 cm" in units
    assert any("# kein Heading" in u for u in units)


def test_paragraphs_split_into_sentences():
    assert sections(GUIDE)[0].units == ("Wasche die Jacke bei 30 Grad.", "Verwende kein Weichspüler.")


def test_chunks_keep_section_and_stable_ids():
    doc = Document(id="d1", text=GUIDE, source="pflege.md", title="Pflege",
                   metadata={"audience": "public", "doc_type": "guide"})
    first = chunk_document(doc, ChunkingSettings(max_chars=200))
    again = chunk_document(doc, ChunkingSettings(max_chars=200))
    assert [c.id for c in first] == [c.id for c in again]
    assert {c.section for c in first} == {"Pflege", "Imprägnieren"}
    assert all(len(c.text) <= 200 for c in first)


def test_an_faq_entry_is_one_chunk():
    doc = Document(id="f1", text="Innerhalb von 30 Tagen.", source="faq.csv", title="FAQ",
                   metadata={"audience": "public", "doc_type": "faq",
                             "faq_question": "Wie lange habe ich Zeit?"})
    [chunk] = chunk_document(doc, ChunkingSettings())
    assert chunk.section == "Wie lange habe ich Zeit?" and chunk.text == "Innerhalb von 30 Tagen."


def test_a_list_under_a_heading_keeps_the_heading_when_its_items_are_fragments():
    found = sections("## Ausstattung\n- integrierte Regenhülle\n- Eisgerätehalterung\n\n"
                     "## Größen\n- Größe M passt bei 40 bis 47 cm.\n- Größe L passt bei 46 bis 53 cm.\n")
    assert found[0].units == ("Ausstattung: integrierte Regenhülle; Eisgerätehalterung.",)
    assert found[1].units == ("Größe M passt bei 40 bis 47 cm.", "Größe L passt bei 46 bis 53 cm.")


def test_plain_text_titles_start_sections_and_do_not_run_into_the_text():
    found = sections("Drei Regeln für den Versand\nWer bis 14 Uhr bestellt, bekommt die Ware "
                     "morgen.\n\nKontakt\n\nSchreib uns an hilfe@example.de.")
    assert [(s.title, s.units) for s in found] == [
        ("Drei Regeln für den Versand", ("Wer bis 14 Uhr bestellt, bekommt die Ware morgen.",)),
        ("Kontakt", ("Schreib uns an hilfe@example.de.",))]


def test_a_figure_alone_on_a_line_joins_its_label_and_the_text_that_continues_it():
    [section] = sections("Zahlen\n\n64 %\n\nMobil\n\nder Befragten bestellen am Smartphone.\n\n"
                         "3,2 Mio.\nPakete im Jahr")
    assert "Mobil: 64 % der Befragten bestellen am Smartphone." in section.units


def test_inline_markdown_is_read_as_text():
    [section] = sections("Mehr im **Handbuch** unter [Hilfe](https://x.example/hilfe) und "
                         "[Backup][ref], mit `sudo reboot`.")
    assert section.units == ("Mehr im Handbuch unter Hilfe und Backup, mit sudo reboot.",)


def test_an_html_table_becomes_rows_with_their_header():
    from pathlib import Path

    from ingest.loaders import FileContext, load_html

    html = ("<h2>Tarife</h2><table><tr><th>Tarif</th><th>Preis</th></tr>"
            "<tr><td>Basis</td><td>5 €</td></tr></table>")
    doc = load_html(FileContext(Path("t.html"), "t.html", "public", False), html).documents[0]
    assert sections(doc.text)[0].units == ("Tarif: Basis; Preis: 5 €",)
