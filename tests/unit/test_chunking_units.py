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
    assert "Spray gleichmäßig auftragen" in units and "bei Bedarf wiederholen" in units
    assert "Größe – Rückenlänge" in units and "M – 40–47 cm" in units
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
