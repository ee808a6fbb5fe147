"""Uploads and re-ingest as the admin UI and the REST API both use them."""

from __future__ import annotations

import pytest

from bot.chat.admin import AdminService, PathRefused, UploadRejected, safe_name
from bot.wiring import build_engine


@pytest.fixture
def admin(settings, fake_embedder, corpus_copy):
    engine = build_engine(settings, embedder=fake_embedder)
    return AdminService(engine, settings.home / "uploads", [corpus_copy])


@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd.md", "passwd.md"),
    ("..\\..\\boot.ini.txt", "boot.ini.txt"),
    ("/abs/path/Größentabelle.html", "Grossentabelle.html"),
    (".versteckt.md", "versteckt.md"),
    ("....md", "md"),
    ("name\x00.md", "name_.md"),
    ("", ""),
])
def test_safe_name_keeps_only_a_plain_last_part(raw, clean):
    assert safe_name(raw) == clean


def test_upload_is_stored_inside_the_upload_folder(admin):
    path = admin.save_upload("../../x/notiz.md", b"# Notiz\n\nText.")
    assert path.parent == admin.upload_dir and path.read_bytes() == b"# Notiz\n\nText."
    internal = admin.save_upload("tipps.md", b"# Tipps\n\nNur intern.", audience="internal")
    assert internal.parent == admin.upload_dir / "internal"
    assert admin.uploads() == ["internal/tipps.md", "notiz.md"]


@pytest.mark.parametrize("name, data, reason", [
    ("archiv.zip", b"PK\x03\x04", "file type .zip is not accepted"),
    ("ohne-endung", b"text", "file type (none) is not accepted"),
    ("leer.md", b"", "the file is empty"),
    ("..", b"x", "not a usable file name"),
])
def test_bad_uploads_are_refused_with_the_reason(admin, name, data, reason):
    with pytest.raises(UploadRejected, match=reason.replace("(", r"\(").replace(")", r"\)")):
        admin.save_upload(name, data)
    assert admin.uploads() == []


def test_oversized_upload_is_refused_before_it_is_stored(admin):
    big = b"x" * (admin.max_bytes + 1)
    with pytest.raises(UploadRejected, match="over the upload limit of 10 MB"):
        admin.save_upload("gross.txt", big)
    assert admin.uploads() == []


def test_ingest_only_inside_allowed_folders(admin, tmp_path):
    with pytest.raises(PathRefused, match="outside the folders"):
        admin.ingest([tmp_path])
    with pytest.raises(PathRefused):
        admin.ingest([admin.upload_dir / ".." / ".." ])


def test_upload_then_ingest_then_stats(admin, corpus_copy):
    assert admin.stats().generation is None
    report = admin.ingest([corpus_copy])
    assert report.published and not report.failed
    admin.save_upload("neu.md", "# Neue Seite\n\nDer Gutscheincode gilt bis Ende März.".encode())
    report = admin.ingest([admin.upload_dir, corpus_copy])
    assert report.added == ["neu.md"] and report.removed == []
    stats = admin.stats()
    assert stats.generation == report.generation and stats.chunks == report.chunks_total
    # 60 single-document files, 42 FAQ entries, 7 feed products and the upload
    assert stats.documents == 110 and stats.published_at is not None
