"""storage/delivery.py on a real SQLite file: the 24-hour window's bookkeeping."""

from datetime import timedelta

from sqlalchemy import select

from storage.delivery import WAITING_WINDOW
from storage.models import OutboxItem
from storage.uow import UnitOfWork, ensure_practitioner
from tests.factories import WORKING_TIME

PRACTITIONER = "+79990000001"


async def hold(sessions, practitioner: int, destination: str, key: str) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        item = await uow.outbox.enqueue(
            channel="whatsapp",
            destination=destination,
            priority=1,
            text=key,
            key=key,
            now=WORKING_TIME,
        )
        await uow.delivery.hold(item, "outside the window")
        item.delivery_status = "failed"
        await uow.commit()


async def states(sessions) -> dict[str, tuple[str, str | None]]:
    async with sessions() as session:
        return {
            r.text: (r.state, r.delivery_status) for r in await session.scalars(select(OutboxItem))
        }


async def test_writing_again_releases_rows_held_for_that_number_only(
    sessions, practitioner: int
) -> None:
    other = await ensure_practitioner(sessions, "other", "Другая", WORKING_TIME)
    await hold(sessions, practitioner, PRACTITIONER, "bare")  # configured without the prefix
    await hold(sessions, practitioner, f"whatsapp:{PRACTITIONER}", "prefixed")
    await hold(sessions, practitioner, "whatsapp:+79161234567", "someone else")
    await hold(sessions, other, f"whatsapp:{PRACTITIONER}", "another practice")
    later = WORKING_TIME + timedelta(days=2)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.delivery.opened("whatsapp", f"whatsapp:{PRACTITIONER}", later) == 2
        await uow.commit()
    assert await states(sessions) == {
        "bare": ("pending", None),
        "prefixed": ("pending", None),
        "someone else": (WAITING_WINDOW, "failed"),
        "another practice": (WAITING_WINDOW, "failed"),
    }


async def test_an_address_of_no_client_has_no_known_window(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.delivery.last_inbound_at("whatsapp", f"whatsapp:{PRACTITIONER}") is None


async def test_writing_opens_the_window_of_a_known_client(sessions, practitioner: int) -> None:
    address = "whatsapp:+79161234567"
    async with UnitOfWork(sessions, practitioner) as uow:
        await uow.clients.create(
            name="Анна",
            language="ru",
            timezone="Europe/Moscow",
            channel="whatsapp",
            address=address,
            now=WORKING_TIME,
        )
        await uow.commit()
    later = WORKING_TIME + timedelta(days=3)
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.delivery.last_inbound_at("whatsapp", address) is None
        await uow.delivery.opened("whatsapp", address, later)
        await uow.commit()
    async with UnitOfWork(sessions, practitioner) as uow:
        assert await uow.delivery.last_inbound_at("whatsapp", address) == later
