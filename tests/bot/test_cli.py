"""The CLI contract, through real subprocesses on the offline default embedder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def lotse(*args: str, home: Path, stdin: str | None = None,
          shipped_gate: bool = False) -> subprocess.CompletedProcess:
    """``lotse ARGS`` in a process; ``shipped_gate`` drops the suite's own answer threshold
    (tests/conftest.py) so the shipped one decides, as after an install."""
    env = {**os.environ, "LOTSE_HOME": str(home)}
    if shipped_gate:
        env.pop("LOTSE_ANSWER__HANDOFF_BELOW", None)
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, cwd=REPO, timeout=600)


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("cli-home")
    done = lotse("ingest", str(REPO / "docs_corpus"), "--json", home=home)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["added"] == 64 and report["failed"] == 0  # 63 documents and the vocabulary
    return home


def test_ask_json_follows_the_contract(home):
    out = lotse("ask", "Wie lange habe ich Zeit für eine Rücksendung?", "--json", home=home)
    assert out.returncode == 0, out.stderr
    answer = json.loads(out.stdout)
    assert set(answer) == {"question", "answer", "language", "citations", "confidence",
                           "handoff", "handoff_reason", "products", "options", "route", "act",
                           "suggestions"}
    assert answer["language"] == "de" and answer["handoff"] is False
    assert answer["products"] == [] and answer["options"] == [] and answer["suggestions"] == []
    assert (answer["route"], answer["act"]) == ("answer", "question")
    assert "30 Tagen" in answer["answer"] and "[1]" in answer["answer"]
    citation = answer["citations"][0]
    assert citation["source"] == "faq/ruecksendung-versand-zahlung.csv"
    assert set(citation) == {"n", "source", "title", "section", "snippet", "score"}
    assert 0.0 <= answer["confidence"] <= 1.0


def test_batch_mode_answers_one_line_per_question(home):
    questions = ("Was kostet der AlpinPro 50?\nIch will mit einem Mitarbeiter sprechen\n\n"
                 "Which tent do you recommend for Norway in October?\n")
    out = lotse("ask", "--json", home=home, stdin=questions)
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3
    assert "189,90" in lines[0]["answer"]
    assert lines[1]["handoff"] and lines[1]["handoff_reason"] == "asked_for_human"
    # English advice from the catalog: the shop's tent for Norway, with its facts in English
    assert lines[2]["language"] == "en" and "Fjell 2 Expedition" in lines[2]["answer"]
    assert [p["name"] for p in lines[2]["products"]] == ["Fjell 2 Expedition"]
    assert "Fjell 2 Expedition" in lines[2]["answer"]


def test_agents_see_internal_notes_and_customers_do_not(home):
    question = "Welcher Gutscheincode ist für Lieferverzögerungen?"
    agent = json.loads(lotse("ask", question, "--as", "agent", "--json", home=home).stdout)
    customer = json.loads(lotse("ask", question, "--json", home=home).stdout)
    assert "SORRY-BP15" in agent["answer"]
    assert any(c["source"].startswith("internal/") for c in agent["citations"])
    assert "SORRY-BP15" not in customer["answer"]
    assert not any(c["source"].startswith("internal/") for c in customer["citations"])


def test_reingest_of_unchanged_corpus_is_a_no_op(home):
    out = lotse("ingest", str(REPO / "docs_corpus"), home=home)
    assert out.returncode == 0
    assert "added 0, updated 0, removed 0, unchanged 64, failed 0" in out.stdout
    assert "chunks embedded 0" in out.stdout


def test_eval_passes_its_thresholds(home):
    out = lotse("eval", "--gold", str(REPO / "docs_corpus/eval/gold.jsonl"), home=home,
                shipped_gate=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "| internal_leaks | 0 |" in out.stdout


@pytest.mark.usefixtures("subprocesses")
def test_empty_store_gives_a_clear_error(tmp_path):
    out = lotse("ask", "Was kostet der Versand?", home=tmp_path / "leer")
    assert out.returncode == 1 and "lotse ingest" in out.stderr


@pytest.mark.usefixtures("subprocesses")
def test_ingest_with_broken_files_exits_3_and_names_them(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "gut.md").write_text("# Gut\nDer Versand kostet 4,95 €.", encoding="utf-8")
    (folder / "kaputt.pdf").write_bytes(b"%PDF-1.4 nonsense")
    out = lotse("ingest", str(folder), home=tmp_path / "h")
    assert out.returncode == 3
    assert "FAILED kaputt.pdf: corrupt PDF" in out.stdout and "added 1" in out.stdout
