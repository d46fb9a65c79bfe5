"""/refund N (a Stars payment back to the client, the request closed) and /invoice N (her approval
of an invoice held for a flagged client, or a fresh one)."""

from bot.commands.base import Env, Run, card_for
from flows.practice.args import BadArgument
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command


async def refund(env: Env, command: Command) -> list[PracticeEffect]:
    card = await card_for(env, command.words[0] if command.words else None)
    if env.payments is None:
        raise BadArgument("cmd-refund-off", number=card.request_id)
    return await env.payments.refund(env.uow, card, env.log_id)


async def invoice(env: Env, command: Command) -> list[PracticeEffect]:
    card = await card_for(env, command.words[0] if command.words else None)
    if env.payments is None:
        raise BadArgument("cmd-invoice-off", number=card.request_id)
    return await env.payments.approve(env.uow, card)


COMMANDS: dict[str, Run] = {"refund": refund, "invoice": invoice}
