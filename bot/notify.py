"""Messages to a client that are not a reply to what they just wrote: practitioner commands
(`/done`, `/reply`, `/paid`), pushes from the scheduler, pause notices.

Each goes where the client last wrote from, in their language and time zone, becomes a history
row first (nothing is sent that is not first a message row) and then an outbox row whose
idempotency key makes a repeated decision (a retried job, a second process) a no-op.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.texts import Texts
from flows.effects import Button
from flows.model import Priority
from storage.models import Client, OutboxItem
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Notice:
    text_id: str
    params: Mapping[str, Any]
    priority: Priority
    key: str  # unique per decision: e.g. f"done:{request_id}", f"remind24:{booking_id}"
    buttons: tuple[Button, ...] = ()
    request_id: int | None = None
    text: str | None = None  # literal text (the practitioner's own words in /reply), no catalog


async def notify_client(
    uow: UnitOfWork, texts: Texts, client: Client, notice: Notice, now: datetime
) -> OutboxItem | None:
    """Queue one message to the client; None when they cannot be reached or the key was used."""
    if client.forgotten_at is not None:
        return None  # erased on their request: the farewell was the last message (bot/privacy.py)
    route = await uow.clients.reply_route(client.id)
    if route is None:
        return None
    if await uow.outbox.has_key(notice.key):
        return None
    channel, address = route
    text = (
        notice.text
        if notice.text is not None
        else texts.text(notice.text_id, notice.params, client.language, client.timezone)
    )
    buttons = [{"label": texts.button(b, client.language), "payload": b.payload} for b in notice.buttons] or None
    try:
        async with uow.session.begin_nested():
            items = await outgoing.post(
                uow,
                channel=channel,
                destination=address,
                message=Rendered(text, buttons, notice.priority),
                key=notice.key,
                now=now,
                client_id=client.id,
                request_id=notice.request_id,
            )
            return items[0]
    except IntegrityError:
        return None  # another process made the same decision first: one message, not two
