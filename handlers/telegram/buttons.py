"""Inline-keyboard taps: the callback data is the payload the flow gave the button."""

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery

from bot.desk import Desk
from handlers.telegram.translate import from_callback

log = logging.getLogger(__name__)


async def button_tap(callback: CallbackQuery, desk: Desk) -> None:
    if callback.message is not None and callback.data is not None:
        await desk.handle(from_callback(callback, callback.message.chat.id, now=desk.clock()))
    try:
        # Stops the button's spinner; the reply itself leaves through the outbox.
        await callback.answer()
    except TelegramAPIError as error:
        # A replayed update's query is too old to answer: the tap itself is already stored.
        log.info("callback %s not answered: %s", callback.id, type(error).__name__)


def router() -> Router:
    buttons = Router(name=__name__)
    # Only buttons under our messages in a private chat; inline-mode taps carry no chat.
    buttons.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    buttons.callback_query.register(button_tap)
    return buttons
