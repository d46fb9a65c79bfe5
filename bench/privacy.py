"""How long erasure takes: one /forget, and a RETENTION_DAYS pass over a practice's history.

    /tmp/v/bin/python -m bench.privacy [--clients 500] [--messages 100] [--databases sqlite,postgres]

Loads `clients` clients with `messages` messages each (half answered through the outbox), one
request with three questions each (every fifth still open), then times storage/privacy.py as the
shell runs it: `forget` of one client in one transaction, `erase_before` over everything, and a
second `erase_before` that finds nothing left (the hourly pass once caught up). PostgreSQL gets an
ANALYZE after the load, as autovacuum would give it.
"""

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

from bench.ingest import drop_postgres_database, new_postgres_database
from storage import queue_counts
from storage.engine import make_engine, session_factory, upgrade
from storage.models import Client, Identity, Message, OutboxItem, Question, Request
from storage.uow import UnitOfWork, ensure_practitioner

START = datetime(2026, 1, 1, tzinfo=UTC)
BATCH = 5000


async def load(url: str, clients: int, messages: int) -> int:
    engine = make_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    pid = await ensure_practitioner(sessions, "default", "bench", START)
    ids = range(1, clients + 1)
    async with sessions() as session:
        client = {"practitioner_id": pid, "language": "ru", "timezone": "Europe/Moscow", "step": "idle"}
        await session.execute(insert(Client), [{**client, "display_name": f"c{i}", "created_at": START} for i in ids])
        await session.execute(
            insert(Identity),
            [
                {"practitioner_id": pid, "client_id": c, "channel": "web", "address": f"k{c}", "created_at": START}
                for c in ids
            ],
        )
        await session.execute(
            insert(Request),
            [
                {
                    "practitioner_id": pid,
                    "client_id": c,
                    "service": "planned_reading",
                    "stage": "queued" if c % 5 == 0 else "done",
                    "is_emergency": False,
                    "payment_state": "paid",
                    "created_at": START,
                    "submitted_at": START,
                    "done_at": None if c % 5 == 0 else START + timedelta(days=5),
                }
                for c in ids
            ],
        )
        await session.execute(
            insert(Question),
            [
                {"practitioner_id": pid, "request_id": c, "text": "вопрос " * 10, "created_at": START}
                for c in ids
                for _ in range(3)
            ],
        )
        rows = [
            {
                "practitioner_id": pid,
                "client_id": c,
                "direction": "in" if j % 2 else "out",
                "channel": "web",
                "kind": "text",
                "text": "текст сообщения " * 8,
                "external_id": f"{c}-{j}",
                "created_at": START + timedelta(minutes=j),
            }
            for c in ids
            for j in range(messages)
        ]
        for i in range(0, len(rows), BATCH):
            await session.execute(insert(Message), rows[i : i + BATCH])
        sent = [
            {
                "practitioner_id": pid,
                "channel": "web",
                "destination": f"k{c}",
                "priority": 1,
                "text": "ответ " * 8,
                "idempotency_key": f"bench:{c}:{j}",
                "state": "sent",
                "attempts": 1,
                "next_attempt_at": START,
                "created_at": START,
            }
            for c in ids
            for j in range(messages // 2)
        ]
        for i in range(0, len(sent), BATCH):
            await session.execute(insert(OutboxItem), sent[i : i + BATCH])
        await queue_counts.rebuild(session, pid)  # the queue's counts, as RequestRepo would keep them
        await session.commit()
    if url.startswith("postgresql"):
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("ANALYZE"))
    await engine.dispose()
    return pid


async def timed(url: str, pid: int) -> list[tuple[str, float, object]]:
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = START + timedelta(days=100)
    found: list[tuple[str, float, object]] = []
    try:
        async with UnitOfWork(sessions, pid) as uow:
            begun = time.perf_counter()
            erased = await uow.privacy.forget(7, now, timezone="Europe/Moscow", spare_key="forget:7")
            await uow.commit()
            found.append(("forget one client", time.perf_counter() - begun, erased))
        for label in ("retention pass", "retention pass again"):
            async with UnitOfWork(sessions, pid) as uow:
                begun = time.perf_counter()
                retained = await uow.privacy.erase_before(now - timedelta(days=30), now)
                await uow.commit()
                found.append((label, time.perf_counter() - begun, retained))
    finally:
        await engine.dispose()
    return found


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    for database in args.databases.split(","):
        with tempfile.TemporaryDirectory() as folder:
            name = "priem_bench_privacy"
            if database == "postgres":
                url = await new_postgres_database(name)
            else:
                url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            try:
                pid = await load(url, args.clients, args.messages)
                for label, seconds, result in await timed(url, pid):
                    total = args.clients * args.messages
                    print(f"{database:8} {total:>7} messages  {label:22} {seconds * 1000:7.0f} ms  {result}")
            finally:
                if database == "postgres":
                    await drop_postgres_database(name)


if __name__ == "__main__":
    asyncio.run(main())
