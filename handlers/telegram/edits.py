"""Edited messages: the flow sees each edit as a new message from the client."""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot.desk import Desk
from handlers.telegram.translate import edit_id, from_message


async def edited_message(message: Message, desk: Desk) -> None:
    if message.from_user is None:
        return
    await desk.handle(
        from_message(message, message.from_user, external_id=edit_id(message), now=desk.clock())
    )


def router() -> Router:
    edits = Router(name=__name__)
    edits.edited_message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)
    edits.edited_message.register(edited_message)
    return edits
