"""The outbox relay against a recording sender: priorities, order per chat, retries, give-ups."""

from datetime import timedelta

from sqlalchemy import select

from bot.outbox.delivery import Delivered, Failed, Result, RetryLater, Uncertain
from bot.outbox.relay import LEASE, MAX_ATTEMPTS, OutboxRelay
from storage.models import OutboxItem
from storage.uow import RelayUnitOfWork, UnitOfWork
from tests.factories import FakeClock


class RecordingSender:
    def __init__(self, script: list[Result] | None = None) -> None:
        self.sent: list[tuple[str, str]] = []
        self.script = list(script or [])

    async def send(self, item: OutboxItem) -> Result:
        result = self.script.pop(0) if self.script else Delivered(external_id=f"x{item.id}")
        if isinstance(result, Delivered):
            self.sent.append((item.destination, item.text))
        return result


async def enqueue(sessions, practitioner: int, clock: FakeClock, rows: list[tuple[str, int, str]]) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        for destination, priority, text in rows:
            await uow.outbox.enqueue(channel="test", destination=destination, priority=priority, text=text,
                                     key=f"{destination}:{text}", now=clock())
        await uow.commit()


async def states(sessions) -> dict[str, str]:
    async with sessions() as session:
        return {row.text: row.state for row in await session.scalars(select(OutboxItem))}


async def test_urgent_rows_leave_first_and_each_chat_keeps_its_order(sessions, practitioner: int) -> None:
    clock = FakeClock()
    sender = RecordingSender()
    relay = OutboxRelay(sessions, {"test": sender}, clock, batch=1)
    await enqueue(sessions, practitioner, clock, [
        ("bulk-1", 3, "queue update 1"),
        ("bulk-2", 3, "queue update 2"),
        ("anna", 1, "reply 1"),
        ("anna", 0, "reply 2 (urgent, but after reply 1 in the same chat)"),
        ("practitioner", 0, "ALERT"),
    ])
    assert await relay.drain() == 5
    order = [text for _, text in sender.sent]
    assert order[0] == "ALERT"
    assert order.index("reply 1") < order.index("reply 2 (urgent, but after reply 1 in the same chat)")
    assert order[-2:] == ["queue update 1", "queue update 2"]
    assert set((await states(sessions)).values()) == {"sent"}


async def test_retry_later_waits_for_retry_after_and_keeps_the_chat_order(sessions, practitioner: int) -> None:
    clock = FakeClock()
    sender = RecordingSender([RetryLater("429", after_seconds=2)])
    relay = OutboxRelay(sessions, {"test": sender}, clock)
    await enqueue(sessions, practitioner, clock, [("anna", 1, "first"), ("anna", 1, "second")])
    await relay.drain()
    assert sender.sent == []  # the second waits behind the first
    clock.advance(seconds=1.9)
    await relay.drain()
    assert sender.sent == []
    clock.advance(seconds=0.2)
    await relay.drain()
    assert [text for _, text in sender.sent] == ["first", "second"]


async def test_transient_errors_back_off_then_give_up_after_max_attempts(sessions, practitioner: int) -> None:
    clock = FakeClock()
    sender = RecordingSender([RetryLater("503")] * MAX_ATTEMPTS)
    relay = OutboxRelay(sessions, {"test": sender}, clock)
    await enqueue(sessions, practitioner, clock, [("anna", 1, "hello")])
    for _ in range(MAX_ATTEMPTS):
        await relay.drain()
        clock.advance(seconds=3600)
    assert (await states(sessions)) == {"hello": "failed"}


async def test_permanent_and_uncertain_results_are_never_resent(sessions, practitioner: int) -> None:
    clock = FakeClock()
    sender = RecordingSender([Failed("blocked by the user"), Uncertain("timeout after write")])
    relay = OutboxRelay(sessions, {"test": sender}, clock)
    await enqueue(sessions, practitioner, clock, [("a", 1, "to a blocked chat"), ("b", 1, "timed out")])
    await relay.drain()
    clock.advance(hours=1)
    await relay.drain()
    assert await states(sessions) == {"to a blocked chat": "failed", "timed out": "uncertain"}
    assert sender.sent == []


async def test_a_crashing_sender_does_not_stop_the_relay(sessions, practitioner: int) -> None:
    class Exploding(RecordingSender):
        async def send(self, item: OutboxItem) -> Result:
            if item.text == "boom":
                raise RuntimeError("bug")
            return await super().send(item)

    clock = FakeClock()
    sender = Exploding()
    relay = OutboxRelay(sessions, {"test": sender}, clock)
    await enqueue(sessions, practitioner, clock, [("a", 1, "boom"), ("b", 1, "fine")])
    await relay.drain()
    assert [text for _, text in sender.sent] == ["fine"]
    assert (await states(sessions))["boom"] == "pending"


async def test_a_row_left_mid_send_by_a_crash_becomes_uncertain_not_resent(sessions, practitioner: int) -> None:
    clock = FakeClock()
    await enqueue(sessions, practitioner, clock, [("anna", 1, "hello"), ("anna", 1, "after it")])
    async with RelayUnitOfWork(sessions) as uow:  # a process claims (= starts sending), then dies
        claimed = await uow.outbox.due(clock(), 10, "test")
        await uow.outbox.take(claimed, clock(), LEASE)
        await uow.commit()
    assert [row.text for row in claimed] == ["hello"]
    sender = RecordingSender()
    relay = OutboxRelay(sessions, {"test": sender}, clock)
    await relay.drain()
    assert sender.sent == []  # still leased: the chat waits behind it
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await relay.drain()
    # sendMessage has no idempotency key: the message may have gone out, so it is not re-sent;
    # the chat moves on, and the practitioner sees the uncertain row.
    assert sender.sent == [("anna", "after it")]
    assert await states(sessions) == {"hello": "uncertain", "after it": "sent"}


async def test_rows_of_a_channel_without_sender_wait_untouched(sessions, practitioner: int) -> None:
    clock = FakeClock()
    await enqueue(sessions, practitioner, clock, [("anna", 1, "hello")])
    relay = OutboxRelay(sessions, {"web": RecordingSender()}, clock)
    await relay.drain()
    async with sessions() as session:
        row = await session.scalar(select(OutboxItem))
    assert row.state == "pending" and row.attempts == 0
    assert row.next_attempt_at <= clock() + timedelta(0)
