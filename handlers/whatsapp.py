"""Twilio's WhatsApp webhooks: check the signature, store, acknowledge with an empty TwiML.

Messages are handled afterwards by the practitioner's inbox worker (bot/whatsapp/inbox.py)."""

import logging
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from bot.whatsapp import status as whatsapp_status
from bot.whatsapp.app import STATUS_PATH, WEBHOOK_PATH, WhatsApp
from handlers.deps import DeskDep

router = APIRouter(tags=["whatsapp"])
log = logging.getLogger(__name__)

EMPTY_TWIML = str(MessagingResponse())  # replies leave through the outbox, never in the answer


async def get_whatsapp(request: Request) -> WhatsApp:
    return request.app.state.whatsapp


WhatsAppDep = Annotated[WhatsApp, Depends(get_whatsapp)]


async def signed_form(request: Request, whatsapp: WhatsApp, path: str) -> dict[str, str] | None:
    """The posted form when Twilio signed it, else None.

    The signed URL is PUBLIC_BASE_URL + path (+ query), never request.url: behind a reverse proxy
    the app sees http://127.0.0.1:8000/…, while Twilio signed https://desk.example.com/…
    (twilio-python #751). RequestValidator itself accepts the URL with or without :443.
    """
    signature = request.headers.get("X-Twilio-Signature")
    if not signature or not whatsapp.public_base_url:
        return None
    form = await request.form()
    if any(not isinstance(value, str) for _, value in form.multi_items()):
        return None  # Twilio posts url-encoded text, never files
    url = whatsapp.public_base_url + path + (f"?{request.url.query}" if request.url.query else "")
    # The FormData itself: every value of a repeated key is signed, not just the last one.
    if not RequestValidator(whatsapp.auth_token).validate(url, form, signature):
        return None
    return {key: str(value) for key, value in form.items()}


def refused(path: str, whatsapp: WhatsApp) -> Response:
    # The URL checked, so a PUBLIC_BASE_URL that differs from the console's is easy to spot.
    log.warning(
        "twilio webhook refused: bad or missing signature for %s%s", whatsapp.public_base_url, path
    )
    return Response(status_code=403)


@router.post(WEBHOOK_PATH, include_in_schema=False)
async def twilio_message(request: Request) -> Response:
    # The hot route: no FastAPI dependency (their resolution costs CPU on every request).
    whatsapp: WhatsApp = request.app.state.whatsapp
    form = await signed_form(request, whatsapp, WEBHOOK_PATH)
    if form is None:
        return refused(WEBHOOK_PATH, whatsapp)
    # Durable on return (group commit, shared with concurrent requests), stored for the
    # practitioner whose number the client wrote `To` (bot/platform/tenants.py), and handled by her
    # inbox's worker afterwards: the answer waits for the commit, never for the desk.
    await whatsapp.ingest.accept(form)
    return Response(EMPTY_TWIML, media_type="text/xml")


@router.post(STATUS_PATH, include_in_schema=False)
async def twilio_status(request: Request, whatsapp: WhatsAppDep, desk: DeskDep) -> Response:
    form = await signed_form(request, whatsapp, STATUS_PATH)
    if form is None:
        return refused(STATUS_PATH, whatsapp)
    tenant = await request.app.state.platform.by_whatsapp_to(form.get("From"))  # a status comes from her sender
    await whatsapp_status.accept(tenant.desk if tenant is not None else desk, form)
    return Response(EMPTY_TWIML, media_type="text/xml")
