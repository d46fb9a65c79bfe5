"""What a practitioner command decides, as data. The shell (bot/practice.py) applies it."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flows.effects import Button, ChangeStage
from flows.model import Priority


@dataclass(frozen=True)
class ServiceName:
    """A service's name, rendered in the reader's language by the shell."""

    key: str


@dataclass(frozen=True)
class Answer:
    """A reply to the practitioner herself (her chat, or the page that ran the command)."""

    text_id: str
    params: Mapping[str, Any] = field(default_factory=dict)
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class Notify:
    """A message to a client, on the channel they last wrote from. `key` makes it once-only."""

    client_id: int
    text_id: str
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    priority: Priority = Priority.ACTION  # her command's doing; bulk notices say BULK
    request_id: int | None = None
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class MarkPaid:
    request_id: int
    deadline_at: datetime | None  # the promise clock starts at payment


@dataclass(frozen=True)
class SetResult:
    request_id: int
    link: str | None


@dataclass(frozen=True)
class Restrict:
    """Replaces any restriction the client has. `announced`: the client is told in the same
    command (or already was, for the same end), so their next message gets no second notice."""

    client_id: int
    until: datetime | None  # None: for good
    reason: str
    announced: bool = False


@dataclass(frozen=True)
class Unrestrict:
    client_id: int


@dataclass(frozen=True)
class StartPause:
    until: datetime | None
    note: str


@dataclass(frozen=True)
class EndPause:
    pass


@dataclass(frozen=True)
class MoveCall:
    """Book `starts_at` for the request's call, releasing its current slot (/reschedule).

    Applied by bot/commands/calls.py in a SAVEPOINT: a slot taken meanwhile becomes an error
    answer, never a second booking."""

    request_id: int
    starts_at: datetime
    minutes: int


@dataclass(frozen=True)
class Forget:
    """Erase the client's messages, questions and personal fields (storage/privacy.py), sparing the
    farewell queued under `spare_key` just before; counts, stages, times and amounts stay."""

    client_id: int
    spare_key: str


@dataclass(frozen=True)
class QueueChanged:
    """Positions may have moved: the position pushes should run now, not at the next tick."""


PracticeEffect = (
    Answer
    | Notify
    | ChangeStage
    | MarkPaid
    | SetResult
    | Restrict
    | Unrestrict
    | StartPause
    | EndPause
    | QueueChanged
    | Forget
)
