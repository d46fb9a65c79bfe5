"""What a time-driven push is due, decided from stored facts and a given `now` (no clock here).

The shell (bot/pushes.py) reads the facts, asks these functions, and queues what they return;
every decision carries a key that makes it once-only across sweeps and processes.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

REMINDERS = (("remind24", timedelta(hours=24)), ("remind1", timedelta(hours=1)))
NO_SHOW_AFTER = timedelta(minutes=15)
DEADLINE_WARNINGS = (("deadline12", timedelta(hours=12)), ("deadline2", timedelta(hours=2)))
STALE = timedelta(days=1)  # a push more than this late (the service was down) is not sent


def reminder(starts_at: datetime, booked_at: datetime, now: datetime) -> str | None:
    """The one call reminder due now: the latest lead time already reached.

    A booking made after a lead time passed skips that reminder (a call booked 3 h ahead gets
    the 1-hour reminder only): a "tomorrow" reminder right after booking says nothing new.
    """
    if now >= starts_at:
        return None
    due = None
    for kind, lead in REMINDERS:  # longest lead first: the later, closer one wins
        if now >= starts_at - lead and booked_at <= starts_at - lead:
            due = kind
    return due


def no_show_due(starts_at: datetime, now: datetime) -> bool:
    """15 minutes into a call still `booked`: ask the practitioner what happened."""
    return starts_at + NO_SHOW_AFTER <= now < starts_at + STALE


def deadline_warning(deadline_at: datetime, now: datetime) -> str | None:
    """The practitioner's warning for an emergency's 24-hour promise: the latest stage reached
    (12 h left, 2 h left, broken). Earlier stages missed while down are not sent late."""
    if now >= deadline_at:
        return "breach" if now < deadline_at + STALE else None
    due = None
    for kind, left in DEADLINE_WARNINGS:
        if now >= deadline_at - left:
            due = kind
    return due


def pause_over_due(until: datetime | None, ended_at: datetime | None, now: datetime) -> bool:
    """A timed /pause ran out (she did not /resume it): the clients told of it hear she is back."""
    return until is not None and ended_at is None and until <= now < until + STALE


def nudge_due(last_inbound_at: datetime | None, now: datetime, after: timedelta) -> bool:
    """A question list begun and left: one nudge per quiet spell (the key carries the spell)."""
    return last_inbound_at is not None and last_inbound_at + after <= now < last_inbound_at + after + STALE


class QueueMove(StrEnum):
    PUSH = "push"  # tell the client, then remember the position
    RECORD = "record"  # remember silently (the first position: the conversation already said it)
    WAIT = "wait"  # changed, but today's allowance is used up: say it tomorrow, coalesced


def queue_move(position: int, notified: int | None, sent_today: int, per_day: int) -> QueueMove | None:
    if position == notified:
        return None
    if notified is None:
        return QueueMove.RECORD
    return QueueMove.PUSH if sent_today < per_day else QueueMove.WAIT


@dataclass(frozen=True)
class QueueEntry:
    request_id: int
    client_id: int
    service: str
    notified: int | None


@dataclass(frozen=True)
class QueueChange:
    request_id: int
    client_id: int
    position: int
    notified: int | None


def queue_changes(entries: list[QueueEntry]) -> list[QueueChange]:
    """Positions from queue order (entries sorted by service, then submission), then what to
    tell of them (`to_tell`)."""
    moved: list[QueueChange] = []
    counters: dict[str, int] = {}
    for entry in entries:
        position = counters.get(entry.service, 0) + 1
        counters[entry.service] = position
        if position != entry.notified:
            moved.append(QueueChange(entry.request_id, entry.client_id, position, entry.notified))
    return to_tell(moved)


def to_tell(moved: list[QueueChange]) -> list[QueueChange]:
    """The requests whose position differs from the one last told (in queue order), at most one
    change to tell per client per sweep: several of a client's requests moving say one thing at
    a time (the others are told on the next sweeps, within the day's allowance)."""
    seen_clients: set[int] = set()
    changes: list[QueueChange] = []
    for change in moved:
        if change.notified is not None:  # a first position is only recorded: not coalesced
            if change.client_id in seen_clients:
                continue
            seen_clients.add(change.client_id)
        changes.append(change)
    return changes


def local_day(now: datetime, timezone: str) -> tuple[date, datetime, datetime]:
    """Today in `timezone`, as a date and its [start, end) in UTC."""
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    start = datetime.combine(today, time(0), zone)
    end = datetime.combine(today + timedelta(days=1), time(0), zone)
    return today, start.astimezone(now.tzinfo), end.astimezone(now.tzinfo)


# How late a morning digest may still go out (the service was down at the hour): after that the
# day's digest is skipped, so a start-up at 15:17 posts no «Доброе утро».
DIGEST_LATE_HOURS = 2


def digest_due(now: datetime, timezone: str, hour: int) -> date | None:
    """The local date whose morning digest is due: from `hour` o'clock for DIGEST_LATE_HOURS."""
    local = now.astimezone(ZoneInfo(timezone))
    return local.date() if hour <= local.hour < hour + DIGEST_LATE_HOURS else None
