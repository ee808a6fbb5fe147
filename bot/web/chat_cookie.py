"""The chat page's conversation cookie: issued signed, and honoured only when the signature
holds.

The cookie carries a conversation's id and secret, so a reload resumes the chat with its
ticket and the team's replies. A cookie the server did not issue must not become a
conversation: whoever plants a made-up one in a visitor's browser knows its id and
secret, and could read everything the visitor then writes (session fixation). So the
value is ``id.secret.mac``, the MAC an HMAC-SHA256 under the server's key over the id and
the secret, and any other value gets a fresh conversation. The name carries the
``__Host-`` prefix: a browser keeps such a cookie only when it is Secure, has Path=/ and
no Domain, so no other host (a sibling subdomain) and no plain-HTTP page can set or
overwrite it. Browsers count http://localhost and 127.0.0.1 as secure, so the page works
there as well; on plain HTTP elsewhere the cookie is dropped and every visit starts anew.

    >>> cookies = ChatCookies(chat_cookie_key(settings))
    >>> value = cookies.issue()
    >>> cookies.read(value)          # (id, secret)
    >>> cookies.read("0" * 32 + ".planted-secret-xxxxxxxxxxx")   # None: not issued here
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from kb.settings import LotseSettings

COOKIE = "__Host-lotse_chat"
MAX_AGE = 30 * 24 * 3600  # a returning customer finds the chat for a month


class ChatCookies:
    """Issues and reads the signed conversation cookie under one server key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the chat cookie key needs at least 16 bytes")
        self._key = key

    def issue(self) -> str:
        """A new cookie value: a fresh conversation id and secret (the conversation's row
        is made when the page first uses it), signed."""
        sid, secret = secrets.token_hex(16), secrets.token_urlsafe(24)
        return f"{sid}.{secret}.{self._mac(sid, secret)}"

    def read(self, value: str | None) -> tuple[str, str] | None:
        """(conversation id, secret) of a cookie this server issued; None for a missing,
        malformed, unsigned or wrongly signed one."""
        parts = (value or "").split(".")
        if len(parts) != 3:
            return None
        sid, secret, mac = parts
        if len(sid) != 32 or any(c not in "0123456789abcdef" for c in sid) or len(secret) < 22:
            return None
        return (sid, secret) if hmac.compare_digest(mac, self._mac(sid, secret)) else None

    def _mac(self, sid: str, secret: str) -> str:
        digest = hmac.new(self._key, f"lotse-chat\n{sid}\n{secret}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()


def chat_cookie_key(settings: LotseSettings) -> bytes:
    """``server.chat_cookie_secret``, or the key kept in LOTSE_HOME/chat_cookie.key, made
    on first use (readable by this user only; processes sharing the home share it)."""
    configured = settings.server.chat_cookie_secret.get_secret_value()
    if configured:
        return configured.encode()
    path = Path(settings.home) / "chat_cookie.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written aside and linked into place: two processes starting at once agree on one
        # key, and neither reads a half-written file.
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip().encode()
