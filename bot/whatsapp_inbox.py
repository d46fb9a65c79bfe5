"""WhatsApp inbound: a signed Twilio form is stored first, then run through the desk.

Twilio never re-sends after a 5xx (shared/RELIABILITY.md), so the raw form is committed before
anything that can fail; if processing fails after that, the webhook still answers 200 and the
row waits for the replay worker, which also applies late status reports (bot/whatsapp_status.py).
"""

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from bot import whatsapp_status
from bot.desk import Desk
from flows.model import Channel, Inbound, Kind
from storage.uow import dead_letter

log = logging.getLogger(__name__)

CHANNEL = Channel.WHATSAPP.value
MAX_ATTEMPTS = 5
# A row this young may still be in the hands of the webhook that stored it.
GRACE = timedelta(seconds=30)
MAX_PAYLOAD_BUTTON = 64


def twilio_media_url(url: str | None) -> str | None:
    """MediaUrl0 can point anywhere: keep it only when it is Twilio's own (an SSRF otherwise,
    Typebot PR #2428). priem never fetches media; the reference is for the practitioner."""
    parts = urlsplit(url or "")
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or parts.username or parts.port is not None:
        return None
    return url if host == "api.twilio.com" or host.endswith(".twilio.com") else None


def _media(form: Mapping[str, str]) -> tuple[Kind, str | None]:
    try:
        count = int(form.get("NumMedia") or 0)
    except ValueError:
        count = 0
    if count <= 0:
        return Kind.TEXT, None
    content_type = (form.get("MediaContentType0") or "").lower()
    if content_type.startswith("audio/"):
        kind = Kind.VOICE  # WhatsApp voice notes arrive as audio/ogg media
    elif content_type.startswith("image/"):
        kind = Kind.PHOTO
    else:
        kind = Kind.OTHER
    return kind, twilio_media_url(form.get("MediaUrl0"))


def tapped(form: Mapping[str, str]) -> tuple[str | None, str]:
    """The payload and title of a tapped button: a quick reply (ButtonPayload, ButtonText) or a
    list-picker item (ListId, ListTitle). The id is the payload the flows gave the button, as
    Telegram's callback data is; one that is too long is none of ours and is read as text."""
    payload = (form.get("ButtonPayload") or form.get("ListId") or "").strip()
    title = form.get("ButtonText") or form.get("ListTitle") or ""
    return (payload if len(payload) <= MAX_PAYLOAD_BUTTON else None) or None, title


def inbound_from_form(form: Mapping[str, str], received_at: datetime) -> Inbound:
    kind, media_ref = _media(form)
    payload, title = tapped(form)
    return Inbound(
        channel=Channel.WHATSAPP,
        external_id=form["MessageSid"],
        sender_ref=form["From"],
        sender_name=form.get("ProfileName", ""),
        text=form.get("Body") or title,  # the title, as the web chat and Telegram keep a tap
        received_at=received_at,
        kind=kind,
        payload=payload,
        media_ref=media_ref,
    )


async def accept(desk: Desk, form: Mapping[str, str]) -> None:
    """Store an authentic message (deduplicated on MessageSid), then handle it."""
    sid, sender = form.get("MessageSid", "").strip(), form.get("From", "").strip()
    payload = json.dumps(dict(form), ensure_ascii=False)
    now = desk.clock()
    if not sid or not sender or len(sid) > 128 or len(sender) > 128:
        await dead_letter(
            desk.sessions,
            practitioner_id=desk.practitioner_id,
            channel=CHANNEL,
            external_id=sid[:128] or None,
            payload=payload,
            reason="a signed form without a usable MessageSid or From",
            now=now,
        )
        return
    try:
        async with desk.uow() as uow:
            row = await uow.inbox.store(channel=CHANNEL, external_id=sid, payload=payload, now=now)
            if row is not None:
                await uow.delivery.opened(CHANNEL, sender, now)
            await uow.commit()
    except IntegrityError:
        row = None  # a concurrent delivery of the same MessageSid was stored first
    if row is None:
        return  # a Twilio retry: the first delivery (or the replay worker) handles it
    await process(desk, row.id)


async def process(desk: Desk, update_id: int) -> bool:
    """Handle one stored message; never raises, since the webhook must answer 200 by now."""
    try:
        async with desk.uow() as uow:
            row = await uow.inbox.get(update_id)
            if row is None or row.processed_at is not None:
                return True
            form, received_at = json.loads(row.payload), row.received_at
        await desk.handle(inbound_from_form(form, received_at))  # deduplicated on MessageSid
        async with desk.uow() as uow:
            row = await uow.inbox.get(update_id)
            if row is not None:
                await uow.inbox.processed(row, desk.clock())
            await uow.commit()
        return True
    except Exception as error:  # the row stays; the replay worker tries again
        # The type only: SQLAlchemy's messages quote parameters, i.e. the client's text.
        log.error("whatsapp inbox row %s failed: %s", update_id, type(error).__name__)
        log.debug("whatsapp inbox row %s traceback", update_id, exc_info=True)
        await _record_failure(desk, update_id, type(error).__name__)
        return False


async def _record_failure(desk: Desk, update_id: int, error: str) -> None:
    try:
        async with desk.uow() as uow:
            row = await uow.inbox.get(update_id)
            if row is None:
                return
            await uow.inbox.failed(row, error)
            gave_up = row.attempts >= MAX_ATTEMPTS
            if gave_up:
                await uow.inbox.processed(row, desk.clock())
            external_id, payload = row.external_id, row.payload
            await uow.commit()
        if gave_up:  # after the unit of work: SQLite's pool has one connection
            await dead_letter(
                desk.sessions,
                practitioner_id=desk.practitioner_id,
                channel=CHANNEL,
                external_id=external_id,
                payload=payload,
                reason=f"failed {MAX_ATTEMPTS} times: {error}",
                now=desk.clock(),
            )
    except Exception as again:
        log.error(
            "could not record the failure of whatsapp inbox row %s: %s",
            update_id,
            type(again).__name__,
        )


async def replay(desk: Desk, min_age: timedelta = GRACE) -> int:
    """Handle stored messages left unprocessed (a crash, a failed handling); apply late status
    reports. Returns how many messages were handled."""
    now = desk.clock()
    async with desk.uow() as uow:
        ids = [
            row.id for row in await uow.inbox.pending(CHANNEL) if now - row.received_at >= min_age
        ]
    handled = 0
    for update_id in ids:
        handled += await process(desk, update_id)
    await whatsapp_status.replay(desk, MAX_ATTEMPTS)
    return handled


async def run(desk: Desk, every_seconds: float = 30.0) -> None:
    """Forever: replay at start-up (nothing is in flight yet), then on every tick."""
    min_age = timedelta(0)
    while True:
        try:
            await replay(desk, min_age)
        except Exception as error:  # the database may be briefly unavailable
            log.error("whatsapp inbox replay failed: %s", type(error).__name__)
        min_age = GRACE
        await asyncio.sleep(every_seconds)
