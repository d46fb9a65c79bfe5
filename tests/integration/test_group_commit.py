"""Group commit of webhook rows: one transaction for concurrent callers, each durable on return."""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import select

from bot.group_commit import GroupCommit
from bot.telegram_inbox import TelegramInbox
from bot.telegram_sender import make_bot
from storage.models import InboxUpdate
from storage.uow import UnitOfWork
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI


class Writes:
    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[int]] = []
        self.fail = fail
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, rows: Sequence[int]) -> None:
        await self.gate.wait()
        self.batches.append(list(rows))
        if self.fail:
            raise RuntimeError("disk full")


async def test_concurrent_callers_share_one_write_and_return_after_it() -> None:
    writes = Writes()
    group = GroupCommit(writes)
    await asyncio.gather(*(group.submit(n) for n in range(10)))
    assert writes.batches == [list(range(10))]


async def test_rows_arriving_during_a_write_go_in_the_next_one() -> None:
    writes = Writes()
    writes.gate.clear()
    group = GroupCommit(writes)
    first = asyncio.create_task(group.submit(0))
    await asyncio.sleep(0)  # the writer has taken row 0 and waits at the gate
    later = [asyncio.create_task(group.submit(n)) for n in (1, 2, 3)]
    await asyncio.sleep(0)
    assert not first.done()  # not acknowledged before its write committed
    writes.gate.set()
    await asyncio.gather(first, *later)
    assert writes.batches == [[0], [1, 2, 3]]


async def test_a_failed_write_fails_every_caller_of_the_batch() -> None:
    group = GroupCommit(Writes(fail=True))
    results = await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)
    assert [type(r) for r in results] == [RuntimeError] * 3


async def test_a_caller_that_goes_away_does_not_stop_the_others_write() -> None:
    writes = Writes()
    writes.gate.clear()
    group = GroupCommit(writes)
    gone = asyncio.create_task(group.submit(0))
    stays = asyncio.create_task(group.submit(1))
    await asyncio.sleep(0)
    gone.cancel()
    writes.gate.set()
    await stays
    assert writes.batches == [[0, 1]]


@pytest.fixture
async def bot(telegram_api: TelegramBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(TOKEN, telegram_api.base_url)
    yield bot
    await bot.session.close()


async def test_concurrent_webhook_stores_keep_every_update_once(sessions, practitioner: int, bot: Bot) -> None:  # noqa: ANN001
    inbox = TelegramInbox(lambda: UnitOfWork(sessions, practitioner), FakeClock(), Dispatcher(), bot)
    payload = json.dumps({"update_id": 0})
    # 40 updates, each delivered twice at once (Telegram retrying while the first is in flight).
    await asyncio.gather(*(inbox.store_one(n, payload) for n in list(range(40)) * 2))
    async with sessions() as session:
        stored = list(await session.scalars(select(InboxUpdate.external_id).order_by(InboxUpdate.id)))
    assert sorted(stored, key=int) == [str(n) for n in range(40)]
