"""Who a request is from, for the parts outside the REST routes' own dependencies.

The login cookie's name, the staff page's auth dependency for Gradio, and the name a
REST call acts under. Bearer tokens are checked by ``bot.web.routes.dependencies``;
accounts, roles and login sessions themselves live in ``bot.chat.staff``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from bot.chat.staff import LoginSessions

COOKIE = LoginSessions.COOKIE


def token_holder(role: str) -> str:
    """Who acted, for a ticket and the audit log, when a REST call did: a bearer token is a
    role's, not a person's, and this name (with a space and brackets) is no account's."""
    return f"api ({role} token)"


def staff_user(logins: LoginSessions) -> Callable[[Request], str | None]:
    """The logged-in staff member's name from the cookie, or None (Gradio's auth dependency)."""
    def user(request: Request) -> str | None:
        login = logins.user(request.cookies.get(COOKIE))
        return login.name if login else None
    return user
