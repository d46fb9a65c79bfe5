"""Time-driven pushes on a real database with a controllable clock: each fires at its moment,
in the right time zone, once — and not for a cancelled request, a released booking or a
restricted client. Two scheduler processes (two engines on one database) send each push once."""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.desk import Destination
from bot.pushes import Pushes
from bot.texts import Texts
from flows.model import Priority
from storage.engine import make_engine, session_factory
from storage.models import Booking, OutboxItem, Request
from storage.pushes import PushRepo
from storage.uow import UnitOfWork
from tests.factories import FakeClock, catalogue

ROOT = Path(__file__).resolve().parents[2]
HER = Destination("telegram", "999")
# Monday 23 November 2026, 09:00 UTC = 12:00 in Moscow = 18:00 in Tokyo.
MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(ROOT / "locales")


def pushes_for(sessions, practitioner: int, clock: FakeClock, texts: Texts, **options) -> Pushes:  # noqa: ANN001
    options.setdefault("digest_hour", None)  # only the digest tests count the digest
    return Pushes(
        sessions=sessions,
        practitioner_id=practitioner,
        catalogue=catalogue(),
        texts=texts,
        timezone="Europe/Moscow",
        clock=clock,
        practitioner_destinations=(HER,),
        **options,
    )


async def new_client(sessions, practitioner: int, now: datetime, *, name: str = "Анна", tz: str = "Europe/Moscow",
                     language: str = "ru", address: str | None = None) -> int:  # noqa: ANN001
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await uow.clients.create(name=name, language=language, timezone=tz, channel="telegram",
                                          address=address or f"{abs(hash(name)) % 10**9}", now=now)
        await uow.commit()
        return client.id


async def new_request(sessions, practitioner: int, client_id: int, now: datetime, *, service: str = "planned_call",
                      stage: str = "queued", emergency: bool = False) -> int:  # noqa: ANN001
    async with UnitOfWork(sessions, practitioner) as uow:
        request = await uow.requests.open(client_id=client_id, service=service, stage="submitted",
                                          emergency=emergency, now=now)
        if stage != "submitted":
            await uow.requests.change_stage(request, stage, now)
        await uow.commit()
        return request.id


async def book(sessions, practitioner: int, client_id: int, request_id: int, starts_at: datetime,
               now: datetime) -> int:  # noqa: ANN001
    async with UnitOfWork(sessions, practitioner) as uow:
        booking = await PushRepo(uow.session, practitioner).book(
            request_id=request_id, client_id=client_id, starts_at=starts_at, minutes=60, now=now)
        await uow.commit()
        return booking.id


async def outbox(sessions) -> list[OutboxItem]:  # noqa: ANN001
    async with sessions() as session:
        return list(await session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


async def keys(sessions) -> list[str]:  # noqa: ANN001
    return [row.idempotency_key for row in await outbox(sessions)]


async def test_call_reminders_24h_and_1h_before_in_the_clients_time_zone(sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    anna = await new_client(sessions, practitioner, clock(), name="Анна", tz="Asia/Tokyo")
    request = await new_request(sessions, practitioner, anna, clock())
    starts = MONDAY + timedelta(days=2)  # Wednesday 09:00 UTC = 18:00 in Tokyo
    booking = await book(sessions, practitioner, anna, request, starts, clock())
    pushes = pushes_for(sessions, practitioner, clock, texts)

    clock.now = starts - timedelta(hours=24, seconds=1)
    assert await pushes.sweep() == 0
    clock.now = starts - timedelta(hours=24)
    assert await pushes.sweep() == 1
    assert await pushes.sweep() == 0  # once
    clock.now = starts - timedelta(hours=1, seconds=1)
    assert await pushes.sweep() == 0
    clock.now = starts - timedelta(minutes=59)
    assert await pushes.sweep() == 1
    clock.now = starts - timedelta(minutes=30)
    assert await pushes.sweep() == 0
    rows = await outbox(sessions)
    assert [r.idempotency_key for r in rows] == [f"remind24:{booking}", f"remind1:{booking}"]
    assert "25 ноября, 18:00" in rows[0].text  # Tokyo time, not Moscow (12:00) nor UTC (09:00)
    assert "18:00" in rows[1].text
    assert all(r.priority == Priority.REMINDER and r.destination.isdigit() for r in rows)


async def test_a_call_booked_late_gets_only_the_reminders_still_ahead(sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    anna = await new_client(sessions, practitioner, clock())
    request = await new_request(sessions, practitioner, anna, clock())
    booking = await book(sessions, practitioner, anna, request, MONDAY + timedelta(hours=3), clock())
    pushes = pushes_for(sessions, practitioner, clock, texts)
    assert await pushes.sweep() == 0  # no "tomorrow" reminder for a call in 3 hours
    clock.advance(hours=2, minutes=30)
    assert await pushes.sweep() == 1
    assert await keys(sessions) == [f"remind1:{booking}"]


async def test_no_reminder_for_a_released_booking_a_cancelled_request_or_a_restricted_client(
    sessions, practitioner, texts
) -> None:
    clock = FakeClock(MONDAY)
    starts = MONDAY + timedelta(days=2)
    ids = {}
    for name in ("released", "cancelled", "restricted", "lifted"):
        client = await new_client(sessions, practitioner, clock(), name=name)
        request = await new_request(sessions, practitioner, client, clock())
        booking = await book(sessions, practitioner, client, request, starts + timedelta(hours=len(ids)), clock())
        ids[name] = (client, request, booking)
    async with UnitOfWork(sessions, practitioner) as uow:
        (await uow.session.get(Booking, ids["released"][2])).state = "released"
        await uow.requests.change_stage(await uow.requests.get(ids["cancelled"][1]), "cancelled", clock())
        await uow.clients.restrict(ids["restricted"][0], until=None, reason="rude", now=clock())
        lifted = await uow.clients.restrict(ids["lifted"][0], until=None, reason="rude", now=clock())
        lifted.lifted_at = clock()
        await uow.commit()
    pushes = pushes_for(sessions, practitioner, clock, texts)
    clock.now = starts + timedelta(hours=3) - timedelta(hours=23)  # within 24 h of every call
    await pushes.sweep()
    clock.now = starts + timedelta(hours=2, minutes=30)  # within 1 h of the last one
    await pushes.sweep()
    assert sorted(await keys(sessions)) == [f"remind1:{ids['lifted'][2]}", f"remind24:{ids['lifted'][2]}"]


async def test_no_show_check_15_minutes_into_a_call_still_booked(sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    anna = await new_client(sessions, practitioner, clock(), name="Анна")
    boris = await new_client(sessions, practitioner, clock(), name="Борис")
    held = await new_request(sessions, practitioner, boris, clock())
    request = await new_request(sessions, practitioner, anna, clock())
    starts = MONDAY + timedelta(hours=5)
    booking = await book(sessions, practitioner, anna, request, starts, clock())
    other = await book(sessions, practitioner, boris, held, starts + timedelta(hours=2), clock())
    pushes = pushes_for(sessions, practitioner, clock, texts)
    clock.now = starts + timedelta(minutes=14)
    await pushes.sweep()
    assert not [k for k in await keys(sessions) if k.startswith("noshow")]
    clock.now = starts + timedelta(minutes=15)
    await pushes.sweep()
    await pushes.sweep()
    async with UnitOfWork(sessions, practitioner) as uow:  # Борис's call was held in time
        (await uow.session.get(Booking, other)).state = "held"
        await uow.commit()
    clock.now = starts + timedelta(hours=2, minutes=20)
    await pushes.sweep()
    rows = [r for r in await outbox(sessions) if r.idempotency_key.startswith("noshow")]
    assert [(r.idempotency_key, r.destination, r.priority) for r in rows] == [
        (f"noshow:{booking}:telegram:999", "999", 0)
    ]
    assert f"/noshow {request}" in rows[0].text and f"/reschedule {request}" in rows[0].text
    assert "Анна" in rows[0].text and "23 ноября, 17:00" in rows[0].text  # her zone: Moscow


async def test_emergency_deadline_warnings_at_12h_and_2h_then_the_alarm(sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    anna = await new_client(sessions, practitioner, clock())
    urgent = await new_request(sessions, practitioner, anna, clock(), service="emergency", emergency=True)
    done = await new_request(sessions, practitioner, anna, clock(), service="emergency", emergency=True)
    deadline = MONDAY + timedelta(hours=24)
    async with UnitOfWork(sessions, practitioner) as uow:
        for rid in (urgent, done):
            (await uow.requests.get(rid)).deadline_at = deadline
        await uow.commit()
    pushes = pushes_for(sessions, practitioner, clock, texts)
    fired = []
    for hours_left in (13, 12, 11, 3, 2, 1, 0.5):
        clock.now = deadline - timedelta(hours=hours_left)
        if hours_left == 3:
            async with UnitOfWork(sessions, practitioner) as uow:
                await uow.requests.change_stage(await uow.requests.get(done), "done", clock())
                await uow.commit()
        await pushes.sweep()
        fired.append(sorted(k.split(":")[0] for k in await keys(sessions)))
    clock.now = deadline
    await pushes.sweep()
    clock.now = deadline + timedelta(hours=3)
    await pushes.sweep()
    assert fired[0] == []
    assert fired[1] == ["deadline12", "deadline12"]
    assert fired[4] == ["deadline12", "deadline12", "deadline2"]  # the done one is not warned again
    assert sorted(await keys(sessions)) == sorted(
        [f"deadline12:{urgent}:telegram:999", f"deadline12:{done}:telegram:999",
         f"deadline2:{urgent}:telegram:999", f"breach:{urgent}:telegram:999"]
    )


async def test_a_quiet_question_list_gets_one_nudge_per_quiet_spell(sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    anna = await new_client(sessions, practitioner, clock())
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await uow.clients.get(anna)
        client.step, client.last_inbound_at = "questions", clock()
        await uow.commit()
    pushes = pushes_for(sessions, practitioner, clock, texts, nudge_after=timedelta(hours=6))
    clock.advance(hours=5, minutes=59)
    assert await pushes.sweep() == 0
    clock.advance(minutes=1)
    assert await pushes.sweep() == 1
    clock.advance(hours=3)
    assert await pushes.sweep() == 0
    async with UnitOfWork(sessions, practitioner) as uow:  # she wrote again, then fell quiet again
        (await uow.clients.get(anna)).last_inbound_at = clock()
        await uow.commit()
    clock.advance(hours=6)
    assert await pushes.sweep() == 1
    async with UnitOfWork(sessions, practitioner) as uow:  # she finished the list
        client = await uow.clients.get(anna)
        client.step, client.last_inbound_at = "idle", clock()
        await uow.commit()
    clock.advance(hours=7)
    assert await pushes.sweep() == 0
    rows = await outbox(sessions)
    assert len(rows) == 2 and "готово" in rows[0].text


async def test_queue_updates_follow_position_changes_coalesced_and_capped_per_day(
    sessions, practitioner, texts
) -> None:
    clock = FakeClock(MONDAY)
    clients = [await new_client(sessions, practitioner, clock(), name=f"c{n}", address=str(500 + n)) for n in range(5)]
    requests = []
    for client in clients:
        requests.append(await new_request(sessions, practitioner, client, clock(), service="planned_reading"))
        clock.advance(minutes=1)
    extra = await new_request(sessions, practitioner, clients[4], clock(), service="one_question")
    pushes = pushes_for(sessions, practitioner, clock, texts, queue_updates_per_day=2)
    assert await pushes.sweep() == 0  # first positions are recorded: the conversation told them
    async with sessions() as session:
        positions = [r.notified_position for r in await session.scalars(select(Request).order_by(Request.id))]
    assert positions == [1, 2, 3, 4, 5, 1]

    async def finish(request_id: int) -> None:
        async with UnitOfWork(sessions, practitioner) as uow:
            await uow.requests.change_stage(await uow.requests.get(request_id), "done", clock())
            await uow.commit()

    await finish(requests[0])
    await finish(extra)
    assert await pushes.sweep() == 4  # clients 1–4 move up: one update each
    assert await pushes.sweep() == 0
    await finish(requests[1])
    assert await pushes.sweep() == 3
    await finish(requests[2])
    assert await pushes.sweep() == 0  # the two updates of today are used up
    clock.advance(days=1)  # past midnight in Moscow: the latest position goes out, once
    assert await pushes.sweep() == 2
    rows = [r for r in await outbox(sessions) if r.idempotency_key.startswith("queue:")]
    last = [r.text for r in rows if r.destination == "504"]
    assert len(last) == 3 and "в очереди теперь 2." in last[-1] and f"№{requests[4]}" in last[-1]


async def test_the_morning_digest_at_nine_in_her_time_zone(sessions, practitioner, texts) -> None:
    clock = FakeClock(datetime(2026, 11, 23, 5, 59, tzinfo=UTC))  # 08:59 in Moscow
    anna = await new_client(sessions, practitioner, clock(), name="Анна")
    call = await new_request(sessions, practitioner, anna, clock())
    await book(sessions, practitioner, anna, call, datetime(2026, 11, 23, 12, 0, tzinfo=UTC), clock())
    await new_request(sessions, practitioner, anna, clock(), service="emergency", emergency=True)
    async with UnitOfWork(sessions, practitioner) as uow:
        (await uow.clients.get(anna)).flagged_at = clock()
        await uow.commit()
    pushes = pushes_for(sessions, practitioner, clock, texts, digest_hour=9)
    assert await pushes.sweep() == 0
    clock.advance(minutes=1)
    assert await pushes.sweep() == 1
    clock.advance(hours=2)
    assert await pushes.sweep() == 0

    async def digests() -> list[OutboxItem]:
        return [r for r in await outbox(sessions) if r.idempotency_key.startswith("digest")]

    clock.now = datetime(2026, 11, 24, 5, 59, tzinfo=UTC)
    await pushes.sweep()
    assert len(await digests()) == 1
    clock.advance(minutes=1)  # the next morning, 09:00 Moscow
    await pushes.sweep()
    rows = await digests()
    assert [r.idempotency_key for r in rows] == ["digest:2026-11-23:telegram:999", "digest:2026-11-24:telegram:999"]
    first = rows[0].text
    assert "23 ноября" in first and "23 ноября, 15:00 — Анна" in first
    assert "Экстренных заявок открыто: 1" in first and "В очереди: 1" in first and "Помеченных клиентов: 1" in first
    assert "• нет" in rows[1].text
    async with UnitOfWork(sessions, practitioner) as uow:
        alerts = [alert for alert, _, _ in await uow.alerts.recent() if alert.kind == "digest"]
    assert [(a.kind, a.client_id, a.excerpt) for a in alerts] == [  # newest first
        ("digest", None, rows[1].text),
        ("digest", None, first),
    ]


async def test_two_scheduler_processes_send_every_push_once(engine: AsyncEngine, sessions, practitioner, texts) -> None:
    clock = FakeClock(MONDAY)
    bookings = []
    for n in range(6):
        client = await new_client(sessions, practitioner, clock(), name=f"k{n}", address=str(700 + n))
        request = await new_request(sessions, practitioner, client, clock())
        starts = MONDAY + timedelta(days=1, hours=2 + n)  # Tuesday from 14:00 in Moscow
        bookings.append(await book(sessions, practitioner, client, request, starts, clock()))
    other_engine = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        processes = [
            pushes_for(sessions, practitioner, clock, texts, digest_hour=9),
            pushes_for(session_factory(other_engine), practitioner, clock, texts, digest_hour=9),
        ]
        clock.now = MONDAY + timedelta(hours=21, minutes=30)  # Tuesday 09:30 Moscow: the digest is due, every call within 24 h
        await asyncio.gather(*(p.sweep() for p in processes))
        await asyncio.gather(*(p.sweep() for p in processes))  # whatever a busy writer deferred
        found = await keys(sessions)
        async with UnitOfWork(sessions, practitioner) as uow:
            alerts = [(alert.kind, alert.client_id) for alert, _, _ in await uow.alerts.recent()]
    finally:
        await other_engine.dispose()
    assert sorted(found) == sorted([f"remind24:{b}" for b in bookings] + ["digest:2026-11-24:telegram:999"])
    assert alerts == [("digest", None)]  # her page too: one digest, about no one client



async def test_the_scheduler_runs_the_sweep_and_wake_runs_it_at_once(sessions, practitioner, texts) -> None:
    from bot.outbox.relay import OutboxRelay
    from scheduler import PUSHES_JOB, build_scheduler

    clock = FakeClock(MONDAY)
    pushes = pushes_for(sessions, practitioner, clock, texts)
    scheduler = build_scheduler(OutboxRelay(sessions, {}, clock), pushes=pushes, pushes_tick_seconds=3600)

    async def reminded(count: int) -> None:
        for _ in range(2000):  # polls; the cap only keeps a broken scheduler from hanging the suite
            if len(await keys(sessions)) >= count:
                return
            await asyncio.sleep(0.005)
        raise AssertionError("the sweep did not run")

    first = await new_client(sessions, practitioner, clock(), name="first", address="801")
    await book(sessions, practitioner, first, await new_request(sessions, practitioner, first, clock()),
               MONDAY + timedelta(hours=30), clock())
    clock.advance(hours=8)  # within 24 h of both calls
    scheduler.start()
    try:
        await reminded(1)  # the first run comes at start-up, not after the interval
        second = await new_client(sessions, practitioner, clock(), name="second", address="802")
        await book(sessions, practitioner, second, await new_request(sessions, practitioner, second, clock()),
                   MONDAY + timedelta(hours=32), MONDAY)
        assert scheduler.get_job(PUSHES_JOB).next_run_time > datetime.now(UTC) + timedelta(minutes=30)
        pushes.wake()
        await reminded(2)  # long before the hour's interval
    finally:
        scheduler.shutdown(wait=False)


async def test_a_wake_during_a_sweep_sends_the_sweep_round_again(sessions, practitioner, texts) -> None:
    """The scheduler skips a run asked for while one is in progress; the running sweep, already past
    the reminders, must not leave the change it was woken for to the next tick."""
    clock = FakeClock(MONDAY)
    pushes = pushes_for(sessions, practitioner, clock, texts)
    first = await new_client(sessions, practitioner, clock(), name="first", address="811")
    await book(sessions, practitioner, first, await new_request(sessions, practitioner, first, clock()),
               MONDAY + timedelta(hours=20), MONDAY - timedelta(days=2))
    reminders = pushes._reminders
    booked_meanwhile = False

    async def reminders_then_a_booking(now: datetime) -> int:
        nonlocal booked_meanwhile
        queued = await reminders(now)
        if not booked_meanwhile:  # a booking lands and wakes the pushes while this sweep runs on
            booked_meanwhile = True
            second = await new_client(sessions, practitioner, clock(), name="second", address="812")
            request = await new_request(sessions, practitioner, second, clock())
            long_ago = MONDAY - timedelta(days=2)
            await book(sessions, practitioner, second, request, MONDAY + timedelta(hours=22), long_ago)
            pushes.wake()
        return queued

    pushes._reminders = reminders_then_a_booking  # type: ignore[method-assign]
    await pushes.sweep()
    assert len([k for k in await keys(sessions) if k.startswith("remind24:")]) == 2


async def test_a_sweep_cancelled_at_shutdown_logs_no_error_but_a_failing_one_does(
    sessions, caplog: pytest.LogCaptureFixture  # noqa: ANN001
) -> None:
    from bot.outbox.relay import OutboxRelay
    from scheduler import build_scheduler

    started = asyncio.Event()

    async def long_sweep() -> None:
        started.set()
        await asyncio.sleep(3600)

    async def failing_sweep() -> None:
        raise RuntimeError("database gone")

    scheduler = build_scheduler(OutboxRelay(sessions, {}, FakeClock(MONDAY)))
    scheduler.add_job(long_sweep, id="long", next_run_time=datetime.now(UTC))
    scheduler.add_job(failing_sweep, id="failing", next_run_time=datetime.now(UTC))
    with caplog.at_level(logging.ERROR):
        scheduler.start()
        await asyncio.wait_for(started.wait(), 10)  # a generous cap, never a timing claim
        for _ in range(200):
            if any("failing_sweep" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.01)
        scheduler.shutdown(wait=False)
        for _ in range(5):
            await asyncio.sleep(0)  # the cancelled job's task finishes and would log here
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "failing_sweep" in errors[0]  # the real failure, not the shutdown


async def test_a_start_up_in_the_afternoon_posts_no_morning_digest(sessions, practitioner, texts) -> None:
    """Issue 24: «Доброе утро! Сводка на 7 декабря» came at 15:17, when the service started. A
    service started at 15:17 (a fresh Pushes, as after a restart) sends none that day; the next
    morning's goes at 09:00 once, and a restart at 09:30 does not send it again."""
    clock = FakeClock(datetime(2026, 11, 23, 12, 17, tzinfo=UTC))  # 15:17 in Moscow

    async def digests() -> list[str]:
        return [r.idempotency_key for r in await outbox(sessions) if r.idempotency_key.startswith("digest")]

    assert await pushes_for(sessions, practitioner, clock, texts, digest_hour=9).sweep() == 0
    clock.now = datetime(2026, 11, 24, 6, 0, tzinfo=UTC)  # 09:00 the next morning
    await pushes_for(sessions, practitioner, clock, texts, digest_hour=9).sweep()
    clock.advance(minutes=30)  # restarted at 09:30
    await pushes_for(sessions, practitioner, clock, texts, digest_hour=9).sweep()
    assert await digests() == ["digest:2026-11-24:telegram:999"]
