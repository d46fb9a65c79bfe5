"""The one outgoing composer: rendered texts become a history row and outbox rows here.

Every shell that speaks to a person ends in `post`: the desk's reply to a turn, notices, pushes,
payment offers, her command answers and alerts. One turn's answer is composed into one message
(`compose`), so a client reads one reply per question instead of several a second apart
(Telegram allows one message per second per chat). A text longer than its channel allows is
split at paragraph boundaries (`split`), the buttons on the last part.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flows.model import Channel, Priority
from storage.models import OutboxItem
from storage.uow import UnitOfWork

# What one message may hold, per channel. Telegram counts UTF-16 code units (an emoji is two);
# Twilio refuses a WhatsApp Body over 1,600 characters (error 21617) rather than cutting it.
LIMITS: dict[str, int] = {Channel.TELEGRAM: 4096, Channel.TELEGRAM_BUSINESS: 4096, Channel.WHATSAPP: 1600}
PARAGRAPH = "\n\n"

Buttons = list[dict[str, str]]


@dataclass(frozen=True)
class Rendered:
    """One rendered piece of an answer: its text, its buttons, how urgent it is."""

    text: str
    buttons: Buttons | None = None
    priority: int = Priority.REPLY


def compose(parts: Sequence[Rendered]) -> Rendered:
    """One message from a turn's pieces: paragraphs in order, every piece's buttons (a repeated
    payload once), the most urgent piece's priority."""
    texts = [p.text.strip() for p in parts if p.text.strip()]
    buttons: Buttons = []
    for part in parts:
        for button in part.buttons or ():
            if all(b["payload"] != button["payload"] for b in buttons):
                buttons.append(button)
    return Rendered(PARAGRAPH.join(texts), buttons or None, min((p.priority for p in parts), default=Priority.REPLY))


def measure(channel: str, text: str) -> int:
    if channel in (Channel.TELEGRAM, Channel.TELEGRAM_BUSINESS):
        return len(text.encode("utf-16-le")) // 2
    return len(text)


def split(channel: str, text: str) -> list[str]:
    """The text in parts the channel accepts: whole paragraphs where they fit, else lines, else
    words; a word longer than a whole message is cut. The web chat has no limit."""
    limit = LIMITS.get(channel)
    if limit is None or measure(channel, text) <= limit:
        return [text]
    return [part for part in _pack(channel, text, limit, ("\n\n", "\n", " ")) if part.strip()]


def _pack(channel: str, text: str, limit: int, separators: tuple[str, ...]) -> list[str]:
    if measure(channel, text) <= limit:
        return [text]
    if not separators:
        return _cut(channel, text, limit)
    separator, finer = separators[0], separators[1:]
    parts: list[str] = []
    current = ""
    for piece in text.split(separator):
        candidate = f"{current}{separator}{piece}" if current else piece
        if measure(channel, candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        if measure(channel, piece) <= limit:
            current = piece
        else:
            *whole, current = _pack(channel, piece, limit, finer)
            parts += whole
    if current:
        parts.append(current)
    return parts


def _cut(channel: str, text: str, limit: int) -> list[str]:
    parts: list[str] = []
    current = ""
    for ch in text:
        if measure(channel, current + ch) > limit:
            parts.append(current)
            current = ""
        current += ch
    return [*parts, current] if current else parts


async def post(
    uow: UnitOfWork,
    *,
    channel: str,
    destination: str,
    message: Rendered,
    key: str,
    now: datetime,
    client_id: int | None = None,
    request_id: int | None = None,
    kind: str = "text",
) -> list[OutboxItem]:
    """Queue one message in the caller's transaction: a history row when it goes to a client,
    and an outbox row per part (`key`, then `key~2`, `key~3`…; the key's prefix names the kind,
    and "{message_id}" in it is the history row's id). An invoice is one part whatever its length:
    the Telegram sender builds it from the payment, the text is its description."""
    message_id: int | None = None
    if client_id is not None:
        row = await uow.messages.add(
            client_id=client_id,
            direction="out",
            channel=channel,
            kind=kind,
            text=message.text,
            buttons=message.buttons,
            request_id=request_id,
            now=now,
        )
        message_id = row.id
        key = key.replace("{message_id}", str(message_id))
    parts = split(channel, message.text) if kind == "text" else [message.text]
    items = []
    for index, text in enumerate(parts, start=1):
        last = index == len(parts)
        items.append(
            await uow.outbox.enqueue(
                channel=channel,
                destination=destination,
                priority=message.priority,
                text=text,
                buttons=message.buttons if last else None,
                key=key if index == 1 else f"{key}~{index}",
                message_id=message_id,
                now=now,
            )
        )
    return items
