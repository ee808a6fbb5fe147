"""``lotse serve``: one process for the REST API, the customer chat and the staff UI.

    /          customer chat (Gradio)
    /staff/    agent copilot, KPIs and admin (Gradio, behind the cookie login at /login)
    /v1/…      REST API, OpenAPI at /docs

The services come from ``bot.wiring.build_chat``; this module only puts the
pages and routes in front of them, prints the logins and tokens, and runs uvicorn.
"""

from __future__ import annotations

import os
import sys

import gradio as gr
import uvicorn
from fastapi import FastAPI, Request

from bot.chat.service import ChatServices
from bot.chat.staff import Credentials
from bot.web.api import create_api
from bot.web.auth import staff_user
from bot.web.chat_cookie import COOKIE, MAX_AGE, ChatCookies, chat_cookie_key
from bot.web.customer_ui import build_customer_ui
from bot.web.http_protocol import guarded_protocol
from bot.web.observe import json_logging
from bot.web.page_style import CUSTOMER_CSS, HEAD, STAFF_CSS
from bot.web.proxies import TrustedProxies
from bot.web.staff_texts import I18N as STAFF_I18N
from bot.web.staff_ui import build_staff_ui
from bot.web.widget_origins import SETTING, how_to_allow


def create_app(services: ChatServices) -> FastAPI:
    """The REST API with the staff UI at /staff and the customer chat at / mounted on it."""
    # Gradio reports usage and checks its version from every page it builds, and from
    # pages of its own (the monitoring dashboard), unless this says no: nothing of a
    # shop's chat leaves the server.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    app = create_api(services)
    cookies = ChatCookies(chat_cookie_key(services.chat.engine.settings))

    @app.middleware("http")
    async def chat_cookie(request: Request, call_next):
        """The customer page hands each browser its own conversation id and secret in a
        signed HttpOnly cookie (``bot.web.chat_cookie``), so a reload resumes the chat (its
        ticket and the agent's replies) and no two visitors ever share one. A cookie this
        server did not sign is replaced. The conversation row is made on first use."""
        response = await call_next(request)
        if request.url.path == "/" and request.method == "GET" and \
                cookies.read(request.cookies.get(COOKIE)) is None:
            # __Host-: Secure, Path=/ and no Domain, or browsers drop it.
            response.set_cookie(COOKIE, cookies.issue(), max_age=MAX_AGE, httponly=True,
                                samesite="lax", secure=True, path="/")
        return response

    app = gr.mount_gradio_app(app, build_staff_ui(services), path="/staff",
                              auth_dependency=staff_user(services.logins),
                              max_file_size=services.admin.max_bytes, footer_links=[],
                              i18n=STAFF_I18N, css=STAFF_CSS, head=HEAD)
    # Mounted last, so the routes above keep precedence over the catch-all customer UI.
    # The customer chat takes no files at all.
    app = gr.mount_gradio_app(app, build_customer_ui(services.chat, cookies), path="/",
                              max_file_size=1, footer_links=[], css=CUSTOMER_CSS, head=HEAD)
    # Outermost, so the direct peer is known when the sign-on header is read.
    settings = services.admin.engine.settings
    app.add_middleware(TrustedProxies, proxies=list(settings.server.trusted_proxies),
                       user_header=settings.auth.trusted_user_header, logins=services.logins)
    return app


def login_lines(credentials: Credentials) -> list[str]:
    """The banner's logins: the generated passwords on the start that made them, and only
    then (the database keeps hashes); the other accounts by name, with the command that
    sets a new password."""
    first = dict(credentials.first_logins)
    credentials.first_logins.clear()  # shown once, then not kept in memory either
    lines = [f"  login {name!r} ({role}): {password}" for name, (role, password) in first.items()]
    if first:
        lines.append("  (passwords shown only now; a new one: lotse users passwd NAME)")
    others = [a for a in credentials.accounts.all_accounts() if a.name not in first]
    if others:
        lines.append("  logins: " + ", ".join(f"{a.name} ({a.role})" for a in others)
                     + "; a new password: lotse users passwd NAME")
    return lines


def widget_lines(base: str, widget_origins: list[str]) -> list[str]:
    """The banner's lines about the chat widget: the tag a shop puts on its pages, and which
    pages may use it, with the setting that allows one (browsers refuse all others)."""
    lines = [f'  chat widget: <script src="{base}/widget.js" data-token="CUSTOMER_TOKEN" defer>'
             '</script> (CUSTOMER_TOKEN: the customer REST token below)']
    if widget_origins:
        lines.append(f"  pages allowed to use it ({SETTING}): {', '.join(widget_origins)}")
    else:
        lines.append(f"  pages allowed to use it: none yet; to allow a shop's pages, "
                     f"{how_to_allow('https://shop.example')}")
    return lines


def serve(services: ChatServices, host: str = "127.0.0.1", port: int = 7860) -> int:
    """Warm the chain, print where to go and how to log in, and serve until stopped; log
    lines (one a request, with its id) go to stderr as JSON."""
    services.chat.warm_up()
    app = create_app(services)
    base = f"http://{host}:{port}"
    print(f"Lotse on {base}\n  customer chat: {base}/\n  staff (agents, admins): {base}/staff/"
          f"\n  REST API docs: {base}/docs", file=sys.stderr)
    credentials = services.credentials
    for line in login_lines(credentials):
        print(line, file=sys.stderr)
    settings = services.admin.engine.settings
    for line in widget_lines(base, list(settings.server.widget_origins)):
        print(line, file=sys.stderr)
    for role in ("customer", "agent", "admin"):
        print(f"  REST token ({role}): {credentials.token_for(role)}", file=sys.stderr)
    if settings.state.url and not settings.server.chat_cookie_secret.get_secret_value():
        print("  note: state.url is shared, server.chat_cookie_secret is not set: a process "
              "with another LOTSE_HOME signs chat cookies with another key, and a chat page "
              "it serves starts a new conversation", file=sys.stderr)
    json_logging()
    server = settings.server
    for worker in services.workers:
        worker.start()
    try:
        # A client that keeps a stream open must not hold a restart for longer than 10 s.
        # Forwarded headers are read in the app (bot.web.proxies), not by uvicorn; request
        # heads are bounded in size and time before any route sees them
        # (bot.web.http_protocol), which needs uvicorn's h11 parser, not httptools.
        uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False,
                    timeout_graceful_shutdown=10,
                    http=guarded_protocol(server.header_timeout_seconds),
                    h11_max_incomplete_event_size=server.max_header_bytes)
    finally:
        for worker in services.workers:
            worker.stop()
    return 0
