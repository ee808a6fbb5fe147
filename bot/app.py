"""``lotse serve``: one process that serves the REST API (and, mounted on it, the web UI).

Builds the services once, opens the state database, loads or generates the
credentials, prints the logins and tokens, and runs uvicorn.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.api import create_api
from bot.auth import Credentials
from bot.service import ChatService
from bot.state import StateStore
from bot.wiring import build_services
from kb.settings import LotseSettings


def build_app(settings: LotseSettings):
    services = build_services(settings)
    chat = ChatService(services, StateStore(settings.state_url()))
    credentials = Credentials.load(settings)
    upload_dir = Path(settings.home) / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    app = create_api(chat, credentials, upload_dir, list(settings.server.ingest_roots))
    import gradio as gr

    from bot.ui import build_customer_ui

    # Mounted last, so the API routes above keep precedence over the catch-all UI path.
    app = gr.mount_gradio_app(app, build_customer_ui(chat), path="/")
    return app, credentials


def serve(settings: LotseSettings, host: str = "127.0.0.1", port: int = 7860) -> int:
    import uvicorn

    app, credentials = build_app(settings)
    print(f"Lotse on http://{host}:{port}  (customer chat: /, REST API docs: /docs)",
          file=sys.stderr)
    for name, (role, password) in credentials.users.items():
        print(f"  login {name!r} ({role}): {password}", file=sys.stderr)
    for role in ("customer", "agent", "admin"):
        print(f"  REST token ({role}): {credentials.token_for(role)}", file=sys.stderr)
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0
