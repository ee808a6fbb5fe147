"""REST API (FastAPI): a thin layer over ``ChatService``; OpenAPI at /docs.

Routes and who may call them (bearer token; admin ⊇ agent ⊇ customer):

    GET  /healthz                        anyone
    POST /v1/chat                        customer (agents get the agent view)
    POST /v1/feedback                    customer, with the conversation's secret
    GET  /v1/conversations/{id}          customer, with the conversation's secret
    PUT  /v1/conversations/{id}/email    customer, with the secret: the agent's answer by e-mail
    GET  /v1/handoffs                    agent
    POST /v1/handoffs/{id}/reply         agent
    POST /v1/handoffs/{id}/faq           agent: propose the ticket's latest reply as an FAQ entry
    GET  /v1/faq-proposals               admin
    POST /v1/faq-proposals/{id}          admin: approve (with edits; written and ingested) or reject
    GET  /v1/kpis                        agent
    POST /v1/uploads                     admin (multipart files)
    POST /v1/ingest                      admin
    /v1/admin/…                          admin: documents, retrieval test, usage, generations,
                                         ingest of folders and web sources, schedule, audit
                                         (``bot.web.admin_api``)
    GET  /login, POST /login             the staff UI's cookie login
    GET  /logout (asks), POST /logout    logging out needs the page's CSRF token

A missing or wrong token is 401, a token of a lower role 403, a conversation without
its secret (X-Session-Secret) 403, the same for an id that does not exist, a malformed body
422 with the fields that are wrong, an empty or over-long message 400, a body over its
route's limit 413 (``bot.web.guard``, checked while it streams; a missing token is 401
before any of it is read), and a message over the per-minute limit 429 with Retry-After.
The staff UI (mounted at /staff by ``bot.web.app``) uses a server-side login session
instead of a token: the cookie is HttpOnly, SameSite=Strict and, over HTTPS, Secure.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, Form, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from pydantic import BaseModel, Field, StrictBool, StrictInt, field_validator, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.chat.admin import UploadRejected
from bot.chat.metrics import CONTENT_TYPE as METRICS_TYPE
from bot.chat.service import ChatServices, Reply
from bot.chat.staff import allows
from bot.chat.state import SESSION_ID_PATTERN
from bot.web.admin_api import admin_routes
from bot.web.auth import COOKIE, login_routes, require_role, token_holder
from bot.web.chatwoot_hook import chatwoot_routes
from bot.web.errors import status_of
from bot.web.guard import RequestGuard
from bot.web.observe import Observed
from bot.web.openai_api import openai_routes
from bot.web.widget_origins import WidgetOrigins
from kb.errors import LotseError, Throttled

WIDGET = (Path(__file__).parent / "static" / "widget.js").read_text(encoding="utf-8")
MAX_ID = 2**63 - 1  # ids are 64-bit integers in every database
SECRET_HEADER = "X-Session-Secret"

RecordId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


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


class ReplyRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=8000)
    close: bool = Field(False, description="Close the ticket after sending.")
    resolved: bool = Field(True, description="With close: was the customer's issue resolved?")


class FaqDecision(BaseModel):
    action: Literal["approve", "reject"]
    question: str | None = Field(None, max_length=2000, description="The admin's edit.")
    answer: str | None = Field(None, max_length=8000, description="The admin's edit.")


class HumanRequest(BaseModel):
    session_id: str | None = Field(None, pattern=SESSION_ID_PATTERN, description="Omit to start "
                                   "a conversation with the request; else its secret in "
                                   "X-Session-Secret.")
    language: Literal["de", "en"] = "de"


class IngestRequest(BaseModel):
    paths: list[str] = Field(..., min_length=1)


def _guarded(app: FastAPI, services: ChatServices) -> None:
    """``RequestGuard`` around the routes and mounted pages: tokens, logins, body limits and
    origins checked before any body is read (``bot.web.guard``)."""
    server = services.admin.engine.settings.server
    app.add_middleware(RequestGuard, credentials=services.credentials, logins=services.logins,
                       upload_limit=services.admin.max_bytes + 1024 * 1024,
                       allowed_origins=list(server.allowed_origins))
    app.add_middleware(Observed, metrics=services.chat.metrics)  # outside the guard
    if server.widget_origins:  # outermost: preflight requests are answered before the guard
        app.add_middleware(CORSMiddleware, allow_origins=list(server.widget_origins),
                           allow_methods=["GET", "POST", "PUT"], allow_credentials=False,
                           allow_headers=["Authorization", "Content-Type", SECRET_HEADER],
                           expose_headers=["X-Request-ID"], max_age=600)
    # Outside even CORS: a page the browser will refuse learns why (bot.web.widget_origins).
    app.add_middleware(WidgetOrigins, allowed=list(server.widget_origins))


def _sse(data: dict) -> str:
    return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


def create_api(services: ChatServices) -> FastAPI:
    app = FastAPI(title="Lotse", description="Cited answers from your knowledge base, and an "
                  "honest handoff when unsure.", version="0.1.0")
    chat, admin, logins = services.chat, services.admin, services.logins

    def role(required: str):
        return require_role(services.credentials, required)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                    for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(LotseError)
    async def domain_error(_: Request, exc: LotseError) -> JSONResponse:
        headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, Throttled) else None
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc), headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        """One error shape for every 4xx: ``{"error": …}``."""
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.middleware("http")
    async def staff_needs_login(request: Request, call_next):
        """The staff UI's page itself redirects to the login form; its API answers 401."""
        if request.url.path in ("/staff", "/staff/") and \
                logins.user(request.cookies.get(COOKIE)) is None:
            return RedirectResponse("/login", status_code=303)
        return await call_next(request)

    app.include_router(login_routes(logins))
    app.include_router(admin_routes(services, role("admin")))
    app.include_router(openai_routes(chat, role("customer")))
    if services.chatwoot is not None:
        app.include_router(chatwoot_routes(services.chatwoot))

    @app.get("/healthz")
    def healthz() -> dict:
        return chat.health()

    def owned(session_id: str | None, request: Request) -> str:
        """The conversation, if the request carries its secret (403 otherwise)."""
        return chat.authorize(session_id, request.headers.get(SECRET_HEADER))

    @app.post("/v1/chat")
    def post_chat(body: ChatRequest, request: Request, who: str = Depends(role("customer"))):
        """One message. Without ``session_id`` a conversation starts and the response carries
        its ``session_id`` and ``session_secret``; later messages send the secret in the
        ``X-Session-Secret`` header (403 without it). An empty or over-long message is 400,
        the 21st in a minute 429."""
        view = "agent" if allows(who, "agent") else "customer"
        session_id = None if body.session_id is None else owned(body.session_id, request)
        client = request.client.host if request.client else None
        if not body.stream:
            return chat.send(session_id, body.text(), view=view, client=client).to_dict()
        # The first item is taken here, so a refused message is an HTTP error, not an event.
        items = chat.stream(session_id, body.text(), view=view, client=client)
        first = next(items)

        def events() -> Iterator[str]:
            item: str | Reply = first
            try:
                while isinstance(item, str):
                    yield _sse({"delta": item})
                    item = next(items)
                yield _sse({**item.to_dict(), "done": True})
            except LotseError as exc:
                yield _sse({"error": str(exc), "done": True})

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/human")
    def post_human(body: HumanRequest, request: Request, _: str = Depends(role("customer"))) -> dict:
        """The "talk to a person" button: a ticket for the conversation (one is started
        when ``session_id`` is omitted; its id and secret come back then)."""
        session_id = None if body.session_id is None else owned(body.session_id, request)
        client = request.client.host if request.client else None
        return chat.request_human(session_id, body.language, client).to_dict()

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> Response:
        return Response(WIDGET, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "public, max-age=300"})

    @app.post("/v1/feedback")
    def post_feedback(body: FeedbackRequest, request: Request,
                      _: str = Depends(role("customer"))) -> dict:
        client = request.client.host if request.client else None
        return {"feedback_id": chat.feedback(owned(body.session_id, request), body.rating,
                                             body.message_id, body.comment, client)}

    @app.get("/v1/conversations/{session_id}")
    def get_conversation(session_id: str, request: Request,
                         _: str = Depends(role("customer"))) -> dict:
        """The messages (customer, bot, agent, system, client_history) and the ticket."""
        return chat.conversation(owned(session_id, request))

    @app.put("/v1/conversations/{session_id}/email")
    def put_email(session_id: str, body: EmailRequest, request: Request,
                  _: str = Depends(role("customer"))) -> dict:
        """Send the agent's answer to the open ticket by e-mail too (needs ``consent``)."""
        return {"email": chat.give_email(owned(session_id, request), body.email, body.consent)}

    @app.get("/v1/handoffs")
    def get_handoffs(status: str | None = "open", _: str = Depends(role("agent"))) -> list[dict]:
        """Tickets: ``open`` (not closed, the default), ``taken``, ``closed`` or empty for all."""
        return [{"id": t.id, "number": t.number, "session_id": t.session_id, "reason": t.reason,
                 "question": t.question, "status": t.status, "assignee": t.assignee,
                 "draft": t.draft, "sources": t.sources,
                 "transcript": [{"role": m.role, "text": m.text} for m in transcript]}
                for t, transcript in chat.queue_details(status or None)]

    @app.post("/v1/handoffs/{ticket_id}/reply")
    def post_reply(ticket_id: RecordId, body: ReplyRequest, who: str = Depends(role("agent"))) -> dict:
        by = token_holder(who)
        sent = chat.agent_reply(ticket_id, by, body.text)
        ticket = chat.close_ticket(ticket_id, body.resolved, by=by) if body.close \
            else chat.ticket(ticket_id)
        return {"message_id": sent.message_id, "ticket": ticket.number, "status": ticket.status,
                "emailed_to": sent.emailed_to, "mail_error": sent.mail_error}

    @app.post("/v1/handoffs/{ticket_id}/faq")
    def post_faq_proposal(ticket_id: RecordId, who: str = Depends(role("agent"))) -> dict:
        return asdict(services.faq.propose(ticket_id, token_holder(who)))

    @app.get("/v1/faq-proposals")
    def get_faq_proposals(_: str = Depends(role("admin"))) -> list[dict]:
        return [asdict(p) for p in services.faq.pending()]

    @app.post("/v1/faq-proposals/{proposal_id}")
    def decide_faq_proposal(proposal_id: RecordId, body: FaqDecision,
                            who: str = Depends(role("admin"))) -> dict:
        if body.action == "reject":
            return {"proposal": asdict(services.faq.reject(proposal_id, token_holder(who)))}
        approved = services.faq.approve(proposal_id, token_holder(who), body.question, body.answer)
        return {"proposal": asdict(approved.proposal), "ingest": approved.report.to_dict()}

    @app.get("/v1/kpis")
    def get_kpis(_: str = Depends(role("agent"))) -> dict:
        return chat.kpis()

    @app.get("/v1/metrics", response_class=PlainTextResponse)
    def get_metrics(_: str = Depends(role("admin"))) -> PlainTextResponse:
        """This process's Prometheus metrics (scrape each instance with the admin token)."""
        return PlainTextResponse(chat.metrics.render(), media_type=METRICS_TYPE)

    @app.post("/v1/uploads")
    def post_uploads(files: list[UploadFile], audience: str = Form("public"),
                     _: str = Depends(role("admin"))) -> dict:
        """Store files in the upload folder; each one is accepted or refused on its own."""
        saved, refused = [], []
        for upload in files:
            data = upload.file.read(admin.max_bytes + 1)
            try:
                path = admin.save_upload(upload.filename or "", data, audience)
                saved.append(path.relative_to(admin.upload_dir).as_posix())
            except UploadRejected as exc:
                refused.append({"file": upload.filename, "reason": str(exc)})
        return {"saved": saved, "refused": refused, "upload_dir": str(admin.upload_dir)}

    @app.get("/v1/admin/webhooks")
    def get_webhooks(status: str | None = None, _: str = Depends(role("admin"))) -> list[dict]:
        """Outgoing webhook deliveries, newest first; ``?status=dead`` is the dead-letter list."""
        return [d.to_dict() for d in chat.webhook_deliveries(status or None)]

    @app.post("/v1/admin/webhooks/{delivery_id}/replay")
    def replay_webhook(delivery_id: RecordId, _: str = Depends(role("admin"))) -> dict:
        return chat.replay_webhook(delivery_id).to_dict()

    @app.post("/v1/ingest")
    def post_ingest(body: IngestRequest, _: str = Depends(role("admin"))) -> dict:
        return admin.ingest(body.paths).to_dict()

    _guarded(app, services)
    return app
