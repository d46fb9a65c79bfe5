"""/pause [until] [note] and /resume."""

import re
from datetime import datetime

from bot.commands.base import Env, Run
from flows.practice import pause as decide
from flows.practice.args import BadArgument, duration, moment
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command

_DATE = re.compile(r"^\d{1,4}[-./]\d{1,2}")  # «05.01», «2026-12-24»: a bare date means «until»


async def pause(env: Env, command: Command) -> list[PracticeEffect]:
    until, note = _until(command.words, env.ctx.now, env.ctx.timezone)
    return await start(env, until, note)


async def start(env: Env, until: datetime | None, note: str) -> list[PracticeEffect]:
    """/pause with its end and note already read: the dashboard's pause form runs this through
    the same shell (bot/practice.Practice.run), so both start a pause exactly alike."""
    active = await _active(env)
    clients = await env.uow.practice.clients_with_open_requests()
    return decide.pause(active, until, note, clients, env.ctx)


async def resume(env: Env, command: Command) -> list[PracticeEffect]:
    active = await _active(env)
    told = await env.uow.pauses.told(decide.notice_prefix(active.starts_at)) if active else []
    return decide.resume(active, told, env.ctx)


def _until(words: list[str], now: datetime, timezone: str) -> tuple[datetime | None, str]:
    found, rest = duration(words, now, timezone)
    if found is not None:
        return found.at, " ".join(rest)
    if words and _DATE.match(words[0]):
        at = moment(words[0], now, timezone, end_of_day=True)
        if at is not None:
            if at <= now:
                raise BadArgument("cmd-error-in-past", given=words[0][:40])
            return at, " ".join(words[1:])
    return None, " ".join(words)


async def _active(env: Env) -> decide.PauseView | None:
    row = await env.uow.pauses.active(env.ctx.now)
    return decide.PauseView(row.starts_at, row.until, row.note) if row else None


COMMANDS: dict[str, Run] = {"pause": pause, "resume": resume}
