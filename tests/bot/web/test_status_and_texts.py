"""Web-layer pieces that need no server: HTTP status by error kind, the chat's reveal."""

from __future__ import annotations

import pytest

from bot.answer.question import InvalidQuestion
from bot.chat.admin import (
    PathRefused,
    UploadRejected,
    UploadTooLarge,
    UploadTypeRefused,
)
from bot.chat.ratelimit import RateLimited
from bot.chat.state import NoSuchRecord, StateError
from bot.web.customer_ui import reveal
from bot.web.errors import status_of
from kb.errors import LotseError


@pytest.mark.parametrize("error, status", [
    (NoSuchRecord("no ticket LT-000009"), 404),
    (StateError("no such thing, says the message"), 400),  # the words do not decide
    (StateError("ticket LT-000001 is closed"), 400),
    (UploadTooLarge("x.md: 30 MB"), 413),
    (UploadTypeRefused("x.exe: not accepted"), 415),
    (UploadRejected("over the limit, says the message"), 400),
    (PathRefused("/etc is outside"), 403),
    (RateLimited("slow down", retry_after=3), 429),
    (InvalidQuestion("the message is empty"), 400),
    (LotseError("anything else"), 400),
])
def test_http_status_comes_from_the_error_kind(error, status):
    assert status_of(error) == status


def test_reveal_grows_word_by_word_to_the_whole_text():
    steps = list(reveal("Der Versand kostet 4,95 €. [1]"))
    assert steps[0] == "Der" and steps[-1] == "Der Versand kostet 4,95 €. [1]"
    assert len(steps) == 6 and all(b.startswith(a) for a, b in zip(steps, steps[1:]))


def test_every_staff_text_exists_in_german_and_english():
    from bot.web.staff_texts import TEXTS, language_of

    assert set(TEXTS["de"]) == set(TEXTS["en"]) and len(TEXTS["de"]) > 10
    assert all(TEXTS["de"][k] and TEXTS["en"][k] for k in TEXTS["de"])

    class Asked:
        def __init__(self, header):
            self.headers = {"accept-language": header} if header is not None else {}

    assert language_of(Asked("de-DE,de;q=0.9,en;q=0.8")) == "de"
    assert language_of(Asked("en-GB,en;q=0.9")) == "en"
    assert language_of(Asked("fr-FR")) == "en"  # as Gradio falls back for its own texts
    assert language_of(None) == "en"


def test_a_chat_request_carries_a_message_or_a_clicked_choice_never_both():
    import pytest
    from pydantic import ValidationError

    from bot.web.routes.chat import ChatRequest

    assert ChatRequest(message="Hallo").text() == "Hallo"
    assert ChatRequest(choice="Versand und Lieferung").text() == "Versand und Lieferung"
    for body in ({}, {"message": "a", "choice": "b"}):
        with pytest.raises(ValidationError, match="either 'message'"):
            ChatRequest(**body)


@pytest.mark.parametrize("header, language", [
    ("de-DE,de;q=0.9,en;q=0.8", "de"), ("en-US,en;q=0.9", "en"), ("en-GB", "en"),
    ("fr-FR,fr;q=0.9,en;q=0.8", "en"),  # the first of the two the page speaks
    ("en;q=0.4, de-AT;q=0.7", "de"),  # by weight, not by position
    ("fr-FR", "de"), ("", "de"), (None, "de"), ("en;q=abc, de;q=0.5", "de"),
])
def test_the_customer_page_takes_the_browsers_language(header, language):
    from bot.web.customer_ui import browser_language

    assert browser_language(header) == language


def test_staff_times_are_in_the_business_zone_with_its_name():
    from bot.web.staff_common import Clock

    winter, summer = 1765000000.0, 1782000000.0  # 2025-12-06, 2026-06-21 (UTC)
    assert Clock("Europe/Berlin")(winter) == "06.12.2025 06:46 CET"
    assert Clock("Europe/Berlin")(summer).endswith(" CEST")
    assert Clock("Asia/Tokyo")(winter) == "06.12.2025 14:46 JST"
    assert Clock("Europe/Berlin")(None) == "–"


@pytest.mark.parametrize("language, words", [
    ("de", ["Nicht ausgeführt", "nicht öffentlichen Adresse", "intern.example"]),
    ("en", ["Not done", "non-public address", "intern.example"]),
])
def test_a_refused_web_address_is_worded_in_the_staff_members_language(language, words):
    from bot.chat.admin import WebAddressRefused
    from bot.web.staff_problems import problem_note

    note = problem_note(WebAddressRefused("http://intern.example/: refused: address not allowed",
                                          "not_public", "intern.example"), language)
    assert all(w in note for w in words) and "refused: address not allowed" not in note


def test_other_refusals_are_led_by_their_kind_with_the_service_words_as_detail():
    import gradio as gr

    from bot.chat.admin import WebAddressRefused
    from bot.chat.state import NoSuchRecord
    from bot.web.staff_problems import problem_text

    listed = WebAddressRefused("x", "host_not_listed", "evil.example", ("hilfe.shop.example",))
    assert "hilfe.shop.example" in problem_text(listed, "de") and "ingest.web_hosts" in \
        problem_text(listed, "de")
    missing = problem_text(NoSuchRecord("no ticket LT-000009"), "de")
    assert missing.startswith("Das gibt es nicht") and "no ticket LT-000009" in missing
    assert problem_text(PathRefused("a|b"), "en").startswith("That is not allowed")
    assert "a\\|b" in problem_text(PathRefused("a|b"), "en")  # safe inside a table
    assert problem_text(gr.Error("Erst ein Ticket wählen."), "de") == "Erst ein Ticket wählen."


def test_a_handler_with_inline_problems_puts_one_note_where_it_belongs():
    import inspect

    import gradio as gr

    from bot.web.staff_common import inline_problems

    asked = gr.Request(headers={"accept-language": "de-DE"})

    @inline_problems(3, at=1)
    def handler(value: str, request: gr.Request):
        if value == "bad":
            raise PathRefused("/etc is outside")
        return "a", "b", "c"

    assert handler("good", asked) == ("a", "b", "c")
    first, note, third = handler("bad", asked)
    assert note.startswith("**⚠ Nicht ausgeführt:** Das ist nicht erlaubt")
    assert first == third == gr.skip()
    # Gradio still sees the handler's own parameters (it hands in the request by type).
    assert list(inspect.signature(handler).parameters) == ["value", "request"]


def test_the_widget_check_tells_a_refused_page_why_and_logs_it_once(caplog):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from bot.web.widget_origins import WidgetOrigins

    app = Starlette(routes=[Route("/v1/chat", lambda r: PlainTextResponse("ok"), methods=["POST"])])
    app.add_middleware(WidgetOrigins, allowed=["https://shop.example"])
    client = TestClient(app)
    with caplog.at_level("WARNING", logger="lotse.widget"):
        refused = client.get("/widget/check", headers={"Origin": "https://other.example"})
        client.get("/widget/check", headers={"Origin": "https://other.example"})
        client.post("/v1/chat", headers={"Origin": "https://third.example"})
        allowed = client.get("/widget/check", headers={"Origin": "https://shop.example"})
    assert refused.headers["access-control-allow-origin"] == "*"
    body = refused.json()
    assert body["allowed"] is False and body["setting"] == "server.widget_origins"
    assert "LOTSE_SERVER__WIDGET_ORIGINS" in body["how"] and "https://other.example" in body["how"]
    assert allowed.json() == {"allowed": True, "origin": "https://shop.example",
                              "setting": "server.widget_origins", "how": ""}
    warned = [r.getMessage() for r in caplog.records if r.name == "lotse.widget"]
    assert len(warned) == 2  # each refused origin once
    assert "https://other.example" in warned[0] and "https://third.example" in warned[1]


def test_the_start_banner_says_how_to_allow_a_page_for_the_widget():
    from bot.web.app import widget_lines

    none = "\n".join(widget_lines("http://127.0.0.1:7860", []))
    assert '<script src="http://127.0.0.1:7860/widget.js"' in none
    assert "server.widget_origins" in none and "LOTSE_SERVER__WIDGET_ORIGINS" in none
    some = "\n".join(widget_lines("http://h:1", ["https://shop.example"]))
    assert "https://shop.example" in some and "none yet" not in some
