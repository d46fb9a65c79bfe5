"""/slots, /reschedule N WHEN, /noshow N."""

from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.commands.base import Env, Run, card_for
from flows.practice import calls as decide
from flows.practice.args import BadArgument, when
from flows.practice.calls import CallLine
from flows.practice.effects import MoveCall, PracticeEffect
from flows.practice.parse import Command
from storage.bookings import BookedCall


def _line(call: BookedCall) -> CallLine:
    return CallLine(
        request_id=call.request_id,
        client_name=call.client_name,
        starts_at=call.starts_at,
        minutes=call.minutes,
        paid=call.paid,
    )


async def _booked(env: Env) -> list[CallLine]:
    """Every booked call from a day ago to the end of the clients' booking window."""
    now = env.ctx.now
    end = now + timedelta(days=max(env.ctx.catalogue.calls.max_days, decide.SLOTS_DAYS) + 2)
    return [_line(c) for c in await env.uow.bookings.calls_between(now - timedelta(days=1), end)]


async def _booked_of(env: Env, request_id: int) -> CallLine | None:
    booking = await env.uow.bookings.booked_of(request_id)
    if booking is None:
        return None
    return CallLine(request_id, "", booking.starts_at, booking.minutes, paid=False)


async def slots(env: Env, command: Command) -> list[PracticeEffect]:
    return decide.slots(await _booked(env), env.ctx, await env.uow.pauses.periods(env.ctx.now))


async def reschedule(env: Env, command: Command) -> list[PracticeEffect]:
    words = command.words
    card = await card_for(env, words[0] if words else None)
    if len(words) < 2:
        raise BadArgument("cmd-error-need-when")
    at = when(" ".join(words[1:]), env.ctx.now, env.ctx.timezone)
    booked = await _booked_of(env, card.request_id)
    nearby = await env.uow.bookings.calls_between(at - timedelta(days=1), at + timedelta(days=1))
    effects = decide.reschedule(card, booked, at, [_line(c) for c in nearby], env.ctx)
    for move in [e for e in effects if isinstance(e, MoveCall)]:
        try:
            await env.uow.bookings.book(
                request_id=move.request_id,
                client_id=card.client_id,
                starts_at=move.starts_at,
                minutes=move.minutes,
                now=env.ctx.now,
            )
        except IntegrityError:
            # A client booked that very slot since the check above: the database said no.
            raise BadArgument("cmd-error-slot-busy", slot=at, other="?") from None
    return [e for e in effects if not isinstance(e, MoveCall)]


async def noshow(env: Env, command: Command) -> list[PracticeEffect]:
    card = await card_for(env, command.words[0] if command.words else None)
    return decide.noshow(card, await _booked_of(env, card.request_id), env.ctx)


COMMANDS: dict[str, Run] = {"slots": slots, "reschedule": reschedule, "noshow": noshow}
