"""Outbox rows for her Telegram Business chats (channel `tg_business`): the way is decided at
send time (flows/business.route), so a row queued inside the 24-hour window that is sent after
it, or after she took the chat over, goes to the client's bot chat or waits instead of failing.
"""

import logging
from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.outbox.delivery import Failed, OutsideWindow, Result
from flows.business import ChatFacts, Route, Way, chat_of, is_paused, owner_of, route, window
from storage.models import OutboxItem
from storage.uow import UnitOfWork

if TYPE_CHECKING:  # the dashboard reads windows here without a bot: no aiogram for it
    from bot.telegram.sender import TelegramSender

log = logging.getLogger(__name__)


async def chat_facts(uow: UnitOfWork, address: str, now: datetime) -> ChatFacts:
    """What decides the way of a message to this business chat, read in one unit of work."""
    live = await uow.business.live_connection(owner_of(address))
    chat = await uow.business.chat(address)
    bot_chat = (await uow.business.bot_chats([address])).get(address)
    return ChatFacts(
        chat_id=chat_of(address),
        connection_id=live.connection_id if live is not None else None,
        last_client_at=chat.last_client_at if chat is not None else None,
        paused=chat is not None and is_paused(chat.paused_at, chat.paused_until, now),
        bot_chat=int(bot_chat) if bot_chat is not None else None,
    )


async def client_windows(uow: UnitOfWork, client_ids: Collection[int], now: datetime) -> dict[int, ChatFacts]:
    """Her business clients among these, with the facts of their chat in her account (the first
    one, should a client write to two of her accounts): the dashboard shows the window state."""
    addresses = {client_id: found[0] for client_id, found in (await uow.business.addresses_of(client_ids)).items()}
    if not addresses:
        return {}
    live = await uow.business.live_connections()
    chats = await uow.business.chats(addresses.values())
    bot_chats = await uow.business.bot_chats(addresses.values())
    facts: dict[int, ChatFacts] = {}
    for client_id, address in addresses.items():
        chat = chats.get(address)
        facts[client_id] = ChatFacts(
            chat_id=chat_of(address),
            connection_id=live.get(owner_of(address)),
            last_client_at=chat.last_client_at if chat is not None else None,
            paused=chat is not None and is_paused(chat.paused_at, chat.paused_until, now),
            bot_chat=int(bot_chats[address]) if address in bot_chats else None,
        )
    return facts


async def window_states(uow: UnitOfWork, client_ids: Collection[int], now: datetime) -> dict[int, str]:
    """client id → "open" | "closed" | "paused" | "off", for her business clients among these."""
    return {
        client_id: window(facts, now).value for client_id, facts in (await client_windows(uow, client_ids, now)).items()
    }


def _refused_as_business(result: Result) -> bool:
    """Telegram refused the business send itself (the window closed unseen, the connection was
    revoked meanwhile): its BUSINESS_* errors. Worth the bot chat, or waiting, not a failure."""
    return isinstance(result, Failed) and "BUSINESS" in result.error.upper()


class BusinessSender:
    def __init__(
        self, telegram: "TelegramSender", sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]
    ) -> None:
        self.telegram = telegram
        self.sessions = sessions
        self.clock = clock

    async def route(self, item: OutboxItem) -> tuple[Route, ChatFacts]:
        async with UnitOfWork(self.sessions, item.practitioner_id) as uow:
            facts = await chat_facts(uow, item.destination, self.clock())
        return route(facts, self.clock()), facts

    async def send(self, item: OutboxItem) -> Result:
        try:
            way, facts = await self.route(item)
        except ValueError:
            return Failed(error="destination is not a Telegram Business chat")
        if way.way is Way.WAIT:
            return OutsideWindow(error=way.reason)
        if way.way is Way.BOT_CHAT:
            return await self.telegram.send(item, chat_id=way.chat_id)
        result = await self.telegram.send(item, chat_id=way.chat_id, business_connection_id=way.connection_id)
        if not _refused_as_business(result):
            return result
        log.warning("telegram refused business outbox row %s; it goes another way", item.id)
        if facts.bot_chat is not None:
            return await self.telegram.send(item, chat_id=facts.bot_chat)
        return OutsideWindow(error=f"{getattr(result, 'error', '')}; waits until the client writes again")
