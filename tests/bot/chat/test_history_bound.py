"""Per-conversation state stays bounded however long a conversation gets: the answer chain
is given the last ``reading.max_turns`` exchanges, read as such from the database (not
the whole transcript at every message), and a chat page keeps the message ids of its last
answers only."""

from __future__ import annotations

from sqlalchemy import event

from bot.chat.state import StateStore
from kb.settings import ReadingSettings

EXCHANGES = 300
LAST = ReadingSettings().max_turns


def _long_conversation(state: StateStore) -> str:
    sid = state.new_session()
    for i in range(EXCHANGES):
        state.add_message(sid, "customer", f"Frage {i}")
        if i % 50 == 0:  # agents' and system lines in between count for nothing here
            state.add_message(sid, "agent", f"Notiz {i}")
        state.add_message(sid, "bot", f"Antwort {i}", {"retrieval_query": f"Frage {i} gesucht"})
    return sid


def test_a_long_conversation_gives_the_chain_its_last_exchanges_only(tmp_path):
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sid = _long_conversation(state)
    statements: list[str] = []
    event.listen(state.engine, "before_cursor_execute",
                 lambda conn, cursor, sql, *rest: statements.append(sql))
    turns = state.turns(sid, last=LAST)
    assert len(turns) == LAST
    first = EXCHANGES - LAST
    assert [t.question for t in turns] == [f"Frage {i} gesucht" for i in range(first, EXCHANGES)]
    assert turns[-1].answer == f"Antwort {EXCHANGES - 1}"
    reads = [s for s in statements if "FROM messages" in s]
    assert reads and all("LIMIT" in s for s in reads)  # not the whole transcript
    assert [t.question for t in state.turns(sid, last=2)] == ["Frage 298 gesucht",
                                                              "Frage 299 gesucht"]
    state.engine.dispose()


def test_an_answer_whose_question_fell_out_of_the_window_is_no_turn(tmp_path):
    state = StateStore(f"sqlite:///{tmp_path / 'state.db'}")
    sid = state.new_session()
    state.add_message(sid, "customer", "Was kostet der Versand?")
    state.add_message(sid, "bot", "4,90 Euro.")
    state.add_message(sid, "bot", "Noch etwas?")  # two answers in a row: the window may start here
    state.add_message(sid, "customer", "Und nach Österreich?")
    turns = state.turns(sid, last=1)
    assert [(t.question, t.answer) for t in turns] == [("Und nach Österreich?", "")]
    assert [t.question for t in state.turns(sid, last=LAST)] == ["Was kostet der Versand?",
                                                                 "Und nach Österreich?"]
    state.engine.dispose()


def test_a_chat_page_keeps_the_ids_of_its_last_answers_only():
    from bot.web.customer_ui import RATEABLE_ANSWERS, rateable

    ids: dict[int, int | None] = {}
    for position in range(1, 2 * (RATEABLE_ANSWERS + 50), 2):
        ids = rateable({**ids, position: position * 10})
    assert len(ids) == RATEABLE_ANSWERS
    assert max(ids) == 2 * (RATEABLE_ANSWERS + 50) - 1 and ids[max(ids)] == max(ids) * 10
