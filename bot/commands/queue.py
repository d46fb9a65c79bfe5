"""/queue [service] [page] and /next."""

from bot.commands.base import Env, Run
from flows.practice import queue as decide
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command


async def queue(env: Env, command: Command) -> list[PracticeEffect]:
    service, page = decide.queue_args(command.words, env.ctx)
    order = [s.key for s in env.ctx.catalogue.services]
    found = await env.uow.practice.queue_page(order, service, (page - 1) * decide.PAGE_SIZE, decide.PAGE_SIZE)
    return decide.queue(found, service, page, env.ctx)


async def next_request(env: Env, command: Command) -> list[PracticeEffect]:
    found = await env.uow.practice.next_queued()
    card = await env.uow.practice.card(found, env.ctx.now) if found is not None else None
    waiting = await env.uow.practice.open_by_stage() if card is None else {}
    return decide.next_request(card, waiting.get("submitted", 0), waiting.get("in_work", 0), env.ctx)


COMMANDS: dict[str, Run] = {"queue": queue, "next": next_request}
