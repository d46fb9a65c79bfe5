"""getUpdates long polling into the inbox: an offset is confirmed only once its updates are stored.

aiogram's own polling hands updates to handlers straight from the response and moves the offset
on regardless of the outcome; storing first gives polling the webhook's guarantees.
"""

import asyncio
import logging
from collections.abc import Sequence

from aiogram import Bot
from aiogram.exceptions import TelegramConflictError
from aiogram.methods import GetUpdates

from bot.telegram.inbox import TelegramInbox

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


class Poller:
    def __init__(
        self, bot: Bot, inbox: TelegramInbox, allowed_updates: Sequence[str], timeout: int = 25
    ) -> None:
        self.bot = bot
        self.inbox = inbox
        self.allowed_updates = list(allowed_updates)
        self.timeout = timeout
        self.offset: int | None = None

    async def poll_once(self, timeout: int | None = None) -> int:
        """One getUpdates call; returns how many new updates were stored."""
        wait = self.timeout if timeout is None else timeout
        updates = await self.bot(
            GetUpdates(offset=self.offset, timeout=wait, allowed_updates=self.allowed_updates),
            # The HTTP request must outlive the long poll, or every quiet poll is a timeout.
            request_timeout=int(self.bot.session.timeout + wait),
        )
        if not updates:
            return 0
        stored = await self.inbox.store(
            [(u.update_id, u.model_dump_json(exclude_none=True, by_alias=True)) for u in updates]
        )
        self.offset = updates[-1].update_id + 1  # confirmed by the next call, after the commit
        return stored

    async def run(self) -> None:
        """Forever, with backoff on errors. A webhook left from webhook mode makes getUpdates
        answer 409, so it is removed first (pending updates stay queued at Telegram)."""
        delay = 1.0
        webhook_cleared = False
        while True:
            try:
                if not webhook_cleared:
                    await self.bot.delete_webhook(drop_pending_updates=False)
                    webhook_cleared = True
                await self.poll_once()
                delay = 1.0
            except TelegramConflictError:
                webhook_cleared = False
                log.warning("getUpdates conflict: a webhook is set or another poller runs")
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)
            except Exception as error:  # the Bot API or the database is unreachable: wait, retry
                log.warning(
                    "telegram polling failed (%s); retrying in %.0f s", type(error).__name__, delay
                )
                await asyncio.sleep(delay)
                delay = min(MAX_BACKOFF, delay * 2)
