"""Two real `lotse serve` processes on one PostgreSQL state database, as two machines
behind one address would run: a conversation started on one continues on the other, and
the per-session rate limit counts the messages sent to both."""

from __future__ import annotations

import json
import os
import uuid

import httpx
import pytest
from sqlalchemy import create_engine, text

from bench.servers import serve_ingested, start_lotse_serve, stop


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory, postgres_url):
    name = f"m{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    env = {"LOTSE_STATE__URL": postgres_url.rsplit("/", 1)[0] + f"/{name}"}
    home = tmp_path_factory.mktemp("two-processes")
    first, info = serve_ingested(home, **env)
    second, url, banner = start_lotse_serve({**os.environ, "LOTSE_HOME": str(home), **env})
    token = banner.split("REST token (customer): ", 1)[1].split()[0]
    yield [(info["url"], info["tokens"]["customer"]), (url, token)]
    stop(second)
    stop(first)


def _chat(server, payload, secret=None):
    url, token = server
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if secret:
        headers["X-Session-Secret"] = secret
    return httpx.post(f"{url}/v1/chat", content=json.dumps(payload), headers=headers, timeout=60)


def test_a_conversation_moves_between_processes_and_the_limit_counts_both(two_processes):
    a, b = two_processes
    started = _chat(a, {"message": "Was kostet der Versand nach Österreich?"}).json()
    sid, secret = started["session_id"], started["session_secret"]
    assert "9,90" in started["answer"]
    # The other process knows the conversation: its follow-up is read in context.
    follow = _chat(b, {"message": "Und in die Schweiz?", "session_id": sid}, secret)
    assert follow.status_code == 200 and "14,90" in follow.json()["answer"], follow.text
    # 20 messages a minute per session (the default), counted across both processes; the
    # message that started the conversation counts for its client address only.
    counted = 1
    while counted < 20:
        server = (a, b)[counted % 2]
        assert _chat(server, {"message": "Danke", "session_id": sid}, secret).status_code == 200
        counted += 1
    for server in (a, b):
        refused = _chat(server, {"message": "Danke", "session_id": sid}, secret)
        assert refused.status_code == 429 and "Retry-After" in refused.headers
