"""The customer's conversation over REST, and the two things a shop's page loads.

    GET  /healthz                        anyone
    POST /v1/chat                        customer (agents get the agent view)
    POST /v1/human                       customer: the "talk to a person" button
    POST /v1/feedback                    customer, with the conversation's secret
    GET  /v1/conversations/{id}          customer, with the conversation's secret
    PUT  /v1/conversations/{id}/email    customer, with the secret: the agent's answer by e-mail
    GET  /widget.js                      anyone: the chat widget a shop embeds
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator, model_validator

from bot.chat.service import Reply
from bot.chat.staff import allows
from bot.chat.state import SESSION_ID_PATTERN
from bot.web.routes.dependencies import MAX_ID, Customer, Services, client_of, owned
from kb.errors import LotseError

WIDGET = (Path(__file__).parents[1] / "static" / "widget.js").read_text(encoding="utf-8")

router = APIRouter()


class ChatRequest(BaseModel):
    message: str | None = Field(None, description="The customer's message.")
    choice: str | None = Field(None, description="An option or suggestion of the last reply, "
                               "as given (`options`, or a suggestion's `title`), instead of "
                               "`message`: the customer clicked it.")
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN,
                                   description="Omit to start a conversation; to continue one, "
                                   "send its id and its secret in the X-Session-Secret header.")
    stream: bool = Field(False, description="Answer as server-sent events: `delta` events "
                         "with the newly released text, then one event with the whole reply.")

    @model_validator(mode="after")
    def _one_text(self) -> ChatRequest:
        if (self.message is None) == (self.choice is None):
            raise ValueError("send either 'message' (the customer's text) or 'choice' (an "
                             "offered option), not both and not neither")
        return self

    def text(self) -> str:
        return self.message if self.message is not None else str(self.choice)


class FeedbackRequest(BaseModel):
    session_id: str = Field(..., pattern=SESSION_ID_PATTERN)
    # Strict: JSON true is not a thumbs up.
    rating: Annotated[StrictInt, Field(ge=-1, le=1)] = Field(
        ..., description="+1 thumbs up, -1 thumbs down")
    message_id: int | None = Field(None, ge=1, le=MAX_ID)

    @field_validator("rating")
    @classmethod
    def _thumbs(cls, rating: int) -> int:
        if rating == 0:
            raise ValueError("must be 1 or -1")
        return rating
    comment: str = Field("", max_length=2000)


class EmailRequest(BaseModel):
    email: str = Field(..., min_length=3, max_length=320)
    consent: StrictBool = Field(..., description="The customer agreed that the address is kept, "
                          "only for this ticket, until it is closed.")


class HumanRequest(BaseModel):
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN, description="Omit to start "
                                   "a conversation with the request; else its secret in "
                                   "X-Session-Secret.")
    language: Literal["de", "en"] = "de"


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


@router.get("/healthz")
def healthz(services: Services) -> dict:
    return services.chat.health()


@router.post("/v1/chat")
def post_chat(body: ChatRequest, request: Request, services: Services, who: Customer):
    """One message. Without ``session_id`` a conversation starts and the response carries
    its ``session_id`` and ``session_secret``; later messages send the secret in the
    ``X-Session-Secret`` header (403 without it). An empty or over-long message is 400,
    the 21st in a minute 429."""
    chat = services.chat
    view = "agent" if allows(who, "agent") else "customer"
    session_id = None if body.session_id is None else owned(services, body.session_id, request)
    client = client_of(request)
    if not body.stream:
        return chat.send(session_id, body.text(), view=view, client=client).to_dict()
    # The first item is taken here, so a refused message is an HTTP error, not an event.
    items = chat.stream(session_id, body.text(), view=view, client=client)
    first = next(items)
    return StreamingResponse(_chat_events(first, items), media_type="text/event-stream")


def _chat_events(first: str | Reply, items: Iterator[str | Reply]) -> Iterator[str]:
    """The stream of ``POST /v1/chat``: a ``delta`` event per released piece of text, then
    the whole reply with ``done`` (or the error that ended it)."""
    item = first
    try:
        while isinstance(item, str):
            yield _sse({"delta": item})
            item = next(items)
        yield _sse({**item.to_dict(), "done": True})
    except LotseError as exc:
        yield _sse({"error": str(exc), "done": True})


@router.post("/v1/human")
def post_human(body: HumanRequest, request: Request, services: Services, _: Customer) -> dict:
    """The "talk to a person" button: a ticket for the conversation (one is started
    when ``session_id`` is omitted; its id and secret come back then)."""
    session_id = None if body.session_id is None else owned(services, body.session_id, request)
    return services.chat.request_human(session_id, body.language, client_of(request)).to_dict()


@router.get("/widget.js", include_in_schema=False)
def widget() -> Response:
    return Response(WIDGET, media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=300"})


@router.post("/v1/feedback")
def post_feedback(body: FeedbackRequest, request: Request, services: Services,
                  _: Customer) -> dict:
    session_id = owned(services, body.session_id, request)
    return {"feedback_id": services.chat.feedback(session_id, body.rating, body.message_id,
                                                  body.comment, client_of(request))}


@router.get("/v1/conversations/{session_id}")
def get_conversation(session_id: str, request: Request, services: Services,
                     _: Customer) -> dict:
    """The messages (customer, bot, agent, system, client_history) and the ticket."""
    return services.chat.conversation(owned(services, session_id, request))


@router.put("/v1/conversations/{session_id}/email")
def put_email(session_id: str, body: EmailRequest, request: Request, services: Services,
              _: Customer) -> dict:
    """Send the agent's answer to the open ticket by e-mail too (needs ``consent``)."""
    return {"email": services.chat.give_email(owned(services, session_id, request), body.email,
                                              body.consent)}
