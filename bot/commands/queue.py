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
    rows = await env.uow.practice.queue_rows()
    cards = {}
    for row in rows:
        if row.stage.value == "queued":
            card = await env.uow.practice.card(row.request_id, env.ctx.now)
            if card is not None:
                cards[row.request_id] = card
    return decide.next_request(rows, cards, env.ctx)


COMMANDS: dict[str, Run] = {"queue": queue, "next": next_request}
