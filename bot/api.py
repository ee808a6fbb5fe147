"""REST API (FastAPI): a thin layer over ``ChatService``; OpenAPI at /docs.

Routes and who may call them (bearer token; admin ⊇ agent ⊇ customer):

    GET  /healthz                        anyone
    POST /v1/chat                        customer (agents get the agent view)
    POST /v1/feedback                    customer
    GET  /v1/handoffs                    agent
    POST /v1/handoffs/{id}/reply         agent
    GET  /v1/kpis                        agent
    POST /v1/uploads                     admin (multipart files)
    POST /v1/ingest                      admin
    GET  /login, POST /login, GET /logout  the staff UI's cookie login

A missing or wrong token is 401, a token of a lower role 403, a malformed body
422 with the fields that are wrong, an empty or over-long message 400, a body
over 256 kB 413, and a message over the per-minute limit 429 with Retry-After.
The staff UI (mounted at /staff by ``bot.app``) uses a server-side login session
instead of a token: the cookie is HttpOnly, SameSite=Strict and, over HTTPS, Secure.
"""

from __future__ import annotations

import html
import itertools
import json
import uuid
from collections.abc import Iterator

from fastapi import Depends, FastAPI, Form, HTTPException, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, Field

from bot.admin import AdminService, PathRefused, UploadRejected
from bot.analytics import kpis
from bot.auth import Credentials, LoginRefused, LoginSessions, allows
from bot.ratelimit import RateLimited
from bot.service import ChatService
from bot.state import StateError
from kb.errors import LotseError


MAX_JSON_BYTES = 256 * 1024


class ChatRequest(BaseModel):
    message: str = Field(..., description="The customer's message.")
    session_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$",
                                   description="Omit to start a new session.")
    stream: bool = Field(False, description="Answer as server-sent events.")


class FeedbackRequest(BaseModel):
    session_id: str = Field(..., pattern=r"^[A-Za-z0-9_-]{1,64}$")
    rating: int = Field(..., description="+1 thumbs up, -1 thumbs down")
    message_id: int | None = None
    comment: str = Field("", max_length=2000)


class ReplyRequest(BaseModel):
    text: str = Field(..., min_length=1, max_length=8000)
    close: bool = Field(False, description="Close the ticket after sending.")
    resolved: bool = Field(True, description="With close: was the customer's issue resolved?")


class IngestRequest(BaseModel):
    paths: list[str] = Field(..., min_length=1)


_LOGIN_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Lotse – Anmeldung</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;background:#f4f5f7;display:grid;place-items:center;
min-height:100vh;margin:0}}form{{background:#fff;padding:2rem;border-radius:12px;width:20rem;
box-shadow:0 2px 12px #0002}}label{{display:block;margin:.8rem 0 .2rem}}input{{width:100%;
padding:.5rem;box-sizing:border-box}}button{{margin-top:1.2rem;width:100%;padding:.6rem;
background:#2d6a4f;color:#fff;border:0;border-radius:6px;font-size:1rem}}
.error{{color:#b00020}}</style></head><body>
<form method="post" action="/login"><h2>Lotse · Team-Login</h2>
<p><small>Für Service-Mitarbeiter und Admins. / For agents and admins.</small></p>
<p class="error" id="login-error">{error}</p>
<label for="name">Name</label><input id="name" name="name" autocomplete="username" required>
<label for="password">Passwort / Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" id="login">Anmelden</button></form></body></html>"""


def create_api(chat: ChatService, credentials: Credentials, admin: AdminService,
               logins: LoginSessions) -> FastAPI:
    app = FastAPI(title="Lotse", description="Cited answers from your knowledge base, and an "
                  "honest handoff when unsure.", version="0.1.0")
    services = chat.services

    def role(required: str):
        def check(request: Request) -> str:
            header = request.headers.get("authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else None
            found = credentials.role_of_token(token)
            if found is None:
                raise HTTPException(401, "missing or unknown bearer token",
                                    headers={"WWW-Authenticate": "Bearer"})
            if not allows(found, required):
                raise HTTPException(403, f"this route needs the {required} role")
            return found
        return check

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                    for e in exc.errors()]
        return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)

    @app.exception_handler(LotseError)
    async def domain_error(_: Request, exc: LotseError) -> JSONResponse:
        if isinstance(exc, RateLimited):
            return JSONResponse({"error": str(exc)}, status_code=429,
                                headers={"Retry-After": str(int(exc.retry_after))})
        status = 400
        if isinstance(exc, StateError) and "no " in str(exc):
            status = 404
        elif isinstance(exc, PathRefused):
            status = 403
        elif isinstance(exc, UploadRejected):
            status = 413 if "limit" in str(exc) else 415 if "type" in str(exc) else 400
        return JSONResponse({"error": str(exc)}, status_code=status)

    @app.middleware("http")
    async def bounded_body(request: Request, call_next):
        """JSON bodies are small; a huge one is refused before it is read. Uploads and
        the staff UI have their own limit (server.max_upload_mb)."""
        size = request.headers.get("content-length", "")
        if (size.isdigit() and int(size) > MAX_JSON_BYTES and request.url.path != "/v1/uploads"
                and not request.url.path.startswith("/staff")):
            return JSONResponse({"error": f"request body of {int(size)} bytes is over the limit "
                                 f"of {MAX_JSON_BYTES} bytes"}, status_code=413)
        return await call_next(request)

    @app.middleware("http")
    async def staff_needs_login(request: Request, call_next):
        """The staff UI's page itself redirects to the login form; its API answers 401."""
        if request.url.path in ("/staff", "/staff/") and \
                logins.user(request.cookies.get(LoginSessions.COOKIE)) is None:
            return RedirectResponse("/login", status_code=303)
        return await call_next(request)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form() -> str:
        return _LOGIN_PAGE.format(error="")

    @app.post("/login", include_in_schema=False)
    def login(request: Request, name: str = Form(...), password: str = Form(...)):
        try:
            token = logins.login(name, password)
        except LoginRefused as exc:
            return HTMLResponse(_LOGIN_PAGE.format(error=html.escape(str(exc))), status_code=401)
        response = RedirectResponse("/staff/", status_code=303)
        response.set_cookie(LoginSessions.COOKIE, token, max_age=int(logins.ttl), httponly=True,
                            samesite="strict", secure=request.url.scheme == "https", path="/")
        return response

    @app.get("/logout", include_in_schema=False)
    def logout(request: Request):
        logins.logout(request.cookies.get(LoginSessions.COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(LoginSessions.COOKIE, path="/")
        return response

    @app.get("/healthz")
    def healthz() -> dict:
        gen = services.store.current()
        return {"status": "ok", "generation": gen.id if gen else None,
                "chunks": gen.info.get("chunks") if gen else 0}

    @app.post("/v1/chat")
    def post_chat(body: ChatRequest, request: Request, who: str = Depends(role("customer"))):
        """One message; an empty or over-long one is 400, the 21st in a minute 429."""
        view = "agent" if allows(who, "agent") else "customer"
        session_id = body.session_id or uuid.uuid4().hex
        client = request.client.host if request.client else None
        if not body.stream:
            reply = chat.send(session_id, body.message, view=view, client=client)
            return {**reply.to_dict(), "session_id": session_id}
        # The first item is taken here, so a refused message is an HTTP error, not an event.
        items = chat.stream(session_id, body.message, view=view, client=client)
        first = next(items)

        def events() -> Iterator[str]:
            try:
                for text, reply in itertools.chain([first], items):
                    yield f"data: {json.dumps({'delta': text}, ensure_ascii=False)}\n\n"
                final = {**reply.to_dict(), "session_id": session_id, "done": True}
                yield f"data: {json.dumps(final, ensure_ascii=False)}\n\n"
            except LotseError as exc:
                yield f"data: {json.dumps({'error': str(exc), 'done': True})}\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    @app.post("/v1/feedback")
    def post_feedback(body: FeedbackRequest, request: Request,
                      _: str = Depends(role("customer"))) -> dict:
        client = request.client.host if request.client else None
        return {"feedback_id": chat.feedback(body.session_id, body.rating, body.message_id,
                                             body.comment, client)}

    @app.get("/v1/handoffs")
    def get_handoffs(status: str | None = "open", _: str = Depends(role("agent"))) -> list[dict]:
        """Tickets: ``open`` (not closed, the default), ``taken``, ``closed`` or empty for all."""
        out = []
        for t in chat.queue(status or None):
            out.append({"id": t.id, "number": t.number, "session_id": t.session_id,
                        "reason": t.reason, "question": t.question, "status": t.status,
                        "assignee": t.assignee, "draft": t.draft, "sources": t.sources,
                        "transcript": [{"role": m.role, "text": m.text}
                                       for m in chat.state.transcript(t.session_id,
                                                                      unredacted=True)]})
        return out

    @app.post("/v1/handoffs/{ticket_id}/reply")
    def post_reply(ticket_id: int, body: ReplyRequest, who: str = Depends(role("agent"))) -> dict:
        message_id = chat.agent_reply(ticket_id, who, body.text)
        ticket = chat.close_ticket(ticket_id, body.resolved) if body.close else chat.state.ticket(ticket_id)
        return {"message_id": message_id, "ticket": ticket.number, "status": ticket.status}

    @app.get("/v1/kpis")
    def get_kpis(_: str = Depends(role("agent"))) -> dict:
        return kpis(chat.state, services.embedder)

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

    @app.post("/v1/ingest")
    def post_ingest(body: IngestRequest, _: str = Depends(role("admin"))) -> dict:
        return admin.ingest(body.paths).to_dict()

    return app
