"""(4) A big practice: 100,000 open requests in the queue and 100,000 pending call reminders.

    /tmp/v/bin/python -m bench.bigqueue [--requests 100000] [--reminders 100000] [--databases sqlite,postgres]
                                        [--repeat 30] [--explain]

For each database, on a fresh one migrated by Alembic:
- seeds (bench/seed.py, bulk Core inserts): `--requests` clients with a paid planned reading in
  the queue, submitted a second apart; `--reminders` more clients, each with a planned call
  booked in the future (from two days ahead, one every 10 minutes): a reminder pending for
  each. So the database holds requests + reminders open requests. On PostgreSQL the tables
  are then VACUUM ANALYZEd, as autovacuum does after a bulk load; SQLite is used as the
  service leaves it (no ANALYZE).
- measures in this process, with the service's own classes, p50 / p99 over `--repeat` calls:
  * the position query alone (storage/requests.py `position`) for the last client in the
    queue (every other request is ahead of it), the middle one and the first;
  * the client's position and ETA as the desk reads them for every message: the client view
    (storage/client_state.load_client_view), the queue lengths and queue_stats, then
    flows/queue.estimate — for the last client;
  * the desk's whole answer to that client's «где мой расклад?» (bot/desk.py, one transaction);
  * `/queue` from her Telegram account through the command shell (bot/practice.py), first page;
  * one push sweep (bot/pushes.py: the scheduler runs it every 30 s), nothing to push.
  * `/next` through the command shell: the first queued request taken into work (it stays
    open, so no position moves), its client told.
- starts the service (`bench.app:create` under uvicorn, background work on, Telegram webhook
  mode against the Bot API double) on that database and on an empty one: start-up time (spawn
  to the first 200 from /healthz) and RSS when up and 10 s later (the start-up sweep has run).
Target: a client's position ≤ 10 ms.
"""

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench import seed
from bench.idle_rss import rss_mb
from bench.ingest import PUBLIC, SECRET, Server, drop_postgres_database, free_port, new_postgres_database
from bot.catalogue_file import load_catalogue
from bot.desk import Desk
from bot.overrides.source import SettingsSource
from bot.practice import CommandInput, Practice
from bot.pushes import Pushes
from bot.settings import Settings
from bot.texts import Texts
from flows.language.understanding import trained
from flows.model import Channel, Inbound
from flows.queue import estimate
from storage.client_state import load_client_view, queue_stats
from storage.engine import make_engine, session_factory, upgrade
from storage.uow import UnitOfWork, ensure_practitioner
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

ROOT = Path(__file__).resolve().parent.parent
HER = "7000"
FIRST_CHAT = 10_000_000
READING, CALL = "planned_reading", "planned_call"


async def timed(call: Callable[[], Awaitable[object]], repeat: int) -> list[float]:
    await call()  # warm: statement caches, the first pages
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await call()
        times.append(time.perf_counter() - started)
    return times


def fmt(times: list[float]) -> str:
    return f"{1000 * seed.percentile(times, 50):.1f} / {1000 * seed.percentile(times, 99):.1f}"


async def populate(engine: AsyncEngine, requests: int, reminders: int) -> tuple[int, list[int]]:
    """Returns the practitioner and the queue's request ids in queue order."""
    await upgrade(engine)
    sessions = session_factory(engine)
    now = seed.utc_now()
    pid = await ensure_practitioner(sessions, "default", "Практик", now)
    readers = await seed.clients(engine, pid, requests, FIRST_CHAT, now)
    queue = await seed.requests(engine, pid, readers, READING, now)
    callers = await seed.clients(engine, pid, reminders, FIRST_CHAT + requests, now)
    calls = await seed.requests(engine, pid, callers, CALL, now)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    await seed.bookings(engine, pid, list(zip(calls, callers, strict=True)), start, timedelta(minutes=10), now)
    if engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.execute(text("VACUUM ANALYZE"))
    return pid, queue


async def explain(engine: AsyncEngine, sessions, pid: int, request_id: int) -> str:  # noqa: ANN001
    """The plan of the very statement storage/requests.py `position` runs (caught on its way out)."""
    caught: list[tuple[str, object]] = []

    def catch(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        caught.append((statement, parameters))

    async with UnitOfWork(sessions, pid) as uow:
        request = await uow.requests.get(request_id)
        assert request is not None
        event.listen(engine.sync_engine, "before_cursor_execute", catch)
        try:
            await uow.requests.position(request)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", catch)
    statement, parameters = caught[-1]
    prefix = "EXPLAIN (ANALYZE, BUFFERS) " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
    async with engine.connect() as connection:
        rows = await connection.exec_driver_sql(prefix + statement, parameters)  # type: ignore[arg-type]
        return "\n".join("    " + " ".join(str(c) for c in row) for row in rows)


async def in_process(url: str, requests: int, reminders: int, repeat: int, show_plan: bool) -> list[str]:
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    engine = make_engine(url)
    lines: list[str] = []
    try:
        started = time.perf_counter()
        pid, queue = await populate(engine, requests, reminders)
        lines.append(f"seeded in {time.perf_counter() - started:.1f} s")
        sessions = session_factory(engine)
        catalogue = load_catalogue(settings.catalogue_path, settings.timezone)
        texts = Texts(ROOT / "locales")
        tz = settings.timezone
        services = [s.key for s in catalogue.services]

        async def position_of(request_id: int) -> list[float]:
            async with UnitOfWork(sessions, pid) as uow:
                request = await uow.requests.get(request_id)
                assert request is not None
                found: list[int | None] = []

                async def one() -> None:
                    found.append(await uow.requests.position(request))

                times = await timed(one, repeat)
            assert found[-1] == queue.index(request_id) + 1, (found[-1], request_id)
            return times

        last, middle, first = queue[-1], queue[len(queue) // 2], queue[0]
        for label, request_id in (("last", last), ("middle", middle), ("first", first)):
            lines.append(f"position query, {label} in the queue: p50 / p99 {fmt(await position_of(request_id))} ms")
        if show_plan:
            lines.append("plan of the position query (last client):\n" + await explain(engine, sessions, pid, last))

        async def client_view() -> None:
            async with UnitOfWork(sessions, pid) as uow:
                request = await uow.requests.get(last)
                assert request is not None
                client = await uow.clients.get(request.client_id)
                assert client is not None
                now = seed.utc_now()
                view = await load_client_view(uow, client, now, False)
                await uow.requests.queue_lengths()
                stats = await queue_stats(uow, services, now)
                service = catalogue.get(READING)
                assert service is not None and view.requests[0].position == len(queue)
                estimate(service, view.requests[0].position, now, stats)

        view_times = await timed(client_view, repeat)
        lines.append(f"client view + queue lengths + ETA (last client): p50 / p99 {fmt(view_times)} ms")

        desk = Desk(
            sessions=sessions, practitioner_id=pid, catalogue=catalogue, texts=texts, timezone=tz, clock=seed.utc_now,
            understander=trained(),
        )
        asked = iter(range(10**9))

        async def where_is_mine() -> None:
            n = next(asked)
            await desk.handle(
                Inbound(
                    channel=Channel.TELEGRAM,
                    external_id=f"bench-{n}",
                    sender_ref=str(FIRST_CHAT + requests - 1),
                    sender_name="Клиент",
                    text="где мой расклад?",
                    received_at=seed.utc_now(),
                )
            )

        lines.append(
            f"desk answer to «где мой расклад?» (last client): p50 / p99 {fmt(await timed(where_is_mine, repeat))} ms"
        )

        practice = Practice(
            sessions=sessions,
            practitioner_id=pid,
            catalogue=catalogue,
            texts=texts,
            timezone=tz,
            clock=seed.utc_now,
            overrides=SettingsSource(catalogue, texts),
        )
        await practice.set_accounts([("telegram", HER)])

        async def queue_command() -> None:
            result = await practice.run(CommandInput("telegram", HER, "/queue"))
            assert result.allowed and not result.error

        few = max(3, repeat // 10)
        lines.append(
            f"/queue through bot/practice.py: p50 / p99 {fmt(await timed(queue_command, few))} ms ({few} calls)"
        )

        pushes = Pushes(
            sessions=sessions,
            practitioner_id=pid,
            catalogue=catalogue,
            texts=texts,
            timezone=tz,
            clock=seed.utc_now,
            digest_hour=None,
        )
        sweeps: list[int] = []

        async def sweep() -> None:
            sweeps.append(await pushes.sweep())

        lines.append(
            f"push sweep (nothing due): p50 / p99 {fmt(await timed(sweep, 3))} ms (3 sweeps; queued {sum(sweeps)})"
        )

        async def next_command() -> None:
            result = await practice.run(CommandInput("telegram", HER, "/next"))
            assert result.allowed and not result.error

        lines.append(f"/next through bot/practice.py: p50 / p99 {fmt(await timed(next_command, few))} ms ({few} calls)")
    finally:
        await engine.dispose()
    return lines


async def boot(env: dict[str, str]) -> tuple[Server, float]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.app:create",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        while time.perf_counter() - started < 300:
            if process.poll() is not None:
                raise RuntimeError(f"the service exited with {process.returncode}")
            try:
                async with http.get(base + "/healthz") as response:
                    if response.status == 200:
                        return Server(process, base), time.perf_counter() - started
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    process.kill()
    raise RuntimeError("the service did not start within 300 s")


async def service(url: str, api: TelegramBotAPI) -> tuple[float, float, float]:
    """Start-up seconds, RSS MB when up, RSS MB 10 s later."""
    env = {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_SERVER": api.base_url,
        "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "PUBLIC_BASE_URL": PUBLIC,
        "PRACTITIONER_TELEGRAM_IDS": HER,
        "DASHBOARD_PASSWORD": "bench-password",
        "LOG_LEVEL": "WARNING",
        "BENCH_BACKGROUND": "1",
        "PYTHONPATH": str(ROOT),
    }
    server, seconds = await boot(env)
    try:
        up = rss_mb(server.process.pid)
        await asyncio.sleep(10)
        return seconds, up, rss_mb(server.process.pid)
    finally:
        server.stop()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--explain", action="store_true", help="print the position query's plan")
    args = parser.parse_args()
    print(f"machine: {seed.machine()}")
    api = TelegramBotAPI()
    await api.start()
    try:
        for database in args.databases.split(","):
            print(
                f"\n## {database}: {args.requests:,} requests in the queue, {args.reminders:,} booked calls "
                f"(reminders pending)",
                flush=True,
            )
            with tempfile.TemporaryDirectory() as tmp:
                names = [f"priem_bigqueue_{os.getpid()}", f"priem_bigqueue_empty_{os.getpid()}"]
                if database == "postgres":
                    url, empty = [await new_postgres_database(name) for name in names]
                else:
                    url, empty = f"sqlite+aiosqlite:///{tmp}/big.db", f"sqlite+aiosqlite:///{tmp}/empty.db"
                try:
                    for line in await in_process(url, args.requests, args.reminders, args.repeat, args.explain):
                        print(f"- {line}", flush=True)
                    engine = make_engine(empty)
                    await upgrade(engine)
                    await engine.dispose()
                    base_s, base_up, base_later = await service(empty, api)
                    big_s, big_up, big_later = await service(url, api)
                    print(
                        f"- start-up (spawn → /healthz 200): {big_s:.2f} s; empty database {base_s:.2f} s "
                        f"({big_s / base_s:.1f}×)"
                    )
                    print(
                        f"- RSS when up / 10 s later: {big_up:.0f} / {big_later:.0f} MB; empty database "
                        f"{base_up:.0f} / {base_later:.0f} MB ({big_later / base_later:.2f}×)",
                        flush=True,
                    )
                finally:
                    if database == "postgres":
                        for name in names:
                            await drop_postgres_database(name)
    finally:
        await api.stop()
    print(f"\nmachine after: {seed.machine()}")


if __name__ == "__main__":
    asyncio.run(main())
