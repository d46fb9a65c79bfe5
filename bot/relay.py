"""Drains the outbox: by priority, oldest-first per destination, retried with backoff."""

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery import Delivered, Failed, OutsideWindow, Result, RetryLater, Sender, Uncertain
from bot.wakeup import Wakeup
from storage.delivery import WAITING_WINDOW
from storage.uow import RelayUnitOfWork

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
MAX_BACKOFF = 600.0


def backoff(attempts: int) -> float:
    """Exponential with full jitter: retries after an outage don't arrive as one wave."""
    return random.uniform(0.5, 1.0) * min(MAX_BACKOFF, 2.0 ** attempts)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Callable[[], datetime],
        batch: int = 50,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.batch = batch
        self._wakeup = Wakeup()

    def wake(self) -> None:
        self._wakeup.wake()

    async def drain(self) -> int:
        """Send everything due now; returns how many rows were attempted."""
        total = 0
        while True:
            async with RelayUnitOfWork(self.sessions) as uow:
                items = await uow.outbox.claim(self.clock(), self.batch, LEASE, tuple(self.senders))
                await uow.commit()
            if not items:
                return total
            # One send at a time per destination is guaranteed by claim(); across
            # destinations the sends run concurrently.
            results = await asyncio.gather(*(self._send(item.channel, item) for item in items))
            async with RelayUnitOfWork(self.sessions) as uow:
                now = self.clock()
                for item, result in zip(items, results, strict=True):
                    row = await uow.outbox.get(item.id)
                    if row is not None:
                        await self._record(uow, row, result, now)
                await uow.commit()
            total += len(items)

    async def _send(self, channel: str, item) -> Result:  # noqa: ANN001
        try:
            return await self.senders[channel].send(item)
        except Exception as error:  # a sender bug must not kill the relay; the row retries
            log.exception("sender %s failed on outbox row %s", channel, item.id)
            return RetryLater(error=f"{type(error).__name__}")

    async def _record(self, uow: RelayUnitOfWork, row, result: Result, now: datetime) -> None:  # noqa: ANN001
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
