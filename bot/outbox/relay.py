"""Drains the outbox: by priority, oldest-first per destination, within each channel's rate
limits, retried with backoff.

How the pieces keep their promises:
- Rates (bot/outbox/ratelimit.py): a lane (channel, or practitioner's bot) claims up to CLAIM_AHEAD
  seconds of its sends, so a claim transaction that stalls (a loaded machine, a checkpoint)
  never leaves a slot unused; claiming a couple of slots at a time fed 1 row per 40 ms step on
  PostgreSQL (84% of the setting) and lost 6% on SQLite. The claimed rows wait for their slot in
  the lane's Pacer, which hands each slot, with the overall token taken for it, to the most
  urgent row it holds: an alert queued during a fan-out is claimed by the next claim (rows are
  claimed by priority; an in-process enqueue wakes it at once) and goes out at the next slot,
  ahead of every bulk row claimed before it. A row is claimed only when its chat's token is
  free, and the chat's token is taken at the send, not the claim: counted from the claim, the
  chat's next message — claimed a second later and sent at once — would reach the platform less
  than a second after this one (measured: 429s at Telegram's real 1 msg/s per chat).
- Transactions: while rows wait for their slots the relay claims and records every STEP
  seconds, not after each send (a transaction per send cost more than the sends' pacing left).
- Order per chat: a destination's next row is not claimable while an earlier one is pending or
  sending (storage/outbox.py); a chat that used its token waits out of the claim for a moment.
- Priority on the wire: a send waits (at most GATE_SECONDS) while a more urgent send is in
  flight, so a bulk request can never overtake an alert on an idle connection.
- Stopping: cancelling the relay stops claiming; sends already handed over finish and are
  recorded (shielded), so a restart never re-sends them; rows still waiting for their slot are
  released, pending again. Rows a hard crash left `sending` are `uncertain` once their lease ends
  (shared/RELIABILITY.md: never re-sent blindly): those in flight, and those claimed for the next
  CLAIM_AHEAD seconds (at most 14 at 28 msg/s), which a person then looks at.
"""

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.inbound.wakeup import Wakeup
from bot.metrics import Metrics
from bot.outbox.delivery import Delivered, Failed, OutsideWindow, Result, RetryLater, Sender, Uncertain
from bot.outbox.ratelimit import Pacer, RateLimits, lane
from storage.delivery import WAITING_WINDOW
from storage.models import OutboxItem
from storage.uow import RelayUnitOfWork

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # longer than any sender's timeout (30 s)
MAX_ATTEMPTS = 12
MAX_BACKOFF = 600.0
GATE_SECONDS = 1.0
CLAIM_AHEAD = 0.5  # seconds of a lane's sends claimed ahead (module docstring: Rates)
STEP = 0.1  # seconds between claims while claimed rows wait for their slots
CRASHED_SEND = "the relay stopped during this send: it may have gone out, so it is not re-sent"

Finished = list[tuple[OutboxItem, Result]]


def backoff(attempts: int) -> float:
    """Exponential with full jitter: retries after an outage don't arrive as one wave."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF, 2.0**attempts)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        batch: int = 50,
        limits: RateLimits | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.sessions = sessions
        self.metrics = metrics
        self.senders = senders
        self.clock = clock
        self.batch = batch  # most sends in flight at once
        self.limits = limits or RateLimits({})
        self._wakeup = Wakeup()
        self._kick = asyncio.Event()  # a new row: claim now, even in the middle of a drain
        self._gate = asyncio.Condition()
        self._flying: Counter[int] = Counter()  # priorities of the sends in flight
        self._held: dict[tuple[str, str], float] = {}  # chat → monotonic time its token frees
        self._promised: Counter[str] = Counter()  # claimed sends not yet given their slot, per lane
        self._pacers: dict[str, Pacer | None] = {}  # lane → its slots in this process
        self._handed: set[int] = set()  # outbox row ids given to their sender, not yet finished
        # Many practitioners (bot/platform/tenants.py): each one's bot / sender is a lane with buckets of
        # its own, claimed separately; off, a channel is one lane (keys below are then channels).
        self.per_practitioner = False
        self._lane_of: dict[int, str] = {}  # outbox row id → the lane it was claimed in

    def wake(self) -> None:
        self._wakeup.wake()
        self._kick.set()

    async def drain(self) -> int:
        """Send everything due now; returns how many rows were handed to a sender."""
        total = 0
        inflight: dict[asyncio.Task[Result], OutboxItem] = {}
        step: asyncio.Task[tuple[list[OutboxItem], float | None]] | None = None
        try:
            while True:
                done = [task for task in inflight if task.done()]
                finished = [(inflight[task], task.result()) for task in done]
                self._kick.clear()
                step = asyncio.create_task(self._step(finished, self.batch - len(inflight) + len(done)))
                claimed, wait = await asyncio.shield(step)
                step = None
                for task in done:
                    del inflight[task]
                for item in claimed:
                    self._flying[item.priority] += 1
                    self._promised[self._lane_of.get(item.id, item.channel)] += 1
                    inflight[asyncio.create_task(self._send_in_turn(item))] = item
                total += len(claimed)
                if not inflight and not claimed and wait is None:
                    return total
                if +self._promised:  # rows wait for their slots: top them up after STEP
                    await self._wait({}, _sooner(wait, STEP))
                else:
                    await self._wait(inflight, wait)
        except BaseException:
            # Cancelled (or the database failed): claim nothing more, let what was handed to a
            # sender finish, and record it, whatever happens to this task meanwhile.
            await asyncio.shield(self._wind_down(step, inflight))
            raise

    async def _step(self, finished: Finished, room: int) -> tuple[list[OutboxItem], float | None]:
        """One transaction: record finished sends, then claim what the tokens allow.

        Returns the claimed rows and, when something due had to wait for a token, how long.
        """
        async with RelayUnitOfWork(self.sessions) as uow:
            now = self.clock()
            await self._record_all(uow, finished, now)
            expired = await uow.outbox.expire_leases(now, CRASHED_SEND)
            if expired:
                log.warning("%d outbox rows were left mid-send by a stopped relay: marked uncertain", expired)
            claimed: list[OutboxItem] = []
            wait: float | None = None
            for channel, pid in await self._lanes(uow, now):
                if room - len(claimed) <= 0:
                    break
                key = lane(channel, pid)
                # Not the shared window's tokens left: with two processes it is full most of the
                # time, and claiming by it starved both (54% of the limit). The Pacer waits for it.
                ahead = self.limits.burst(key, CLAIM_AHEAD) - self._promised[key]
                if ahead <= 0:
                    continue  # the lane's rows wait for their slots; drain() claims again after STEP
                limit = min(ahead, room - len(claimed))
                taken, channel_wait = await self._claim_channel(uow, channel, now, limit, pid)
                claimed += taken
                wait = _sooner(wait, channel_wait)
            await uow.outbox.take(claimed, now, LEASE)
            await uow.commit()
        return claimed, _sooner(wait, self._next_release())

    async def _lanes(self, uow: RelayUnitOfWork, now: datetime) -> list[tuple[str, int | None]]:
        """Each channel, or with per_practitioner each (channel, practitioner) with rows due."""
        if not self.per_practitioner:
            return [(channel, None) for channel in self.senders]
        return [(c, pid) for c, pid in await uow.outbox.due_lanes(now) if c in self.senders]

    async def _claim_channel(
        self, uow: RelayUnitOfWork, channel: str, now: datetime, limit: int, pid: int | None = None
    ) -> tuple[list[OutboxItem], float | None]:
        key = lane(channel, pid)
        held = self._held_now(key)
        taken: list[OutboxItem] = []
        wait: float | None = None
        for row in await uow.outbox.due(now, limit, channel, held, practitioner_id=pid):
            chat_wait = await self.limits.chat_wait(key, row.destination)
            if chat_wait:
                self._held[(key, row.destination)] = time.monotonic() + chat_wait
                continue
            if pid is not None:
                self._lane_of[row.id] = key
            taken.append(row)
        return taken, wait

    def _held_now(self, channel: str) -> list[str]:
        now = time.monotonic()
        for key in [k for k, until in self._held.items() if until <= now]:
            del self._held[key]
        return [destination for (c, destination) in self._held if c == channel]

    def _next_release(self) -> float | None:
        if not self._held:
            return None
        return max(min(self._held.values()) - time.monotonic(), 0.0)

    async def _wait(self, inflight: dict[asyncio.Task[Result], OutboxItem], wait: float | None) -> None:
        """Until a send finishes, a new row is enqueued here, or a token frees."""
        kick = asyncio.create_task(self._kick.wait())
        try:
            await asyncio.wait({*inflight, kick}, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            kick.cancel()

    async def _send_in_turn(self, item: OutboxItem) -> Result:
        key = self._lane_of.get(item.id, item.channel)
        promised = True
        try:
            if any(p < item.priority for p in +self._flying):
                try:
                    async with asyncio.timeout(GATE_SECONDS), self._gate:
                        await self._gate.wait_for(lambda: not any(p < item.priority for p in +self._flying))
                except TimeoutError:
                    pass  # a hung urgent send must not stop everything behind it for long
            # Both tokens are taken at the last moment, so the platform sees the sends spaced
            # as the buckets spaced them (taken at the claim, a send held at the gate would
            # bunch up with later ones). The claim found the chat's free; only another process
            # writing to the chat meanwhile makes it wait, and then for a slot of its own.
            pacer = self._pacer(key)
            while True:
                if pacer is not None:
                    await pacer.turn(item.priority, item.id)  # the overall token comes with it
                if promised:
                    self._promised[key] -= 1
                    promised = False
                if not (wait := await self.limits.take_chat(key, item.destination)):
                    break
                await asyncio.sleep(wait)
            self._handed.add(item.id)
            return await self._send(item.channel, item)
        finally:
            self._lane_of.pop(item.id, None)
            self._handed.discard(item.id)
            if promised:
                self._promised[key] -= 1
            self._flying[item.priority] -= 1
            async with self._gate:
                self._gate.notify_all()

    def _pacer(self, key: str) -> Pacer | None:
        """The lane's slots, or None for a lane without an overall rate (the web chat)."""
        if key not in self._pacers:
            self._pacers[key] = Pacer(self.limits, key) if self.limits.spacing(key) else None
        return self._pacers[key]

    async def _wind_down(
        self,
        step: asyncio.Task[tuple[list[OutboxItem], float | None]] | None,
        inflight: dict[asyncio.Task[Result], OutboxItem],
    ) -> None:
        claimed: list[OutboxItem] = []
        if step is not None:
            try:
                claimed, _ = await step
            except Exception:  # its transaction failed: nothing was claimed
                log.exception("outbox claim failed while stopping")
        waiting = [task for task, item in inflight.items() if item.id not in self._handed]
        for task in waiting:  # not handed to a sender yet: released below, never sent
            task.cancel()
        results = await asyncio.gather(*inflight, return_exceptions=True)
        finished: Finished = []
        for (task, item), result in zip(inflight.items(), results, strict=True):
            if task in waiting and isinstance(result, asyncio.CancelledError):
                claimed.append(item)
            elif isinstance(result, BaseException):
                finished.append((item, RetryLater(error=type(result).__name__)))
            else:
                finished.append((item, result))
        try:
            async with RelayUnitOfWork(self.sessions) as uow:
                now = self.clock()
                await self._record_all(uow, finished, now)
                await uow.outbox.release([item.id for item in claimed])
                await uow.commit()
        except Exception:  # left `sending`: uncertain after the lease, never re-sent blindly
            log.exception("could not record %d finished sends while stopping", len(finished))
        finally:
            # Nothing of this drain is left in flight: a task cancelled before it ever ran
            # kept no books of its own.
            self._lane_of.clear()
            self._promised.clear()
            self._flying.clear()
            self._handed.clear()

    async def _record_all(self, uow: RelayUnitOfWork, finished: Finished, now: datetime) -> None:
        rows = await uow.outbox.get_many([item.id for item, _ in finished])
        for item, result in finished:
            if (row := rows.get(item.id)) is not None:
                await self._record(uow, row, result, now)

    async def _send(self, channel: str, item: OutboxItem) -> Result:
        try:
            return await self.senders[channel].send(item)
        except Exception as error:  # a sender bug must not kill the relay; the row retries
            log.exception("sender %s failed on outbox row %s", channel, item.id)
            return RetryLater(error=f"{type(error).__name__}")

    async def _record(self, uow: RelayUnitOfWork, row: OutboxItem, result: Result, now: datetime) -> None:
        if self.metrics is not None:
            self.metrics.outbound.labels(row.channel, type(result).__name__).inc()
        match result:
            case Delivered(external_id=external_id):
                await uow.outbox.sent(row, now, external_id)
            case RetryLater(error=error, after_seconds=after) if row.attempts < MAX_ATTEMPTS:
                delay = after if after is not None else backoff(row.attempts)
                await uow.outbox.retry(row, now + timedelta(seconds=delay), error)
            case RetryLater(error=error):
                log.warning("outbox row %s gave up after %s attempts", row.id, row.attempts)
                await uow.outbox.give_up(row, "failed", error)
            case Failed(error=error):
                await uow.outbox.give_up(row, "failed", error)
            case Uncertain(error=error):
                await uow.outbox.give_up(row, "uncertain", error)
            case OutsideWindow(error=error):
                await uow.outbox.give_up(row, WAITING_WINDOW, error)

    async def run(self, idle_seconds: float = 1.0) -> None:
        """Forever: drain, then sleep until woken by a new row or the idle tick."""
        await self._wakeup.loop(self.drain, "outbox drain", idle_seconds)


def _sooner(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else min(a, b)
