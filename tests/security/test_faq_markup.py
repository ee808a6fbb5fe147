"""A customer's markup does not become Lotse's public content: a question with a Markdown
image, an ``<img onerror>`` and a ``javascript:`` link, answered by an agent, proposed as an
FAQ entry and approved unchanged, is published and cited as plain text in every format a
client reads (the JSON contract of /v1/chat, the REST transcript, the OpenAI route). The
control: the entry is published and cited, with the agent's https link kept."""

from __future__ import annotations

import re

import httpx
import pytest

QUESTION = ("Liefert ihr auch auf die Hallig Hooge ![Gutschein](https://evil.example/pixel.png) "
            "<img src=x onerror=alert(document.cookie)> [200 € sichern](javascript:alert(1))?")
REPLY = ("Hallo,\nja, wir liefern auch auf die Hallig Hooge, mit zwei Werktagen mehr Laufzeit. "
         "![x](https://evil.example/a.png) <img src=y onerror=alert(2)> [Details](javascript:alert(3)) "
         "Mehr unter [Versandinfos](https://shop.example/versand).\nViele Grüße")
ASKED = "Liefert ihr auf die Hallig Hooge?"
MARKUP = re.compile(r"!\[|<img|onerror|javascript:|evil\.example|<[a-z]", re.I)


def _auth(server: dict, role: str, **more: str) -> dict:
    return {"Authorization": f"Bearer {server['tokens'][role]}", **more}


@pytest.fixture(scope="module")
def published(integrated):
    """The hostile question handed to the team, answered, proposed and approved as is."""
    url = integrated["url"]
    start = httpx.post(f"{url}/v1/chat", headers=_auth(integrated, "customer"), timeout=60,
                       json={"message": QUESTION}).json()
    mine = _auth(integrated, "customer", **{"X-Session-Secret": start["session_secret"]})
    human = httpx.post(f"{url}/v1/human", headers=mine, timeout=60,
                       json={"session_id": start["session_id"]}).json()
    ticket = next(t for t in httpx.get(f"{url}/v1/handoffs", headers=_auth(integrated, "agent"))
                  .json() if t["number"] == human["ticket"])
    sent = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/reply", timeout=60,
                      headers=_auth(integrated, "agent"), json={"text": REPLY})
    assert sent.status_code == 200, sent.text
    proposal = httpx.post(f"{url}/v1/handoffs/{ticket['id']}/faq",
                          headers=_auth(integrated, "agent")).json()
    # The attack reached the proposal: the customer's markup is in it, as they wrote it.
    assert "onerror" in proposal["question"] and "javascript:" in proposal["question"]
    assert "![x](https://evil.example/a.png)" in proposal["answer"]
    done = httpx.post(f"{url}/v1/faq-proposals/{proposal['id']}", timeout=300,
                      headers=_auth(integrated, "admin"), json={"action": "approve"})
    assert done.status_code == 200, done.text
    return {**integrated, "approved": done.json()["proposal"]}


def _team_faq(citations: list[dict]) -> list[dict]:
    return [c for c in citations if "faq-aus-teamantworten" in c["source"]]


def _plain(citations: list[dict]) -> None:
    assert citations, "the team FAQ entry is not cited"
    for c in citations:
        for field in ("title", "section", "snippet"):
            assert not MARKUP.search(c.get(field) or ""), (field, c)
        assert "Hallig Hooge" in c["title"]


def test_what_is_published_is_the_entry_without_the_markup(published):
    approved = published["approved"]
    assert approved["status"] == "approved"
    assert not MARKUP.search(approved["question"]) and not MARKUP.search(approved["answer"])
    assert "Hallig Hooge" in approved["question"]
    # The control: an https link of the agent's stays a link.
    assert "[Versandinfos](https://shop.example/versand)" in approved["answer"]
    written = (published["home"] / "uploads" / "faq" / "faq-aus-teamantworten.yaml").read_text()
    assert not MARKUP.search(written) and "Hallig Hooge" in written


def test_the_chat_json_and_the_rest_transcript_cite_it_as_plain_text(published):
    url = published["url"]
    r = httpx.post(f"{url}/v1/chat", headers=_auth(published, "customer"), timeout=60,
                   json={"message": ASKED})
    reply = r.json()
    _plain(_team_faq(reply["citations"]))
    assert not MARKUP.search(reply["answer"])
    conversation = httpx.get(f"{url}/v1/conversations/{reply['session_id']}", headers=_auth(
        published, "customer", **{"X-Session-Secret": reply["session_secret"]})).json()
    _plain(_team_faq(conversation["messages"][-1]["citations"]))


def test_the_openai_route_cites_it_as_plain_text(published):
    r = httpx.post(f"{published['url']}/v1/chat/completions", timeout=60,
                   headers=_auth(published, "customer"),
                   json={"model": "lotse", "messages": [{"role": "user", "content": ASKED}]})
    body = r.json()
    _plain(_team_faq(body["lotse"]["citations"]))
    text = body["choices"][0]["message"]["content"]
    assert "Hallig Hooge" in text and not MARKUP.search(text)
