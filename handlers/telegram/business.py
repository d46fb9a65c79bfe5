"""Telegram Business updates: her account connected or not, and her clients' messages and button
taps in her own chats. The shell is bot/telegram/business.py (the Dispatcher's `business` kwarg).

`deleted_business_messages` is not asked for: priem keeps no copy of her chats to correct, only
the messages the flows handled, and those stay in the client's history like any channel's.
"""

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.types import BusinessConnection, CallbackQuery, Message, Update

if TYPE_CHECKING:  # bot/telegram/business.py reads Telegram objects with handlers/telegram/translate.py
    from bot.telegram.business import TelegramBusiness


async def connection(update: BusinessConnection, event_update: Update, business: "TelegramBusiness") -> None:
    await business.connection(update, event_update.update_id)


async def business_message(message: Message, business: "TelegramBusiness") -> None:
    await business.message(message, edited=False)


async def edited_business_message(message: Message, business: "TelegramBusiness") -> None:
    await business.message(message, edited=True)


async def tap(callback: CallbackQuery, business: "TelegramBusiness") -> None:
    await business.tap(callback)


def router() -> Router:
    # Included before the bot chat's buttons router: a tap under a message in her chat belongs here.
    business = Router(name=__name__)
    business.business_connection.register(connection)
    business.business_message.register(business_message)
    business.edited_business_message.register(edited_business_message)
    business.callback_query.register(tap, F.message.business_connection_id)
    return business
