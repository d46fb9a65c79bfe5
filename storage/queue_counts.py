"""The queue as counts: open requests per service and day, hour and minute of submission.

A position used to be a count of every open request ahead (linear in the queue: 10 ms at 100,000
on SQLite, bench/bigqueue.py). With these counts it is the sum of the day rows before the
request's day, the hour rows of its day before its hour, the minute rows of its hour before its
minute (at most days + 24 + 60 rows), plus an index count of the requests ahead within its own
minute; queue lengths are the sum of the day rows. Both stay small however long the queue.

The counts change only with a request's membership of the queue — an open stage (OPEN), under
its service, at its submission time — and only in RequestRepo.change_stage, in the transaction
that changes the request. Each change is one atomic upsert (`n = n + delta`, never a value read
and written back), so concurrent workers on PostgreSQL cannot lose an update; rows that fall to
zero are deleted, so the tables hold only what is queued.
"""

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import QueueCount, Request

OPEN = ("submitted", "queued", "in_work")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MINUTE, HOUR, DAY = 0, 1, 2
# Open requests with no submission time (none today: every way into an open stage passes through
# "submitted"): part of the queue lengths, never ahead of anyone. One row per service, bucket 0.
UNSUBMITTED = 3
SECONDS = {MINUTE: 60, HOUR: 3600, DAY: 86400}

# (practitioner, level, service, bucket): one row of queue_counts.
Key = tuple[int, int, str, int]
# What puts a request in the queue: (practitioner, service, submitted_at); None when it is not open.
Member = tuple[int, str, datetime | None]


def member(request: Request) -> Member | None:
    """Where this request counts, from its attributes as they are about to be written."""
    if request.stage not in OPEN:
        return None
    return request.practitioner_id, request.service, request.submitted_at


def bucket(at: datetime, level: int) -> int:
    return (at - EPOCH) // timedelta(seconds=SECONDS[level])


def keys(pid: int, service: str, submitted_at: datetime | None) -> list[Key]:
    """The rows one queued request counts in, coarsest first (one lock order for every writer)."""
    if submitted_at is None:
        return [(pid, UNSUBMITTED, service, 0)]
    return [(pid, level, service, bucket(submitted_at, level)) for level in (DAY, HOUR, MINUTE)]


def tally(members: Iterable[Member]) -> Counter[Key]:
    """Every row from scratch, for a set of queued requests (a recount; bench seeding, tests)."""
    counts: Counter[Key] = Counter()
    for pid, service, submitted_at in members:
        counts.update(keys(pid, service, submitted_at))
    return counts


async def shift(session: AsyncSession, key_rows: list[Key], delta: int) -> None:
    """Add `delta` to these rows in one statement, creating them at `delta`, then drop the ones
    that fell to zero."""
    await _add(session, {key: delta for key in key_rows})
    if delta < 0:
        await session.execute(
            delete(QueueCount)
            .where(QueueCount.n == 0, or_(*(_is(key) for key in key_rows)))
            .execution_options(synchronize_session=False)
        )


async def _add(session: AsyncSession, deltas: dict[Key, int]) -> None:
    if not deltas:
        return
    rows = [
        {"practitioner_id": pid, "level": level, "service": service, "bucket": at, "n": n}
        for (pid, level, service, at), n in deltas.items()
    ]
    # The one dialect difference: both spell INSERT … ON CONFLICT DO UPDATE alike, but SQLAlchemy
    # builds it per dialect.
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(QueueCount).values(rows)
    await session.execute(
        insert.on_conflict_do_update(
            index_elements=[QueueCount.practitioner_id, QueueCount.level, QueueCount.service, QueueCount.bucket],
            set_={"n": QueueCount.n + insert.excluded.n},
        )
    )


def _is(key: Key) -> ColumnElement[bool]:
    pid, level, service, at = key
    return and_(
        QueueCount.practitioner_id == pid,
        QueueCount.level == level,
        QueueCount.service == service,
        QueueCount.bucket == at,
    )


def _sum(pid: int, service: str, level: int, start: int | None, end: int) -> ColumnElement[int]:
    """Requests of the service counted at `level` in buckets [start, end): one range of the key."""
    query = select(func.coalesce(func.sum(QueueCount.n), 0)).where(
        QueueCount.practitioner_id == pid,
        QueueCount.level == level,
        QueueCount.service == service,
        QueueCount.bucket < end,
    )
    if start is not None:
        query = query.where(QueueCount.bucket >= start)
    return query.scalar_subquery()


def ahead(pid: int, service: str, submitted_at: datetime) -> ColumnElement[int]:
    """Queued requests of the service submitted in whole minutes before `submitted_at`'s minute."""
    day, hour, minute = (bucket(submitted_at, level) for level in (DAY, HOUR, MINUTE))
    return (
        _sum(pid, service, DAY, None, day)
        + _sum(pid, service, HOUR, day * 24, hour)
        + _sum(pid, service, MINUTE, hour * 60, minute)
    )


def minute_start(submitted_at: datetime) -> datetime:
    return EPOCH + timedelta(minutes=bucket(submitted_at, MINUTE))


async def lengths(session: AsyncSession, pid: int) -> dict[str, int]:
    """Open requests per service (services with none left out)."""
    rows = await session.execute(
        select(QueueCount.service, func.sum(QueueCount.n))
        .where(QueueCount.practitioner_id == pid, QueueCount.level.in_((DAY, UNSUBMITTED)))
        .group_by(QueueCount.service)
    )
    return {service: int(n) for service, n in rows if n}


async def stored(session: AsyncSession, pid: int) -> Counter[Key]:
    rows = await session.execute(
        select(QueueCount.practitioner_id, QueueCount.level, QueueCount.service, QueueCount.bucket, QueueCount.n).where(
            QueueCount.practitioner_id == pid
        )
    )
    return Counter({(p, level, service, at): n for p, level, service, at, n in rows})


async def recount(session: AsyncSession, pid: int) -> Counter[Key]:
    """What the rows must be, counted afresh from the open requests."""
    rows = await session.execute(
        select(Request.practitioner_id, Request.service, Request.submitted_at).where(
            Request.practitioner_id == pid, Request.stage.in_(OPEN)
        )
    )
    return tally((p, service, at) for p, service, at in rows)


async def rebuild(session: AsyncSession, pid: int) -> None:
    """Replace the practitioner's rows by a recount: for rows written around RequestRepo (bench
    seeding's bulk inserts). The service never needs it."""
    fresh = await recount(session, pid)
    await session.execute(delete(QueueCount).where(QueueCount.practitioner_id == pid))
    counts = list(fresh.items())
    for start in range(0, len(counts), 2000):
        await _add(session, dict(counts[start : start + 2000]))
