"""Paths and methods the API does not have, asked over real HTTP of the whole app (REST
with the staff UI and the customer chat mounted on it, as `lotse serve` runs it): the
answer is the API's own error shape, ``{"error": …}``, never Gradio's ``{"detail": …}``."""

from __future__ import annotations

import httpx
import pytest

from bench.servers import uvicorn_thread
from bot.web.app import create_app
from bot.wiring import build_chat, build_engine
from kb.embedders import FakeEmbedder
from kb.settings import LotseSettings


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The whole app over an empty store (nothing here needs answers)."""
    home = tmp_path_factory.mktemp("unknown-routes")
    settings = LotseSettings(home=home, embedding={"mode": "fake"})
    services = build_chat(settings, build_engine(settings, embedder=FakeEmbedder()),
                          state_url=f"sqlite:///{home / 'state.db'}")
    with uvicorn_thread(create_app(services)) as url:
        yield {"url": url, "tokens": {role: services.credentials.token_for(role)
                                      for role in ("customer", "agent", "admin")}}


def _ask(server, method: str, path: str, role: str = "admin") -> httpx.Response:
    return httpx.request(method, server["url"] + path,
                         headers={"Authorization": f"Bearer {server['tokens'][role]}"})


def _metric(text: str, **labels: str) -> float:
    """The request counter's sample with exactly these labels, 0 when absent."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        head, _, value = line.rpartition(" ")
        if head == f"lotse_http_requests_total{{{wanted}}}":
            return float(value)
    return 0.0


@pytest.mark.parametrize("path", ["/v1/no-such-route", "/v1/admin/nothing/here",
                                  "/v1/handoffs/1/nothing", "/hooks/chatwoot/anything"])
def test_an_unknown_api_path_is_404_in_the_api_error_shape(server, path):
    r = _ask(server, "GET", path)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert r.json() == {"error": "Not Found"}


@pytest.mark.parametrize("method, path, allow", [
    ("GET", "/v1/chat", "POST"),
    ("PUT", "/v1/chat", "POST"),
    ("DELETE", "/v1/handoffs", "GET"),
    ("POST", "/v1/kpis", "GET"),
    ("GET", "/v1/handoffs/7/reply", "POST"),
    ("POST", "/healthz", "GET"),
    ("DELETE", "/v1/conversations/abc", "GET"),
])
def test_a_known_api_path_with_another_method_is_405_with_allow(server, method, path, allow):
    r = _ask(server, method, path)
    assert r.status_code == 405
    assert r.json() == {"error": "Method Not Allowed"}
    assert r.headers["allow"] == allow


def test_the_pages_and_the_routes_still_answer_as_before(server):
    assert _ask(server, "GET", "/healthz").json()["status"] == "ok"
    assert _ask(server, "GET", "/v1/kpis", role="agent").status_code == 200
    assert _ask(server, "GET", "/v1/kpis", role="customer").status_code == 403
    page = httpx.get(server["url"] + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    # Without a token a /v1/ path is refused by the guard before any route is looked up.
    assert httpx.get(server["url"] + "/v1/no-such-route").status_code == 401


def test_unknown_paths_are_counted_apart_and_wrong_methods_under_their_route(server):
    before = _ask(server, "GET", "/v1/metrics").text
    _ask(server, "GET", "/v1/no-such-route")
    _ask(server, "GET", "/v1/chat")
    after = _ask(server, "GET", "/v1/metrics").text
    for labels in ({"route": "unmatched", "method": "GET", "status": "404"},
                   {"route": "/v1/chat", "method": "GET", "status": "405"}):
        assert _metric(after, **labels) - _metric(before, **labels) == 1
    assert "no-such-route" not in after
