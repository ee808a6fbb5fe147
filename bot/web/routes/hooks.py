"""The routes other systems call. Chatwoot's agent bot: ``POST /hooks/chatwoot/{token}``
(``create_api`` includes this router only when ``chatwoot.url`` is set).

Chatwoot sends no bearer token, so the bot's outgoing URL carries a secret instead
(``chatwoot.webhook_token``), compared in constant time; a wrong one is 404, as if the
route did not exist. Whoever has the URL can speak as Chatwoot, so with
``chatwoot.signing_secret`` set (the agent bot's secret; Chatwoot 4.13 and later sign
with it) an event must also carry Chatwoot's signature of its timestamp and raw body,
and a timestamp within ``chatwoot.max_age_seconds``: otherwise 401. The work is
``bot.channels.chatwoot``'s; what it refuses (another account, ids that are not whole
numbers) is 403 or 400.
"""

from __future__ import annotations

import hmac
import json
import logging

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.channels.chatwoot_signature import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify
from bot.web.errors import status_of
from bot.web.routes.dependencies import Services
from kb.errors import LotseError

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@router.post("/hooks/chatwoot/{token}")
async def chatwoot_event(token: str, request: Request, services: Services):
    connector = services.chatwoot
    settings = connector.settings
    expected = settings.webhook_token.get_secret_value()
    signing = settings.signing_secret.get_secret_value()
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return JSONResponse({"error": "not found"}, status_code=404)
    body = await request.body()
    if signing and not verify(signing, request.headers.get(TIMESTAMP_HEADER), body,
                              request.headers.get(SIGNATURE_HEADER), settings.max_age_seconds):
        return JSONResponse({"error": "no valid Chatwoot signature, or too old"},
                            status_code=401)
    try:
        event = json.loads(body)
    except ValueError:
        return JSONResponse({"error": "the body is not JSON"}, status_code=400)
    if not isinstance(event, dict):
        return JSONResponse({"error": "the body is not a JSON object"}, status_code=400)
    try:  # the answer chain is synchronous: off the event loop
        done = await run_in_threadpool(connector.handle, event)
    except LotseError as exc:
        return JSONResponse({"error": str(exc)}, status_code=status_of(exc))
    except httpx.HTTPError as exc:
        log.warning("Chatwoot's API failed: %s", type(exc).__name__)
        return JSONResponse({"error": f"Chatwoot's API failed: {type(exc).__name__}"},
                            status_code=502)
    return {"action": done.action, "why": done.why, "ticket": done.ticket}
