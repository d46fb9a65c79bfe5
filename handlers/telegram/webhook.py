"""POST /webhook/telegram: verify, store, answer 200; the inbox worker does the rest.

Not aiogram's SimpleRequestHandler: it answers 200 before processing and lets everything in
when no secret is set (aiogram #1024, #1613; shared/RELIABILITY.md).
"""

import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException, Request, Response

from bot.telegram.ingest import WEBHOOK_PATH

if TYPE_CHECKING:  # aiogram is imported only where a bot is configured
    from bot.telegram.app import TelegramChannel

router = APIRouter(tags=["telegram"])


SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Documented by hand, since the route reads it without a Header parameter (below).
SECRET_DOC = {"parameters": [{"name": SECRET_HEADER, "in": "header", "required": False, "schema": {"type": "string"}}]}


def update_id_of(body: bytes) -> tuple[int, str]:
    """The update's id and its text, or ValueError for anything that is no Telegram update."""
    text = body.decode()
    data: Any = json.loads(text)
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise ValueError("no integer update_id")
    return update_id, text


@router.post(WEBHOOK_PATH, status_code=200, response_class=Response, openapi_extra=SECRET_DOC)
async def telegram_webhook(request: Request) -> Response:
    # The hottest route: no FastAPI dependency or Header parameter, whose resolution cost about
    # as much CPU as the rest of the request together (bench/README.md, ingest).
    return await ingest(request, request.app.state.telegram, request.headers.get(SECRET_HEADER))


async def ingest(request: Request, telegram: "TelegramChannel", secret: str | None) -> Response:
    if not telegram.authentic(secret):
        raise HTTPException(status_code=403)
    try:
        update_id, payload = update_id_of(await request.body())
    except (ValueError, RecursionError) as error:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; `[[[[…` nested past ~1000 levels
        # raises RecursionError instead, which used to become a 500 (found by tests/fuzz).
        raise HTTPException(status_code=400, detail="not a Telegram update") from error
    # A repeat (Telegram retrying) is stored once and still answered 200, or it comes again.
    await telegram.inbox.store_one(update_id, payload)  # group commit: shares the fsync
    return Response(status_code=200)


# Another practitioner's bot (bot/platform/tenants.py): her own path and secret; #1 keeps WEBHOOK_PATH.
practitioner_router = APIRouter(tags=["telegram"])


@practitioner_router.post(WEBHOOK_PATH + "/{slug}", status_code=200, response_class=Response, include_in_schema=False)
async def practitioner_webhook(slug: str, request: Request) -> Response:
    tenant = await request.app.state.platform.by_slug(slug) if len(slug) <= 64 else None
    if tenant is None or tenant.telegram is None or tenant.practitioner_id == request.app.state.platform.default_id:
        raise HTTPException(status_code=404)
    return await ingest(request, tenant.telegram, request.headers.get(SECRET_HEADER))
