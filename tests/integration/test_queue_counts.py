"""The queue counts (storage/queue_counts.py) stay a recount of the open requests, whatever happens
to them; positions and queue lengths read through them equal a naive count of the requests; /next
and /pause read in SQL what they used to pick out of the whole queue."""

import asyncio
import random
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage import queue_counts
from storage.engine import alembic_config, upgrade
from storage.models import Client, Practitioner, Request
from storage.requests import OPEN
from storage.uow import UnitOfWork
from tests import database

# Just before a day, an hour and a minute all turn (UTC): the first steps cross every boundary.
START = datetime(2026, 11, 24, 23, 58, 59, 999_999, tzinfo=UTC)
SERVICES = ("a", "b", "emergency")
# Clock steps in seconds: the same instant (ties), a microsecond, within and across minutes, hours,
# days; and back (another worker's clock, a submission stamped earlier than the last one).
STEPS = (0, 0, 1e-6, 0.4, 7, 59, 61, 600, 3599, 3601, 5 * 3600, 86400, 2 * 86400 + 17, -30, -7200)


async def naive(uow: UnitOfWork) -> tuple[dict[int, int], dict[str, int]]:
    """Every open request's place and the lengths, counted from the requests alone."""
    rows = list(
        await uow.session.execute(
            select(Request.id, Request.service, Request.stage, Request.submitted_at).where(
                Request.practitioner_id == uow.practitioner_id
            )
        )
    )
    queued = [r for r in rows if r.stage in OPEN]
    lengths = Counter(r.service for r in queued)
    places = {
        r.id: 1
        + sum(
            1
            for o in queued
            if o.service == r.service and o.submitted_at is not None and (o.submitted_at, o.id) < (r.submitted_at, r.id)
        )
        for r in queued
        if r.submitted_at is not None
    }
    return places, dict(lengths)


async def check(sessions, practitioner: int) -> None:  # noqa: ANN001
    async with UnitOfWork(sessions, practitioner) as uow:
        places, lengths = await naive(uow)
        # As dicts: a Counter would take a row left at 0 for a missing one.
        assert dict(await queue_counts.stored(uow.session, practitioner)) == dict(
            await queue_counts.recount(uow.session, practitioner)
        )
        assert await uow.requests.queue_lengths() == lengths
        for request_id, place in places.items():
            request = await uow.requests.get(request_id)
            assert request is not None
            assert await uow.requests.position(request) == place, request_id


async def new_request(uow: UnitOfWork, n: int, service: str, stage: str, emergency: bool, now: datetime) -> int:
    client = await uow.clients.create(
        name=f"Клиент {n}", language="ru", timezone="Europe/Moscow", channel="web", address=f"q{n}", now=now
    )
    request = await uow.requests.open(client_id=client.id, service=service, stage=stage, emergency=emergency, now=now)
    return request.id


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_counts_stay_a_recount_through_random_queue_traffic(sessions, practitioner: int, seed: int) -> None:
    """Enqueues (drafts submitted later too), payments, /next, done, cancellations, no-shows,
    emergencies, a forgotten client, two clients made one, a rolled-back unit of work: after each,
    the counts equal a recount, and every position and length equals a naive count."""
    rng = random.Random(seed)
    now = START
    made = 0
    drafts: list[int] = []
    for _ in range(70):
        now += timedelta(seconds=rng.choice(STEPS))
        op = rng.choices(
            ["enqueue", "draft", "submit", "pay", "start", "close", "forget", "merge", "rollback"],
            weights=[8, 2, 2, 3, 2, 4, 1, 1, 1],
        )[0]
        async with UnitOfWork(sessions, practitioner) as uow:
            open_ids = list(
                await uow.session.scalars(
                    select(Request.id).where(Request.practitioner_id == practitioner, Request.stage.in_(OPEN))
                )
            )
            if op == "enqueue" or (op in ("pay", "start", "close", "forget", "merge") and not open_ids):
                made += 1
                emergency = rng.random() < 0.2
                service = "emergency" if emergency and rng.random() < 0.5 else rng.choice(SERVICES[:2])
                await new_request(uow, made, service, "submitted", emergency, now)
            elif op == "draft":
                made += 1
                drafts.append(await new_request(uow, made, rng.choice(SERVICES), "draft", False, now))
            elif op == "submit" and drafts:
                request = await uow.requests.get(drafts.pop(rng.randrange(len(drafts))))
                assert request is not None
                await uow.requests.change_stage(request, "submitted", now)
            elif op in ("pay", "start", "close"):
                request = await uow.requests.get(rng.choice(open_ids))
                assert request is not None
                if op == "pay":
                    await uow.requests.mark_paid(request, now + timedelta(days=rng.choice((1, 30))), now)
                    if request.stage == "submitted":
                        await uow.requests.change_stage(request, "queued", now)
                elif op == "start":
                    await uow.requests.change_stage(request, "in_work", now)
                else:
                    await uow.requests.change_stage(request, rng.choice(("done", "cancelled", "no_show")), now)
            elif op == "forget":
                request = await uow.requests.get(rng.choice(open_ids))
                assert request is not None
                await uow.privacy.forget(request.client_id, now, timezone="Europe/Moscow", spare_key="-")
            elif op == "merge" and len(open_ids) > 1:
                pair = [await uow.requests.get(i) for i in rng.sample(open_ids, 2)]
                clients = [await uow.clients.get(r.client_id) for r in pair if r is not None]
                if clients[0] is not None and clients[1] is not None:
                    await uow.clients.merge(clients[0], clients[1])
            elif op == "rollback":
                made += 1
                rolled = await new_request(uow, made, rng.choice(SERVICES), "submitted", False, now)
                if open_ids:
                    request = await uow.requests.get(open_ids[0])
                    assert request is not None
                    await uow.requests.change_stage(request, "cancelled", now)
                assert await uow.requests.position(await uow.requests.get(rolled)) is not None  # type: ignore[arg-type]
                await uow.rollback()
                continue
            await uow.commit()
        await check(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.requests.queue_lengths(), "the traffic left a queue to check"


async def test_rows_that_fall_to_zero_are_dropped(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        ids = [await new_request(uow, n, "a", "submitted", False, START + timedelta(days=n)) for n in range(3)]
        assert len(await queue_counts.stored(uow.session, practitioner)) == 3 * 3  # a day, an hour, a minute each
        for request_id in ids:
            request = await uow.requests.get(request_id)
            assert request is not None
            await uow.requests.change_stage(request, "done", START + timedelta(days=1))
        assert dict(await queue_counts.stored(uow.session, practitioner)) == {}
        assert await uow.requests.queue_lengths() == {}


async def test_a_stale_copy_of_a_request_leaves_the_queue_once(sessions, practitioner: int) -> None:
    """Two units of work close one request (the client cancels while she marks it done): the
    second, holding the request as it was before the first, must not take it off the counts again."""
    async with UnitOfWork(sessions, practitioner) as uow:
        first = await new_request(uow, 1, "a", "submitted", False, START)
        second = await new_request(uow, 2, "a", "submitted", False, START + timedelta(seconds=1))
        await uow.commit()
    async with UnitOfWork(sessions, practitioner) as late:
        stale = await late.requests.get(first)
        await late.commit()  # the copy is kept (expire_on_commit=False), still "submitted"
        async with UnitOfWork(sessions, practitioner) as uow:
            request = await uow.requests.get(first)
            assert request is not None
            await uow.requests.change_stage(request, "cancelled", START)
            await uow.commit()
        assert stale is not None and stale.stage == "submitted"
        await late.requests.change_stage(stale, "done", START)
        await late.commit()
    await check(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.requests.queue_lengths() == {"a": 1}
        request = await uow.requests.get(second)
        assert request is not None and await uow.requests.position(request) == 1


async def test_concurrent_closes_of_one_request_take_turns_on_postgres(sessions, practitioner: int) -> None:
    """Two workers at once: the second waits on the request's row until the first commits, then
    sees it closed. Without the lock both took it off the counts (the length went to 0 here)."""
    if not database.on_postgres():
        pytest.skip("SQLite has one writer and one connection: nothing runs at the same time")
    async with UnitOfWork(sessions, practitioner) as uow:
        target = await new_request(uow, 1, "a", "submitted", False, START)
        await new_request(uow, 2, "a", "submitted", False, START + timedelta(seconds=1))
        await uow.commit()
    async with UnitOfWork(sessions, practitioner) as one, UnitOfWork(sessions, practitioner) as two:
        mine, theirs = await one.requests.get(target), await two.requests.get(target)
        assert mine is not None and theirs is not None
        await one.requests.change_stage(mine, "cancelled", START)

        async def close() -> None:
            await two.requests.change_stage(theirs, "done", START)
            await two.commit()

        closing = asyncio.create_task(close())
        await asyncio.sleep(0.3)
        assert not closing.done(), "the second worker did not wait for the first"
        await one.commit()
        await closing
    await check(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.requests.queue_lengths() == {"a": 1}


async def test_concurrent_enqueues_are_all_counted(sessions, practitioner: int) -> None:
    """Many units of work enqueueing into the same minute at once (one hot row per level): on
    PostgreSQL they run side by side, and every increment lands."""

    async def enqueue(n: int) -> None:
        async with UnitOfWork(sessions, practitioner) as uow:
            await new_request(uow, n, "a", "submitted", False, START + timedelta(microseconds=n))
            await uow.commit()

    await asyncio.gather(*(enqueue(n) for n in range(8)))
    await check(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.requests.queue_lengths() == {"a": 8}


def _before_0013(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    previous = ScriptDirectory.from_config(config).get_revision("0013").down_revision
    command.downgrade(config, str(previous))


async def test_the_migration_fills_the_counts_from_the_open_requests(engine: AsyncEngine, sessions) -> None:
    """Revision 0013 on a database with a queue: its SQL recount (SQLite text times, fractions
    that round up at .9995) equals the service's own."""
    async with engine.begin() as connection:
        await connection.run_sync(_before_0013)
    times = [
        START,  # 23:58:59.999999
        START + timedelta(microseconds=1),  # the next minute, hour and day
        datetime(2026, 11, 24, 23, 59, 59, 999_600, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 25, 0, 0, 0, 400, tzinfo=UTC),
        datetime(2025, 3, 1, 12, 30, 5, tzinfo=UTC),
    ]
    async with engine.begin() as connection:
        pids = []
        for slug in ("one", "two"):
            found = await connection.execute(
                insert(Practitioner.__table__).values(slug=slug, name=slug, created_at=START).returning(Practitioner.id)
            )
            pids.append(found.scalar_one())
        rows = []
        for pid in pids:
            client = (
                await connection.execute(
                    insert(Client.__table__)
                    .values(practitioner_id=pid, display_name="К", language="ru", timezone="UTC", created_at=START)
                    .returning(Client.id)
                )
            ).scalar_one()
            for n, at in enumerate(times * 2):
                rows.append(
                    {
                        "practitioner_id": pid,
                        "client_id": client,
                        "service": "ab"[n % 2],
                        "stage": ("submitted", "queued", "in_work", "done", "cancelled", "draft")[n % 6],
                        "created_at": at,
                        "submitted_at": None if n % 4 == 2 else at,
                    }
                )
        await connection.execute(insert(Request.__table__), rows)
    await upgrade(engine)
    async with UnitOfWork(sessions, pids[0]) as uow:
        for pid in pids:
            fresh = await queue_counts.recount(uow.session, pid)
            assert fresh[(pid, queue_counts.UNSUBMITTED, "a", 0)] == 2  # open, never submitted
            assert dict(await queue_counts.stored(uow.session, pid)) == dict(fresh)
        _, lengths = await naive(uow)
        assert await uow.requests.queue_lengths() == lengths


# /next and /pause ---------------------------------------------------------------------------


async def test_next_takes_what_the_whole_queue_sorted_gave(sessions, practitioner: int) -> None:
    """The request /next takes, queried with LIMIT 1, is the one the old /next picked from every
    open request: queued only, emergencies first, then deadline (else submission), then number."""
    rng = random.Random(7)
    async with UnitOfWork(sessions, practitioner) as uow:
        for n in range(40):
            at = START + timedelta(minutes=rng.randrange(0, 3000), seconds=rng.choice((0, 0, 30)))
            emergency = rng.random() < 0.2
            request_id = await new_request(uow, n, rng.choice(SERVICES), "submitted", emergency, at)
            request = await uow.requests.get(request_id)
            assert request is not None
            if rng.random() < 0.7:
                deadline = at + timedelta(days=rng.choice((1, 3))) if rng.random() < 0.5 else None
                await uow.requests.mark_paid(request, deadline, at)
                await uow.requests.change_stage(request, "queued", at)
            if rng.random() < 0.1:
                await uow.requests.change_stage(request, rng.choice(("in_work", "done")), at)
        await uow.commit()
    taken = 0
    while True:
        async with UnitOfWork(sessions, practitioner) as uow:
            rows = await uow.practice.queue_rows()
            queued = sorted(
                (r for r in rows if r.stage.value == "queued"),
                key=lambda r: (not r.emergency, r.deadline_at or r.submitted_at or r.created_at, r.request_id),
            )
            found = await uow.practice.next_queued()
            assert found == (queued[0].request_id if queued else None)
            if found is None:
                stages = Counter(r.stage.value for r in rows)
                assert await uow.practice.open_by_stage() == dict(stages)
                break
            request = await uow.requests.get(found)
            assert request is not None
            await uow.requests.change_stage(request, "in_work", START)
            await uow.commit()
            taken += 1
    assert taken > 10


async def test_pause_tells_each_client_with_an_open_request(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        ids = [await new_request(uow, n, "a", "submitted", False, START + timedelta(minutes=n)) for n in range(6)]
        client = await uow.clients.create(
            name="Двое", language="ru", timezone="UTC", channel="web", address="two", now=START
        )
        for request_id in ids[:2]:
            request = await uow.requests.get(request_id)
            assert request is not None
            request.client_id = client.id  # one client, two open requests
        closed = await uow.requests.get(ids[5])
        assert closed is not None
        await uow.requests.change_stage(closed, "done", START)
        await uow.requests.open(client_id=closed.client_id, service="a", stage="draft", emergency=False, now=START)
        await uow.session.flush()
        rows = await uow.practice.queue_rows()
        expected = sorted({r.client_id for r in rows})
        assert await uow.practice.clients_with_open_requests() == expected
        assert len(expected) == 4  # the two-request client once; not the one with only a draft and a done
