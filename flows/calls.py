"""Planned calls: the slot grid, and the client picking, moving and being told a slot.

Pure: the shell reads which slots are held (`bookings`) and passes the free ones in
`Context.free_slots`; a pick becomes a `BookSlot` effect whose `if_taken` answer the shell uses
when another client took the same slot a moment earlier (the database decides, never this code).
Times are UTC here; texts render them in the reader's time zone.
"""

import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from zoneinfo import ZoneInfo

from flows.catalogue import Calls, Intake, Service
from flows.context import Context
from flows.effects import BookSlot, Button, ChangeStage, Effect, RequestRef, Say, SetStep, UpdateClient
from flows.model import ClientView, Inbound, Kind, Priority, RequestView, Stage, Step
from flows.practice.args import moment
from flows.replies import HUMAN_PAYLOAD, menu
from flows.zones import stated_zone

SLOT_PREFIX = "slot:"  # slot:202612031200, the start in UTC
LATER_PREFIX = "slots:after:"  # the next handful after this start
MOVABLE = (Stage.SUBMITTED, Stage.QUEUED)  # a call in work or closed is not moved by the client
_STAMP = "%Y%m%d%H%M"
_HAS_TIME = re.compile(r"\d{1,2}[:.]\d{2}(?![.\d])|\d\s*(am|pm)\b", re.IGNORECASE)
_RESCHEDULE = re.compile(
    r"перенес|перенос|друго[ей]\s+(?:время|день|дат)|поменять\s+(?:время|дату)|изменить\s+(?:время|дату)"
    r"|reschedul|another\s+(?:time|day|date)|move\s+(?:my|the)\s+call|change\s+the\s+(?:time|date)",
    re.IGNORECASE,
)
_ZONE_TALK = re.compile(r"часов\w*\s+пояс|time\s*zone|timezone", re.IGNORECASE)


# --- the grid ---------------------------------------------------------------------------------


def day_starts(calls: Calls) -> list[time]:
    """Slot start times of one working day, in the practitioner's zone."""
    if calls.times:
        return list(calls.times)
    starts: list[time] = []
    minute = calls.start.hour * 60 + calls.start.minute
    end = calls.end.hour * 60 + calls.end.minute
    while minute + calls.minutes <= end:
        starts.append(time(minute // 60, minute % 60))
        minute += calls.every_minutes
    return starts


def grid(calls: Calls, timezone: str, first: date, last: date) -> list[datetime]:
    """Every slot start (UTC) from `first` to `last` inclusive, days in the practitioner's zone."""
    zone = ZoneInfo(timezone)
    starts = day_starts(calls)
    slots: list[datetime] = []
    day = first
    while day <= last:
        if day.weekday() in calls.weekdays:
            slots.extend(datetime.combine(day, start, tzinfo=zone).astimezone(UTC) for start in starts)
        day += timedelta(days=1)
    return slots


def window(calls: Calls, timezone: str, now: datetime) -> tuple[date, date]:
    """The days a client may book: 1–3 weeks ahead by default, in the practitioner's calendar."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return today + timedelta(days=calls.min_days), today + timedelta(days=calls.max_days)


def bookable(calls: Calls, timezone: str, now: datetime) -> list[datetime]:
    first, last = window(calls, timezone, now)
    return [slot for slot in grid(calls, timezone, first, last) if slot > now]


def overlaps(start: datetime, minutes: int, other: datetime, other_minutes: int) -> bool:
    return start < other + timedelta(minutes=other_minutes) and other < start + timedelta(minutes=minutes)


Period = tuple[datetime, datetime | None]  # [start, end); None: no end known (a /pause until /resume)


def free(
    slots: Iterable[datetime], minutes: int, held: Iterable[tuple[datetime, int]], paused: Iterable[Period] = ()
) -> list[datetime]:
    """The slots no held booking overlaps (a booking may be off the grid: she moved it by hand)
    and no pause of hers touches: a call booked into her break would have to be moved by hand.
    A pause with no end blocks every slot after its start: when she is back is not known."""
    # A big practice holds thousands of calls in the booking window (bench/bigqueue.py: 100 ms a
    # message comparing every slot with every booking). Sorted by start, the bookings that start
    # before a slot ends are a prefix; one of them overlaps the slot iff the latest end among
    # them is after the slot's start — `overlaps`, found by bisection.
    busy = sorted((b, b + timedelta(minutes=bm)) for b, bm in held)
    starts = [b for b, _ in busy]
    reach = list(accumulate((end for _, end in busy), max))  # reach[k]: the latest end of busy[: k + 1]
    away = list(paused)
    span = timedelta(minutes=minutes)

    def taken(s: datetime) -> bool:
        before_end = bisect_left(starts, s + span)
        return before_end > 0 and reach[before_end - 1] > s

    return [
        s
        for s in slots
        if not taken(s) and not any(s + span > start and (end is None or s < end) for start, end in away)
    ]


def stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_STAMP)


def unstamp(text: str) -> datetime | None:
    try:
        return datetime.strptime(text, _STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


def zone_label(timezone: str, now: datetime) -> str:
    """«Asia/Yekaterinburg, UTC+05:00»; a bare offset for the Etc/ zones a client gave as UTC±N."""
    offset = now.astimezone(ZoneInfo(timezone)).strftime("%z")
    utc = f"UTC{offset[:3]}:{offset[3:]}"
    return utc if timezone.startswith("Etc/") or timezone == "UTC" else f"{timezone}, {utc}"


def free_to_move(call_at: datetime, now: datetime, calls: Calls) -> bool:
    return call_at - now >= timedelta(hours=calls.free_reschedule_hours)


# --- the client -------------------------------------------------------------------------------


def start(client: ClientView, service: Service, ref: RequestRef, ctx: Context) -> list[Effect]:
    """The terms are accepted: offer the first free slots."""
    return [
        SetStep(Step.CALL_WISH, service.key, ref),
        offer(client, ctx, "call-pick-prompt", {"name": client.name, "service": service.name(client.language)}),
    ]


def offer(
    client: ClientView, ctx: Context, text_id: str, params: dict[str, object], *, after: datetime | None = None
) -> Say:
    """A handful of free slots as buttons, the next ones behind «later dates»."""
    calls = ctx.catalogue.calls
    slots = [s for s in ctx.free_slots if after is None or s > after]
    shown = slots[: calls.offer]
    params = {**params, "zone": zone_label(client.timezone, ctx.now)}
    if not shown:
        # Nothing (more) to offer: say so, and leave the way to her open.
        text_id = "call-no-later-slots" if after is not None and ctx.free_slots else "call-no-slots"
        return Say(text_id, params, buttons=(Button(HUMAN_PAYLOAD, text_id="button-human"),))
    buttons = tuple(Button(SLOT_PREFIX + stamp(s), text_id="call-slot-button", at=s) for s in shown)
    if len(slots) > len(shown):
        buttons += (Button(LATER_PREFIX + stamp(shown[-1]), text_id="button-later-dates"),)
    return Say(text_id, params, buttons=buttons)


def pick(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """A message while picking a slot: a slot button, «later dates», a typed date, a time zone."""
    service = ctx.catalogue.get(client.step_service)
    request = _request(client, client.step_request_id)
    if service is None or service.intake is not Intake.CALL or request is None:
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language)]
    if msg.payload and msg.payload.startswith(LATER_PREFIX):
        after = unstamp(msg.payload.removeprefix(LATER_PREFIX))
        return [offer(client, ctx, "call-slots-later", {}, after=after)]
    if msg.payload and msg.payload.startswith(SLOT_PREFIX):
        at = unstamp(msg.payload.removeprefix(SLOT_PREFIX))
        if at is not None:
            return choose(client, service, request, at, ctx)
    if msg.kind is not Kind.TEXT or msg.payload:
        return [offer(client, ctx, "call-pick-hint", {})]
    zone = stated_zone(msg.text, loose=True)
    if zone is not None:
        return set_zone(client, zone, ctx)
    if _ZONE_TALK.search(msg.text):
        return [offer(client, ctx, "call-zone-unknown", {})]
    at = moment(msg.text, ctx.now, client.timezone)
    if at is None:
        return [offer(client, ctx, "call-pick-hint", {})]
    if _HAS_TIME.search(msg.text):
        return choose(client, service, request, at.astimezone(UTC), ctx)
    # A date without a time: the free slots from that day on, in the client's calendar.
    first, last = window(ctx.catalogue.calls, ctx.catalogue.hours.timezone, ctx.now)
    day_start = datetime.combine(at.date(), time(0, 0), tzinfo=ZoneInfo(client.timezone)).astimezone(UTC)
    if not any(s >= day_start for s in ctx.free_slots):
        days = {"first_date": _day(first, ctx), "last_date": _day(last, ctx)}
        return [offer(client, ctx, "call-outside-window", days)]
    return [offer(client, ctx, "call-slots-from-day", {"day_date": day_start}, after=day_start - timedelta(seconds=1))]


def choose(client: ClientView, service: Service, request: RequestView, at: datetime, ctx: Context) -> list[Effect]:
    calls = ctx.catalogue.calls
    moving = request.call_at is not None
    if request.call_at == at:
        return [SetStep(Step.IDLE), Say("call-unchanged", {"slot": at, "number": request.id})]
    if moving and request.call_at is not None and not free_to_move(request.call_at, ctx.now, calls):
        return [SetStep(Step.IDLE), *_late(request.call_at, calls)]
    if at not in ctx.free_slots:
        first, last = window(calls, ctx.catalogue.hours.timezone, ctx.now)
        if at in grid(calls, ctx.catalogue.hours.timezone, first, last) and at > ctx.now:
            return [taken(client, at, ctx)]
        return [
            offer(
                client,
                ctx,
                "call-slot-unavailable",
                {"slot": at, "first_date": _day(first, ctx), "last_date": _day(last, ctx)},
            )
        ]
    params = {
        "name": client.name,
        "service": service.name(client.language),
        "number": request.id,
        "slot": at,
        "old_slot": request.call_at,
        "zone": zone_label(client.timezone, ctx.now),
        "hours": _hours(calls),
        "price": service.price,
    }
    effects: list[Effect] = [BookSlot(request.id, at, calls.minutes, if_taken=(taken(client, at, ctx),))]
    if request.stage is Stage.DRAFT:
        effects.append(ChangeStage(request.id, Stage.SUBMITTED))
    effects += [
        SetStep(Step.IDLE),
        Say(
            "call-moved" if moving else "call-booked",
            params,
            buttons=(Button("status", text_id="button-status"),),
        ),
    ]
    return effects


def taken(client: ClientView, at: datetime, ctx: Context) -> Say:
    """Someone else holds `at`: the next free slots after it (or from the start when none)."""
    later = [s for s in ctx.free_slots if s > at]
    return offer(client, ctx, "call-slot-taken", {"slot": at}, after=at if later else None)


def booked_call(client: ClientView) -> RequestView | None:
    return next(
        (r for r in reversed(client.requests) if r.call_at is not None and r.stage in MOVABLE),
        None,
    )


def wants_reschedule(text: str) -> bool:
    return _RESCHEDULE.search(text) is not None


def reschedule(client: ClientView, ctx: Context) -> list[Effect]:
    """«перенести»: free until 24 h before the call; later, the rule and the way to her."""
    request = booked_call(client)
    calls = ctx.catalogue.calls
    if request is None or request.call_at is None:
        return [menu(ctx.catalogue, client.language, "call-reschedule-nothing")]
    if not free_to_move(request.call_at, ctx.now, calls):
        return _late(request.call_at, calls)
    return [
        SetStep(Step.CALL_WISH, request.service, request.id),
        offer(client, ctx, "call-reschedule-pick", {"slot": request.call_at, "hours": _hours(calls)}),
    ]


def set_zone(client: ClientView, zone: str, ctx: Context) -> list[Effect]:
    """The client named their time zone: remember it; times from now on are shown in it."""
    effects: list[Effect] = [UpdateClient(timezone=zone)]
    client = replace(client, timezone=zone)
    said = {"zone": zone_label(zone, ctx.now)}
    if client.step is Step.CALL_WISH:
        return [*effects, offer(client, ctx, "call-zone-set-pick", said)]
    call = booked_call(client)
    if call is not None:
        return [*effects, Say("call-zone-set-call", {**said, "slot": call.call_at, "number": call.id})]
    return [*effects, Say("call-zone-set", said)]


def _late(call_at: datetime, calls: Calls) -> list[Effect]:
    return [
        Say(
            "call-reschedule-late",
            {"slot": call_at, "hours": _hours(calls), "grace": calls.grace_minutes},
            priority=Priority.REPLY,
            buttons=(Button(HUMAN_PAYLOAD, text_id="button-human"),),
        )
    ]


def _request(client: ClientView, request_id: int | None) -> RequestView | None:
    return next((r for r in client.requests if r.id == request_id), None)


def _hours(calls: Calls) -> str:
    return f"{calls.free_reschedule_hours:g}"


def _day(day: date, ctx: Context) -> datetime:
    """A day of the window as a moment at noon in her zone: rendered as a date in any zone."""
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(ctx.catalogue.hours.timezone))
