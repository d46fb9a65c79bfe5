"""Two worker processes on one PostgreSQL database and one Redis: every reminder once.

Real processes (tests/integration/push_worker.py), each with its own engine, push sweep and
outbox relay, as every uvicorn worker of the service has. They meet at a barrier in this
process and sweep at the same moment, three times on a clock moved by hand: 24 h before 30
booked calls (the day-before reminders), 1 h before (the hour-before reminders), and 15
minutes after they began with nobody marking them held (a no-show question to the
practitioner for each: a practitioner push, made once-only by its scheduled_jobs row). Each
decision is queued once between the two processes and each message reaches the sink once.
"""

import asyncio
import contextlib
import json
import sys
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web
from sqlalchemy import func, select

from storage.engine import make_engine, session_factory
from storage.models import OutboxItem, PractitionerAlert, ScheduledJob
from storage.pushes import PushRepo
from storage.uow import UnitOfWork, ensure_practitioner
from tests import database
from tests.database import REDIS_URL, redis_reachable

ROOT = Path(__file__).resolve().parents[2]
CALLS = 30
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
FIRST_CALL = T0 + timedelta(hours=26)  # a minute apart: FIRST_CALL … FIRST_CALL + 29 min
INSTANTS = (
    T0 + timedelta(hours=3),  # every call 24 h away or less, none within 1 h: remind24 each
    FIRST_CALL - timedelta(minutes=30),  # every call within the hour: remind1 each
    FIRST_CALL + timedelta(minutes=45),  # every call began ≥ 15 min ago, still booked: a no-show each
)
HER = "999"

pytestmark = pytest.mark.skipif(
    not database.reachable_now(), reason=f"PostgreSQL not reachable at {database.ADMIN_URL}"
)


class Sink:
    """Records every send; a barrier that opens once both processes have reached it."""

    def __init__(self) -> None:
        self.received: list[tuple[int, str, str]] = []  # pid, destination, outbox key
        self.arrived: defaultdict[str, set[int]] = defaultdict(set)
        self.opened: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    async def send(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.received.append((body["pid"], body["destination"], body["key"]))
        return web.json_response({"ok": True, "id": len(self.received)})

    async def barrier(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.arrived[body["name"]].add(body["pid"])
        if len(self.arrived[body["name"]]) >= 2:
            self.opened[body["name"]].set()
        try:
            # Long enough for the other process to start up on a loaded machine; it stops at once.
            await asyncio.wait_for(self.opened[body["name"]].wait(), timeout=90)
        except TimeoutError:
            return web.json_response({"ok": False}, status=408)
        return web.json_response({"ok": True})


@contextlib.asynccontextmanager
async def serve(sink: Sink) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/send", sink.send)
    app.router.add_post("/barrier", sink.barrier)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def seed(url: str) -> tuple[int, list[tuple[int, str]]]:
    """30 clients with a call booked each; returns the practitioner and (booking id, chat) pairs."""
    engine = make_engine(url)
    sessions = session_factory(engine)
    pid = await ensure_practitioner(sessions, "default", "Практик", T0)
    booked = []
    async with UnitOfWork(sessions, pid) as uow:
        for n in range(CALLS):
            chat = str(5000 + n)
            client = await uow.clients.create(
                name=f"Клиент {n}", language="ru", timezone="Europe/Moscow", channel="telegram", address=chat, now=T0
            )
            request = await uow.requests.open(
                client_id=client.id, service="planned_call", stage="queued", emergency=False, now=T0
            )
            booking = await PushRepo(uow.session, pid).book(
                request_id=request.id,
                client_id=client.id,
                starts_at=FIRST_CALL + timedelta(minutes=n),
                minutes=30,
                now=T0,
            )
            booked.append((booking.id, chat))
        await uow.commit()
    await engine.dispose()
    return pid, booked


async def test_two_worker_processes_queue_and_send_every_reminder_and_practitioner_push_once() -> None:
    redis = REDIS_URL if await redis_reachable() else ""
    sink = Sink()
    async with database.fresh_postgres() as url, serve(sink) as sink_url:
        pid, booked = await seed(url)
        instants = ",".join(i.isoformat() for i in INSTANTS)
        workers = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.integration.push_worker",
                url,
                str(pid),
                sink_url,
                redis,
                instants,
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            for _ in range(2)
        ]
        outputs = [await asyncio.wait_for(w.communicate(), timeout=300) for w in workers]
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err.decode()[-3000:]

        engine = make_engine(url)
        async with session_factory(engine)() as session:
            states = Counter((await session.scalars(select(OutboxItem.state))).all())
            jobs = Counter((await session.scalars(select(ScheduledJob.kind))).all())
            alerts = await session.scalar(select(func.count()).select_from(PractitionerAlert))
        await engine.dispose()

    expected = (
        {(chat, f"remind24:{booking}") for booking, chat in booked}
        | {(chat, f"remind1:{booking}") for booking, chat in booked}
        | {(HER, f"noshow:{booking}:telegram:{HER}") for booking, _ in booked}
    )
    sends = Counter((destination, key) for _, destination, key in sink.received)
    assert set(sends) == expected, set(sends) ^ expected
    assert set(sends.values()) == {1}, "a message was sent twice"
    for _, chat in booked:  # the day before, then the hour before
        assert [key.split(":")[0] for _, destination, key in sink.received if destination == chat] == [
            "remind24",
            "remind1",
        ]
    assert states == {"sent": 3 * CALLS}
    assert jobs == {"noshow": CALLS} and alerts == CALLS  # one ledger row and one alert per no-show
    reports = [json.loads(out.decode().strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(r["queued"] for r in reports) == 3 * CALLS  # each decision made by one process only
    assert sum(r["sent"] for r in reports) == 3 * CALLS
