"""/paid N, /done N [link], /reply N|CLIENT text, /history N|CLIENT."""

from bot.commands.base import Env, Run, card_for, one_client
from flows.practice import requests as decide
from flows.practice.args import BadArgument, RefKind
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command


async def paid(env: Env, command: Command) -> list[PracticeEffect]:
    card = await card_for(env, command.words[0] if command.words else None)
    lengths = await env.uow.requests.queue_lengths()
    return decide.paid(card, env.ctx, lengths.get(card.service, 0))


async def done(env: Env, command: Command) -> list[PracticeEffect]:
    words = command.words
    card = await card_for(env, words[0] if words else None)
    return decide.done(card, words[1:], env.ctx)


async def reply(env: Env, command: Command) -> list[PracticeEffect]:
    who, _, text = command.args.partition(" ")
    if not who:
        raise BadArgument("cmd-error-need-number")
    client, ref = await one_client(env, who)
    request_id = int(ref.value) if ref.kind is RefKind.REQUEST else await env.uow.practice.open_request_of(client.id)
    return decide.reply(client.id, client.display_name, text, f"reply:{env.log_id}", request_id)


async def history(env: Env, command: Command) -> list[PracticeEffect]:
    if not command.args:
        raise BadArgument("cmd-error-need-number")
    client, _ = await one_client(env, command.args)
    return decide.history(client.display_name, await env.uow.practice.history(client.id))


COMMANDS: dict[str, Run] = {"paid": paid, "done": done, "reply": reply, "history": history}
