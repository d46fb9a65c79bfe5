"""What a flow decides, as data: the shell stores it and turns messages into outbox rows."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.model import Priority, Stage, Step


class NewRequest:
    """Stands for the request an outcome opens, before storage has given it an id."""

    def __repr__(self) -> str:
        return "NEW"


NEW = NewRequest()
RequestRef = int | NewRequest


@dataclass(frozen=True)
class Button:
    payload: str
    text_id: str | None = None  # a catalog text, or
    label: str | None = None  # a literal label (a service name from the catalogue)
    at: datetime | None = None  # a call slot: `text_id` renders it as {slot}, in the reader's time zone


@dataclass(frozen=True)
class Say:
    """A message to the client; text_id names a catalog entry, params fill it."""

    text_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    priority: Priority = Priority.REPLY
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Alert:
    """Something the practitioner must see: emergency, link problem, /human, flood, ritual."""

    kind: str
    excerpt: str = ""
    request: RequestRef | None = None


@dataclass(frozen=True)
class UpdateClient:
    language: str | None = None
    timezone: str | None = None  # an IANA name the client stated (or their number implies)


@dataclass(frozen=True)
class SetStep:
    step: Step
    service: str | None = None
    request: RequestRef | None = None


@dataclass(frozen=True)
class AcceptTerms:
    service: str


@dataclass(frozen=True)
class OpenRequest:
    service: str
    stage: Stage
    emergency: bool = False


@dataclass(frozen=True)
class AddQuestion:
    request: RequestRef
    text: str


@dataclass(frozen=True)
class ChangeStage:
    request: RequestRef
    stage: Stage


@dataclass(frozen=True)
class MarkNoticed:
    """Remember that a once-per-episode notice went out (restriction, flood, off-hours)."""

    what: str  # "restriction" | "flood" | "offhours"


@dataclass(frozen=True)
class Flag:
    """Take the client off auto-processing (their bookings wait for her) until she clears it."""

    reason: str


@dataclass(frozen=True)
class BookSlot:
    """Book `starts_at` for `request`, releasing the request's current booking (a move).

    The database decides a race for the slot (one `booked` row per start): when the slot is gone,
    the shell discards the rest of the outcome and applies `if_taken` instead.
    """

    request: RequestRef
    starts_at: datetime
    minutes: int
    if_taken: tuple["Effect", ...] = ()


Effect = (
    Flag
    | Say
    | Alert
    | UpdateClient
    | SetStep
    | AcceptTerms
    | OpenRequest
    | AddQuestion
    | ChangeStage
    | MarkNoticed
    | BookSlot
)


@dataclass(frozen=True)
class Outcome:
    effects: tuple[Effect, ...] = ()

    def says(self) -> list[Say]:
        return [e for e in self.effects if isinstance(e, Say)]

    def of(self, kind: type) -> list:
        return [e for e in self.effects if isinstance(e, kind)]
