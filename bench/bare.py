"""The baseline: the same routes with the database step removed (shared/PERF.md, "bare").

Telegram: read the body, parse the JSON, check the secret header, answer 200. Twilio: parse the
form, check the signature with twilio's RequestValidator, answer the empty TwiML. Another
practitioner's path, /webhook/telegram/{slug}: the same, her secret from BARE_TELEGRAM_SECRETS
(JSON {slug: secret}, bench/practitioners.py) where priem looks her row up.
"""

import json
import os

from fastapi import FastAPI, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

SECRET = os.environ.get("TELEGRAM_WEBHOOK_SECRET", "")
PUBLIC = os.environ.get("PUBLIC_BASE_URL", "")
VALIDATOR = RequestValidator(os.environ.get("TWILIO_AUTH_TOKEN", ""))
EMPTY_TWIML = str(MessagingResponse())
SECRETS: dict[str, str] = json.loads(os.environ.get("BARE_TELEGRAM_SECRETS", "{}"))

app = FastAPI()


@app.post("/webhook/telegram")
async def telegram(request: Request) -> Response:
    if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != SECRET:
        return Response(status_code=403)
    data = json.loads(await request.body())
    if not isinstance(data.get("update_id"), int):
        return Response(status_code=400)
    return Response(status_code=200)


@app.post("/webhook/telegram/{slug}")
async def practitioner_telegram(slug: str, request: Request) -> Response:
    expected = SECRETS.get(slug)
    if expected is None or request.headers.get("X-Telegram-Bot-Api-Secret-Token") != expected:
        return Response(status_code=403)
    data = json.loads(await request.body())
    if not isinstance(data.get("update_id"), int):
        return Response(status_code=400)
    return Response(status_code=200)


@app.post("/webhook/twilio")
async def twilio(request: Request) -> Response:
    form = await request.form()
    if not VALIDATOR.validate(PUBLIC + "/webhook/twilio", form, request.headers.get("X-Twilio-Signature", "")):
        return Response(status_code=403)
    return Response(EMPTY_TWIML, media_type="text/xml")


@app.get("/healthz")
async def healthz() -> dict[str, bool]:
    return {"ok": True}
