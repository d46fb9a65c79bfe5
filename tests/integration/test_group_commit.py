"""Group commit of webhook rows: one transaction for concurrent callers, each durable on return."""

import asyncio
import json
from collections.abc import AsyncIterator, Sequence

import pytest
from aiogram import Bot, Dispatcher
from sqlalchemy import event, select

from bot.inbound.group_commit import GroupCommit
from bot.telegram.inbox import TelegramInbox
from bot.telegram.ingest import TelegramIngest
from bot.telegram.sender import make_bot
from storage.models import InboxUpdate
from storage.uow import UnitOfWork, ensure_practitioner
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


async def test_a_write_that_fell_back_answers_each_caller_for_its_own_row() -> None:
    async def write(rows: Sequence[int]) -> list[Exception | None]:
        return [RuntimeError(f"row {n} failed") if n == 1 else None for n in rows]

    group = GroupCommit(write)
    results = await asyncio.gather(*(group.submit(n) for n in range(3)), return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], RuntimeError) and str(results[1]) == "row 1 failed"


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


async def test_two_practitioners_webhook_updates_share_one_commit(
    engine, sessions, practitioner: int, bot: Bot  # noqa: ANN001
) -> None:
    """Every practitioner's bot has its own webhook and inbox, yet concurrent updates to them are
    written in one transaction (bot/telegram/ingest.py), each row under its own practitioner."""
    other = await ensure_practitioner(sessions, "second", "Вторая", FakeClock()())
    ingest = TelegramIngest(sessions)
    mine, hers = (
        TelegramInbox(lambda pid=pid: UnitOfWork(sessions, pid), FakeClock(), Dispatcher(), bot, ingest)
        for pid in (practitioner, other)
    )
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    event.listen(engine.sync_engine, "commit", count)
    # The same update_id at both bots: each bot numbers its own updates, so neither is a repeat.
    updates = [(inbox, n) for n in range(5) for inbox in (mine, hers)]
    await asyncio.gather(*(inbox.store_one(n, json.dumps({"update_id": n})) for inbox, n in updates))
    event.remove(engine.sync_engine, "commit", count)
    assert len(commits) == 1
    async with sessions() as session:
        stored = (await session.execute(select(InboxUpdate.practitioner_id, InboxUpdate.external_id))).all()
    assert sorted(stored) == sorted((pid, str(n)) for pid in (practitioner, other) for n in range(5))


async def test_a_failing_practitioner_does_not_fail_anothers_webhook_updates(
    sessions, practitioner: int, bot: Bot  # noqa: ANN001
) -> None:
    """A shared batch that fails is retried one practitioner at a time: hers is stored and
    answered 200, only the failing one's request gets the error (Telegram sends it again)."""
    other = await ensure_practitioner(sessions, "second", "Вторая", FakeClock()())
    ingest = TelegramIngest(sessions)
    mine = TelegramInbox(lambda: UnitOfWork(sessions, practitioner), FakeClock(), Dispatcher(), bot, ingest)
    broken = TelegramInbox(lambda: UnitOfWork(sessions, other), FakeClock(), Dispatcher(), bot, ingest)

    async def fail(*_: object) -> list[str]:
        raise RuntimeError("lock timeout")

    broken.insert = fail  # type: ignore[method-assign]
    results = await asyncio.gather(mine.store_one(1, "{}"), broken.store_one(1, "{}"), return_exceptions=True)
    assert results[0] is None and isinstance(results[1], RuntimeError)
    async with sessions() as session:
        stored = (await session.execute(select(InboxUpdate.practitioner_id, InboxUpdate.external_id))).all()
    assert stored == [(practitioner, "1")]  # hers is durable: Telegram's retry is a repeat, stored once
