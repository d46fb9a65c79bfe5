"""/stats [period]: the numbers of the last 30 days (or 7d, 2w…), on one phone screen."""

from bot.commands.base import Env, Run
from flows.practice import stats as decide
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command


async def stats(env: Env, command: Command) -> list[PracticeEffect]:
    since = env.ctx.now - decide.period(command.words)
    facts = await env.uow.stats.requests(since)
    inbound = await env.uow.stats.inbound_times(since)
    payments = await env.uow.stats.payments(since)
    numbers = decide.aggregate(
        facts,
        inbound,
        since=since,
        now=env.ctx.now,
        catalogue=env.ctx.catalogue,
        timezone=env.ctx.timezone,
        payments=payments,
    )
    return decide.render(numbers, env.ctx)


COMMANDS: dict[str, Run] = {"stats": stats}
