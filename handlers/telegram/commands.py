"""`/start <payload>`: a deep link's payload reaches the flow as a button payload would."""

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.desk import Desk
from handlers.telegram.translate import from_message, message_id


async def start_with_payload(message: Message, command: CommandObject, desk: Desk) -> None:
    if message.from_user is None:
        return
    # The payload is data, not words: kept out of the text so it cannot sway language detection.
    inbound = from_message(
        message,
        message.from_user,
        external_id=message_id(message),
        now=desk.clock(),
        payload=command.args,
        text=f"{command.prefix}{command.command}",
    )
    await desk.handle(inbound)


def router() -> Router:
    # A bare /start is ordinary text to the flow (the menu) and goes to the messages router.
    commands = Router(name=__name__)
    commands.message.filter(F.chat.type == ChatType.PRIVATE, F.from_user)
    commands.message.register(start_with_payload, CommandStart(deep_link=True))
    return commands
