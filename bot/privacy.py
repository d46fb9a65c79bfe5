"""The clock's side of privacy, run by the scheduler: a forgotten client's addresses go once their
farewell is out, and RETENTION_DAYS erases old history.

Why addresses outlive the erasure for a while: the farewell must still reach the client, and the web
chat finds its client (and so the farewell) by the browser's address. Until `flows.privacy.
addresses_due`, a forgotten client gets nothing else (bot/notify.py refuses them), and a message from
one of their addresses lets it go at once and starts a new client (bot/desk.py).
"""

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from flows import privacy as decide
from storage.privacy import Retained
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


class Privacy:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        practitioner_id: int,
        clock: Callable[[], datetime],
        retention_days: int | None = None,
    ) -> None:
        self.sessions = sessions
        self.practitioner_id = practitioner_id
        self.clock = clock
        self.retention_days = retention_days

    def _uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    async def sweep_addresses(self) -> int:
        """Let go of the addresses of every forgotten client whose farewell is out; how many."""
        now = self.clock()
        try:
            async with self._uow() as uow:
                awaiting = await uow.privacy.awaiting_addresses()
            finished = 0
            for client in awaiting:
                if not decide.addresses_due(client.forgotten_at, client.farewell_state, now):
                    continue
                async with self._uow() as uow:  # one client per transaction: one failure costs one
                    await uow.privacy.finish(client.client_id, now)
                    await uow.commit()
                finished += 1
        except OperationalError:  # another process holds the writer: the next sweep retries
            log.warning("privacy sweep deferred: database busy", exc_info=True)
            return 0
        return finished

    async def sweep_retention(self) -> Retained | None:
        """Erase what is older than RETENTION_DAYS; None when retention is off."""
        now = self.clock()
        cutoff = decide.retention_cutoff(now, self.retention_days)
        if cutoff is None:
            return None
        try:
            async with self._uow() as uow:
                erased = await uow.privacy.erase_before(cutoff, now)
                await uow.commit()
        except OperationalError:
            log.warning("retention sweep deferred: database busy", exc_info=True)
            return None
        if erased.messages or erased.questions:
            log.info("retention: erased %d message texts and %d questions", erased.messages, erased.questions)
        return erased
