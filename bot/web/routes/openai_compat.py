"""The OpenAI-compatible routes: any OpenAI client or chat front end talks to Lotse as
the model ``lotse``.

    POST /v1/chat/completions   messages in, the answer out (``stream: true``: OpenAI's SSE chunks, one a sentence)
    GET  /v1/models             the one model, ``lotse``

The answer's text ends with its sources as footnotes (``[1] Title – Section (source)``),
so a front end that shows only the text still shows where it comes from. Each response
also carries a ``lotse`` object: citations, confidence, handoff and its reason, the
ticket number, and the conversation's id and secret for ``/v1/chat``.

A client sends the whole conversation each time: the last message must be the user's;
earlier user and assistant messages are the history (its assistant turns are stored as the
client's, role ``client_history``, never as Lotse's); system messages are ignored, since
Lotse's own rules (answer only from the documents) are not the caller's to change. The
customer view only, whatever the token's role; the chat's rate limits apply.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from bot.chat.service import Reply
from bot.web.errors import status_of
from bot.web.routes.dependencies import Customer, Services, client_of
from kb.errors import InvalidInput, LotseError, Throttled

MODEL = "lotse"
_CREATED = int(time.time())

router = APIRouter(tags=["OpenAI-compatible"])


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text; of a list of content parts, the text parts joined."""
        if isinstance(self.content, list):
            return "\n".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
        return self.content or ""


class CompletionRequest(BaseModel):
    # Sampling options (temperature, max_tokens, …) are accepted and ignored: Lotse's
    # answers come from the documents, not from sampling.
    model_config = ConfigDict(extra="allow")

    model: str = Field(MODEL, description="Always `lotse`.")
    messages: list[Message] = Field(..., min_length=1)
    stream: bool = False


def conversation(messages: list[Message]) -> tuple[list[tuple[str, str]], str]:
    """The (question, answer) turns before the last user message, and that message."""
    said = [m for m in messages if m.role in ("user", "assistant")]
    if not said or said[-1].role != "user":
        raise InvalidInput("messages: the last message must be the user's")
    turns: list[tuple[str, str]] = []
    for m in said[:-1]:
        if m.role == "user":
            turns.append((m.text(), ""))
        elif turns and not turns[-1][1]:
            turns[-1] = (turns[-1][0], m.text())
        # an assistant message before any question (a greeting) has no question to answer
    return turns, said[-1].text()


def _lotse(reply: Reply) -> dict:
    data = reply.to_dict()
    return {k: data.get(k) for k in ("citations", "confidence", "handoff", "handoff_reason",
                                     "ticket", "language", "products", "options", "session_id",
                                     "session_secret")}


def _chunk(completion_id: str, delta: dict, finish: str | None = None, **extra: Any) -> str:
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()),
            "model": MODEL, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


@router.get("/v1/models")
def models(_: Customer) -> dict:
    return {"object": "list", "data": [{"id": MODEL, "object": "model", "created": _CREATED,
                                        "owned_by": "lotse"}]}


@router.post("/v1/chat/completions")
def completions(body: CompletionRequest, request: Request, services: Services, _: Customer):
    if body.model != MODEL:
        return JSONResponse({"error": {
            "message": f"model {body.model!r} does not exist; this server has {MODEL!r}",
            "type": "invalid_request_error", "param": "model", "code": "model_not_found"}},
            status_code=404)
    try:
        earlier, text = conversation(body.messages)
        items = services.chat.complete(earlier, text, client_of(request))
        first = next(items)  # a refused message is an HTTP error, not an event
    except LotseError as exc:  # in OpenAI's error shape, which its clients read
        return _openai_error(exc)
    completion_id = f"chatcmpl-{int(time.time() * 1000):x}"
    if not body.stream:
        reply = _last(first, items)
        return {"id": completion_id, "object": "chat.completion", "created": int(time.time()),
                "model": MODEL, "lotse": _lotse(reply),
                "choices": [{"index": 0, "finish_reason": "stop", "message": {
                    "role": "assistant", "content": reply.text + reply.footnotes()}}]}
    return StreamingResponse(_completion_events(completion_id, first, items),
                             media_type="text/event-stream")


def _openai_error(exc: LotseError) -> JSONResponse:
    """A refused message as OpenAI's clients expect an error: ``{"error": {"message",
    "type", …}}``, with Retry-After when it was throttled."""
    status = status_of(exc)
    kind = {429: "rate_limit_exceeded", 401: "authentication_error"}.get(
        status, "invalid_request_error")
    headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, Throttled) else None
    return JSONResponse({"error": {"message": str(exc), "type": kind, "param": None,
                                   "code": None}}, status_code=status, headers=headers)


def _last(first: str | Reply, items: Iterator[str | Reply]) -> Reply:
    """The final reply of a chat stream (the text pieces before it are not needed here)."""
    reply = first
    for reply in items:
        pass
    assert isinstance(reply, Reply)
    return reply


def _completion_events(completion_id: str, first: str | Reply,
                       items: Iterator[str | Reply]) -> Iterator[str]:
    """OpenAI's streamed chunks of one answer. A generated answer's released sentences can
    still be replaced by a fallback at the end, and an OpenAI stream cannot take text back:
    the text is sent once final, sentence by sentence."""
    yield _chunk(completion_id, {"role": "assistant", "content": ""})
    try:
        reply = _last(first, items)
        for piece in re.split(r"(?<=[.!?])(\s+)", reply.text + reply.footnotes()):
            if piece:
                yield _chunk(completion_id, {"content": piece})
        yield _chunk(completion_id, {}, "stop", lotse=_lotse(reply))
    except LotseError as exc:
        yield _chunk(completion_id, {}, "stop", lotse={"error": str(exc)})
    yield "data: [DONE]\n\n"
