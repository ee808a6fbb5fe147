import io
import sys

from ingest.sync import console_progress


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_on_a_terminal(monkeypatch):
    term = _Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    progress = console_progress()
    assert progress is not None
    for done in range(1, 11):
        progress("load", done, 10)
    drawn = term.getvalue()
    assert "load:" in drawn and "/10 [" in drawn


def test_no_progress_bar_when_output_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert console_progress() is None
