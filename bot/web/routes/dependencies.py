"""What the route modules ask FastAPI for: the services, the caller's role, the conversation.

``create_api`` puts the ``ChatServices`` on ``app.state.services``; a handler takes them
(or a checked role) as a dependency, so every handler is a plain module-level function that
a trace or a log can name, and no route closes over the services.

    @router.get("/v1/kpis")
    def get_kpis(services: Services, _: Agent) -> dict:
        return services.chat.kpis()
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam

from bot.chat.service import ChatServices
from bot.chat.staff import allows

SECRET_HEADER = "X-Session-Secret"
MAX_ID = 2**63 - 1  # ids are 64-bit integers in every database

RecordId = Annotated[int, PathParam(ge=1, le=MAX_ID)]


def services(request: Request) -> ChatServices:
    """The services this app was built over (``create_api`` sets them once)."""
    return request.app.state.services


def _role_at_least(request: Request, required: str) -> str:
    """The caller's role from its bearer token: 401 without a known token, 403 when the
    role is lower than ``required``."""
    header = request.headers.get("authorization", "")
    token = header[7:] if header.lower().startswith("bearer ") else None
    found = services(request).credentials.role_of_token(token)
    if found is None:
        raise HTTPException(401, "missing or unknown bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    if not allows(found, required):
        raise HTTPException(403, f"this route needs the {required} role")
    return found


def customer_role(request: Request) -> str:
    """A customer token or higher (a client: the shop's widget or backend)."""
    return _role_at_least(request, "customer")


def agent_role(request: Request) -> str:
    """An agent token or higher."""
    return _role_at_least(request, "agent")


def admin_role(request: Request) -> str:
    """The admin token."""
    return _role_at_least(request, "admin")


Services = Annotated[ChatServices, Depends(services)]
Customer = Annotated[str, Depends(customer_role)]
Agent = Annotated[str, Depends(agent_role)]
Admin = Annotated[str, Depends(admin_role)]


def owned(services: ChatServices, session_id: str, request: Request) -> str:
    """The conversation, if the request carries its secret in ``X-Session-Secret``
    (403 otherwise, the same for an id that does not exist)."""
    return services.chat.authorize(session_id, request.headers.get(SECRET_HEADER))


def client_of(request: Request) -> str | None:
    """The caller's address (behind trusted proxies, the one they forwarded)."""
    return request.client.host if request.client else None
