"""Request hygiene for every route: a cap on bodies (a clear 413) and a 422 that always renders.

Bodies over the cap get a 413 before a handler parses them. Nothing priem accepts comes near
it: a Telegram update carries at most 4096 characters of text, a Twilio form at most 1600, the
web chat 20,000 (≈ 240 KB even when every character is JSON-escaped). Without it, a 1 GB POST
would be read into memory and parsed (JSON, forms). Checked twice: the declared Content-Length
up front, and the bytes actually received, since a chunked body declares no length.
"""

import json
from typing import Annotated, Any

from fastapi import Path
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 512 * 1024
# The longest text a person types into priem's own pages: a web chat message, or her answer to a
# client from the dashboard (/reply). Longer than one messenger message on purpose: the outgoing
# composer (bot/outbox/outgoing.py) splits it into parts Telegram and WhatsApp accept.
MAX_TEXT = 20_000
# Row ids are BIGINT: a larger number in a path is a 422, not an overflow in the driver (a 500).
MAX_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
DETAIL = "request body too large"


class Problem(BaseModel):
    detail: str


# Documented on every route (main.py), since any POST can meet them before its handler runs.
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body is not JSON (or not UTF-8) at all"},
    413: {"model": Problem, "description": f"The body is larger than {MAX_BODY_BYTES} bytes"},
}


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await too_large(send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the handler's body read: Starlette turns it into the 413.
                    raise HTTPException(status_code=413, detail=DETAIL)
            return message

        await self.app(scope, counted, send)


async def too_large(send: Send) -> None:
    body = json.dumps({"detail": DETAIL}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    # Connection: close, since the unread rest of the body is still on the wire.
    await send({"type": "http.response.start", "status": 413, "headers": [*headers, (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


async def validation_error(request: Request, error: Exception) -> JSONResponse:
    """FastAPI's 422, without echoing the rejected input back: a body of `Infinity` or `NaN` is
    valid Python JSON, and echoed it made the 422 itself fail to render — a 500 (found by
    tests/fuzz). The location, message and type are what a client needs."""
    assert isinstance(error, RequestValidationError)
    details = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in error.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(details)})
