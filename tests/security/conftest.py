"""The attack suite runs against real `lotse serve` processes over HTTP (and chromium where
rendering matters). One server keeps the default (no trusted proxy); one trusts a proxy on
this host, so tests can speak for several client addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.servers import serve_ingested, stop

REPO = Path(__file__).resolve().parents[2]


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
