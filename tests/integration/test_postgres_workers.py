"""Two worker processes on one PostgreSQL outbox: every message once, in order per chat.

Real processes (tests/integration/relay_worker.py), each with its own engine and OutboxRelay,
drain 300 rows (30 chats × 10) against a recording HTTP sink in this process; with Redis
reachable they share the send-rate bucket there. The sink answers nobody until both processes
have sent something, so the run really is concurrent.
"""

import asyncio
import contextlib
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import select

from storage.engine import make_engine, session_factory
from storage.models import OutboxItem
from storage.uow import UnitOfWork, ensure_practitioner
from tests import database
from tests.database import REDIS_URL, redis_reachable

ROOT = Path(__file__).resolve().parents[2]
CHATS, PER_CHAT = 30, 10

pytestmark = pytest.mark.skipif(
    not database.reachable_now(), reason=f"PostgreSQL not reachable at {database.ADMIN_URL}"
)


class Sink:
    """Records every send in arrival order; holds answers until `workers` processes have called."""

    def __init__(self, workers: int) -> None:
        self.received: list[tuple[int, str, str]] = []
        self.both = asyncio.Event()
        self.workers = workers

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((body["pid"], body["destination"], body["text"]))
        if len({pid for pid, _, _ in self.received}) >= self.workers:
            self.both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.both.wait(), timeout=10)
        return web.json_response({"ok": True, "id": len(self.received)})


@contextlib.asynccontextmanager
async def serve(sink: Sink) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/send", sink.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/send"
    finally:
        await runner.cleanup()


async def seed(url: str) -> None:
    engine = make_engine(url)
    sessions = session_factory(engine)
    now = datetime.now(UTC) - timedelta(minutes=1)
    pid = await ensure_practitioner(sessions, "default", "Практик", now)
    async with UnitOfWork(sessions, pid) as uow:
        # Interleaved, as a fan-out writes them: chat order is by id, not by insertion burst.
        for n in range(PER_CHAT):
            for chat in range(CHATS):
                await uow.outbox.enqueue(
                    channel="rec", destination=f"chat{chat}", priority=5, text=f"{chat}:{n}", key=f"{chat}:{n}",
                    now=now,
                )
        await uow.commit()
    await engine.dispose()


async def test_two_relay_processes_deliver_every_message_once_in_order_per_chat() -> None:
    redis = REDIS_URL if await redis_reachable() else ""
    sink = Sink(workers=2)
    async with database.fresh_postgres() as url, serve(sink) as sink_url:
        await seed(url)
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.integration.relay_worker", url, sink_url, redis,
                cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = [await asyncio.wait_for(w.communicate(), timeout=120) for w in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode()[-3000:]

        engine = make_engine(url)
        async with session_factory(engine)() as session:
            states = Counter((await session.scalars(select(OutboxItem.state))).all())
        await engine.dispose()

    assert states == {"sent": CHATS * PER_CHAT}
    sends = Counter((destination, text) for _, destination, text in sink.received)
    assert len(sends) == CHATS * PER_CHAT and set(sends.values()) == {1}, "a message was lost or sent twice"
    per_chat: dict[str, list[int]] = defaultdict(list)
    for _, destination, text in sink.received:
        per_chat[destination].append(int(text.split(":")[1]))
    assert all(order == list(range(PER_CHAT)) for order in per_chat.values()), per_chat
    # Both processes took part, and each reports what it sent.
    counts = [int(out.decode().split()[-1]) for out, _ in outputs]
    assert all(counts) and sum(counts) == CHATS * PER_CHAT
    assert len({pid for pid, _, _ in sink.received}) == 2
