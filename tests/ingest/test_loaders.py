"""Every loader with real files, including broken ones."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.loaders import load_file
from kb.errors import LoaderError

CORPUS = Path(__file__).resolve().parents[2] / "docs_corpus"


def _load(path: Path, **kw):
    return load_file(path, path.name, **kw)


def test_markdown_front_matter_becomes_metadata():
    doc = _load(CORPUS / "produkte" / "alpinpro-35.md").documents[0]
    assert doc.title == "AlpinPro 35 – Wanderrucksack"
    assert doc.metadata["product"] == "AlpinPro 35"
    assert doc.metadata["audience"] == "public" and doc.metadata["language"] == "de"
    assert doc.metadata["updated"] == "2026-09-14"
    assert "---" not in doc.text.splitlines()[0]


def test_internal_folder_defaults_to_internal(tmp_path):
    note = tmp_path / "internal" / "tipp.md"
    note.parent.mkdir()
    note.write_text("# Tipp\nNur für das Team.", encoding="utf-8")
    doc = load_file(note, "internal/tipp.md").documents[0]
    assert doc.metadata["audience"] == "internal" and doc.metadata["doc_type"] == "note"


def test_unknown_audience_fails_closed(tmp_path):
    f = tmp_path / "x.md"
    f.write_text("---\naudience: vielleicht\n---\nText hier.", encoding="utf-8")
    loaded = _load(f)
    assert loaded.documents[0].metadata["audience"] == "internal"
    assert "unknown audience" in loaded.warnings[0]


def test_text_file(tmp_path):
    f = tmp_path / "hinweis.txt"
    f.write_text("Öffnungszeiten\nWir haben montags geschlossen.", encoding="utf-8")
    doc = _load(f).documents[0]
    assert doc.title == "Öffnungszeiten" and "montags" in doc.text


def test_latin1_fallback_is_reported(tmp_path):
    f = tmp_path / "alt.txt"
    f.write_bytes("Größe und Rückenlänge für Wanderer".encode("latin-1"))
    loaded = _load(f)
    assert "Größe" in loaded.documents[0].text
    assert "Latin-1" in loaded.warnings[0]


def test_html_keeps_headings_and_drops_scripts():
    loaded = _load(CORPUS / "ratgeber" / "rucksack-groessenberatung.html")
    doc = loaded.documents[0]
    assert doc.title == "Rucksack-Größenberatung: M oder L?"
    assert "## Rückenlänge messen" in doc.text
    assert "tracking" not in doc.text and "Startseite" not in doc.text
    assert doc.metadata["doc_type"] == "guide"


def test_pdf_text_title_and_keywords():
    doc = _load(CORPUS / "produkte" / "fjell-2-aufbauanleitung.pdf").documents[0]
    assert doc.title == "Fjell 2 Expedition – Aufbauanleitung"
    assert doc.metadata["product"] == "Fjell 2 Expedition"
    assert "## Lieferumfang" in doc.text and "16 Heringe" in doc.text


def test_docx_headings_and_properties():
    doc = _load(CORPUS / "produkte" / "bh-26-sicherheitshinweise.docx").documents[0]
    assert doc.title == "BH 26 – Sicherheitshinweise"
    assert "## Schutzausrüstung" in doc.text and doc.metadata["product"] == "BH 26"


def test_faq_csv_and_yaml_give_one_document_per_pair():
    csv_docs = _load(CORPUS / "faq" / "ruecksendung-versand-zahlung.csv").documents
    yaml_docs = _load(CORPUS / "faq" / "garantie-konto-bestellung.yaml").documents
    assert len(csv_docs) == 22 and len(yaml_docs) == 20
    first = csv_docs[0]
    assert first.metadata["doc_type"] == "faq"
    assert first.metadata["faq_question"] == "Wie lange habe ich Zeit für eine Rücksendung?"
    assert "30 Tagen" in first.metadata["faq_answer"]
    assert len({d.id for d in csv_docs + yaml_docs}) == 42
    refund = next(d for d in csv_docs if "Geld" in d.metadata["faq_question"])
    assert refund.metadata["faq_answer"].endswith("auf das ursprüngliche Zahlungsmittel.")


def test_csv_row_cut_by_an_unquoted_comma_is_reported(tmp_path):
    path = tmp_path / "faq.csv"
    path.write_text("question,answer,category\nWie lange?,Ab Versand, 3 Tage,shipping\n"
                    "Was kostet es?,\"4,95 €\",shipping\n", encoding="utf-8")
    loaded = _load(path)
    assert len(loaded.documents) == 2
    assert any("rows 2 have more fields than the header" in w for w in loaded.warnings)


def test_generated_binaries_match_their_script(tmp_path):
    """docs_corpus binaries are reproducible from scripts/make_corpus_binaries.py."""
    import subprocess
    import sys

    out = tmp_path / "out"
    for sub in ("produkte", "ratgeber"):
        (out / sub).mkdir(parents=True)
    script = CORPUS.parent / "scripts" / "make_corpus_binaries.py"
    subprocess.run([sys.executable, str(script), "--out", str(out)], check=True,
                   capture_output=True)
    for rel in ("produkte/fjell-2-aufbauanleitung.pdf", "produkte/bh-26-sicherheitshinweise.docx",
                "ratgeber/rucksack-groessenberatung.html"):
        assert _load(out / rel).documents[0].text == _load(CORPUS / rel).documents[0].text


# -- broken input: a clear reason per file ------------------------------------------------

@pytest.mark.parametrize("name,content,reason", [
    ("leer.md", b"", "empty file"),
    ("nur-leer.txt", b"   \n\n  ", "no text"),
    ("bild.md", bytes(range(256)) * 20, "binary content"),
    ("kaputt.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nnonsense", "corrupt PDF"),
    ("kaputt.docx", b"PK\x03\x04 this is no zip", "corrupt DOCX"),
    ("muell.txt", bytes([0x81, 0x8d, 0x8f, 0x90, 0x9d]) * 400, "undecodable bytes"),
    ("front.md", b"---\ntitle: [unclosed\n---\nText", "invalid YAML front matter"),
    ("fragen.csv", "frage;kommentar\nA;B\n".encode(), "CSV needs the columns"),
    ("fragen.yaml", b"- just\n- strings\n", "YAML FAQ must be a list"),
    ("bild.png", b"\x89PNG\r\n", "unsupported file type"),
])
def test_broken_files_get_a_clear_reason(tmp_path, name, content, reason):
    f = tmp_path / name
    f.write_bytes(content)
    with pytest.raises(LoaderError, match=reason):
        _load(f)


def test_truncated_real_pdf_is_rejected(tmp_path):
    data = (CORPUS / "produkte" / "fjell-2-aufbauanleitung.pdf").read_bytes()
    f = tmp_path / "halb.pdf"
    f.write_bytes(data[: len(data) // 3])
    with pytest.raises(LoaderError):
        _load(f)


def test_huge_file_is_rejected_without_reading_it(tmp_path):
    f = tmp_path / "riesig.txt"
    with open(f, "wb") as fh:
        fh.truncate(50 * 2**20)  # 50 MB, sparse
    with pytest.raises(LoaderError, match=r"50\.0 MB, over the limit"):
        _load(f, max_bytes=20 * 2**20)
    assert os.path.getsize(f) == 50 * 2**20
