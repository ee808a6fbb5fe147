"""``lotse serve``: one process for the REST API, the customer chat and the staff UI.

    /          customer chat (Gradio)
    /staff/    agent copilot, KPIs and admin (Gradio, behind the cookie login at /login)
    /v1/…      REST API, OpenAPI at /docs

Builds the services once, opens the state database, loads or generates the
credentials, prints the logins and tokens, and runs uvicorn.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.admin import AdminService
from bot.api import create_api
from bot.auth import Credentials, LoginSessions
from bot.service import ChatService
from bot.state import StateStore
from bot.wiring import build_services
from kb.settings import LotseSettings


def build_app(settings: LotseSettings, services=None):
    services = services or build_services(settings)
    chat = ChatService(services, StateStore(settings.state_url()))
    credentials = Credentials.load(settings)
    logins = LoginSessions(credentials, chat.state)
    admin = AdminService(services, Path(settings.home) / "uploads", list(settings.server.ingest_roots))
    app = create_api(chat, credentials, admin, logins)
    import gradio as gr

    from bot.staff_ui import build_staff_ui
    from bot.ui import build_customer_ui

    def staff_user(request) -> str | None:
        login = logins.user(request.cookies.get(LoginSessions.COOKIE))
        return login.name if login else None

    app = gr.mount_gradio_app(app, build_staff_ui(chat, admin, credentials), path="/staff",
                              auth_dependency=staff_user, max_file_size=admin.max_bytes,
                              footer_links=[])
    # Mounted last, so the routes above keep precedence over the catch-all customer UI.
    # The customer chat takes no files at all.
    app = gr.mount_gradio_app(app, build_customer_ui(chat), path="/", max_file_size=1,
                              footer_links=[])
    return app, credentials


def serve(settings: LotseSettings, host: str = "127.0.0.1", port: int = 7860) -> int:
    import uvicorn

    services = build_services(settings)
    # One throwaway question loads the model weights and indexes before the first customer.
    services.chain.ask("Wie lange dauert der Versand?", view="customer")
    app, credentials = build_app(settings, services)
    base = f"http://{host}:{port}"
    print(f"Lotse on {base}\n  customer chat: {base}/\n  staff (agents, admins): {base}/staff/"
          f"\n  REST API docs: {base}/docs", file=sys.stderr)
    for name, (role, password) in credentials.users.items():
        print(f"  login {name!r} ({role}): {password}", file=sys.stderr)
    for role in ("customer", "agent", "admin"):
        print(f"  REST token ({role}): {credentials.token_for(role)}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=True)
    return 0
