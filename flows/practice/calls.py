"""/slots, /reschedule N WHEN, /noshow N: her calls, as plain decisions.

Seed 002: a client who does not join within the grace (15 minutes) has had the session — it
counts as held and a new one is booked and paid again — unless she accepts a reason (force
majeure) and moves the call free of charge with /reschedule, whatever the time left.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flows.calls import Period, bookable, free, grid, overlaps
from flows.catalogue import Intake
from flows.effects import ChangeStage
from flows.model import Priority, Stage
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, MoveCall, Notify, PracticeEffect, QueueChanged, ServiceName
from flows.practice.views import PracticeContext, RequestCard

SLOTS_DAYS = 14
CLOSED = (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW)


@dataclass(frozen=True)
class CallLine:
    """One booked call, as /slots and the clash check read it."""

    request_id: int
    client_name: str
    starts_at: datetime
    minutes: int
    paid: bool


def slots(booked: list[CallLine], ctx: PracticeContext, paused: Sequence[Period] = ()) -> list[PracticeEffect]:
    """Booked calls of the next 14 days in her zone, and how many slots are still free: free as
    clients are offered them (flows/calls.free), so a slot in one of her pauses is not counted."""
    calls = ctx.catalogue.calls
    held = [(c.starts_at, c.minutes) for c in booked]
    today = ctx.now.astimezone(ZoneInfo(ctx.timezone)).date()
    coming = [s for s in grid(calls, ctx.timezone, today, today + timedelta(days=SLOTS_DAYS - 1)) if s > ctx.now]
    horizon = ctx.now + timedelta(days=SLOTS_DAYS)
    shown = [c for c in booked if ctx.now - timedelta(minutes=c.minutes) < c.starts_at < horizon]
    params = {
        "days": SLOTS_DAYS,
        "count": len(shown),
        "free": len(free(coming, calls.minutes, held, paused)),
        "window_free": len(free(bookable(calls, ctx.timezone, ctx.now), calls.minutes, held, paused)),
    }
    if not shown:
        return [Answer("cmd-slots-empty", params)]
    lines = tuple(
        Answer(
            "cmd-slots-line",
            {
                "slot": c.starts_at,
                "number": c.request_id,
                "client": c.client_name,
                "payment": Answer("cmd-paid-yes" if c.paid else "cmd-paid-no"),
            },
        )
        for c in shown
    )
    return [Answer("cmd-lines", {"lines": (Answer("cmd-slots-header", params), *lines)})]


def _call(card: RequestCard, booked: CallLine | None, ctx: PracticeContext) -> CallLine:
    service = ctx.catalogue.get(card.service)
    if service is None or service.intake is not Intake.CALL:
        raise BadArgument("cmd-error-not-a-call", number=card.request_id, service=ServiceName(card.service))
    if card.stage in CLOSED:
        raise BadArgument("cmd-error-closed", number=card.request_id, stage=Answer(f"stage-{card.stage.value}"))
    if booked is None:
        raise BadArgument("cmd-error-no-booking", number=card.request_id)
    return booked


def reschedule(
    card: RequestCard, booked: CallLine | None, at: datetime, others: list[CallLine], ctx: PracticeContext
) -> list[PracticeEffect]:
    """Force majeure she accepted: the call moves free of charge, however close it is; the new
    time only has to be free (any time she chooses, on the grid or not)."""
    call = _call(card, booked, ctx)
    if at == call.starts_at:
        raise BadArgument("cmd-error-same-time", number=card.request_id, slot=at)
    clash = next(
        (
            o
            for o in others
            if o.request_id != card.request_id and overlaps(at, call.minutes, o.starts_at, o.minutes)
        ),
        None,
    )
    if clash is not None:
        raise BadArgument("cmd-error-slot-busy", slot=at, other=clash.request_id)
    params = {"number": card.request_id, "service": ServiceName(card.service), "slot": at, "old_slot": call.starts_at}
    return [
        MoveCall(card.request_id, at, call.minutes),
        Notify(
            card.client_id,
            "client-call-rescheduled",
            key=f"moved:{card.request_id}:{at.isoformat()}",
            params=params,
            priority=Priority.ACTION,
            request_id=card.request_id,
        ),
        Answer("cmd-reschedule-ok", {**params, "client": card.client_name}),
    ]


def noshow(card: RequestCard, booked: CallLine | None, ctx: PracticeContext) -> list[PracticeEffect]:
    """No client within the grace: the session counts as held (seed 002)."""
    call = _call(card, booked, ctx)
    grace = ctx.catalogue.calls.grace_minutes
    from_at = call.starts_at + timedelta(minutes=grace)
    if ctx.now < from_at:
        raise BadArgument(
            "cmd-error-noshow-early", number=card.request_id, slot=call.starts_at, from_slot=from_at, grace=grace
        )
    params = {"number": card.request_id, "service": ServiceName(card.service), "slot": call.starts_at}
    return [
        ChangeStage(card.request_id, Stage.NO_SHOW),
        Notify(
            card.client_id,
            "client-call-noshow",
            key=f"noshow:{card.request_id}",
            params={**params, "grace": grace},
            priority=Priority.ACTION,
            request_id=card.request_id,
        ),
        Answer("cmd-noshow-ok", {**params, "client": card.client_name}),
        QueueChanged(),
    ]
