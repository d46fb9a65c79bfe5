"""Everything a flow reads besides the client and the message: the clock and the practice."""

from dataclasses import dataclass, field
from datetime import datetime

from flows.catalogue import Catalogue
from flows.model import QueueStats


@dataclass(frozen=True)
class Context:
    now: datetime
    catalogue: Catalogue
    queue_lengths: dict[str, int] = field(default_factory=dict)  # open requests per service
    stats: QueueStats = field(default_factory=QueueStats)
