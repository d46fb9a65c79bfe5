"""/queue pages and push-sweep positions cut in SQL agree with the whole queue read in order."""

from datetime import timedelta

from sqlalchemy import update

from flows.practice.views import QueueRow
from storage.models import Request
from storage.pushes import PushRepo
from storage.uow import UnitOfWork
from tests.factories import WORKING_TIME

NOW = WORKING_TIME
ORDER = ["b", "a", "emergency"]  # the catalogue's order; "gone" left the catalogue


def whole_queue(rows: list[QueueRow], service: str | None) -> list[tuple[int, int]]:
    """What /queue showed when it read every open request: emergencies, then planned rows by
    catalogue order and position (services gone from the catalogue last)."""
    if service is not None:
        rows = [r for r in rows if r.service == service and not r.emergency]
    order = {key: i for i, key in enumerate(ORDER)}
    urgent = [r for r in rows if r.emergency]
    planned = sorted((r for r in rows if not r.emergency), key=lambda r: (order.get(r.service, len(order)), r.position))
    return [(r.request_id, r.position) for r in urgent + planned]


async def seed(sessions, practitioner: int) -> None:  # noqa: ANN001
    # (service, emergency, stage); every third submitted at the same moment as the one before.
    plan = [
        ("a", False, "queued"),
        ("b", False, "submitted"),
        ("emergency", True, "queued"),
        ("a", True, "queued"),
        ("gone", False, "queued"),
        ("a", False, "in_work"),
        ("b", False, "queued"),
        ("gone", True, "submitted"),
        ("other", False, "queued"),
        ("a", False, "done"),
        ("b", False, "cancelled"),
        ("emergency", True, "queued"),
    ] * 4
    async with UnitOfWork(sessions, practitioner) as uow:
        for n, (service, emergency, stage) in enumerate(plan):
            client = await uow.clients.create(
                name=f"Клиент {n}", language="ru", timezone="Europe/Moscow", channel="web", address=f"k{n}", now=NOW
            )
            at = NOW + timedelta(minutes=n - n % 3 // 2)
            request = await uow.requests.open(
                client_id=client.id, service=service, stage="submitted", emergency=emergency, now=at
            )
            if stage != "submitted":
                await uow.requests.change_stage(request, stage, at)
        await uow.commit()


async def test_every_page_of_queue_matches_the_whole_queue_in_order(sessions, practitioner: int) -> None:
    await seed(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        rows = await uow.practice.queue_rows()
        for service in (None, "a", "b", "emergency", "gone"):
            expected = whole_queue(rows, service)
            for size in (1, 5, 12):
                got: list[tuple[int, int]] = []
                for offset in range(0, len(expected) + size, size):
                    page = await uow.practice.queue_page(ORDER, service, offset, size)
                    assert page.total == len(expected), service
                    got += [(r.request_id, r.position) for r in page.rows]
                assert got == expected, (service, size)
        by_id = {r.request_id: r for r in rows}
        page = await uow.practice.queue_page(ORDER, None, 0, 100)
        assert list(page.rows) == [by_id[r.request_id] for r in page.rows]  # names, channels, flags alike


async def test_queue_moves_are_the_rows_whose_place_is_not_the_one_told(sessions, practitioner: int) -> None:
    await seed(sessions, practitioner)
    async with UnitOfWork(sessions, practitioner) as uow:
        queue = [r for r in await uow.practice.queue_rows() if not r.emergency and r.service in ("a", "b")]
        places: dict[int, int] = {}
        for row in sorted(queue, key=lambda r: (r.service, r.submitted_at, r.request_id)):
            places[row.request_id] = sum(1 for r in places if by_service(queue, r) == row.service) + 1
        told = {rid: (pos if rid % 3 else pos + 1) for rid, pos in places.items()}
        forgotten = min(places)
        for rid, position in told.items():
            await uow.session.execute(
                update(Request)
                .where(Request.id == rid)
                .values(notified_position=None if rid == forgotten else position)
            )
        moved = await PushRepo(uow.session, practitioner).queue_moves(("a", "b"))
    expected = [rid for rid in places if rid == forgotten or told[rid] != places[rid]]
    assert [m.request_id for m in moved] == expected and expected  # in queue order
    assert all(m.position == places[m.request_id] and m.timezone == "Europe/Moscow" for m in moved)


def by_service(rows: list[QueueRow], request_id: int) -> str:
    return next(r.service for r in rows if r.request_id == request_id)
