"""The route Chatwoot's agent bot calls: ``POST /hooks/chatwoot/{token}``.

Chatwoot sends no bearer token, so the bot's outgoing URL carries a secret instead
(``chatwoot.webhook_token``), compared in constant time; a wrong one is 404, as if the
route did not exist. The work is ``bot.channels.chatwoot``'s.
"""

from __future__ import annotations

import hmac
import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.channels.chatwoot import ChatwootConnector

log = logging.getLogger(__name__)


def chatwoot_routes(connector: ChatwootConnector) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    expected = connector.settings.webhook_token.get_secret_value()

    @router.post("/hooks/chatwoot/{token}")
    async def chatwoot_event(token: str, request: Request):
        if not hmac.compare_digest(token.encode(), expected.encode()):
            return JSONResponse({"error": "not found"}, status_code=404)
        try:
            event = await request.json()
        except ValueError:
            return JSONResponse({"error": "the body is not JSON"}, status_code=400)
        if not isinstance(event, dict):
            return JSONResponse({"error": "the body is not a JSON object"}, status_code=400)
        try:  # the answer chain is synchronous: off the event loop
            done = await run_in_threadpool(connector.handle, event)
        except httpx.HTTPError as exc:
            log.warning("Chatwoot's API failed: %s", type(exc).__name__)
            return JSONResponse({"error": f"Chatwoot's API failed: {type(exc).__name__}"},
                                status_code=502)
        return {"action": done.action, "why": done.why, "ticket": done.ticket}

    return router
