"""Staff accounts without a server: argon2id hashes, the checks and their messages, the first
start's filling of the table (generated, from auth.users, from an old credentials.json), the
`lotse users` commands and the single-sign-on header's middleware."""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import stat
import sys

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text

from bot.chat.accounts import AccountError, NoSuchAccount, StaffAccounts
from bot.chat.staff import Credentials, LoginRefused, LoginSessions, fill_accounts
from bot.chat.state import StateStore
from kb.settings import LotseSettings

# Cheap parameters keep the tier fast; the real ones are argon2-cffi's defaults.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
PASSWORD = "Wanderschuh-42"


@pytest.fixture
def state(tmp_path) -> StateStore:
    return StateStore(f"sqlite:///{tmp_path / 'state.db'}")


@pytest.fixture
def accounts(state) -> StaffAccounts:
    return StaffAccounts(state, CHEAP)


def hashes(state: StateStore) -> dict[str, str]:
    with state.engine.connect() as conn:
        return dict(conn.execute(text("SELECT name, password_hash FROM staff_accounts")).all())


def test_a_password_is_stored_as_an_argon2id_hash_and_verified_through_it(accounts, state):
    accounts.add("erika", "agent", PASSWORD)
    stored = hashes(state)["erika"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert accounts.verify("erika", PASSWORD) == "agent"
    assert accounts.verify("erika", PASSWORD + "x") is None
    assert accounts.verify("niemand", PASSWORD) is None
    assert accounts.verify("erika" + "x" * 80, PASSWORD) is None
    assert accounts.verify("eri\x00ka", PASSWORD) is None and accounts.role_of("eri\x00ka") is None
    [listed] = accounts.all_accounts()
    assert (listed.name, listed.role) == ("erika", "agent") and not hasattr(listed, "password_hash")
    database = state.engine.url.database
    for path in (database, f"{database}-wal"):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path  # the hashes are private


def test_a_hash_made_with_weaker_parameters_is_replaced_at_the_next_login(accounts, state):
    accounts.add("erika", "agent", PASSWORD)
    weak = hashes(state)["erika"]
    stronger = StaffAccounts(state, PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    assert stronger.verify("erika", "falsch-falsch") is None
    assert hashes(state)["erika"] == weak  # a wrong password changes nothing
    assert stronger.verify("erika", PASSWORD) == "agent"
    renewed = hashes(state)["erika"]
    assert renewed != weak and "m=2048,t=2,p=1" in renewed
    assert stronger.verify("erika", PASSWORD) == "agent"


@pytest.mark.parametrize("name, role, password, message", [
    ("erika", "boss", PASSWORD, "role 'boss': must be one of agent, admin"),
    ("erika", "customer", PASSWORD, "role 'customer'"),
    ("erika", "agent", "", "password for 'erika': empty"),
    ("erika", "agent", "kurz", "password for 'erika': too short (4 characters, at least 10)"),
    ("erika", "agent", "x" * 300, "password for 'erika': too long"),
    ("er ika", "agent", PASSWORD, "name 'er ika': use 1-64 letters"),
    ("", "agent", PASSWORD, "name '': use 1-64 letters"),
    ("-x", "agent", PASSWORD, "name '-x'"),
])
def test_a_bad_account_is_refused_with_the_input_and_the_reason(accounts, name, role,
                                                                 password, message):
    with pytest.raises(AccountError) as caught:
        accounts.add(name, role, password)
    assert message in str(caught.value)
    assert accounts.all_accounts() == []


def test_duplicate_unknown_and_last_accounts_are_refused_by_name(accounts):
    accounts.add("erika", "agent", PASSWORD)
    with pytest.raises(AccountError, match="name 'erika': an account of that name exists"):
        accounts.add("erika", "admin", PASSWORD)
    with pytest.raises(NoSuchAccount, match="user 'max': no such account"):
        accounts.set_password("max", PASSWORD)
    with pytest.raises(NoSuchAccount, match="user 'max': no such account"):
        accounts.remove("max")
    with pytest.raises(AccountError, match="user 'erika': the last account cannot be removed"):
        accounts.remove("erika")
    with pytest.raises(AccountError, match="too short"):
        accounts.set_password("erika", "kurz")
    assert accounts.verify("erika", PASSWORD) == "agent"


def test_a_new_password_or_a_removal_ends_the_accounts_logins(accounts, state):
    accounts.add("erika", "agent", PASSWORD)
    accounts.add("max", "admin", PASSWORD)
    logins = LoginSessions(Credentials({}, accounts), state)
    erika, max_ = logins.login("erika", PASSWORD), logins.login("max", PASSWORD)
    accounts.set_password("erika", "ein neues Passwort")
    assert logins.user(erika) is None and logins.user(max_).name == "max"
    with pytest.raises(LoginRefused):
        logins.login("erika", PASSWORD, client="203.0.113.1")
    assert logins.user(logins.login("erika", "ein neues Passwort")).name == "erika"
    accounts.remove("max")
    assert logins.user(max_) is None and accounts.role_of("max") is None
    with pytest.raises(LoginRefused):
        logins.login("max", PASSWORD, client="203.0.113.2")


def test_the_first_start_generates_an_agent_and_an_admin_once(accounts):
    first = fill_accounts(accounts, {}, {})
    assert sorted(first) == ["admin", "agent"]
    for name, (role, password) in first.items():
        assert role == name and len(password) >= 10 and accounts.verify(name, password) == role
    assert fill_accounts(accounts, {}, {}) == {}  # a later start makes nothing
    assert [a.name for a in accounts.all_accounts()] == ["admin", "agent"]


def test_auth_users_are_moved_in_once_and_bad_entries_skipped(accounts, caplog):
    configured = {"erika": "agent:alt:mit:doppelpunkt", "max": "admin:geheim",
                  "kunde": "customer:x", "kaputt": "ohne-rolle", "lee r": "agent:egal-egal-egal"}
    assert fill_accounts(accounts, configured, {"agent": "aus-der-alten-datei"}) == {}
    assert {a.name: a.role for a in accounts.all_accounts()} == {"erika": "agent", "max": "admin"}
    assert accounts.verify("erika", "alt:mit:doppelpunkt") == "agent"
    assert accounts.verify("max", "geheim") == "admin"  # short, taken over, with a warning
    assert accounts.verify("agent", "aus-der-alten-datei") is None  # auth.users wins, as before
    text = caplog.text
    assert "auth.users['kunde']" in text and "auth.users['kaputt']" in text and "'lee r'" in text
    assert "password of 'max' is shorter than 10" in text
    accounts.remove("max")
    caplog.clear()
    assert fill_accounts(accounts, configured, {}) == {}
    assert accounts.role_of("max") is None  # read once: a removed account stays removed
    assert "auth.users is ignored" in caplog.text


def test_an_old_credentials_file_is_moved_in_and_left_without_passwords(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    old = {"customer_token": "c" * 32, "agent_token": "a" * 32, "admin_token": "d" * 32,
           "agent_password": "altes-agenten-pw", "admin_password": "altes-admin-pw"}
    (home / "credentials.json").write_text(json.dumps(old))
    settings = LotseSettings(home=home)
    state = StateStore(settings.state_url())
    creds = Credentials.load(settings, state)
    assert creds.first_logins == {}
    assert creds.accounts.verify("agent", "altes-agenten-pw") == "agent"
    assert creds.accounts.verify("admin", "altes-admin-pw") == "admin"
    assert creds.token_for("agent") == "a" * 32  # the REST tokens stay as they were
    path = home / "credentials.json"
    kept = json.loads(path.read_text())
    assert set(kept) == {"customer_token", "agent_token", "admin_token"}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = Credentials.load(settings, state)
    assert again.first_logins == {} and again.accounts.verify("agent", "altes-agenten-pw")


def _users(settings: LotseSettings, *argv: str, stdin: str = "") -> int:
    from bot.cli import parser
    from bot.cli_users import run_users

    args = parser().parse_args(["users", *argv])
    return run_users(args, settings, stdin=io.StringIO(stdin))


def test_the_users_commands_add_list_passwd_and_remove(tmp_path, capsys):
    settings = LotseSettings(home=tmp_path / "fresh")
    assert _users(settings, "list") == 0
    assert "no accounts yet" in capsys.readouterr().out
    assert _users(settings, "add", "erika", "--role", "agent", stdin=PASSWORD + "\n") == 0
    assert _users(settings, "add", "max", "--role", "admin", stdin="  Leerzeichen zählen  \n") == 0
    assert capsys.readouterr().out == "add: erika (agent)\nadd: max (admin)\n"
    assert _users(settings, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(u["name"], u["role"]) for u in listed] == [("erika", "agent"), ("max", "admin")]
    assert all(set(u) == {"name", "role", "created_at", "password_set_at"} for u in listed)
    state = StateStore(settings.state_url())
    accounts = StaffAccounts(state)
    assert accounts.verify("max", "  Leerzeichen zählen  ") == "admin"
    assert _users(settings, "passwd", "erika", stdin="ein ganz neues\n") == 0
    assert accounts.verify("erika", "ein ganz neues") == "agent"
    assert _users(settings, "remove", "max") == 0
    assert [a.name for a in accounts.all_accounts()] == ["erika"]
    log = [(e.action, e.target) for e in state.audit_log()]
    assert log == [("user_remove", "max"), ("user_passwd", "erika"), ("user_add", "max"),
                   ("user_add", "erika")]
    assert all(e.who.startswith("cli") for e in state.audit_log())


@pytest.mark.parametrize("argv, stdin, message", [
    (("add", "erika", "--role", "agent"), PASSWORD, "name 'erika': an account of that name"),
    (("add", "neu", "--role", "chef"), PASSWORD, "role 'chef': must be one of agent, admin"),
    (("add", "neu", "--role", "agent"), "", "password for 'neu': empty"),
    (("add", "neu", "--role", "agent"), "kurz\n", "password for 'neu': too short"),
    (("passwd", "niemand"), PASSWORD, "user 'niemand': no such account"),
    (("remove", "niemand"), "", "user 'niemand': no such account"),
    (("add", "a b", "--role", "agent"), PASSWORD, "name 'a b'"),
])
def test_the_users_commands_name_the_input_and_the_reason(tmp_path, capsys, monkeypatch, argv,
                                                          stdin, message):
    from bot.cli import main

    home = tmp_path / "home"
    settings = LotseSettings(home=home)
    assert _users(settings, "add", "erika", "--role", "agent", stdin=PASSWORD) == 0
    monkeypatch.setenv("LOTSE_HOME", str(home))
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(["users", *argv]) == 1
    assert message in capsys.readouterr().err
    assert [a.name for a in StaffAccounts(StateStore(settings.state_url())).all_accounts()] \
        == ["erika"]


# -- the single-sign-on header ----------------------------------------------------------------
def _through(middleware, client: str, headers: list[tuple[bytes, bytes]]) -> None:
    """One GET from ``client`` through ``middleware`` (its app keeps the scope it got)."""
    scope = {"type": "http", "method": "GET", "path": "/staff/", "headers": headers,
             "client": (client, 50000), "scheme": "http", "query_string": b""}

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(_message):
        pass

    asyncio.run(middleware(scope, receive, send))


@pytest.fixture
def sign_on(accounts, state):
    from bot.web.proxies import TrustedProxies

    accounts.add("erika", "agent", PASSWORD)
    logins = LoginSessions(Credentials({}, accounts), state)
    seen: dict = {}

    async def app(scope, receive, send):
        seen.clear()
        seen.update(scope)

    middleware = TrustedProxies(app, ["192.0.2.10"], "X-Remote-User", logins)
    return middleware, logins, seen


def _cookie(scope: dict) -> str:
    return b"; ".join(v for k, v in scope["headers"] if k == b"cookie").decode()


def test_the_sign_on_header_logs_in_only_through_a_trusted_proxy(sign_on):
    middleware, logins, seen = sign_on
    header = [(b"x-remote-user", b"erika"), (b"cookie", b"other=1")]
    _through(middleware, "192.0.2.10", header)
    token = _cookie(seen).split("lotse_session=")[1]
    assert logins.user(token).name == "erika" and "other=1" in _cookie(seen)
    assert not any(k == b"x-remote-user" for k, _ in seen["headers"])
    _through(middleware, "192.0.2.10", header)
    assert _cookie(seen).split("lotse_session=")[1] == token  # one session, reused
    # Any other peer: the header is gone, no session appears, its own cookie stays.
    _through(middleware, "198.51.100.7", header + [(b"x-forwarded-for", b"192.0.2.10")])
    assert not any(k == b"x-remote-user" for k, _ in seen["headers"])
    assert _cookie(seen) == "other=1" and seen["client"][0] == "198.51.100.7"


def test_the_sign_on_header_names_an_account_once_or_nobody_is_signed_on(sign_on):
    middleware, _, seen = sign_on
    _through(middleware, "192.0.2.10", [(b"x-remote-user", b"mallory"),
                                        (b"cookie", b"lotse_session=stolen")])
    assert "lotse_session" not in _cookie(seen)  # the proxy's word replaces the cookie's
    _through(middleware, "192.0.2.10", [(b"x-remote-user", b"erika"),
                                        (b"x-remote-user", b"admin")])
    assert "lotse_session" not in _cookie(seen)
    # The proxy's own X-Forwarded-For is still believed for the client address.
    _through(middleware, "192.0.2.10", [(b"x-forwarded-for", b"203.0.113.5")])
    assert seen["client"][0] == "203.0.113.5"


@pytest.mark.parametrize("auth, server, message", [
    ({"trusted_user_header": "X-Remote-User"}, {}, "server.trusted_proxies must name"),
    ({"trusted_user_header": "X-Remote-User"}, {"trusted_proxies": ["*"]}, "'*' is not allowed"),
    ({"trusted_user_header": "Authorization"}, {"trusted_proxies": ["10.0.0.1"]}, "standard"),
    ({"trusted_user_header": "X Remote"}, {"trusted_proxies": ["10.0.0.1"]}, "not a header name"),
])
def test_a_sign_on_header_needs_a_named_proxy_and_a_name_of_its_own(auth, server, message):
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        LotseSettings(auth=auth, server=server)
    assert LotseSettings(auth={"trusted_user_header": "X-Remote-User"},
                         server={"trusted_proxies": ["10.0.0.1"]}).auth.trusted_user_header


def test_every_setting_of_auth_is_described():
    from kb.settings import AuthSettings

    for name, field in AuthSettings.model_fields.items():
        assert field.description, name
    assert "only once" in AuthSettings.model_fields["users"].description


def test_parser_knows_the_users_command():
    from bot.cli import parser

    args = parser().parse_args(["users", "add", "erika", "--role", "admin"])
    assert isinstance(args, argparse.Namespace) and (args.action, args.name) == ("add", "erika")
