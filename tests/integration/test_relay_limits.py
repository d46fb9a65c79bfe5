"""The relay within Telegram's limits: a 300-client queue update through the real relay and the
real aiogram sender against the Bot API double enforcing its flood limits.

Scaled to run in about four seconds of real time (the rate buckets run on the wall clock): the
double enforces 100 msg/s overall and 5 msg/s per chat (Telegram: 30 and 1), the relay is set to
90 and 4 (the margin shared/PERF.md asks for: 28 of 30). 100/s rather than 300/s keeps the relay
limit-bound, not CPU-bound, on this 2-core machine (measured ~80 msg/s of the 90 allowed; at
production limits, 300 messages went out at 26.6 msg/s with 0 × 429). Assertions are on what
the double recorded — counts and order — never on elapsed time.
"""

import asyncio
import os
import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from bot.desk import utc_now
from bot.outbox.ratelimit import ChannelRate, RateLimits
from bot.outbox.relay import OutboxRelay
from bot.telegram.sender import TelegramSender, make_bot
from flows.model import Priority
from storage.models import OutboxItem
from storage.uow import UnitOfWork
from tests import database
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

CLIENTS = 300
CHATTY = (9001, 9002)  # two chats that get ten replies each: over their per-chat rate
PRACTITIONER_CHAT = 7000
REDIS_URL = os.environ.get("PRIEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
async def limited_api(telegram_api: TelegramBotAPI) -> TelegramBotAPI:
    telegram_api.enforce_limits(overall=100, per_chat=5)
    telegram_api.latency = 0.005
    return telegram_api


@pytest.fixture
async def sender(limited_api: TelegramBotAPI) -> AsyncIterator[TelegramSender]:
    bot = make_bot(TOKEN, limited_api.base_url)
    yield TelegramSender(bot)
    await bot.session.close()


@pytest.fixture
async def rates() -> AsyncIterator[RateLimits]:
    limits = RateLimits({"telegram": ChannelRate(overall=90, per_chat=4)})
    yield limits
    await limits.close()


async def until(condition, what: str, cap: float = 30.0) -> None:  # noqa: ANN001
    """Polls; the cap only keeps a broken relay from hanging the suite."""
    deadline = time.monotonic() + cap
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting: {what}")
        await asyncio.sleep(0.005)


async def test_a_300_client_queue_update_stays_in_the_limits_and_an_alert_jumps_it(
    sessions, practitioner: int, limited_api: TelegramBotAPI, sender: TelegramSender, rates: RateLimits
) -> None:
    now = utc_now()
    async with UnitOfWork(sessions, practitioner) as uow:
        for n in range(CLIENTS):
            await uow.outbox.enqueue(channel="telegram", destination=str(1000 + n), priority=Priority.BULK,
                                     text=f"bulk {n}", key=f"bulk:{n}", now=now)
        for chat in CHATTY:
            for n in range(10):
                await uow.outbox.enqueue(channel="telegram", destination=str(chat), priority=Priority.REPLY,
                                         text=f"reply {chat}/{n}", key=f"reply:{chat}:{n}", now=now)
        await uow.commit()
    relay = OutboxRelay(sessions, {"telegram": sender}, utc_now, batch=10, limits=rates)
    started = time.monotonic()
    task = asyncio.create_task(relay.run(idle_seconds=0.05))
    try:
        await until(lambda: len(limited_api.sent()) >= 100, "a third of the fan-out")
        async with UnitOfWork(sessions, practitioner) as uow:
            await uow.outbox.enqueue(channel="telegram", destination=str(PRACTITIONER_CHAT), priority=Priority.URGENT,
                                     text="ALERT", key="alert:1", now=utc_now())
            still_pending = set(await uow.session.scalars(select(OutboxItem.text).where(OutboxItem.state == "pending")))
            await uow.commit()
        relay.wake()
        total = CLIENTS + 10 * len(CHATTY) + 1
        await until(lambda: sum(p["chat_id"] < 9000 for p in limited_api.sent()) >= CLIENTS, "the bulk")
        bulk_elapsed = time.monotonic() - started
        await until(lambda: len(limited_api.sent()) >= total, "every message")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    sent = [params["text"] for params in limited_api.sent()]
    assert limited_api.too_many == 0
    assert len(sent) == total and max(Counter(sent).values()) == 1  # all of them, each once
    assert len(still_pending) > 100  # the alert really came mid-way
    alert = sent.index("ALERT")
    early = [text for text in still_pending if sent.index(text) < alert]
    # On SQLite claims and the alert's commit are serialised: nothing pending then goes before it.
    # On PostgreSQL a claim that began before the commit may still take one batch of them.
    allowed = relay.batch if database.on_postgres() else 0
    assert len(early) <= allowed, f"pending when the alert was queued, yet sent before it: {early} (alert #{alert})"
    for chat in CHATTY:
        assert [p["text"] for p in limited_api.sent(chat)] == [f"reply {chat}/{n}" for n in range(10)]
    async with sessions() as session:
        assert set(await session.scalars(select(OutboxItem.state))) == {"sent"}
    # Measured, not asserted (wall time): printed with -s for the report.
    print(f"\nfan-out: {CLIENTS} bulk rows (+20 replies in 2 chats) out in {bulk_elapsed:.2f} s = "
          f"{CLIENTS / bulk_elapsed:.0f} msg/s (relay limit 90/s, double 100/s); 429s: {limited_api.too_many}; "
          f"alert went out as send #{alert + 1}, {len(sent) - len(still_pending) - 1} were sent or in flight when "
          "it was queued")


async def test_a_429_waits_its_retry_after_and_is_counted(
    sessions, practitioner: int, limited_api: TelegramBotAPI, sender: TelegramSender
) -> None:
    """Without the relay's own limits the double's flood control answers 429; each refused
    message waits Telegram's retry_after and then goes out, once, in order."""
    limited_api.enforce_limits(overall=300, per_chat=2)
    now = utc_now()
    async with UnitOfWork(sessions, practitioner) as uow:
        for n in range(3):
            await uow.outbox.enqueue(channel="telegram", destination="5", priority=Priority.REPLY,
                                     text=f"m{n}", key=f"m{n}", now=now)
        await uow.commit()
    relay = OutboxRelay(sessions, {"telegram": sender}, utc_now)  # unlimited: it will hit 429
    await relay.drain()
    assert [p["text"] for p in limited_api.sent(5)] == ["m0", "m1"]
    assert limited_api.too_many == 1
    async with sessions() as session:
        row = await session.scalar(select(OutboxItem).where(OutboxItem.text == "m2"))
    assert row.state == "pending" and (row.next_attempt_at - now).total_seconds() >= 1


async def test_relays_on_one_redis_share_the_buckets() -> None:
    """Two processes' limiters on one Redis (REDIS_URL) draw from the same tokens."""
    import uuid

    from redis.asyncio import Redis
    from redis.exceptions import ConnectionError as RedisDown

    probe = Redis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (RedisDown, OSError):
        pytest.skip(f"no Redis at {REDIS_URL}")
    finally:
        await probe.aclose()
    scope = f"test-{uuid.uuid4().hex}"
    rates = {"telegram": ChannelRate(overall=3, per_chat=1)}
    one, two = RateLimits(rates, REDIS_URL, scope), RateLimits(rates, REDIS_URL, scope)
    try:
        assert [await one.take_overall("telegram") for _ in range(2)] == [0.0, 0.0]
        assert (await two.available("telegram"))[0] == 1
        assert await two.take_overall("telegram") == 0.0
        assert await one.take_overall("telegram") > 0  # the third went to the other process
        assert await one.take_chat("telegram", "42") == 0.0
        assert await two.take_chat("telegram", "42") > 0
    finally:
        await one.close()
        await two.close()
