"""Fuzzing the loaders: random bytes and mangled PDF, DOCX, HTML, CSV, YAML and Markdown.

Every file must end in documents or in a ``LoaderError`` with a readable reason,
within the per-file time limit, and never take the batch down. The files go
through ``IsolatedLoader``, the way ingest reads them.
"""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.isolation import IsolatedLoader
from kb.errors import LoaderError
from kb.settings import LotseSettings

REPO = Path(__file__).resolve().parents[2]
SEEDS = {
    ".pdf": REPO / "docs_corpus/produkte/fjell-2-aufbauanleitung.pdf",
    ".docx": REPO / "docs_corpus/produkte/bh-26-sicherheitshinweise.docx",
    ".html": REPO / "docs_corpus/ratgeber/rucksack-groessenberatung.html",
    ".csv": REPO / "docs_corpus/faq/ruecksendung-versand-zahlung.csv",
    ".yaml": REPO / "docs_corpus/faq/garantie-konto-bestellung.yaml",
    ".md": REPO / "docs_corpus/produkte/alpinpro-35.md",
}
TIMEOUT = 10.0
MAX_BYTES = 20 * 2**20


@pytest.fixture(scope="module")
def loader():
    with IsolatedLoader(timeout=TIMEOUT, memory_mb=1024) as isolated:
        yield isolated


@st.composite
def mangled(draw, suffix: str) -> bytes:
    """A seed file with flipped, inserted or cut bytes, or random bytes outright."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(min_size=1, max_size=4096))
    data = bytearray(SEEDS[suffix].read_bytes())
    for _ in range(draw(st.integers(1, 12))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "insert", "delete", "cut"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif action == "delete":
            del data[at:at + draw(st.integers(1, 256))]
        elif len(data) > 1:
            data = data[: max(1, at)]
    return bytes(data)


def _check_one(loader, tmp_path: Path, suffix: str, data: bytes) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    started = time.monotonic()
    try:
        loaded = loader.load(path, path.name, "public", False, MAX_BYTES)
    except LoaderError as exc:
        reason = str(exc)
        assert reason and "Traceback" not in reason and len(reason) < 400
    else:
        assert loaded.documents
        assert all(isinstance(d.text, str) and d.text.strip() for d in loaded.documents)
        assert all(d.audience in ("public", "internal") for d in loaded.documents)
    assert time.monotonic() - started < TIMEOUT + 5


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_mangled_files_end_in_documents_or_a_clear_error(loader, tmp_path_factory, suffix):
    tmp_path = tmp_path_factory.mktemp(f"fuzz{suffix[1:]}")

    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(data=mangled(suffix))
    def run(data: bytes) -> None:
        _check_one(loader, tmp_path, suffix, data)

    run()


@pytest.mark.parametrize("suffix", [".pdf", ".docx", ".md", ".csv", ".yaml", ".html", ".txt"])
@given(data=st.binary(min_size=1, max_size=2048))
@settings(max_examples=15, deadline=None, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_random_bytes_under_any_name_are_refused_or_read(loader, tmp_path, suffix, data):
    _check_one(loader, tmp_path, suffix, data)


def _docx_bomb(path: Path, inflated_mb: int) -> None:
    """A DOCX whose document.xml inflates to ``inflated_mb`` MB from about a thousandth of it."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with zipfile.ZipFile(SEEDS[".docx"]) as seed:
            for name in seed.namelist():
                if name != "word/document.xml":
                    zf.writestr(name, seed.read(name))
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            fh.write(b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org'
                     b'/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>')
            block = b"A" * 2**20
            for _ in range(inflated_mb):
                fh.write(block)
            fh.write(b"</w:t></w:r></w:p></w:body></w:document>")


@pytest.mark.usefixtures("subprocesses")
def test_a_docx_bomb_is_stopped_by_the_memory_limit(tmp_path):
    bomb = tmp_path / "bombe.docx"
    _docx_bomb(bomb, inflated_mb=600)
    assert bomb.stat().st_size < 5 * 2**20
    with IsolatedLoader(timeout=60, memory_mb=512) as isolated:
        with pytest.raises(LoaderError, match=r"more memory than the limit \(ingest.file_memory_mb\)"):
            isolated.load(bomb, bomb.name, "public", False, MAX_BYTES)
        # The next file gets a fresh worker and loads as usual.
        ok = isolated.load(SEEDS[".md"], "alpinpro-35.md", "public", False, MAX_BYTES)
        assert ok.documents


@pytest.mark.usefixtures("subprocesses")
def test_a_file_that_outlasts_the_time_limit_is_cut_off_and_the_next_one_loads(tmp_path):
    slow = tmp_path / "verschachtelt.html"
    slow.write_text("<html><body>" + "<div><p>Zelt und Rucksack</p>" * 120_000 +
                    "</div>" * 120_000 + "</body></html>")
    with IsolatedLoader(timeout=0.5, memory_mb=2048) as isolated:
        started = time.monotonic()
        with pytest.raises(LoaderError, match=r"longer than 0.5 s \(ingest.file_timeout_seconds\)"):
            isolated.load(slow, slow.name, "public", False, MAX_BYTES)
        assert time.monotonic() - started < 5
        assert isolated.load(SEEDS[".md"], "alpinpro-35.md", "public", False, MAX_BYTES).documents


@pytest.mark.usefixtures("subprocesses")
def test_a_batch_with_bombs_and_garbage_stores_the_good_files(tmp_path, fake_embedder):
    from bot.wiring import build_engine

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "gut.md").write_text("# Versand\n\nDer Versand dauert zwei bis drei Werktage.\n")
    _docx_bomb(corpus / "bombe.docx", inflated_mb=600)
    (corpus / "kaputt.pdf").write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 40)
    (corpus / "zufall.yaml").write_bytes(bytes(range(1, 256)) * 8)
    settings = LotseSettings(home=tmp_path / "home", embedding={"mode": "fake"},
                             store={"refresh_seconds": 0}, ingest={"file_memory_mb": 512})
    report = build_engine(settings, embedder=fake_embedder).syncer.sync([corpus])
    assert report.added == ["gut.md"]
    failed = dict(report.failed)
    assert set(failed) == {"bombe.docx", "kaputt.pdf", "zufall.yaml"}
    assert all(reason for reason in failed.values())
    assert "more memory than the limit" in failed["bombe.docx"]


@pytest.mark.usefixtures("subprocesses")
def test_a_script_without_a_main_guard_can_ingest(tmp_path):
    """The worker needs nothing from the caller's main module (piped into python here)."""
    import subprocess
    import sys

    script = (
        "from pathlib import Path\n"
        "from bot.wiring import build_engine\n"
        "from kb.settings import LotseSettings\n"
        f"s = LotseSettings(home=Path({str(tmp_path / 'home')!r}), embedding={{'mode': 'fake'}})\n"
        f"r = build_engine(s).syncer.sync([Path({str(SEEDS['.md'].parent)!r})])\n"
        "print(len(r.added), len(r.failed))\n")
    out = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                         cwd=tmp_path, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(len(list(SEEDS[".md"].parent.iterdir()))), "0"]
