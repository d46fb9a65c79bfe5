"""(2) Queue-update fan-out against a Bot API double that enforces Telegram's flood limits.

    /tmp/v/bin/python -m bench.fanout [--sizes 1000,10000] [--setups sqlite:1,postgres:1,postgres:2]

For each setup (database : relay processes) and size N, on a fresh database:
1. N + 1 Telegram clients with a queued planned reading each (bulk-inserted, bench/seed.py),
   every one already told its position; then the first request is marked done through
   storage/ and one push sweep (bot/pushes.py, the service's own decision path) queues the N
   queue updates: real outbox rows at bulk priority, with their history rows (bot/notify.py).
2. The Bot API double (tests/fakes/telegram_api.py) runs in this process and enforces 30 msg/s
   overall and 1 msg/s per chat (429 with retry_after 1), forgiving 50 ms of transit jitter per
   chat as tests/integration/test_relay_real_limits.py does; each send takes 20 ms to answer.
3. 1 or 2 relay processes (bench/relay_worker.py: the real relay, aiogram sender and default
   rates, 28/s and 1/s per chat; with PostgreSQL the buckets are shared in Redis) drain the
   outbox until nothing is pending or sending.

Printed per run: how long the sweep took to queue N updates; the achieved rate between the
first and the last accepted send, ÷ the double's 30 msg/s limit (target ≥ 90%) and ÷ the
relay's 28 msg/s setting; the most sends accepted in any one second; 429s (target 0); chats
that got no message (lost) or one more than once (duplicated) (target 0); outbox rows left in
a state other than `sent`; what each relay process handed to its sender.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench import seed
from bench.ingest import drop_postgres_database, new_postgres_database
from bot.settings import Settings
from flows.model import Priority
from storage.engine import make_engine, session_factory, upgrade
from storage.models import OutboxItem
from storage.uow import UnitOfWork, ensure_practitioner
from tests.fakes.telegram_api import TelegramBotAPI

ROOT = Path(__file__).resolve().parent.parent
FIRST_CHAT = 1_000_000
LIMIT = 30  # the double's msg/s, Telegram's
SLACK = 0.05  # per-chat transit jitter the double forgives (tests/fakes/telegram_api.py)
RATE_ENV = ("TELEGRAM_RATE_PER_SECOND", "TELEGRAM_CHAT_RATE_PER_SECOND", "TWILIO_MPS")
SERVICE = "planned_reading"


@dataclass
class Run:
    database: str
    relays: int
    clients: int
    sweep_seconds: float
    queued: int
    drain_seconds: float  # from starting the relay processes until the last accepted send
    rate: float  # accepted sends per second, first to last
    peak: int  # most accepted sends in any one second
    too_many: int
    refused_by: dict[str, int]  # the 429s by the double's limit: overall / chat
    lost: int
    duplicated: int
    not_sent: dict[str, int]
    per_process: list[int]
    relay_rate: int


async def queue_update(url: str, clients: int, move: bool = True) -> tuple[int, float]:
    """Seeds N + 1 queued requests and lets the push sweep queue the N updates; (queued, seconds).
    `move=False`: the same clients and queue, but nobody moves, so nothing is queued."""
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = seed.utc_now()
        pid = await ensure_practitioner(sessions, "default", "Практик", now)
        ids = await seed.clients(engine, pid, clients + 1, FIRST_CHAT - 1, now)
        requests = await seed.requests(engine, pid, ids, SERVICE, now)
        if not move:
            return 0, 0.0
        async with UnitOfWork(sessions, pid) as uow:
            first = await uow.requests.get(requests[0])
            assert first is not None
            await uow.requests.change_stage(first, "done", now)
            await uow.commit()
        queued, seconds = await seed.timed_sweep(sessions, pid, settings)
        async with sessions() as session:
            bulk = list(await session.scalars(select(OutboxItem.priority).where(OutboxItem.state == "pending")))
        assert queued == clients and bulk == [Priority.BULK] * clients, (queued, Counter(bulk))
        return queued, seconds
    finally:
        await engine.dispose()


async def states(url: str) -> Counter[str]:
    engine = make_engine(url)
    try:
        async with session_factory(engine)() as session:
            return Counter((await session.scalars(select(OutboxItem.state))).all())
    finally:
        await engine.dispose()


def peak_per_second(times: list[float]) -> int:
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


async def drain(url: str, relays: int, redis_url: str | None, clients: int) -> tuple[TelegramBotAPI, float, list[int]]:
    api = TelegramBotAPI()
    api.enforce_limits(overall=LIMIT, per_chat=1, slack=SLACK)
    api.latency = 0.02  # a round trip to the Bot API, roughly
    await api.start()
    env = {k: v for k, v in os.environ.items() if k not in RATE_ENV}
    env["PYTHONPATH"] = str(ROOT)
    started = time.monotonic()
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.relay_worker",
            url,
            api.base_url,
            redis_url or "",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(relays)
    ]
    cap = 120 + clients / 10  # 3 × the ideal time at 30/s, and the start-up: only a hung relay reaches it
    try:
        outputs = [await asyncio.wait_for(w.communicate(), timeout=cap) for w in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
        await api.stop()
    per_process = []
    for worker, (out, err) in zip(workers, outputs, strict=True):
        if worker.returncode != 0:
            raise RuntimeError(f"relay process failed:\n{err.decode()[-3000:]}")
        per_process.append(json.loads(out.decode().strip().splitlines()[-1])["sent"])
    return api, started, per_process


async def one(database: str, relays: int, clients: int) -> Run:
    name = f"priem_fanout_{os.getpid()}"
    with tempfile.TemporaryDirectory() as tmp:
        url = await new_postgres_database(name) if database == "postgres" else f"sqlite+aiosqlite:///{tmp}/fanout.db"
        redis_url = seed.REDIS_URL if database == "postgres" else None
        try:
            if redis_url:
                await seed.flush_redis(redis_url)
            queued, sweep_seconds = await queue_update(url, clients)
            api, started, per_process = await drain(url, relays, redis_url, clients)
            left = await states(url)
        finally:
            if database == "postgres":
                await drop_postgres_database(name)
    sent = Counter(p["chat_id"] for p in api.sent())
    times = [t for t, _ in api.arrivals]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0
    return Run(
        database=database,
        relays=relays,
        clients=clients,
        sweep_seconds=sweep_seconds,
        queued=queued,
        drain_seconds=(times[-1] - started) if times else float("nan"),
        rate=rate,
        peak=peak_per_second(times),
        too_many=api.too_many,
        refused_by=dict(api.refused_by),
        lost=sum(1 for n in range(clients) if FIRST_CHAT + n not in sent),
        duplicated=sum(count - 1 for count in sent.values() if count > 1),
        not_sent={state: n for state, n in left.items() if state != "sent"},
        per_process=per_process,
        relay_rate=Settings(_env_file=None).telegram_rate_per_second,  # type: ignore[call-arg]
    )


def _kinds(refused_by: dict[str, int]) -> str:
    return f" ({', '.join(f'{kind} {n}' for kind, n in sorted(refused_by.items()))})" if refused_by else ""


def row(run: Run) -> str:
    return (
        f"| {run.database} | {run.relays} | {run.clients:,} "
        f"| {run.sweep_seconds:.1f} ({run.queued / run.sweep_seconds:.0f}/s) "
        f"| {run.drain_seconds:.1f} | {run.rate:.1f} | {100 * run.rate / LIMIT:.1f}% | "
        f"{100 * run.rate / run.relay_rate:.1f}% | {run.peak} | {run.too_many}{_kinds(run.refused_by)} | "
        f"{run.lost} | {run.duplicated} | "
        f"{run.not_sent or 0} | {' + '.join(str(n) for n in run.per_process)} |"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--setups", default="sqlite:1,postgres:1,postgres:2", help="database:relay processes, …")
    args = parser.parse_args()
    for name in RATE_ENV:
        os.environ.pop(name, None)  # the defaults are what is measured
    print(f"machine: {seed.machine()}")
    print(
        "| database | relays | clients | sweep s (updates/s) | drain s | achieved msg/s | ÷ 30 limit | ÷ 28 setting "
        "| most in 1 s | 429s | lost | duplicated | rows not sent | handed per relay |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        for setup in args.setups.split(","):
            database, relays = setup.split(":")
            print(row(await one(database, int(relays), size)), flush=True)
    print(f"machine after: {seed.machine()}")


if __name__ == "__main__":
    asyncio.run(main())
