"""What a channel sender reports back to the outbox relay."""

from dataclasses import dataclass
from typing import Protocol

from storage.models import OutboxItem


@dataclass(frozen=True)
class Delivered:
    external_id: str | None = None


@dataclass(frozen=True)
class RetryLater:
    error: str
    after_seconds: float | None = None  # the platform said when (429 retry_after); else back off


@dataclass(frozen=True)
class Failed:
    """Permanent: blocked by the user, opted out, bad destination. Never retried."""

    error: str


@dataclass(frozen=True)
class Uncertain:
    """The request may have reached the platform (a timeout after sending): never re-sent
    blindly, since sendMessage has no idempotency key (shared/RELIABILITY.md)."""

    error: str


@dataclass(frozen=True)
class OutsideWindow:
    """WhatsApp refuses free-form text 24 h after the client last wrote (Twilio 63016). Not a
    failure: the row waits, visible to the practitioner, until the client writes again."""

    error: str


Result = Delivered | RetryLater | Failed | Uncertain | OutsideWindow


class Sender(Protocol):
    async def send(self, item: OutboxItem) -> Result: ...


class WebSender:
    """The local web chat reads delivered rows from history; delivery is the commit itself."""

    async def send(self, item: OutboxItem) -> Result:
        return Delivered()
