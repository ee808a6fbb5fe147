"""`lotse ingest`, `lotse generations` and `lotse rollback` as separate processes on two
"machines" (two LOTSE_HOMEs) sharing one real `chroma run` server: one writer at a time,
a refused writer told why, and a rollback every machine sees."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from kb.settings import LotseSettings
from kb.store import make_store
from tests.conftest import CORPUS, REPO

FILES = ["faq/ruecksendung-versand-zahlung.csv", "service/versand-und-lieferung.md"]


def _lotse(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def machines(tmp_path, chroma_server):
    """Two homes on one chroma server, and a small corpus of two documents."""
    corpus = tmp_path / "corpus"
    for name in FILES:
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(CORPUS / name, corpus / name)
    store = {"LOTSE_STORE__MODE": "http", "LOTSE_STORE__PORT": str(chroma_server),
             "LOTSE_STORE__COLLECTION_PREFIX": f"m{tmp_path.name[-8:].replace('-', '')}",
             "LOTSE_STORE__REFRESH_SECONDS": "0"}
    envs = [{**os.environ, **store, "LOTSE_HOME": str(tmp_path / name)} for name in "ab"]
    settings = LotseSettings(home=tmp_path / "probe", store={
        "mode": "http", "port": chroma_server,
        "collection_prefix": store["LOTSE_STORE__COLLECTION_PREFIX"], "refresh_seconds": 0})
    return corpus, envs, settings


def test_a_second_writer_is_refused_while_one_writes(machines):
    corpus, (a, b), settings = machines
    holder = make_store(settings)
    with holder.writing():  # machine C is ingesting right now
        refused = _lotse(b, "ingest", str(corpus), "--wait", "0")
    assert refused.returncode != 0
    assert "is writing to this store" in refused.stderr and "try again" in refused.stderr
    assert holder.history() == []  # nothing was published
    # Two ingests at once from two machines, both from the empty store: one publishes; the
    # other is refused, or (when it started after the first had finished) finds nothing
    # to change. Without the lock and the compare-and-set both would publish.
    procs = [subprocess.Popen([sys.executable, "-m", "bot.cli", "ingest", str(corpus), "--wait",
                               "0", "--json"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for env in (a, b)]
    results = [(p.returncode, out, err) for p in procs
               for out, err in [p.communicate(timeout=300)]]
    reports = [json.loads(out) for rc, out, _ in results if rc == 0]
    for rc, _, err in results:
        assert rc == 0 or "is writing to this store" in err, err
    assert sum(r["published"] for r in reports) == 1, results
    assert [g["generation"] for g in holder.history()] == \
        [r["generation"] for r in reports if r["published"]]


def test_generations_and_rollback_from_another_machine(machines):
    corpus, (a, b), _ = machines
    assert _lotse(a, "ingest", str(corpus)).returncode == 0
    page = corpus / FILES[1]
    page.write_text(page.read_text(encoding="utf-8").replace("9,90 €", "11,90 €"),
                    encoding="utf-8")
    assert _lotse(b, "ingest", str(corpus)).returncode == 0
    listed = json.loads(_lotse(a, "generations", "--json").stdout)
    assert [g["live"] for g in listed] == [False, True]
    assert all(g["files"] == 2 and g["counts"]["public_chunks"] > 0 for g in listed)
    back = _lotse(b, "rollback")
    assert back.returncode == 0 and listed[0]["generation"] in back.stdout
    # The other machine answers from the old text again.
    answer = json.loads(_lotse(a, "ask", "--json", "Was kostet der Versand nach Österreich?")
                        .stdout)["answer"]
    assert "9,90" in answer and "11,90" not in answer
    table = _lotse(a, "generations").stdout.splitlines()
    [live] = [line for line in table if "← live" in line]
    assert live.startswith(listed[0]["generation"])
    again = _lotse(b, "rollback")
    assert again.returncode != 0 and "no earlier generation" in again.stderr
