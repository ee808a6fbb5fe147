"""Real servers for tests: a free port, an ASGI app on uvicorn in a thread, and a
`lotse serve` subprocess read up to its banner and its first healthy /healthz."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def uvicorn_thread(app, port: int | None = None) -> Iterator[str]:
    """``app`` served over real HTTP for the duration of the block (on ``port``, or a free
    one); yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def lotse_api(engine, home: Path, roots: list[Path]) -> Iterator[dict]:
    """The REST app over ``engine`` on real HTTP, with its own state database in ``home``
    and ``roots`` as the folders an admin may re-ingest."""
    from bot.web.api import create_api
    from bot.wiring import build_chat

    db = home / "state.db"
    settings = engine.settings.model_copy(update={"home": home}, deep=True)
    settings.server.ingest_roots = list(roots)
    services = build_chat(settings, engine, state_url=f"sqlite:///{db}")
    with uvicorn_thread(create_api(services)) as url:
        yield {"url": url, "creds": services.credentials, "chat": services.chat,
               "logins": services.logins, "db": db, "services": services}


def start_lotse_serve(env: dict, timeout: float = 120,
                      code: Path = REPO) -> tuple[subprocess.Popen, str, str]:
    """A `lotse serve` subprocess, its base URL and its start-up banner (logins, tokens);
    ``code`` is the checkout whose ``bot`` it runs (another commit, for a comparison)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "bot.cli", "serve", "--port", str(port)],
                            env=env, cwd=code, stderr=subprocess.PIPE, text=True)
    banner = ""
    deadline = time.monotonic() + timeout
    while "REST token (admin)" not in banner:
        assert proc.poll() is None and time.monotonic() < deadline, banner
        banner += proc.stderr.readline()
    # The server logs a JSON line per request: read them all the time, or a full pipe
    # would block it; the last ones stay on ``proc.log_lines`` for tests to look at.
    proc.log_lines = deque(maxlen=5000)
    threading.Thread(target=lambda: proc.log_lines.extend(iter(proc.stderr.readline, "")),
                     daemon=True).start()
    url = f"http://127.0.0.1:{port}"
    while True:
        try:
            if httpx.get(f"{url}/healthz").status_code == 200:
                return proc, url, banner
        except httpx.TransportError:
            assert time.monotonic() < deadline, "no healthy /healthz"
            time.sleep(0.2)


@contextmanager
def smtp_server(refuse: str = "") -> Iterator[dict]:
    """A real SMTP server (aiosmtpd) on localhost; yields its port and the messages it got,
    each as ``email.message.EmailMessage`` with the envelope's recipients (and, under
    ``raw``, the bytes as sent). Recipients
    containing ``refuse`` are refused with 550."""
    from email import message_from_bytes, policy

    from aiosmtpd.controller import Controller

    received: list = []
    raw: list[bytes] = []

    class Inbox:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if refuse and refuse in address:
                return "550 5.1.1 no such mailbox"
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            message = message_from_bytes(envelope.original_content, policy=policy.default)
            received.append((list(envelope.rcpt_tos), message))
            raw.append(envelope.original_content)
            return "250 OK"

    controller = Controller(Inbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield {"port": controller.port, "received": received, "raw": raw}
    finally:
        controller.stop()


def serve_ingested(home: Path, corpus: Path | None = None,
                   **env: str) -> tuple[subprocess.Popen, dict]:
    """`lotse ingest CORPUS` (docs_corpus by default) then `lotse serve` with LOTSE_HOME at
    ``home`` and ``env`` added; the process and what its banner says (url, pid, logins,
    REST tokens)."""
    import os

    env = {**os.environ, "LOTSE_HOME": str(home), **env}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(corpus or REPO / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=REPO)
    proc, url, banner = start_lotse_serve(env, timeout=120)
    return proc, {"url": url, "pid": proc.pid, "home": home,
                  "logins": dict(re.findall(r"login '(\w+)' \(\w+\): (\S+)", banner)),
                  "tokens": dict(re.findall(r"REST token \((\w+)\): (\S+)", banner))}


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started by a test: SIGTERM, and SIGKILL if it has not ended in 30 s."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


PG_BIN = Path("/usr/lib/postgresql/15/bin")


@contextmanager
def postgres_server(folder: Path) -> Iterator[str]:
    """A throwaway PostgreSQL cluster (Debian's postgresql 15) in ``folder`` on a free
    loopback port; yields its SQLAlchemy URL. `initdb` refuses root, so as root the
    cluster runs as the ``postgres`` user. Skips the test when PostgreSQL is missing."""
    import os
    import shutil

    import pytest

    initdb = PG_BIN / "initdb"
    if not initdb.exists():
        pytest.skip(f"PostgreSQL not found at {PG_BIN}: apt-get install postgresql-15")
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_postgres, *cmd], check=True, capture_output=True, timeout=120)

    run(str(initdb), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
        "--locale=C.UTF-8")
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w", "-o",
        f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off", "start")
    try:
        run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
            "-U", "postgres", "lotse")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/lotse"
    finally:
        run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")


DOVECOT = Path("/usr/sbin/dovecot")


@contextmanager
def imap_server(user: str = "service", password: str = "geheim") -> Iterator[dict]:
    """A real IMAP server (Debian's dovecot) with one mailbox, on a free loopback port;
    yields host, port, user and password. Plain login without TLS, which this test
    configuration allows. As root the mail is owned by ``nobody`` (dovecot will not store
    mail as root), so the folder lives outside pytest's private tmp dirs, which other users
    cannot enter. Skips the test when dovecot is missing."""
    import os
    import pwd
    import shutil
    import tempfile

    import pytest

    if not DOVECOT.exists():
        pytest.skip(f"dovecot not found at {DOVECOT}: apt-get install dovecot-imapd")
    folder = Path(tempfile.mkdtemp(prefix="lotse-imap-"))
    folder.chmod(0o755)
    port = free_port()
    me = pwd.getpwuid(os.geteuid()).pw_name
    owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    for sub in ("run", "state", "mail"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    shutil.chown(folder / "mail", owner.pw_uid, owner.pw_gid)
    (folder / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    login_user = "dovenull" if os.geteuid() == 0 else me
    internal_user = "dovecot" if os.geteuid() == 0 else me
    conf = folder / "dovecot.conf"
    conf.write_text(f"""\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_login_user = {login_user}
default_internal_user = {internal_user}
first_valid_uid = 1
mail_location = maildir:{folder}/mail/%u
passdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={owner.pw_uid} gid={owner.pw_gid} home={folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
""")
    proc = subprocess.Popen([str(DOVECOT), "-F", "-c", str(conf)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            log = folder / "dovecot.log"
            assert proc.poll() is None and time.monotonic() < deadline, \
                (proc.stderr.read().decode() if proc.poll() is not None else "") + \
                (log.read_text() if log.exists() else "")
            time.sleep(0.1)
    try:
        yield {"host": "127.0.0.1", "port": port, "user": user, "password": password}
    finally:
        stop(proc)
        shutil.rmtree(folder, ignore_errors=True)
