"""Telegram Business mode: the bot answering clients inside the practitioner's own account.

She connects the bot (BotFather → Business Mode; then Telegram Settings → Telegram Business →
Chatbots). Telegram then sends `business_connection` (connected, rights, disconnected) and her
clients' messages as `business_message` / `edited_business_message`; handlers/telegram/business.py
hands them here. A client's message runs the same flows as the bot chat (channel `tg_business`,
the address `<her id>:<chat id>`); replies are outbox rows that bot/telegram/business_sender.py sends with
`business_connection_id`. The decisions are pure (flows/business.py); this is the shell.
"""

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatType
from aiogram.exceptions import ClientDecodeError, TelegramAPIError
from aiogram.types import BusinessConnection, CallbackQuery, Message

from bot.desk import Desk
from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from flows import business
from flows.business import Seen
from flows.linking import start_token
from flows.model import Channel, Inbound
from handlers.telegram.translate import from_callback, from_message
from storage.models import BusinessConnection as ConnectionRow
from storage.models import Client
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

CHANNEL = Channel.TELEGRAM_BUSINESS


class TelegramBusiness:
    def __init__(self, desk: Desk, bot: Bot, *, pause_hours: float) -> None:
        self.desk = desk
        self.bot = bot
        self.pause_hours = pause_hours  # 0: her message pauses a chat until /resume
        self.language = desk.practice.language if desk.practice is not None else "ru"
        self.username: str | None = None  # the bot's, for the deep link (getMe, once)

    # Her account connected, changed or disconnected

    async def connection(self, update: BusinessConnection, update_id: int) -> None:
        owner = update.user.id
        practice = self.desk.practice
        if practice is None or not await practice.is_practitioner(Channel.TELEGRAM, str(owner)):
            # Someone else connected the bot to their account: nothing of theirs is stored.
            log.warning("Telegram Business connection from an account that is not the practitioner's: ignored")
            return
        rights = update.rights.model_dump(exclude_none=True) if update.rights is not None else None
        can_reply = bool(update.rights.can_reply) if update.rights is not None else bool(update.can_reply)
        live = update.is_enabled and can_reply
        hours = await self._opening_hours(update.user_chat_id) if live else None
        now = self.desk.clock()
        async with self.desk.uow() as uow:
            before = await uow.business.connection(update.id)
            was_live = before is not None and before.is_enabled and before.can_reply
            await uow.business.save_connection(
                connection_id=update.id,
                user_id=owner,
                user_chat_id=update.user_chat_id,
                can_reply=can_reply,
                rights=rights,
                enabled=update.is_enabled,
                opening_hours=hours,
                now=now,
            )
            if live:
                await uow.business.release_owner(owner, now)  # what waited for the connection
            if before is None or live != was_live:
                text_id = _connection_text(update.is_enabled, can_reply)
                params = {"hours": f"{self.pause_hours:g}", "opening": "✓" if hours else "—"}
                key = f"bizconn:{update_id}"  # once per update, however often it is replayed
                await self._tell_her(uow, update.user_chat_id, text_id, params, key, now)
            await uow.commit()
        self.desk.on_enqueued()

    async def _opening_hours(self, chat_id: int) -> dict[str, Any] | None:
        """getChat → business_opening_hours, kept as Telegram gives it; None when unset or
        unreachable (the catalogue's hours stay in force)."""
        try:
            chat = await self.bot.get_chat(chat_id)
        except (TelegramAPIError, ClientDecodeError) as error:
            log.info("her Telegram opening hours not read: %s", type(error).__name__)
            return None
        hours = chat.business_opening_hours
        if hours is None or not hours.opening_hours:
            return None
        return {
            "time_zone_name": hours.time_zone_name,
            "opening_hours": [[i.opening_minute, i.closing_minute] for i in hours.opening_hours],
        }

    # A message in one of her chats

    async def message(self, message: Message, *, edited: bool) -> None:
        now = self.desk.clock()
        async with self.desk.uow() as uow:
            connection = await self._live(uow, message.business_connection_id)
            owner = connection.user_id if connection is not None else 0
            address = business.address(owner, message.chat.id)
            chat = await uow.business.chat(address) if connection is not None else None
            seen = business.seen(
                connected=connection is not None,
                owner_id=owner,
                sender_id=message.from_user.id if message.from_user is not None else None,
                private=message.chat.type == ChatType.PRIVATE,
                echo=message.sender_business_bot is not None,
                offline=bool(message.is_from_offline),
                text=message.text or "",
                paused=chat is not None and business.is_paused(chat.paused_at, chat.paused_until, now),
            )
            if seen is Seen.IGNORED or connection is None:
                return
            if seen is Seen.HERS:
                await self._she_wrote(uow, connection, address, message, now)
                return
            # Only a new message moves the window: a replayed update must not (its id was seen).
            external_id = _edit_id(address, message) if edited else f"{address}:{message.message_id}"
            if await uow.messages.seen(CHANNEL, external_id):
                return
            await uow.business.client_wrote(address, connection.connection_id, now)
            if seen is Seen.QUIET:  # she has the chat: stored nowhere, answered by nobody but her
                await uow.commit()
                return
            await uow.delivery.opened(CHANNEL, address, now)  # rows held for the window are due again
            await uow.commit()
        assert message.from_user is not None
        await self._know_username()
        inbound = from_message(message, message.from_user, external_id=external_id, now=now)
        await self.desk.handle(replace(inbound, channel=CHANNEL, sender_ref=address))

    async def _she_wrote(
        self, uow: UnitOfWork, connection: ConnectionRow, address: str, message: Message, now: datetime
    ) -> None:
        """She typed in the chat herself: the bot steps back there, and tells her once how to
        hand the chat back."""
        until = business.pause_end(now, self.pause_hours)
        if await uow.business.pause(address, connection.connection_id, until, now):
            client = await uow.clients.find_by_identity(CHANNEL, address)
            name = client.display_name if client is not None else message.chat.full_name
            text_id = "business-paused-until" if until is not None else "business-paused"
            key = f"bizpause:{address}:{message.message_id}"
            await self._tell_her(uow, connection.user_chat_id, text_id, {"client": name, "until_at": until}, key, now)
        await uow.commit()
        self.desk.on_enqueued()

    async def tap(self, callback: CallbackQuery) -> None:
        """A button under a message the bot sent in her chat. Only the client of that chat counts:
        her own taps there (she sees the same buttons) drive nothing."""
        message = callback.message
        if isinstance(message, Message):
            now = self.desk.clock()
            async with self.desk.uow() as uow:
                connection = await self._live(uow, message.business_connection_id)
                address = business.address(connection.user_id, message.chat.id) if connection else ""
                chat = await uow.business.chat(address) if connection else None
            paused = chat is not None and business.is_paused(chat.paused_at, chat.paused_until, now)
            if connection is not None and callback.from_user.id == message.chat.id and not paused and callback.data:
                await self._know_username()
                inbound = from_callback(callback, message.chat.id, now=now)
                await self.desk.handle(replace(inbound, channel=CHANNEL, sender_ref=address))
        try:
            await callback.answer()
        except TelegramAPIError as error:
            log.info("business callback %s not answered: %s", callback.id, type(error).__name__)

    # The deep link to the bot chat

    async def offer_link(self, uow: UnitOfWork, client: Client, inbound: Inbound, now: datetime) -> None:
        """After intake in her chat (the desk calls this when a request was submitted): one tap
        opens the client's own chat with the bot, where updates, reminders and the result reach
        them after the 24-hour window too. Not offered once that chat is open."""
        if inbound.channel != CHANNEL or self.username is None:
            return
        if await uow.business.bot_chats([inbound.sender_ref]):
            return
        token = start_token(self.desk.link_secret, client.id, str(business.chat_of(inbound.sender_ref)), now)
        say = business.link_offer(f"https://t.me/{self.username}?start={token}")
        await self.desk.say(uow, [say], client, inbound, now)

    async def _know_username(self) -> None:
        if self.username is not None:
            return
        try:
            self.username = (await self.bot.me()).username
        except (TelegramAPIError, ClientDecodeError) as error:  # no link this time; the conversation goes on
            log.warning("getMe failed, no deep link offered: %s", type(error).__name__)

    # Helpers

    async def _live(self, uow: UnitOfWork, connection_id: str | None) -> ConnectionRow | None:
        """The connection a business update came through, if the bot may act in it: known (hers),
        enabled and allowed to reply. Everything else is not processed at all."""
        row = await uow.business.connection(connection_id) if connection_id else None
        return row if row is not None and row.is_enabled and row.can_reply else None

    async def _tell_her(
        self, uow: UnitOfWork, chat_id: int, text_id: str, params: dict[str, Any], key: str, now: datetime
    ) -> None:
        text = self.desk.texts.text(text_id, params, self.language, self.desk.timezone, zone=False)
        await outgoing.post(
            uow, channel=Channel.TELEGRAM, destination=str(chat_id), message=Rendered(text), key=key, now=now
        )


def _connection_text(enabled: bool, can_reply: bool) -> str:
    if not enabled:
        return "business-disconnected"
    return "business-connected" if can_reply else "business-no-reply"


def _edit_id(address: str, message: Message) -> str:
    return f"edit:{address}:{message.message_id}:{message.edit_date or 0}"
