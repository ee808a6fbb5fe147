"""`lotse calibrate`: the answer threshold refitted on an installation's own ratings."""

from __future__ import annotations

import tomllib

import pytest

from bot.chat.calibration import MIN_RATED, choose, tradeoff
from bot.chat.state import StateStore
from bot.cli import main
from kb.errors import LotseError


def _answer(store: StateStore, confidence: float, rating: int | None, **fields) -> str:
    session = store.new_session()
    message = store.add_message(session, "bot", "Antwort [1]", answer={
        "confidence": confidence, "handoff": False, "route": "answer", **fields})
    if rating is not None:
        store.add_feedback(session, rating, message_id=message)
    return session


def _resolved_handoff(store: StateStore, confidence: float) -> None:
    session = store.new_session()
    store.add_message(session, "bot", "Eine Kollegin übernimmt.", answer={
        "confidence": confidence, "handoff": True, "handoff_reason": "low_confidence",
        "route": "handoff"})
    ticket = store.open_ticket(session, "low_confidence", "Frage", [], "")
    store.close(ticket.id, resolved=True)


@pytest.fixture
def store(tmp_path):
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


def test_thumbs_down_on_the_unsure_answers_raise_the_threshold(store):
    for i in range(20):
        _answer(store, 0.8 + i * 0.005, +1)
    for i in range(12):
        _answer(store, 0.45 + i * 0.01, -1)  # the shop's customers reject the unsure ones
    _answer(store, 0.9, None)  # unrated answers say nothing
    rated, handed = store.calibration_data()
    assert len(rated) == 32 and handed == []
    chosen, points = choose(rated, handed, wrong_cost=1.0)
    assert 0.6 <= chosen.threshold <= 0.8
    assert chosen.right == 20 and chosen.wrong == 0
    assert max(p.gain for p in points) == chosen.gain == 20


def test_resolved_low_confidence_tickets_count_against_answering_them(store):
    for i in range(30):
        _answer(store, 0.3 + i * 0.02, +1)
    for _ in range(40):
        _resolved_handoff(store, 0.25)
    rated, handed = store.calibration_data()
    assert len(handed) == 40
    chosen, _ = choose(rated, handed, wrong_cost=1.0)
    assert chosen.threshold == 0.3  # answering at 0.25 would take the 40 tickets' questions too
    at_quarter = next(p for p in tradeoff(rated, handed, 1.0) if p.threshold == 0.25)
    assert at_quarter.tickets == 40 and at_quarter.gain == 30 - 40


def test_too_few_ratings_are_refused_with_the_reason(store):
    for _ in range(MIN_RATED - 1):
        _answer(store, 0.7, +1)
    with pytest.raises(LotseError, match=f"{MIN_RATED - 1} rated answers"):
        choose(*store.calibration_data(), wrong_cost=1.0)


def test_the_cli_prints_the_trade_off_and_writes_the_setting(store, tmp_path, capsys,
                                                               monkeypatch):
    monkeypatch.setenv("LOTSE_HOME", str(tmp_path))
    for i in range(30):
        _answer(store, 0.505 + i * 0.01, +1 if i >= 10 else -1)
    toml = tmp_path / "lotse.toml"
    toml.write_text('[answer]\npassage_words = 60\n', encoding="utf-8")
    assert main(["calibrate", "--write", str(toml)]) == 0
    out = capsys.readouterr().out
    assert "30 rated answers" in out and "| 0.60 ←" in out
    written = tomllib.loads(toml.read_text(encoding="utf-8"))
    assert written["answer"] == {"passage_words": 60, "handoff_below": 0.6}
