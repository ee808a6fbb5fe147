"""Durable state on both backends, a real SQLite file and a real PostgreSQL: redaction,
tickets, restart, DSGVO export and delete."""

from __future__ import annotations

import time
import uuid

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.chat.state import StateError, StateStore

HEAD = "0008"  # the newest migration


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "state.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def state_url(request, db_path):
    """The URL of an empty state database: a SQLite file, or a new database on the
    session's PostgreSQL server."""
    if request.param == "sqlite":
        yield f"sqlite:///{db_path}"
        return
    server = request.getfixturevalue("postgres_url")
    name = f"t{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield server.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE {name} WITH (FORCE)"))
    admin.dispose()


@pytest.fixture
def state(state_url):
    store = StateStore(state_url)
    yield store
    store.engine.dispose()


def rows(state: StateStore, sql: str, **params) -> list[tuple]:
    """Rows as stored, read past the StateStore with plain SQL."""
    with state.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_stored_rows_are_redacted(state):
    sid = state.new_session()
    state.add_message(sid, "customer", "Ich bin anna@example.de, Tel. 0171 2345678, "
                                       "IBAN DE89 3704 0044 0532 0130 00, Lindenweg 17")
    state.add_feedback(sid, -1, comment="Schreibt mir an anna@example.de")
    stored = rows(state, "SELECT text FROM messages")[0][0]
    for secret in ("anna@example.de", "0171 2345678", "DE89", "Lindenweg 17"):
        assert secret not in stored
    comment = rows(state, "SELECT comment FROM feedback")[0][0]
    assert "anna@example.de" not in comment


def test_no_table_keeps_personal_data_once_the_ticket_is_closed(default_engine, state):
    """The whole path through the chat service: messages, answers, the ticket's question
    and draft, feedback and the events behind the KPIs, all read back from the database."""
    from bot.chat.service import ChatService

    chat = ChatService(default_engine, state)
    secrets = ["anna@example.de", "0171 2345678", "DE89 3704 0044 0532 0130 00",
               "Lindenweg 17", "79098 Freiburg", "Kaiser-Joseph-Straße 12"]
    chat.send("pii-1", "Wo bleibt meine Bestellung? Ich wohne Lindenweg 17, 79098 Freiburg, "
                       "Tel. 0171 2345678, anna@example.de")
    reply = chat.send("pii-1", "Das ist eine Frechheit, ich will sofort einen Menschen sprechen! "
                               "Erstattet auf DE89 3704 0044 0532 0130 00 oder schickt es an "
                               "Kaiser-Joseph-Straße 12")
    chat.feedback("pii-1", -1, reply.message_id, "Ruft mich an: 0171 2345678")
    chat.close_ticket(reply.ticket.id, resolved=False)
    stored = " ".join(str(value) for table in ("messages", "raw_texts", "feedback", "tickets",
                                               "events")
                      for row in rows(state, f"SELECT * FROM {table}") for value in row)
    assert "Frechheit" in stored and "[ADRESSE]" in stored  # the rows are there, redacted
    for secret in secrets:
        assert secret not in stored, secret


def test_originals_only_in_the_live_view_of_an_open_ticket(state):
    sid = state.new_session()
    state.add_message(sid, "customer", "Meine Mail: anna@example.de")
    assert "anna@example.de" not in state.transcript(sid, unredacted=True)[0].text
    ticket = state.open_ticket(sid, "asked_for_human", "Bitte Rückruf", [], "")
    assert "anna@example.de" in state.transcript(sid, unredacted=True)[0].text
    assert "anna@example.de" not in state.transcript(sid)[0].text
    state.close(ticket.id, resolved=True)
    assert "anna@example.de" not in state.transcript(sid, unredacted=True)[0].text
    assert rows(state, "SELECT count(*) FROM raw_texts") == [(0,)]


def test_ticket_lifecycle(state):
    sid = state.new_session()
    ticket = state.open_ticket(sid, "negative_sentiment", "Wo bleibt mein Paket?",
                               [{"n": 1, "source": "faq.csv"}], "Entwurf [1]")
    assert ticket.number == "LT-000001" and ticket.status == "open"
    assert state.session_status(sid) == "handoff"
    assert state.open_ticket(sid, "low_confidence", "noch mal", [], "").id == ticket.id
    state.take(ticket.id, "agent1")
    saved = state.save_draft(ticket.id, "Neuer Entwurf [1]", [{"n": 1, "source": "neu.md"}])
    assert saved.draft == "Neuer Entwurf [1]" and saved.sources == [{"n": 1, "source": "neu.md"}]
    state.reply(ticket.id, "agent1", "Hallo, dein Paket kommt morgen.")
    assert state.transcript(sid)[-1].role == "agent"
    closed = state.close(ticket.id, resolved=True)
    assert closed.status == "closed" and closed.resolved is True
    with pytest.raises(StateError, match="closed"):
        state.reply(ticket.id, "agent1", "zu spät")


def test_session_ids_up_to_the_api_limit_are_stored_and_others_refused(state):
    """One definition of a session id for the REST schema and the tables (String(64))."""
    from bot.chat.state import SESSION_ID_MAX, check_session_id

    longest = "s" * SESSION_ID_MAX
    state.ensure_session(check_session_id(longest))
    state.add_message(longest, "customer", "Hallo")
    assert state.transcript(longest)[0].text == "Hallo"
    columns = {c["name"]: c["type"] for c in inspect(state.engine).get_columns("sessions")}
    assert columns["id"].length == SESSION_ID_MAX
    for bad in ("", "s" * (SESSION_ID_MAX + 1), "a b", "../x", "ü"):
        with pytest.raises(StateError, match="session id"):
            check_session_id(bad)


def test_a_restart_loses_nothing(state_url):
    first = StateStore(state_url)
    sid = first.new_session()
    first.add_message(sid, "customer", "Hallo")
    first.add_feedback(sid, 1)
    ticket = first.open_ticket(sid, "low_confidence", "Hallo", [], "")
    first.record("answer", sid, 42.0, kind="handoff")
    first.engine.dispose()
    again = StateStore(state_url)
    assert [m.text for m in again.transcript(sid)] == ["Hallo"]
    assert again.ticket(ticket.id).status == "open"
    assert again.feedback()[0][2] == 1 and again.events()[0].value == 42.0
    again.engine.dispose()


def test_export_and_delete_serve_dsgvo_requests(state, db_path):
    sid = state.new_session()
    other = state.new_session()
    state.add_message(sid, "customer", "Mail an anna@example.de bitte")
    state.add_message(other, "customer", "Andere Sitzung")
    state.add_feedback(sid, -1, comment="schlecht")
    state.open_ticket(sid, "asked_for_human", "Rückruf bitte", [], "")
    state.record("answer", sid, 10.0)
    exported = state.export(sid)
    assert exported["messages"][0]["text"] == "Mail an [E-MAIL] bitte"
    assert exported["tickets"][0]["number"] == "LT-000001"
    counts = state.delete(sid)
    assert counts["messages"] == 1 and counts["feedback"] == 1 and counts["tickets"] == 1
    for table in ("messages", "feedback", "tickets", "events", "raw_texts", "sessions"):
        column = "id" if table == "sessions" else "session_id"
        assert rows(state, f"SELECT count(*) FROM {table} WHERE {column} = :sid", sid=sid) \
            == [(0,)], table
    assert state.transcript(other)[0].text == "Andere Sitzung"
    with pytest.raises(StateError):
        state.export(sid)
    if state.engine.dialect.name != "sqlite":
        return  # PostgreSQL's files are the server's; what it keeps on disk is its own policy
    # Not even a stale copy in a free page or the write-ahead log is left on disk.
    files = b"".join(p.read_bytes() for p in db_path.parent.glob(f"{db_path.name}*"))
    for gone in ("Mail an", "schlecht", "Rückruf bitte", "anna@example.de"):
        assert gone.encode() not in files, gone
    assert "Andere Sitzung".encode() in files


def test_feedback_rating_is_validated(state):
    sid = state.new_session()
    with pytest.raises(StateError, match="rating"):
        state.add_feedback(sid, 5)


def test_rate_limits_are_shared_by_every_process_on_the_database(state_url):
    """Two stores on one database stand for two Lotse processes: the window is one."""
    import threading

    from bot.chat.ratelimit import RateLimited, RateLimiter

    first, second = StateStore(state_url), StateStore(state_url)
    a = RateLimiter(per_session=3, per_client=100, state=first)
    b = RateLimiter(per_session=3, per_client=100, state=second)
    a.check("s1", "10.0.0.1")
    b.check("s1", "10.0.0.2")
    a.check("s1", "10.0.0.1")
    with pytest.raises(RateLimited, match="per session") as refused:
        b.check("s1", "10.0.0.2")
    assert 1 <= refused.value.retry_after <= 60
    b.check("s2", "10.0.0.2")  # another conversation is not affected
    # Many at once: exactly the limit gets through, never more.
    stores = [StateStore(state_url) for _ in range(4)]
    admitted, errors = [], []

    def send(store):
        limiter = RateLimiter(per_session=10, per_client=1000, state=store)
        for _ in range(5):
            try:
                limiter.check("burst")
                admitted.append(1)
            except RateLimited:
                pass
            except Exception as exc:  # a deadlock or a lost update would show here
                errors.append(exc)

    threads = [threading.Thread(target=send, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(admitted) == 10
    for store in (first, second, *stores):
        store.engine.dispose()


def test_rate_windows_of_quiet_conversations_are_swept(state):
    from bot.chat.ratelimit import RateLimiter

    now = [1000.0]
    limiter = RateLimiter(per_session=5, per_client=50, clock=lambda: now[0], state=state)
    for sid in ("quiet-1", "quiet-2"):
        limiter.check(sid, "10.0.0.9")
    now[0] += 61
    limiter.check("busy")
    assert rows(state, "SELECT key FROM rate_hits") == [("session:busy",)]


def test_the_migrations_build_exactly_the_tables_the_code_uses(state):
    """Alembic compares the migrated database with the models: no difference at all."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    import bot.chat.accounts  # noqa: F401  (its table is on the state metadata)
    from bot.channels.chatwoot_store import ChatwootBase
    from bot.chat.state import _Base

    models = MetaData()  # the state tables and the Chatwoot hook's, one database
    for table in [*_Base.metadata.tables.values(), *ChatwootBase.metadata.tables.values()]:
        table.to_metadata(models)
    with state.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), models) == []
        assert MigrationContext.configure(conn).get_current_revision() == HEAD


def test_an_upgrade_keeps_the_data_of_an_older_database(state_url):
    """A database at the first revision, with a conversation, a ticket and a login in it,
    is upgraded when Lotse opens it, and everything is still there."""
    from bot.chat import migrations

    engine = create_engine(state_url)
    migrations.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sessions (id, created_at, role, language, status) "
                          "VALUES ('old', 1.0, 'customer', 'de', 'handoff')"))
        conn.execute(text("INSERT INTO messages (session_id, created_at, role, text, answer) "
                          "VALUES ('old', 1.0, 'customer', 'Wo bleibt mein Paket?', '{}')"))
        conn.execute(text("INSERT INTO tickets (session_id, created_at, updated_at, reason, "
                          "question, sources, draft, status, assignee) VALUES ('old', 1.0, "
                          "1.0, 'asked_for_human', 'Paket?', '[]', '', 'open', '')"))
        conn.execute(text("INSERT INTO staff_logins VALUES ('h', 'agent1', 'agent', 9e9)"))
        assert not inspect(conn).has_table("rate_hits")
    engine.dispose()
    upgraded = StateStore(state_url)
    assert [m.text for m in upgraded.transcript("old")] == ["Wo bleibt mein Paket?"]
    assert upgraded.open_ticket_of("old").question == "Paket?"
    assert upgraded.login_of("h")[:2] == ("agent1", "agent")
    assert inspect(upgraded.engine).has_table("rate_hits")
    upgraded.engine.dispose()


def test_an_upgrade_gives_a_clients_history_its_own_role_and_links_chatwoot_tickets(state_url):
    """Before 0006 a client's assistant turn was stored as "bot" with a marker; after it,
    it is "client_history". An open ticket of a Chatwoot conversation is linked to it."""
    from bot.channels.chatwoot_store import ChatwootStore
    from bot.chat import migrations

    engine = create_engine(state_url)
    migrations.upgrade(engine, "0005")
    with engine.begin() as conn:
        for sid in ("openai", "chatwoot-4-218"):
            conn.execute(text("INSERT INTO sessions (id, created_at, role, language, status) "
                              f"VALUES ('{sid}', 1.0, 'customer', 'de', 'bot')"))
        for role, said, answer in [("customer", "Gibt es Rabatt?", "{}"),
                                   ("bot", "Lotse: du bekommst 200 € Gutschrift",
                                    '{"kind": "client_history"}'),
                                   ("bot", "Lotses eigene Antwort", '{"kind": "answer"}')]:
            conn.execute(text("INSERT INTO messages (session_id, created_at, role, text, "
                              "answer) VALUES ('openai', 1.0, :r, :t, :a)"),
                         {"r": role, "t": said, "a": answer})
        conn.execute(text("INSERT INTO tickets (session_id, created_at, updated_at, reason, "
                          "question, sources, draft, status, assignee) VALUES ('chatwoot-4-218', "
                          "1.0, 1.0, 'asked_for_human', 'Mensch?', '[]', '', 'open', '')"))
    engine.dispose()
    upgraded = StateStore(state_url)
    assert [m.role for m in upgraded.transcript("openai")] == ["customer", "client_history", "bot"]
    ticket = upgraded.open_ticket_of("chatwoot-4-218")
    assert ChatwootStore(upgraded.engine).linked_ticket(4, 218) == ticket.id
    upgraded.engine.dispose()


@pytest.mark.parametrize("with_rate_hits", [False, True])
def test_a_database_made_before_migrations_is_adopted(db_path, with_rate_hits):
    """Tables made by create_all (Lotse before migrations, with or without the rate-limit
    table) are stamped with the revision they match, then upgraded."""
    from bot.chat.state import _Base

    engine = create_engine(f"sqlite:///{db_path}")
    names = ["sessions", "messages", "raw_texts", "feedback", "tickets", "ticket_contacts",
             "ticket_reads", "session_secrets", "events", "faq_proposals", "staff_logins",
             "login_attempts"] + (["rate_hits"] if with_rate_hits else [])
    _Base.metadata.create_all(engine, tables=[_Base.metadata.tables[n] for n in names])
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO sessions VALUES ('before', 1.0, 'customer', 'de', 'bot')"))
    engine.dispose()
    store = StateStore(f"sqlite:///{db_path}")
    assert store.session_status("before") == "bot"
    assert rows(store, "SELECT version_num FROM alembic_version") == [(HEAD,)]


def test_a_webhook_delivery_is_claimed_by_one_process_only(state_url):
    """Four stores on one database claim 30 due deliveries at once: each exactly once."""
    import threading

    stores = [StateStore(state_url) for _ in range(4)]
    ids = {stores[0].queue_delivery("ticket.opened", "http://h.example/hook", "{}")
           for _ in range(30)}
    claimed: list = []
    lock = threading.Lock()

    def claim(store: StateStore) -> None:
        # A claim that lost a race to another store comes back short or empty (PostgreSQL
        # re-checks a row after waiting for its lock), so each keeps claiming until all are.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with lock:
                if len(claimed) >= len(ids):
                    return
            got = store.claim_deliveries(lease=60, limit=4)
            with lock:
                claimed.extend(got)

    threads = [threading.Thread(target=claim, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(d.id for d in claimed) == sorted(ids)  # every one, none twice
    assert stores[1].claim_deliveries(lease=60) == []  # all leased now
    first = next(d for d in claimed if d.id == min(ids))
    assert stores[2].delivery_failed(first, 1, "HTTP 500", retry_at=0.0)  # due again at once
    again = stores[3].claim_deliveries(lease=60)
    assert [d.id for d in again] == [min(ids)]
    # The first sender's lease is gone: its late outcome changes nothing.
    assert not stores[0].delivery_done(first, 2)
    assert stores[3].delivery_failed(again[0], 2, "HTTP 500", retry_at=None)
    assert [d.id for d in stores[1].deliveries("dead")] == [min(ids)]
    assert stores[1].replay_delivery(min(ids)).status == "pending"


def test_an_e_mail_is_claimed_once_and_a_crashed_claim_is_taken_over(state_url):
    """Four stores claim the same message at once: one takes it. A claim left unsettled
    (its process died) is taken over after ``stale_after``; a settled one never."""
    import threading

    from bot.chat.state import mail_key

    stores = [StateStore(state_url) for _ in range(4)]
    got: list = []
    threads = [threading.Thread(target=lambda s=s: got.append(s.claim_mail(mail_key("<m@x>"))))
               for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(got) == ["busy", "busy", "busy", "taken"]
    assert stores[0].claim_mail(mail_key("<m@x>"), stale_after=0.0) == "taken"  # the taker died
    stores[0].settle_mail(mail_key("<m@x>"), "answered", None, "<m@x>")
    assert stores[1].claim_mail(mail_key("<m@x>"), stale_after=0.0) == "settled"
    for s in stores:
        s.engine.dispose()


def test_an_e_mail_thread_is_joined_through_lotse_s_own_e_mails_from_its_address(state):
    from bot.chat.state import mail_key

    sid = state.new_session()
    state.add_mail_thread(sid, "Anna@Example.de", "Lieferung 0171 2345678")
    state.claim_mail(mail_key("<in1@x>"))
    state.settle_mail(mail_key("<in1@x>"), "answered", sid, "<in1@x>")
    state.sent_mail(sid, "<out1@bergpfad>")
    assert state.mail_session_of(["<unknown@x>", "<out1@bergpfad>"], "ANNA@example.de") == sid
    assert state.mail_session_of(["<in1@x>"], "anna@example.de") is None  # the customer's own
    assert state.mail_session_of(["<out1@bergpfad>"], "mallory@example.org") is None
    assert state.mails_sent_to("anna@example.de", time.time() - 60) == 1
    thread = state.mail_thread(sid)
    assert thread.address == "anna@example.de" and "0171" not in thread.subject
    assert thread.message_ids == ["<in1@x>", "<out1@bergpfad>"] and thread.last_received == "<in1@x>"
    assert state.export(sid)["email"]["address"] == "anna@example.de"
    counts = state.delete(sid)
    assert counts["mail_threads"] == 1 and counts["mail_messages"] == 2
    assert rows(state, "SELECT count(*) FROM mail_messages") == [(0,)]
    assert state.mail_thread(sid) is None


def test_an_owed_e_mail_reply_is_leased_to_one_sender_and_backs_off(state):
    from bot.chat.state import mail_key

    sid = state.new_session()
    key = mail_key("<q@x>")
    state.claim_mail(key)
    state.settle_mail(key, "answered", sid, "<q@x>", reply={"text": "Antwort", "language": "de"})
    assert state.pending_mail_replies() == [(key, sid, 0)]
    reply = state.take_mail_reply(key, 0, lease=60)
    assert reply == {"text": "Antwort", "language": "de", "outcome": "answered"}
    # While one sender holds it, nobody else lists or takes it, whatever count they read.
    assert state.pending_mail_replies() == []
    assert state.take_mail_reply(key, 0, lease=60) is None
    assert state.take_mail_reply(key, 1, lease=60) is None
    state.mail_reply_failed(key, retry_at=time.time() + 30)
    assert state.pending_mail_replies() == []
    state.mail_reply_failed(key, retry_at=0)
    assert state.pending_mail_replies() == [(key, sid, 1)]
    state.mail_reply_done(key, "answered")
    assert state.pending_mail_replies() == []
    assert rows(state, "SELECT outcome, reply FROM mail_messages") == [("answered", "")]


def test_a_lease_is_held_by_one_holder_until_it_runs_out(state):
    assert state.take_lease("mailbox", "a", 60) and state.take_lease("mailbox", "a", 60)
    assert not state.take_lease("mailbox", "b", 60)
    state.drop_lease("mailbox", "b")  # not b's to drop
    assert not state.take_lease("mailbox", "b", 60)
    assert state.take_lease("mailbox", "a", -1)  # renewed into the past: it ran out
    assert state.take_lease("mailbox", "b", 60)
    state.drop_lease("mailbox", "b")
    assert state.take_lease("mailbox", "c", 60)


def test_the_last_run_of_a_target_is_found_behind_many_others(state):
    state.add_ingest_run("schedule", "schedule", ["/srv/docs", "/srv/uploads"], 1.0, {"added": 1})
    for n in range(30):
        state.add_ingest_run("document", "admin", [f"https://hilfe.example.de/{n}"], 2.0 + n, {})
    [run] = state.ingest_runs(limit=1, target="/srv/uploads")
    assert run.targets == ["/srv/docs", "/srv/uploads"] and run.report == {"added": 1}
    assert state.ingest_runs(limit=1, target="/srv/upload") == []  # whole items only
    assert state.ingest_runs(limit=1, target="https://hilfe.example.de/1")[0].started_at == 3.0
    assert len(state.ingest_runs(limit=50)) == 31
