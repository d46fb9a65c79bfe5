"""Stored Telegram updates fed to the aiogram Dispatcher, one at a time, in arrival order.

Both modes land here: the webhook stores an update before answering 200, the poller before
confirming the offset. Only then does the Dispatcher see it, so a crash or a failing handler
loses nothing, and Telegram never waits on our processing (shared/RELIABILITY.md).
"""

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.inbound.pass_limit import PassLimit
from bot.inbound.wakeup import Wakeup
from bot.telegram.ingest import TelegramIngest
from storage.inbox import InboxRepo
from storage.locks import exclusive
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

ANSWER_AT_ONCE = ("pre_checkout_query",)

CHANNEL = "telegram"
# A processing failure is retried on the next passes; after this many the update is set aside
# (processed, with last_error) so that it never blocks the updates behind it.
MAX_ATTEMPTS = 5
# Inbox passes at once in one process, every practitioner's together. A pass on PostgreSQL holds
# two pooled connections (its lock's and its work's); with one inbox per practitioner, 100 passes
# waiting on their locks took the whole pool (5 + 5) and the pass holding a lock waited for its
# second connection: start-up failed on a pool timeout (bench/practitioners.py, 100 practitioners).
PASSES_AT_ONCE = 2
PER_TURN = 10  # updates a pass feeds before it lets the next practitioner's pass in
# Idle, every practitioner's inbox in every worker still read the database each second: with 100
# practitioners and 2 workers ~200 reads a second (4 round trips each) doing nothing, which slowed
# everyone's alerts (bench/practitioners.py). Idle passes back off to this; a stored update
# wakes the inbox at once, so only a failed update's retry waits for the tick.
MOST_IDLE = 10.0
_PASSES = PassLimit(PASSES_AT_ONCE)


class TelegramInbox:
    def __init__(
        self,
        uow: Callable[[], UnitOfWork],
        clock: Callable[[], datetime],
        dispatcher: Dispatcher,
        bot: Bot,
        ingest: TelegramIngest | None = None,
    ) -> None:
        self.uow = uow
        unopened = uow()  # a UnitOfWork opens nothing until entered
        self.practitioner_id = unopened.practitioner_id
        self.clock = clock
        self.dispatcher = dispatcher
        self.bot = bot
        self._wakeup = Wakeup()
        self._lock = asyncio.Lock()
        # Every practitioner's webhook shares the deployment's (main.build); a bare inbox has its own.
        self._ingest = ingest or TelegramIngest(unopened.sessions)

    def wake(self) -> None:
        self._wakeup.wake()

    async def store(self, updates: Sequence[tuple[int, str]]) -> int:
        """Make raw updates durable in one commit; returns how many were new (repeats are not).
        The poller's store; the webhook's goes through store_one."""
        async with self.uow() as uow:  # a concurrent delivery stored first is skipped, not an error
            new = await self.insert(uow.session, updates)
            await uow.commit()
        await self.stored(updates, new)
        return len(new)

    async def insert(self, session: AsyncSession, updates: Sequence[tuple[int, str]]) -> list[str]:
        """Her rows in a transaction the caller commits; returns the ids that were new.

        A pre-checkout query is stored as settled: stored() feeds it to the Dispatcher right
        away, before the webhook's 200 or the next getUpdates, since Telegram cancels the
        checkout unless it is answered within 10 seconds, which a queue of earlier updates
        could not promise."""
        return await InboxRepo(session, self.practitioner_id).store_batch(
            channel=CHANNEL,
            updates=[(str(update_id), payload, _answer_at_once(payload)) for update_id, payload in updates],
            now=self.clock(),
        )

    async def stored(self, updates: Sequence[tuple[int, str]], new_ids: Sequence[str]) -> None:
        """After the commit: a new pre-checkout is answered now, the rest wake the worker."""
        new = set(new_ids)
        for update_id, payload in updates:
            if str(update_id) in new and _answer_at_once(payload):
                new.discard(str(update_id))  # fed once, even if the batch carried it twice
                await self._feed_at_once(payload)
        if new_ids:
            self.wake()

    async def _feed_at_once(self, payload: str) -> None:
        try:
            await self.dispatcher.feed_update(self.bot, Update.model_validate_json(payload, context={"bot": self.bot}))
        except Exception as error:  # unanswered, Telegram cancels the checkout; the client may retry
            log.warning("telegram pre-checkout failed: %s", type(error).__name__, exc_info=True)

    async def store_one(self, update_id: int, payload: str) -> None:
        """The webhook's store: durable on return, its commit shared with concurrent requests to
        any practitioner's bot (bot/telegram/ingest.py). A repeat is stored once."""
        await self._ingest.submit(self, update_id, payload)

    async def process_pending(self) -> int:
        """Feed every stored update to the Dispatcher; returns how many were settled.

        One pass at a time: in this process (the asyncio lock) and, on PostgreSQL with several
        workers, across processes (an advisory lock), or two workers would feed the same
        updates, out of order. The lock is her own (one practitioner's pass never waits for
        another's) and is not taken when nothing is pending: the idle tick of every
        practitioner's inbox in every worker is then one indexed read."""
        settled = 0
        while True:
            async with self.uow() as uow:
                if not await uow.inbox.pending(CHANNEL, limit=1):
                    return settled
            # A few updates per turn, then the other practitioners' passes get theirs: her
            # backlog must not keep another's emergency waiting for the pass limit.
            async with self._lock, _PASSES.here(), self.uow() as guard:
                async with exclusive(guard.session, f"priem:telegram-inbox:{guard.practitioner_id}"):
                    async with self.uow() as uow:
                        batch = [(u.id, u.payload) for u in await uow.inbox.pending(CHANNEL, limit=PER_TURN)]
                    for row_id, payload in batch:
                        if not await self._process(row_id, payload):
                            return settled  # keep the order: this one is tried again on the next pass
                        settled += 1

    async def _process(self, row_id: int, payload: str) -> bool:
        try:
            update = Update.model_validate_json(payload, context={"bot": self.bot})
        except ValidationError as error:
            # Authentic (it passed the secret or came from getUpdates) but unusable: set aside.
            return await self._settle(
                row_id, f"invalid update: {error.error_count()} errors", final=True
            )
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except Exception as error:  # a handler or the database failed; the row records it
            log.warning(
                "telegram update row %s failed: %s", row_id, type(error).__name__, exc_info=True
            )
            return await self._settle(row_id, f"{type(error).__name__}: {error}", final=False)
        return await self._settle(row_id, None, final=True)

    async def _settle(self, row_id: int, error: str | None, *, final: bool) -> bool:
        """Record the outcome; True when the row is done with (processed or dead-lettered)."""
        async with self.uow() as uow:
            row = await uow.inbox.get(row_id)
            if row is None:
                return True
            done = final
            if error is not None:
                await uow.inbox.failed(row, error)
                done = final or row.attempts >= MAX_ATTEMPTS
                if done:
                    log.error(
                        "telegram update row %s set aside after %s attempts", row_id, row.attempts
                    )
            if done:
                await uow.inbox.processed(row, self.clock())
            await uow.commit()
        return done

    async def run(self, idle_seconds: float = 1.0, most_idle: float = MOST_IDLE) -> None:
        """Forever: process, then sleep until woken by a stored update or the idle tick. The tick
        slows down to `most_idle` while there is nothing to do: every stored update wakes the
        inbox of the process that stored it, and the tick only catches a failed pass or update."""
        await self._wakeup.loop(self.process_pending, "telegram inbox", idle_seconds, most_idle)


def _answer_at_once(payload: str) -> bool:
    if not any(f'"{kind}"' in payload for kind in ANSWER_AT_ONCE):
        return False
    try:
        data = json.loads(payload)
    except ValueError:
        return False
    return isinstance(data, dict) and any(kind in data for kind in ANSWER_AT_ONCE)
