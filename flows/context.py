"""Everything a flow reads besides the client and the message: the clock and the practice."""

from dataclasses import dataclass, field
from datetime import datetime

from flows.catalogue import Catalogue
from flows.language.understanding import Understander
from flows.model import QueueStats


@dataclass(frozen=True)
class Context:
    now: datetime
    catalogue: Catalogue
    understander: Understander  # what a client's text says (flows/language/), trained at start-up
    queue_lengths: dict[str, int] = field(default_factory=dict)  # open requests per service
    stats: QueueStats = field(default_factory=QueueStats)
    # Call slots nobody holds, in the booking window (1–3 weeks ahead), UTC, sorted: the shell
    # reads them from `bookings`; the database still decides a race for one of them.
    free_slots: tuple[datetime, ...] = ()
