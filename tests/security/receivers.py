"""What a `lotse serve` under attack talks to, on loopback: a stand-in for Chatwoot's API
and a webhook receiver, one small app that records every request it gets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable

from fastapi import FastAPI, Request


class Receivers:
    """Records Chatwoot API calls (``chatwoot``) and webhook deliveries (``webhooks``).

    The Chatwoot side answers as Chatwoot does (the new message's id) and keeps each
    conversation's status as ``toggle_status`` sets it."""

    def __init__(self) -> None:
        self.chatwoot: list[dict] = []
        self.webhooks: list[dict] = []
        self.status: dict[str, str] = {}
        self._lock = threading.Lock()
        self.app = FastAPI()

        @self.app.post("/webhook")
        async def webhook(request: Request):
            body = await request.body()
            with self._lock:
                self.webhooks.append({"headers": dict(request.headers), "body": body,
                                      "json": json.loads(body)})
            return {"ok": True}

        @self.app.post("/api/v1/accounts/{account}/conversations/{conversation}/{action}")
        async def chatwoot(account: str, conversation: str, action: str, request: Request):
            body = await request.json()
            with self._lock:
                self.chatwoot.append({"path": request.url.path, "account": account,
                                      "conversation": conversation, "action": action,
                                      "token": request.headers.get("api_access_token"),
                                      "json": body})
                if action == "toggle_status":
                    self.status[f"{account}/{conversation}"] = body.get("status")
                return {"id": 90_000 + len(self.chatwoot), "content": body.get("content", "")}

    def calls(self, conversation: int, action: str = "messages") -> list[dict]:
        """Lotse's calls about one Chatwoot conversation (any account)."""
        with self._lock:
            return [c for c in self.chatwoot
                    if c["conversation"] == str(conversation) and c["action"] == action]

    def delivered(self, accept: Callable[[dict], bool], timeout: float = 60) -> dict:
        """The first webhook delivery whose JSON body ``accept`` takes, waiting for the
        sender's next round; AssertionError when none came in ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [w for w in self.webhooks if accept(w["json"])]
            if found:
                return found[0]
            assert time.monotonic() < deadline, "no such webhook delivery"
            time.sleep(0.1)
