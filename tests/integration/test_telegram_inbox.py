"""Stored Telegram updates → the real Dispatcher: order, retries, dead letters, polling offsets."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message
from sqlalchemy import select

from bot.telegram.inbox import MAX_ATTEMPTS, TelegramInbox
from bot.telegram.polling import Poller
from bot.telegram.sender import make_bot
from storage.engine import make_engine, session_factory, upgrade
from storage.models import InboxUpdate
from storage.uow import UnitOfWork, ensure_practitioner
from tests import database
from tests.factories import WORKING_TIME, FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI


def update(update_id: int | None, text: str) -> dict:
    message = {
        "message_id": update_id or 1,
        "date": 1_790_000_000,
        "text": text,
        "chat": {"id": 5, "type": "private"},
        "from": {"id": 5, "is_bot": False, "first_name": "A"},
    }
    return (
        {"message": message} if update_id is None else {"update_id": update_id, "message": message}
    )


class Handled:
    """A router that records texts and fails on «boom», as a broken handler would."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def router(self) -> Router:
        router = Router(name=__name__)

        @router.message()
        async def record(message: Message) -> None:
            if message.text == "boom":
                raise RuntimeError("handler failed")
            self.texts.append(message.text or "")

        return router


@pytest.fixture
async def bot(telegram_api: TelegramBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(TOKEN, telegram_api.base_url)
    yield bot
    await bot.session.close()


@pytest.fixture
def handled() -> Handled:
    return Handled()


@pytest.fixture
def inbox(sessions, practitioner: int, bot: Bot, handled: Handled) -> TelegramInbox:  # noqa: ANN001
    dispatcher = Dispatcher()
    dispatcher.include_router(handled.router())
    return TelegramInbox(lambda: UnitOfWork(sessions, practitioner), FakeClock(), dispatcher, bot)


async def inbox_rows(sessions) -> list[InboxUpdate]:  # noqa: ANN001
    async with sessions() as session:
        return list(await session.scalars(select(InboxUpdate).order_by(InboxUpdate.id)))


async def test_a_repeat_is_stored_once(inbox: TelegramInbox) -> None:
    payload = json.dumps(update(1, "a"))
    assert await inbox.store([(1, payload)]) == 1
    assert await inbox.store([(1, payload)]) == 0


async def test_a_failing_update_is_retried_in_order_then_set_aside(
    inbox: TelegramInbox,
    handled: Handled,
    sessions,  # noqa: ANN001
) -> None:
    await inbox.store(
        [(i, json.dumps(update(i, text))) for i, text in ((1, "a"), (2, "boom"), (3, "c"))]
    )
    assert await inbox.process_pending() == 1
    assert handled.texts == ["a"]  # «c» waits behind «boom»: one chat's order is kept
    for _ in range(MAX_ATTEMPTS - 2):
        await inbox.process_pending()
    assert handled.texts == ["a"]
    await inbox.process_pending()  # the last attempt: «boom» is set aside, «c» goes through
    assert handled.texts == ["a", "c"]
    a, boom, c = await inbox_rows(sessions)
    assert boom.processed_at is not None and boom.attempts == MAX_ATTEMPTS
    assert "RuntimeError: handler failed" in boom.last_error
    assert a.last_error is None and c.processed_at is not None


async def test_polling_confirms_an_offset_only_after_storing(
    inbox: TelegramInbox,
    bot: Bot,
    telegram_api: TelegramBotAPI,
    sessions,  # noqa: ANN001
) -> None:
    first, second = telegram_api.push(update(None, "a")), telegram_api.push(update(None, "b"))
    poller = Poller(bot, inbox, ["message"])
    assert await poller.poll_once(timeout=0) == 2
    assert poller.offset == second["update_id"] + 1
    # Stored, not yet confirmed: a restarted poller is served them again and stores nothing twice.
    assert await Poller(bot, inbox, ["message"]).poll_once(timeout=0) == 0
    assert await poller.poll_once(timeout=0) == 0  # this call confirms them
    assert telegram_api.called("getUpdates")[-1].params["offset"] == second["update_id"] + 1
    assert [json.loads(r.payload)["update_id"] for r in await inbox_rows(sessions)] == [
        first["update_id"],
        second["update_id"],
    ]


async def test_many_practitioners_inboxes_passing_at_once_never_take_the_whole_pool(
    tmp_path: Path, bot: Bot, handled: Handled
) -> None:
    """On PostgreSQL a pass holds two pooled connections at once: its advisory lock's and its
    work's. Thirty practitioners' inboxes, an update each, all passing at once on a pool of four:
    without the per-process pass limit the lock holders took every connection and each waited for
    its second one (a pool timeout: with 100 practitioners the service did not start,
    bench/practitioners.py). Each practitioner's lock is her own, so they all get through."""
    async with database.database_for(tmp_path / "many.db") as url:
        engine = make_engine(url, pool_size=2, max_overflow=2)
        try:
            await upgrade(engine)
            sessions = session_factory(engine)
            dispatcher = Dispatcher()
            dispatcher.include_router(handled.router())
            inboxes = []
            for n in range(30):
                pid = await ensure_practitioner(sessions, f"p{n}", "Практик", WORKING_TIME)
                inbox = TelegramInbox(lambda pid=pid: UnitOfWork(sessions, pid), FakeClock(), dispatcher, bot)
                await inbox.store([(1, json.dumps(update(1, f"from {n}")))])  # the same update_id: hers
                inboxes.append(inbox)
            settled = await asyncio.gather(*(inbox.process_pending() for inbox in inboxes))
        finally:
            await engine.dispose()
    assert settled == [1] * 30
    assert sorted(handled.texts) == sorted(f"from {n}" for n in range(30))
