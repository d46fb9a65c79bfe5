"""/resume hands her Telegram Business chats back to the bot too.

She writes in a client's chat herself and the bot steps back there (bot/telegram/business.py); /resume in
her chat with the bot ends those pauses at once, as well as a /pause break if one is on. Never
run from a business chat: commands typed there reach no one (flows/business.seen).
"""

from bot.commands import pause
from bot.commands.base import Env, Run
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, PracticeEffect
from flows.practice.parse import Command


async def resume(env: Env, command: Command) -> list[PracticeEffect]:
    resumed = await env.uow.business.resume_all(env.ctx.now)
    await env.uow.business.release(resumed, env.ctx.now)  # what waited while she had the chat
    chats: list[PracticeEffect] = [Answer("business-resumed", {"chats": len(resumed)})] if resumed else []
    if await env.uow.pauses.active(env.ctx.now) is None:
        if not chats:
            raise BadArgument("cmd-error-no-pause")
        return chats
    return [*await pause.resume(env, command), *chats]


COMMANDS: dict[str, Run] = {"resume": resume}
