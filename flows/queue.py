"""Queue position and an honest ETA (DOMAIN.md, "Queue position and ETA")."""

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.catalogue import Intake, Service
from flows.model import QueueStats


@dataclass(frozen=True)
class Eta:
    earliest: datetime | None = None
    latest: datetime | None = None
    estimated: bool = True  # from the catalogue's nominal range, not from measured throughput
    deadline: datetime | None = None  # a hard promise (emergencies: 24 h from payment)

    @property
    def known(self) -> bool:
        return self.earliest is not None or self.deadline is not None


@dataclass(frozen=True)
class Days:
    """A span of days, written with the language's plural: «4–14 дней», «1 день»."""

    low: int
    high: int


def days_from(eta: Eta, now: datetime) -> Days | None:
    """The estimate as days counted from `now` (from payment, when that is when the wait starts)."""
    if eta.earliest is None or eta.latest is None:
        return None
    return Days(_whole_days(eta.earliest - now), _whole_days(eta.latest - now))


def _whole_days(span: timedelta) -> int:
    return max(1, math.ceil(span / timedelta(days=1)))


def estimate(
    service: Service,
    position: int,
    now: datetime,
    stats: QueueStats,
    paid_at: datetime | None = None,
) -> Eta:
    if service.intake is Intake.SITUATION:
        if paid_at is None:
            return Eta()  # the clock starts at payment: nothing to promise yet
        return Eta(deadline=paid_at + timedelta(days=service.promise_max_days), estimated=False)
    if service.intake not in (Intake.QUESTIONS, Intake.ONE_QUESTION):
        return Eta()  # calls happen at their slot; rituals are agreed in person
    pause = max(stats.paused_until - now, timedelta(0)) if stats.paused_until else timedelta(0)
    per_request = stats.throughput.get(service.key)
    if per_request:
        # Measured: every request ahead takes the recent median time between completions.
        point = now + pause + timedelta(days=per_request * max(position, 1))
        return Eta(earliest=point, latest=point, estimated=False)
    return Eta(
        earliest=now + pause + timedelta(days=service.promise_min_days),
        latest=now + pause + timedelta(days=service.promise_max_days),
        estimated=True,
    )
