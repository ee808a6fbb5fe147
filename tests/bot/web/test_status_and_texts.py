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
