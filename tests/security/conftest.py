"""The attack suite runs against real `lotse serve` processes over HTTP (and chromium where
rendering matters). One server keeps the default (no trusted proxy); one trusts a proxy on
this host, so tests can speak for several client addresses.

Writing an attack test here: every attack comes with its control, in the same test.

- The control is the same request to the same server and route, in the same shape, with
  only the attack element taken out or the right credential given, and it must succeed
  (200, an answer with a route, a login, a delivery). Without it a refusal proves nothing:
  a 403 can come from a missing conversation secret, a 401 from a token the test forgot,
  a 404 from a misspelt path, a 429 from a rate limit an earlier test used up.
- Attacks speak today's protocols: a conversation's content is attacked through a real
  conversation (``start_conversation``: its id and secret), with the token of the role the
  attack claims, on the routes as they are now.
- Assert the target behaviour, not "some 4xx": the status and the check that answered
  (the error text), or what reached the answer chain (the reply's ``route``), or what a
  receiver, a store or a page got.
- Nothing leaves the machine: servers, receivers and stand-ins listen on loopback, names
  are answered by the tests' own resolvers, and Gradio's telemetry is off (below).
- A test that needs many messages of its own speaks from a client address of its own
  (``X-Forwarded-For`` on ``proxied``, a local address like 127.0.0.3 anywhere), so it
  neither uses up nor depends on another test's per-address budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from bench.servers import serve_ingested, stop

REPO = Path(__file__).resolve().parents[2]
# Gradio checks its version and sends usage data to api.gradio.app from every process that
# builds a page (each `lotse serve` started here); gradio_client sends its own through
# huggingface_hub unless each Client is made with analytics_enabled=False (its default is
# True whatever the environment says). Not from this suite.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
# The routes of the route table (docs: DESIGN.md): a reply that names one went through the
# answer chain.
ROUTES = {"refuse", "smalltalk", "advise", "answer", "suggest", "escalate", "handoff", "forward"}
# What the conversation-secret check answers, alike for a wrong secret and an unknown id.
NOT_YOURS = "no conversation with this id and secret"


@pytest.fixture(scope="session")
def target(tmp_path_factory):
    """`lotse serve` as installed: no trusted proxy."""
    proc, info = serve_ingested(tmp_path_factory.mktemp("target"), LOTSE_EMBEDDING__MODE="fake")
    yield info
    stop(proc)


@pytest.fixture(scope="session")
def proxied(tmp_path_factory):
    """`lotse serve` behind a (pretend) reverse proxy on this host, configured as trusted."""
    proc, info = serve_ingested(tmp_path_factory.mktemp("proxied"), LOTSE_EMBEDDING__MODE="fake",
                                LOTSE_SERVER__TRUSTED_PROXIES='["127.0.0.1"]')
    yield info
    stop(proc)


def bearer(server: dict, role: str = "customer", **more: str) -> dict[str, str]:
    """``role``'s REST token as an Authorization header, with ``more`` headers."""
    return {"Authorization": f"Bearer {server['tokens'][role]}", **more}


def client(server: dict, local: str | None = None, timeout: float = 60) -> httpx.Client:
    """An HTTP client for ``server``, its sockets bound to the loopback address ``local``
    (127.0.0.2 and up: a client address of its own) when given."""
    transport = httpx.HTTPTransport(local_address=local) if local else None
    return httpx.Client(base_url=server["url"], transport=transport, timeout=timeout)


def answered(response: httpx.Response) -> dict:
    """The JSON of a chat reply that went through the answer chain: 200 and a route of the
    route table; AssertionError otherwise."""
    assert response.status_code == 200, response.text
    reply = response.json()
    assert reply.get("route") in ROUTES and isinstance(reply.get("answer"), str), reply
    return reply


def start_conversation(server: dict, message: str = "Hallo", *, address: str | None = None,
                       local: str | None = None) -> tuple[str, str]:
    """A new conversation (today's protocol: POST /v1/chat without ``session_id``); its id
    and secret. ``address`` is sent as X-Forwarded-For (``proxied`` believes it), ``local``
    is the client's own loopback address."""
    headers = bearer(server, **({"X-Forwarded-For": address} if address else {}))
    with client(server, local) as http:
        reply = answered(http.post("/v1/chat", headers=headers, json={"message": message}))
    assert reply["session_id"] and len(reply["session_secret"]) >= 22, reply
    return reply["session_id"], reply["session_secret"]


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


# The integrations' secrets of the `integrated` server (test values, nothing real).
CHATWOOT_ACCOUNT = 4
CHATWOOT_BOT_TOKEN = "cw-bot-token-for-tests"
CHATWOOT_HOOK_TOKEN = "hook-secret-0123456789abcdef"
CHATWOOT_SIGNING_SECRET = "cw-signing-secret-for-tests"
WEBHOOK_SECRET = "webhook-secret-for-tests"


@pytest.fixture(scope="session")
def receivers():
    """A stand-in for Chatwoot's API and a webhook receiver, on loopback."""
    from bench.servers import uvicorn_thread
    from tests.security.receivers import Receivers

    found = Receivers()
    with uvicorn_thread(found.app) as url:
        found.url = url
        yield found


@pytest.fixture(scope="session")
def integrated(tmp_path_factory, receivers):
    """`lotse serve` as a Chatwoot agent bot (account 4, signed events) that also sends
    webhooks, both to ``receivers``; the per-address limit is high, since every test
    speaks from 127.0.0.1."""
    import json

    proc, info = serve_ingested(
        tmp_path_factory.mktemp("integrated"), LOTSE_EMBEDDING__MODE="fake",
        LOTSE_SERVER__CLIENT_MESSAGES_PER_MINUTE="1000",
        LOTSE_WEBHOOKS__URLS=json.dumps([f"{receivers.url}/webhook"]),
        LOTSE_WEBHOOKS__SECRET=WEBHOOK_SECRET,
        LOTSE_CHATWOOT__URL=receivers.url, LOTSE_CHATWOOT__BOT_TOKEN=CHATWOOT_BOT_TOKEN,
        LOTSE_CHATWOOT__WEBHOOK_TOKEN=CHATWOOT_HOOK_TOKEN,
        LOTSE_CHATWOOT__ACCOUNT_ID=str(CHATWOOT_ACCOUNT),
        LOTSE_CHATWOOT__SIGNING_SECRET=CHATWOOT_SIGNING_SECRET)
    yield {**info, "receivers": receivers}
    stop(proc)
