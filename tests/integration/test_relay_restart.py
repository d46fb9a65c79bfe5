"""Stopping the relay mid-way through 500 queued messages, then starting a fresh one (a new
engine on the same database, as a new process would): every message arrives exactly once, in
order per chat. Sends in flight at the stop finish and are recorded, so nothing is re-sent."""

import asyncio
import time
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.outbox.relay import OutboxRelay
from bot.telegram.sender import TelegramSender, make_bot
from flows.model import Priority
from storage.engine import make_engine, session_factory
from storage.models import OutboxItem
from storage.uow import UnitOfWork
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

CHATS = 50
PER_CHAT = 10


async def until(condition, what: str, cap: float = 30.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + cap
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.001)


async def states(engine: AsyncEngine) -> dict[str, int]:
    async with session_factory(engine)() as session:
        rows = await session.execute(select(OutboxItem.state, func.count()).group_by(OutboxItem.state))
        return {state: int(n) for state, n in rows}


async def test_a_stop_mid_way_and_a_fresh_process_deliver_every_message_once_in_order(
    engine: AsyncEngine, sessions, practitioner: int, telegram_api: TelegramBotAPI
) -> None:
    clock = FakeClock()
    async with UnitOfWork(sessions, practitioner) as uow:
        for n in range(PER_CHAT):
            for chat in range(CHATS):
                priority = Priority.BULK if chat % 2 else Priority.REPLY
                await uow.outbox.enqueue(channel="telegram", destination=str(100 + chat), priority=priority,
                                         text=f"{100 + chat}:{n}", key=f"{chat}:{n}", now=clock())
        await uow.commit()
    telegram_api.latency = 0.01  # sends are in flight when the stop comes

    first_bot = make_bot(TOKEN, telegram_api.base_url)
    first = OutboxRelay(sessions, {"telegram": TelegramSender(first_bot)}, clock, batch=20)
    task = asyncio.create_task(first.run())
    await until(lambda: len(telegram_api.sent()) >= 150 and telegram_api.in_flight > 0, "sends in flight")
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert task.cancelled()
    await first_bot.session.close()
    assert telegram_api.in_flight == 0  # the stop waited for the sends it had started
    stopped = await states(engine)
    assert "sending" not in stopped and "uncertain" not in stopped
    assert 150 <= stopped["sent"] < CHATS * PER_CHAT
    assert stopped["sent"] == len(telegram_api.sent())  # each finished send was recorded
    await engine.dispose()

    fresh_engine = make_engine(engine.url.render_as_string(hide_password=False))
    second_bot = make_bot(TOKEN, telegram_api.base_url)
    try:
        second = OutboxRelay(session_factory(fresh_engine), {"telegram": TelegramSender(second_bot)}, clock)
        await second.drain()
        assert await states(fresh_engine) == {"sent": CHATS * PER_CHAT}
    finally:
        await second_bot.session.close()
        await fresh_engine.dispose()

    texts = [params["text"] for params in telegram_api.sent()]
    assert len(texts) == CHATS * PER_CHAT and max(Counter(texts).values()) == 1
    for chat in range(CHATS):
        assert [p["text"] for p in telegram_api.sent(100 + chat)] == [f"{100 + chat}:{n}" for n in range(PER_CHAT)]
