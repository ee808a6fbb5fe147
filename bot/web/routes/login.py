"""The staff UI's cookie login: the form, logging in, and logging out (asked first).

    GET  /login, POST /login             the form and its check (throttled per name and address)
    GET  /logout (asks), POST /logout    logging out needs the page's CSRF token

Accounts, passwords and login sessions are ``bot.chat.staff``'s; these handlers only
turn them into pages, redirects and the cookie, which is HttpOnly, SameSite=Strict and,
over HTTPS, Secure.
"""

from __future__ import annotations

import hmac
import html

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from bot.chat.staff import LoginRefused, LoginThrottled
from bot.web.auth import COOKIE
from bot.web.routes.dependencies import Services

router = APIRouter(include_in_schema=False)

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


_LOGOUT_PAGE = """<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>Lotse – Abmelden</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:system-ui,sans-serif;background:#f4f5f7;display:grid;place-items:center;
min-height:100vh;margin:0}}form{{background:#fff;padding:2rem;border-radius:12px;width:20rem;
box-shadow:0 2px 12px #0002}}button{{margin-top:1.2rem;width:100%;padding:.6rem;
background:#2d6a4f;color:#fff;border:0;border-radius:6px;font-size:1rem}}</style></head><body>
<form method="post" action="/logout"><h2>Abmelden? / Log out?</h2>
<input type="hidden" name="csrf" value="{token}">
<button type="submit" id="logout-confirm" autofocus>Abmelden / Log out</button>
<p><a href="/staff/">Zurück / Back</a></p></form></body></html>"""


@router.get("/login", response_class=HTMLResponse)
def login_form() -> str:
    return _LOGIN_PAGE.format(error="")


@router.post("/login")
def login(request: Request, services: Services, name: str = Form(..., max_length=64),
          password: str = Form(..., max_length=256)):
    logins = services.logins
    client = request.client.host if request.client else ""
    try:
        token = logins.login(name, password, client)
    except LoginThrottled as exc:
        return HTMLResponse(_LOGIN_PAGE.format(error=html.escape(str(exc))), status_code=429,
                            headers={"Retry-After": str(int(exc.retry_after) + 1)})
    except LoginRefused as exc:
        return HTMLResponse(_LOGIN_PAGE.format(error=html.escape(str(exc))), status_code=401)
    response = RedirectResponse("/staff/", status_code=303)
    response.set_cookie(COOKIE, token, max_age=int(logins.ttl), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_form(request: Request, services: Services) -> str:
    """A page that asks; only its form's POST logs out, so a link or an image that
    points here (in a customer's message, say) cannot."""
    return _LOGOUT_PAGE.format(token=services.logins.logout_token(request.cookies.get(COOKIE)))


@router.post("/logout")
def logout(request: Request, services: Services, csrf: str = Form("", max_length=128)):
    logins = services.logins
    cookie = request.cookies.get(COOKIE)
    if not (cookie and hmac.compare_digest(csrf.encode(), logins.logout_token(cookie).encode())):
        return HTMLResponse(_LOGOUT_PAGE.format(token=logins.logout_token(cookie)),
                            status_code=403)
    logins.logout(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
