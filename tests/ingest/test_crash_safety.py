"""kill -9 in the middle of an ingest, and ingest while an `ask` loop runs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from bot.wiring import build_engine
from kb.embedders import FakeEmbedder
from kb.settings import LotseSettings

HELPER = Path(__file__).with_name("slow_ingest.py")


def _settings(home: Path) -> LotseSettings:
    return LotseSettings(home=home, embedding={"mode": "fake"}, store={"refresh_seconds": 0})


def test_kill_9_mid_ingest_keeps_the_previous_generation(tmp_path, corpus_copy, subprocesses):
    home = tmp_path / "home"
    engine = build_engine(_settings(home), embedder=FakeEmbedder())
    engine.syncer.sync([corpus_copy])
    live = engine.store.current(force=True).id

    pages = list((corpus_copy / "produkte").glob("*.md"))
    for md in pages:
        md.write_text(md.read_text(encoding="utf-8") + "\nNeuer Absatz zur Pflege.\n", encoding="utf-8")
    proc = subprocesses.popen([sys.executable, str(HELPER), str(home), str(corpus_copy)],
                              stdout=subprocess.PIPE, text=True)
    for _ in range(4):  # a few batches into the new generation: the helper says each one
        assert proc.stdout.readline().strip() == "EMBEDDING"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL

    reader = build_engine(_settings(home), embedder=FakeEmbedder())
    assert reader.store.current(force=True).id == live
    answer = reader.chain.ask("Wie lange habe ich Zeit für eine Rücksendung?")
    assert answer.citations and "30 Tagen" in answer.text

    report = reader.syncer.sync([corpus_copy])  # the lock died with the process
    assert report.published and len(report.updated) == len(pages)
    gen_dirs = list((home / "store").glob("gen-*"))
    assert len(gen_dirs) == 2  # the half-written generation was cleaned up


def test_ingest_while_asking_never_fails(tmp_path, corpus_copy, subprocesses):
    home = tmp_path / "home"
    build_engine(_settings(home), embedder=FakeEmbedder()).syncer.sync([corpus_copy])
    env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_EMBEDDING__MODE": "fake",
           "LOTSE_STORE__REFRESH_SECONDS": "0"}
    asker = subprocesses.popen([sys.executable, "-m", "bot.cli", "ask", "--json"], env=env,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    question = "Was kostet der Versand nach Österreich?\n"
    answers: list[dict] = []
    stop = threading.Event()

    def ask_loop() -> None:
        while not stop.is_set():
            asker.stdin.write(question)
            asker.stdin.flush()
            answers.append(json.loads(asker.stdout.readline()))

    thread = threading.Thread(target=ask_loop)
    thread.start()
    writer = build_engine(_settings(home), embedder=FakeEmbedder())
    published = 0
    for round_ in range(4):
        target = corpus_copy / "service" / "versand-und-lieferung.md"
        target.write_text(target.read_text(encoding="utf-8") + f"\nRunde {round_}.\n",
                          encoding="utf-8")
        published += writer.syncer.sync([corpus_copy]).published
    stop.set()
    thread.join(timeout=30)
    asker.stdin.close()
    assert asker.wait(timeout=30) == 0
    assert published == 4 and len(answers) >= 4
    assert all(a.get("citations") and "error" not in a for a in answers)


@pytest.mark.usefixtures("subprocesses")
def test_isolated_loading_works_when_the_process_holds_many_descriptors(tmp_path):
    """A server with many open connections has descriptors above 1023, where select() fails."""
    from ingest.isolation import IsolatedLoader

    doc = tmp_path / "a.md"
    doc.write_text("# Versand\n\nDer Versand dauert zwei Tage.\n", encoding="utf-8")
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        with IsolatedLoader(timeout=30, memory_mb=1024) as loader:
            loaded = loader.load(doc, "a.md", "public", False, 10**6)
        assert "zwei Tage" in loaded.documents[0].text
    finally:
        for fd in held:
            os.close(fd)
