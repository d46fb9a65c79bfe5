"""The Telegram webhooks' store, for every practitioner's bot: one group commit for all.

Each practitioner's bot has its own webhook path and inbox (bot/platform/tenants.py), but a commit is
what an update costs (shared/PERF.md): with a group commit per bot, updates to 100 bots hardly
ever shared one (bench/README.md, many practitioners). Here concurrent webhook requests, whoever
their bot, are written in one transaction (each row under its own practitioner, storage/inbox.py)
and each request is answered once that transaction has committed its row.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.inbound.group_commit import GroupCommit, Outcomes

if TYPE_CHECKING:
    from bot.telegram.inbox import TelegramInbox

WEBHOOK_PATH = "/webhook/telegram"  # #1's bot; another practitioner's: WEBHOOK_PATH/<slug>

Stored = tuple["TelegramInbox", int, str]  # her inbox, update_id, the update as JSON


class TelegramIngest:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._grouped: GroupCommit[Stored] = GroupCommit(self._store)

    async def submit(self, inbox: "TelegramInbox", update_id: int, payload: str) -> None:
        """Durable on return; a repeat (Telegram retrying) is stored once."""
        await self._grouped.submit((inbox, update_id, payload))

    async def _store(self, batch: Sequence[Stored]) -> Outcomes:
        mine: dict[TelegramInbox, list[tuple[int, str]]] = {}
        for inbox, update_id, payload in batch:
            mine.setdefault(inbox, []).append((update_id, payload))
        try:
            async with self.sessions() as session:
                stored = [(inbox, updates, await inbox.insert(session, updates)) for inbox, updates in mine.items()]
                await session.commit()
        except Exception:
            if len(mine) == 1:
                raise  # a 5xx for these requests: Telegram sends them again
            # One practitioner's failing rows (a deadlock between two workers' batches, a lock
            # timeout) must not fail the others': each gets her own transaction, and only the
            # requests whose rows failed answer an error.
            failed = await self._one_by_one(mine)
            return [failed.get(inbox) for inbox, _, _ in batch]
        for inbox, updates, new in stored:
            await inbox.stored(updates, new)
        return None

    async def _one_by_one(self, mine: dict["TelegramInbox", list[tuple[int, str]]]) -> dict["TelegramInbox", Exception]:
        failed: dict[TelegramInbox, Exception] = {}
        for inbox, updates in mine.items():
            try:
                await inbox.store(updates)
            except Exception as error:
                failed[inbox] = error
        return failed
