"""Client messages of every kind: text, voice, photos, stickers, anything else."""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.types import Message

from bot.desk import Desk
from handlers.telegram.translate import from_message, message_id


async def client_message(message: Message, desk: Desk) -> None:
    if message.from_user is None:
        return
    await desk.handle(
        from_message(message, message.from_user, external_id=message_id(message), now=desk.clock())
    )


def router() -> Router:
    # Private chats with a person only: groups, channels and anonymous admins are not clients.
    messages = Router(name=__name__)
    messages.message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)
    messages.message.register(client_message)
    return messages
