"""Staff accounts against real `lotse serve` processes over HTTP: one account per person,
passwords only as argon2id hashes, the upgrade from plaintext logins, the person's name on
tickets and in the audit log, and the single-sign-on header believed from the proxy only.

Three installations: a fresh one (started twice), one upgraded from ``auth.users`` behind
a proxy on 127.0.0.1, and one upgraded from an old ``credentials.json`` whose proxy is
elsewhere. Every refused request has a control beside it that gets in."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.servers import REPO, serve_ingested, start_lotse_serve, stop

HEADER = "X-Remote-User"
SETTINGS_USERS = {"erika": "agent:Erikas-altes-Passwort", "chef": "admin:Chefs-altes-Passwort"}
OLD_FILE = {"customer_token": "alt-kunde-" + "k" * 24, "agent_token": "alt-agent-" + "a" * 24,
            "admin_token": "alt-admin-" + "d" * 24,
            "agent_password": "altes-agenten-passwort", "admin_password": "altes-admin-passwort"}


def _corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "versand.md").write_text("# Versand\n\nDer Versand kostet 4,95 Euro; ab 50 Euro "
                                       "ist er kostenlos.\n", encoding="utf-8")
    return folder


def _serve(home: Path, **env: str):
    return serve_ingested(home, _corpus(home.parent / f"{home.name}-corpus"),
                          LOTSE_EMBEDDING__MODE="fake", **env)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    """A new installation: its first start, stopped, and a second start on the same home."""
    home = tmp_path_factory.mktemp("fresh") / "home"
    proc, first = _serve(home)
    stop(proc)
    env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_EMBEDDING__MODE": "fake"}
    proc, url, banner = start_lotse_serve(env)
    yield {"first": first, "url": url, "banner": banner, "home": home, "env": env}
    stop(proc)


@pytest.fixture(scope="module")
def from_settings(tmp_path_factory):
    """Upgraded from plaintext ``auth.users``, behind a sign-on proxy on 127.0.0.1."""
    home = tmp_path_factory.mktemp("settings") / "home"
    proc, info = _serve(home, LOTSE_AUTH__USERS=json.dumps(SETTINGS_USERS),
                        LOTSE_AUTH__TRUSTED_USER_HEADER=HEADER,
                        LOTSE_SERVER__TRUSTED_PROXIES='["127.0.0.1"]')
    yield info
    stop(proc)


@pytest.fixture(scope="module")
def from_file(tmp_path_factory):
    """Upgraded from an old credentials.json with passwords; its sign-on proxy is another host."""
    home = tmp_path_factory.mktemp("file") / "home"
    home.mkdir()
    (home / "credentials.json").write_text(json.dumps(OLD_FILE))
    proc, info = _serve(home, LOTSE_AUTH__TRUSTED_USER_HEADER=HEADER,
                        LOTSE_SERVER__TRUSTED_PROXIES='["192.0.2.1"]')
    yield info
    stop(proc)


def _login(url: str, name: str, password: str, local: str | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=local) if local else None
    with httpx.Client(base_url=url, transport=transport) as client:
        return client.post("/login", data={"name": name, "password": password})


def _staff_page(url: str, headers: dict | None = None, cookie: str | None = None,
                local: str | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=local) if local else None
    cookies = {"lotse_session": cookie} if cookie else None
    with httpx.Client(base_url=url, transport=transport, cookies=cookies) as client:
        return client.get("/staff/", headers=headers or {}, follow_redirects=False)


def _logged_in(page: httpx.Response) -> bool:
    if page.status_code == 200:
        return True
    assert page.status_code in (302, 303, 307) and page.headers["location"] == "/login", page
    return False


def _staff_ui(url: str, **headers: str):
    """The staff page's Gradio API as a browser with these headers would use it."""
    from gradio_client import Client

    return Client(f"{url}/staff/", headers=headers, verbose=False, analytics_enabled=False)


def _whoami(ui) -> str:
    return ui.predict(api_name="/on_load")[0]


def _accounts(home: Path) -> dict[str, tuple[str, str]]:
    with sqlite3.connect(home / "state.db") as conn:
        rows = conn.execute("SELECT name, role, password_hash FROM staff_accounts").fetchall()
    return {name: (role, stored) for name, role, stored in rows}


def _files_holding(home: Path, secrets: list[str]) -> list[str]:
    """Every file under ``home`` (the database and its WAL, the store, caches, JSON) that
    holds one of ``secrets`` as bytes."""
    found = []
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.relative_to(home)}: {s}" for s in secrets if s.encode() in data]
    return found


def _users(env: dict, *argv: str, password: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot.cli", "users", *argv], env=env, cwd=REPO,
                          input=password + "\n", capture_output=True, text=True, timeout=120)


# -- a new installation ---------------------------------------------------------------------
def test_the_first_start_prints_generated_passwords_once_and_a_restart_only_the_names(fresh):
    logins, banner = fresh["first"]["logins"], fresh["banner"]
    assert sorted(logins) == ["admin", "agent"] and all(len(p) >= 10 for p in logins.values())
    # The second start shows no password, only who can log in and how to set a new one.
    assert not re.search(r"login '\w+' \(\w+\): ", banner)
    assert not any(p in banner for p in logins.values())
    assert "logins: admin (admin), agent (agent)" in banner
    assert "lotse users passwd NAME" in banner
    # A wrong password gets nowhere; the printed one works after the restart.
    assert _login(fresh["url"], "agent", logins["admin"]).status_code == 401
    for name, password in logins.items():
        assert _login(fresh["url"], name, password).status_code == 303


def test_the_database_holds_argon2id_hashes_and_no_file_a_password(fresh):
    accounts = _accounts(fresh["home"])
    assert {n: r for n, (r, _) in accounts.items()} == {"agent": "agent", "admin": "admin"}
    assert all(stored.startswith("$argon2id$") for _, stored in accounts.values())
    passwords = list(fresh["first"]["logins"].values())
    assert _files_holding(fresh["home"], passwords) == []
    for name in ("state.db", "state.db-wal", "credentials.json"):
        assert (fresh["home"] / name).stat().st_mode & 0o077 == 0, name  # this user's only
    credentials = json.loads((fresh["home"] / "credentials.json").read_text())
    assert set(credentials) == {"customer_token", "agent_token", "admin_token"}


def test_the_users_commands_add_list_passwd_and_remove_a_live_login(fresh):
    url, env = fresh["url"], fresh["env"]
    first, second = "Erikas-erstes-Passwort", "Erikas-zweites-Passwort"
    added = _users(env, "add", "erika", "--role", "agent", password=first)
    assert added.returncode == 0, added.stderr
    listed = _users(env, "list")
    assert re.search(r"^erika\s+agent\s+\d{4}-", listed.stdout, re.M)
    assert "argon2" not in listed.stdout and first not in listed.stdout
    login = _login(url, "erika", first)
    assert login.status_code == 303
    cookie = login.cookies["lotse_session"]
    assert _logged_in(_staff_page(url, cookie=cookie))

    assert _users(env, "passwd", "erika", password=second).returncode == 0
    assert not _logged_in(_staff_page(url, cookie=cookie))  # the old login ended
    assert _login(url, "erika", first).status_code == 401
    assert _login(url, "erika", second).status_code == 303

    assert _users(env, "remove", "erika").returncode == 0
    assert _login(url, "erika", second).status_code == 401
    assert "erika" not in _users(env, "list", "--json").stdout
    assert _files_holding(fresh["home"], [first, second]) == []


@pytest.mark.parametrize("argv, password, message", [
    (("add", "agent", "--role", "agent"), "ein-langes-passwort",
     "name 'agent': an account of that name exists already"),
    (("add", "neu", "--role", "boss"), "ein-langes-passwort", "role 'boss': must be one of"),
    (("add", "neu", "--role", "agent"), "kurz", "password for 'neu': too short"),
    (("add", "neu", "--role", "agent"), "", "password for 'neu': empty"),
    (("passwd", "geist"), "ein-langes-passwort", "user 'geist': no such account"),
    (("remove", "geist"), "", "user 'geist': no such account"),
])
def test_the_users_commands_refuse_with_the_input_and_the_reason(fresh, argv, password, message):
    refused = _users(fresh["env"], *argv, password=password)
    assert refused.returncode == 1 and message in refused.stderr
    names = {u["name"] for u in json.loads(_users(fresh["env"], "list", "--json").stdout)}
    assert "neu" not in names and "geist" not in names


# -- upgraded from plaintext passwords ------------------------------------------------------
def test_passwords_from_auth_users_are_moved_in_as_hashes(from_settings):
    url, home = from_settings["url"], from_settings["home"]
    assert from_settings["logins"] == {}  # nothing generated, nothing printed
    accounts = _accounts(home)
    assert {n: r for n, (r, _) in accounts.items()} == {"erika": "agent", "chef": "admin"}
    assert all(stored.startswith("$argon2id$") for _, stored in accounts.values())
    passwords = [spec.split(":", 1)[1] for spec in SETTINGS_USERS.values()]
    assert _files_holding(home, passwords) == []
    assert _login(url, "erika", passwords[1]).status_code == 401
    assert _login(url, "erika", passwords[0]).status_code == 303
    assert _login(url, "chef", passwords[1]).status_code == 303


def test_passwords_of_an_old_credentials_file_are_moved_in_and_removed_from_it(from_file):
    url, home = from_file["url"], from_file["home"]
    kept = json.loads((home / "credentials.json").read_text())
    assert set(kept) == {"customer_token", "agent_token", "admin_token"}
    assert from_file["tokens"]["agent"] == OLD_FILE["agent_token"]  # tokens stay as they were
    accounts = _accounts(home)
    assert {"agent", "admin"} <= set(accounts)
    assert all(s.startswith("$argon2id$") for _, s in accounts.values())
    old = [OLD_FILE["agent_password"], OLD_FILE["admin_password"]]
    assert _files_holding(home, old) == []
    assert _login(url, "admin", old[0]).status_code == 401
    assert _login(url, "agent", old[0]).status_code == 303
    assert _login(url, "admin", old[1]).status_code == 303


# -- who acted ------------------------------------------------------------------------------
def test_tickets_and_the_audit_log_name_the_agent_who_acted(from_settings):
    url, tokens = from_settings["url"], from_settings["tokens"]
    customer = {"Authorization": f"Bearer {tokens['customer']}"}
    agent_token = {"Authorization": f"Bearer {tokens['agent']}"}
    admin_token = {"Authorization": f"Bearer {tokens['admin']}"}
    numbers = [httpx.post(f"{url}/v1/human", headers=customer, json={}, timeout=30)
               .json()["ticket"] for _ in range(3)]
    ids = {t["number"]: t["id"] for t in httpx.get(f"{url}/v1/handoffs", headers=agent_token)
           .json()}
    for name, number in (("erika", numbers[0]), ("chef", numbers[1])):
        password = SETTINGS_USERS[name].split(":", 1)[1]
        cookie = _login(url, name, password).cookies["lotse_session"]
        ui = _staff_ui(url, Cookie=f"lotse_session={cookie}")
        assert f"**{name}**" in _whoami(ui)
        ui.predict(str(ids[number]), api_name="/take")
        ui.predict(str(ids[number]), f"Hallo, hier ist {name}.", api_name="/send")
    # A REST token is a role's: its reply is named for the token, not for a person.
    httpx.post(f"{url}/v1/handoffs/{ids[numbers[2]]}/reply", headers=agent_token,
               json={"text": "Hallo aus dem Helpdesk."}, timeout=30).raise_for_status()

    tickets = {t["number"]: t for t in httpx.get(f"{url}/v1/handoffs?status=",
                                                 headers=agent_token).json()}
    assert [tickets[n]["assignee"] for n in numbers] == ["erika", "chef", "api (agent token)"]
    log = {(e["who"], e["action"], e["target"]) for e in
           httpx.get(f"{url}/v1/admin/audit", headers=admin_token).json()}
    assert {("erika", "ticket_take", numbers[0]), ("erika", "ticket_reply", numbers[0]),
            ("chef", "ticket_take", numbers[1]), ("chef", "ticket_reply", numbers[1]),
            ("api (agent token)", "ticket_reply", numbers[2])} <= log
    assert not any(who in ("agent", "admin") for who, _, _ in log)


# -- single sign-on -------------------------------------------------------------------------
def test_the_sign_on_header_from_the_trusted_proxy_logs_the_named_account_in(from_settings):
    url = from_settings["url"]
    assert _logged_in(_staff_page(url, {HEADER: "erika"}))
    assert not _logged_in(_staff_page(url))  # the proxy without the header: the login form
    assert not _logged_in(_staff_page(url, {HEADER: "mallory"}))  # no such account
    assert "**erika** (agent)" in _whoami(_staff_ui(url, **{HEADER: "erika"}))
    assert "**chef** (admin)" in _whoami(_staff_ui(url, **{HEADER: "chef"}))


def test_the_sign_on_header_from_another_address_is_ignored(from_settings):
    """The same server, the same header, from 127.0.0.2: not the proxy, so no login, even
    with an X-Forwarded-For that names the proxy."""
    url, other = from_settings["url"], "127.0.0.2"
    for headers in ({HEADER: "chef"}, {HEADER: "chef", "X-Forwarded-For": "127.0.0.1"}):
        assert not _logged_in(_staff_page(url, headers, local=other))
        transport = httpx.HTTPTransport(local_address=other)
        with httpx.Client(base_url=url, transport=transport) as client:
            assert client.post("/staff/gradio_api/queue/join", headers=headers,
                               json={}).status_code == 401
    # Control: the same address with chef's password gets in.
    login = _login(url, "chef", SETTINGS_USERS["chef"].split(":", 1)[1], local=other)
    assert login.status_code == 303
    assert _logged_in(_staff_page(url, cookie=login.cookies["lotse_session"], local=other))


def test_the_sign_on_header_is_ignored_when_the_proxy_is_another_host(from_file):
    url = from_file["url"]
    assert not _logged_in(_staff_page(url, {HEADER: "admin"}))
    login = _login(url, "agent", OLD_FILE["agent_password"])
    assert login.status_code == 303
    cookie = login.cookies["lotse_session"]
    # Logged in as the agent, the header cannot make the request the admin's.
    ui = _staff_ui(url, Cookie=f"lotse_session={cookie}", **{HEADER: "admin"})
    assert "**agent** (agent)" in _whoami(ui)
    # Control: the admin's own password does.
    admin = _login(url, "admin", OLD_FILE["admin_password"]).cookies["lotse_session"]
    assert "**admin** (admin)" in _whoami(_staff_ui(url, Cookie=f"lotse_session={admin}"))
