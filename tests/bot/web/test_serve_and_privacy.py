"""`lotse serve` as a real process, and the DSGVO commands against its database."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.servers import start_lotse_serve

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.usefixtures("subprocesses")
def test_serve_answers_and_privacy_commands_export_and_delete(tmp_path):
    home = tmp_path / "home"
    # A TLS-terminating proxy on this host, configured as trusted.
    env = {**os.environ, "LOTSE_HOME": str(home), "LOTSE_EMBEDDING__MODE": "fake",
           "LOTSE_SERVER__TRUSTED_PROXIES": '["127.0.0.1"]'}
    subprocess.run([sys.executable, "-m", "bot.cli", "ingest", str(REPO / "docs_corpus")],
                   env=env, check=True, capture_output=True, cwd=REPO)
    proc, url, banner = start_lotse_serve(env, timeout=60)
    try:
        token = re.search(r"REST token \(customer\): (\S+)", banner).group(1)
        assert re.search(r"login 'agent' \(agent\): \S+", banner)
        reply = httpx.post(f"{url}/v1/chat", headers={"Authorization": f"Bearer {token}"},
                           json={"message": "Meine Mail ist anna@example.de, was kostet der Versand?"},
                           timeout=30).json()
        session = reply["session_id"]
        # Behind a TLS-terminating proxy on this host the login cookie is marked Secure.
        password = re.search(r"login 'agent' \(agent\): (\S+)", banner).group(1)
        login = httpx.post(f"{url}/login", data={"name": "agent", "password": password},
                           headers={"X-Forwarded-Proto": "https"})
        cookie = login.headers["set-cookie"].lower()
        assert login.status_code == 303 and "secure" in cookie and "httponly" in cookie
        plain = httpx.post(f"{url}/login", data={"name": "agent", "password": password})
        assert "secure" not in plain.headers["set-cookie"].lower()  # plain HTTP on localhost
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)

    out = subprocess.run([sys.executable, "-m", "bot.cli", "privacy", "export", session],
                         env=env, capture_output=True, text=True, cwd=REPO)
    exported = json.loads(out.stdout)
    assert exported["messages"][0]["text"].startswith("Meine Mail ist [E-MAIL]")
    out = subprocess.run([sys.executable, "-m", "bot.cli", "privacy", "delete", session],
                         env=env, capture_output=True, text=True, cwd=REPO)
    assert json.loads(out.stdout)["messages"] == 2
    again = subprocess.run([sys.executable, "-m", "bot.cli", "privacy", "export", session],
                           env=env, capture_output=True, text=True, cwd=REPO)
    assert again.returncode == 1 and "no session" in again.stderr
