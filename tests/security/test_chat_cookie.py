"""The chat page adopts only conversations the server issued: a cookie someone planted (a
made-up id and secret, or a forged signature) gets a fresh conversation, so the planter
has nothing to read."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

import httpx
import pytest

from bot.web.chat_cookie import COOKIE
from tests.security.conftest import NOT_YOURS

LONG = 60_000


def _issued(response: httpx.Response) -> dict | None:
    """The chat cookie a response sets: its value and attributes, or None."""
    for header in response.headers.get_list("set-cookie"):
        jar = SimpleCookie()
        jar.load(header)
        if COOKIE in jar:
            morsel = jar[COOKIE]
            return {"value": morsel.value, "secure": bool(morsel["secure"]),
                    "httponly": bool(morsel["httponly"]), "path": morsel["path"],
                    "domain": morsel["domain"], "samesite": morsel["samesite"]}
    return None


def _planted() -> tuple[str, str]:
    return secrets.token_hex(16), secrets.token_urlsafe(24)


def test_a_cookie_the_server_did_not_sign_is_replaced_on_the_chat_page(target):
    url = target["url"]
    sid, secret = _planted()
    for value in (f"{sid}.{secret}", f"{sid}.{secret}.{'A' * 43}"):  # unsigned, forged
        page = httpx.get(f"{url}/", headers={"Cookie": f"{COOKIE}={value}"})
        assert page.status_code == 200
        issued = _issued(page)
        assert issued is not None, "the planted cookie was kept"
        assert issued["value"].split(".")[0] != sid
        assert issued["secure"] and issued["httponly"] and issued["path"] == "/"
        assert not issued["domain"] and issued["samesite"].lower() == "lax"
    # Control: a cookie the server issued is kept as it is.
    again = httpx.get(f"{url}/", headers={"Cookie": f"{COOKIE}={issued['value']}"})
    assert again.status_code == 200 and _issued(again) is None


@pytest.mark.e2e
def test_a_planted_cookie_gives_the_planter_nothing_to_read(target, browser):
    url, token = target["url"], target["tokens"]["customer"]
    sid, secret = _planted()
    context = browser.new_context(locale="de-DE")
    page = context.new_page()
    # Planted the way a script on the site could (a __Host- cookie cannot come from another
    # host or over plain HTTP); Chromium counts http://127.0.0.1 as a secure context.
    page.goto(f"{url}/healthz")
    page.evaluate(f"document.cookie = '{COOKIE}={sid}.{secret}; Secure; Path=/; SameSite=Lax'")
    assert [c["value"] for c in context.cookies() if c["name"] == COOKIE] == [f"{sid}.{secret}"]
    page.goto(f"{url}/")
    page.wait_for_selector("#question textarea", timeout=LONG)
    page.fill("#question textarea", "Wie lange dauert der Versand nach Wien?")
    page.click("#send")
    page.wait_for_function(
        "[...document.querySelectorAll('#chat .bot')].some(b => b.innerText.trim().length > 0)",
        timeout=LONG)
    [cookie] = [c for c in context.cookies() if c["name"] == COOKIE]
    own_sid, own_secret = cookie["value"].split(".")[:2]
    context.close()
    assert own_sid != sid and cookie["secure"]

    def read(conversation: str, key: str) -> httpx.Response:
        return httpx.get(f"{url}/v1/conversations/{conversation}", headers={
            "Authorization": f"Bearer {token}", "X-Session-Secret": key})

    planted = read(sid, secret)  # the planter's id leads nowhere: no such conversation
    assert planted.status_code == 403 and planted.json()["error"] == NOT_YOURS
    # Control: the conversation the server issued to the browser holds the message.
    own = read(own_sid, own_secret)
    assert own.status_code == 200
    assert "Versand nach Wien" in " ".join(m["text"] for m in own.json()["messages"])
