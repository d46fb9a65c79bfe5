"""Bulk seeding for the benchmarks: many clients, queued requests and booked calls, written
with SQLAlchemy Core (executemany, RETURNING the ids) in a few large transactions.

Bench-only: the service never writes like this (storage/ owns its statements, one unit of work
per message). The rows are the ones storage/ would write (the queue counts recounted after the
requests), minus the history a real client leaves behind (messages, stage events), which the
measured queries do not read.
Ids come back from the database (RETURNING), so the PostgreSQL sequences stay right for the
rows the service inserts afterwards.
"""

import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.catalogue_file import load_catalogue
from bot.pushes import Pushes
from bot.settings import Settings
from bot.texts import Texts
from storage import queue_counts
from storage.engine import session_factory
from storage.models import Booking, Client, Identity, Request

BATCH = 5000
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")  # the bench's own db


async def timed_sweep(sessions: async_sessionmaker[AsyncSession], pid: int, settings: Settings) -> tuple[int, float]:
    """One push sweep of the service's own (bot/pushes.py) for practitioner `pid`: how many
    messages it queued, and in how many seconds."""
    pushes = Pushes(
        sessions=sessions,
        practitioner_id=pid,
        catalogue=load_catalogue(settings.catalogue_path, settings.timezone),
        texts=Texts(Path(__file__).resolve().parent.parent / "locales"),
        timezone=settings.timezone,
        clock=utc_now,
        digest_hour=None,
    )
    started = time.perf_counter()
    queued = await pushes.sweep()
    return queued, time.perf_counter() - started


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _returning(engine: AsyncEngine, table, rows: Sequence[dict]) -> list[int]:  # noqa: ANN001
    ids: list[int] = []
    async with engine.begin() as connection:
        for start in range(0, len(rows), BATCH):
            result = await connection.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows[start : start + BATCH]
            )
            ids += [row[0] for row in result]
    return ids


async def clients(engine: AsyncEngine, pid: int, count: int, first_chat: int, now: datetime) -> list[int]:
    """`count` Telegram clients, chat ids first_chat, first_chat + 1, …; returns their ids in that order."""
    ids = await _returning(
        engine,
        Client.__table__,
        [
            {
                "practitioner_id": pid,
                "display_name": f"Клиент {n}",
                "language": "ru",
                "timezone": "Europe/Moscow",
                "step": "idle",
                "created_at": now,
            }
            for n in range(count)
        ],
    )
    await _returning(
        engine,
        Identity.__table__,
        [
            {
                "practitioner_id": pid,
                "client_id": client_id,
                "channel": "telegram",
                "address": str(first_chat + n),
                "created_at": now,
            }
            for n, client_id in enumerate(ids)
        ],
    )
    return ids


async def requests(
    engine: AsyncEngine,
    pid: int,
    client_ids: Sequence[int],
    service: str,
    now: datetime,
    *,
    stage: str = "queued",
    first_submitted: datetime | None = None,
) -> list[int]:
    """One open request per client, submitted a second apart in client order. Each has been
    told its current position (notified_position), so the push sweep finds nothing to say
    until the queue moves."""
    first = first_submitted or now - timedelta(seconds=len(client_ids) + 60)
    ids = await _returning(
        engine,
        Request.__table__,
        [
            {
                "practitioner_id": pid,
                "client_id": client_id,
                "service": service,
                "stage": stage,
                "is_emergency": False,
                "payment_state": "paid",
                "created_at": first + timedelta(seconds=n),
                "submitted_at": first + timedelta(seconds=n),
                "paid_at": first + timedelta(seconds=n),
                "notified_position": n + 1,
            }
            for n, client_id in enumerate(client_ids)
        ],
    )
    # The queue's counts (storage/queue_counts.py), which RequestRepo keeps as it writes requests.
    async with session_factory(engine)() as session:
        await queue_counts.rebuild(session, pid)
        await session.commit()
    return ids


async def bookings(
    engine: AsyncEngine,
    pid: int,
    requests_and_clients: Sequence[tuple[int, int]],
    first_start: datetime,
    spacing: timedelta,
    now: datetime,
) -> list[int]:
    """A booked call per (request, client), one slot every `spacing` from first_start: each a
    pending reminder (24 h and 1 h before its start)."""
    return await _returning(
        engine,
        Booking.__table__,
        [
            {
                "practitioner_id": pid,
                "request_id": request_id,
                "client_id": client_id,
                "starts_at": first_start + n * spacing,
                "minutes": 60,
                "state": "booked",
                "created_at": now,
            }
            for n, (request_id, client_id) in enumerate(requests_and_clients)
        ],
    )


async def flush_redis(url: str) -> None:
    """The bench's Redis database emptied: no rate window left over from a previous run."""
    from redis import asyncio as aioredis

    client = aioredis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def percentile(values: Sequence[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def machine() -> str:
    load = os.getloadavg()
    return f"nproc {os.cpu_count()}, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)"
