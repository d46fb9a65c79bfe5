"""What the practitioner's commands read, as plain values loaded by the shell."""

from dataclasses import dataclass, field
from datetime import datetime

from flows.catalogue import Catalogue
from flows.model import QueueStats, Stage


@dataclass(frozen=True)
class QueueRow:
    request_id: int
    client_id: int
    client_name: str
    service: str
    stage: Stage
    paid: bool
    emergency: bool
    created_at: datetime
    submitted_at: datetime | None
    deadline_at: datetime | None
    position: int  # 1-based, within the service
    channel: str = ""
    questions: int = 0
    flagged: bool = False  # the client's bookings wait for her personal confirmation


@dataclass(frozen=True)
class QueuePage:
    """One page of /queue as the database cut it: the rows in display order and how many the
    whole (filtered) queue holds."""

    total: int
    rows: tuple[QueueRow, ...] = ()


@dataclass(frozen=True)
class RequestCard:
    """One request with its client, for /paid, /done, /reply, /next and the dashboard card."""

    request_id: int
    client_id: int
    client_name: str
    client_restricted: bool
    service: str
    stage: Stage
    paid: bool
    emergency: bool
    created_at: datetime
    paid_at: datetime | None = None
    deadline_at: datetime | None = None
    position: int | None = None
    questions: tuple[str, ...] = ()
    result_link: str | None = None


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    direction: str  # "in" | "out"
    kind: str
    text: str


@dataclass(frozen=True)
class ClientCard:
    client_id: int
    name: str
    restricted_until: datetime | None = None
    restricted: bool = False
    restriction_reason: str = ""
    restriction_announced: bool = False
    flagged: bool = False  # off auto-processing (payment flip-flops)


@dataclass(frozen=True)
class PracticeContext:
    now: datetime
    catalogue: Catalogue
    timezone: str
    language: str = "ru"
    stats: QueueStats = field(default_factory=QueueStats)
    desk_url: str = "/desk"  # her page, as links in answers open it (/export)
