"""REST API (FastAPI): a thin layer over the chat services; OpenAPI at /docs.

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
    GET  /v1/metrics                     admin
    /v1/admin/…                          admin: documents, retrieval test, usage, generations,
                                         ingest of folders and web sources, schedule, audit,
                                         webhook deliveries
    POST /v1/chat/completions, GET /v1/models   customer: for OpenAI clients
    GET  /login, POST /login             the staff UI's cookie login
    GET  /logout (asks), POST /logout    logging out needs the page's CSRF token
    POST /hooks/chatwoot/{token}         Chatwoot's agent bot (when chatwoot.url is set)

The handlers live in router modules per area (``bot.web.routes``); this module builds
the app around them: the services on ``app.state``, the error shape, the middleware.

A missing or wrong token is 401, a token of a lower role 403, a conversation without
its secret (X-Session-Secret) 403, the same for an id that does not exist, a malformed body
422 with the fields that are wrong, an empty or over-long message 400, a body over its
route's limit 413 (``bot.web.guard``, checked while it streams; a missing token is 401
before any of it is read), and a message over the per-minute limit 429 with Retry-After.
An API path that no route has is 404, a route asked with another method 405 (with
Allow); every error is ``{"error": …}``, also when the staff UI and the customer chat
are mounted on the app (``bot.web.app``).
The staff UI (mounted at /staff by ``bot.web.app``) uses a server-side login session
instead of a token: the cookie is HttpOnly, SameSite=Strict and, over HTTPS, Secure.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.chat.service import ChatServices
from bot.web.auth import COOKIE
from bot.web.errors import status_of
from bot.web.guard import RequestGuard
from bot.web.observe import Observed
from bot.web.routes import admin, chat, handoffs, hooks, login, openai_compat
from bot.web.routes.dependencies import SECRET_HEADER
from kb.errors import LotseError, Throttled

# Paths that belong to the API, whatever else is mounted on the app: under these an
# unknown path or method is answered here, in the API's error shape.
API_PREFIXES = ("/v1/", "/hooks/")
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def create_api(services: ChatServices) -> FastAPI:
    """The REST app over ``services``: every router, the error shape, the guard."""
    app = FastAPI(title="Lotse", description="Cited answers from your knowledge base, and an "
                  "honest handoff when unsure.", version="0.1.0")
    app.state.services = services
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(LotseError, domain_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.middleware("http")(staff_needs_login)
    routers = [login.router, admin.router, openai_compat.router, chat.router, handoffs.router]
    if services.chatwoot is not None:
        routers.append(hooks.router)
    for router in routers:
        app.include_router(router)
    _answer_the_rest_of_the_api(app, [r for router in routers for r in router.routes
                                      if isinstance(r, APIRoute)])
    _guarded(app, services)
    return app


async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
    """422 with one line per wrong field."""
    problems = [f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}"
                for e in exc.errors()]
    return JSONResponse({"error": "invalid request", "problems": problems}, status_code=422)


async def domain_error(_: Request, exc: LotseError) -> JSONResponse:
    """A refusal of the services, with the status its kind stands for (``bot.web.errors``)."""
    headers = {"Retry-After": str(int(exc.retry_after))} if isinstance(exc, Throttled) else None
    return JSONResponse({"error": str(exc)}, status_code=status_of(exc), headers=headers)


async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    """One error shape for every 4xx: ``{"error": …}``."""
    return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def staff_needs_login(request: Request, call_next):
    """The staff UI's page itself redirects to the login form; its API answers 401."""
    logins = request.app.state.services.logins
    if request.url.path in ("/staff", "/staff/") and \
            logins.user(request.cookies.get(COOKIE)) is None:
        return RedirectResponse("/login", status_code=303)
    return await call_next(request)


def unmatched(request: Request) -> None:
    """An API path that no route answers: 405 with ``Allow`` when a route has the path
    with other methods, 404 otherwise. Without this, the customer chat mounted at ``/``
    would answer them in Gradio's shape (``{"detail": …}``)."""
    path = request.url.path
    routes = [r for r in request.app.state.api_routes if r.path_regex.match(path)]
    if not routes:
        request.scope.pop("route", None)  # counted as "unmatched", not under this route
        raise StarletteHTTPException(404)
    request.scope["route"] = routes[0]  # counted under the route that was asked wrongly
    allowed = sorted({m for r in routes for m in r.methods})
    raise StarletteHTTPException(405, headers={"Allow": ", ".join(allowed)})


def _answer_the_rest_of_the_api(app: FastAPI, routes: list[APIRoute]) -> None:
    """After every router: ``unmatched`` answers the rest of the API's prefixes, and the
    other methods of the API's paths outside them (/healthz, /login, …)."""
    app.state.api_routes = routes
    outside = sorted({r.path for r in routes if not r.path.startswith(API_PREFIXES)})
    for pattern in [f"{prefix}{{rest:path}}" for prefix in API_PREFIXES] + outside:
        app.add_api_route(pattern, unmatched, methods=_METHODS, include_in_schema=False)


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
