"""The practitioner's boundaries: restrictions, floods, discount and off-hours replies (seeds 000, 004)."""

from collections.abc import Sequence
from datetime import datetime, timedelta

from flows.context import Context
from flows.effects import Alert, ChangeStage, Effect, Flag, MarkNoticed, Say
from flows.model import OPEN_STAGES, ClientView, Inbound, PaymentEvent, Stage
from flows.replies import menu, offhours
from flows.triage import is_emergency


def restricted(client: ClientView) -> list[Effect]:
    """A restricted client's messages are stored but not processed; the notice goes out once."""
    if client.restriction_announced:
        return []
    text_id = "restricted-until" if client.restriction_until else "restricted-forever"
    return [
        MarkNoticed("restriction"),
        Say(text_id, {"name": client.name, "until_at": client.restriction_until}),
    ]


def flooding(client: ClientView, ctx: Context) -> bool:
    """More than `flood_messages` within `flood_minutes` (catalogue.toml [limits])."""
    return client.messages_last_minute > ctx.catalogue.flood_messages


def flood(client: ClientView, msg: Inbound) -> list[Effect]:
    """Stored, not answered one by one, reported to the practitioner once per burst."""
    if client.flood_reported:
        return []
    return [
        MarkNoticed("flood"),
        Alert("flood", excerpt=str(client.messages_last_minute)),
        Say("flood-notice", {"name": client.name}),
    ]


def offhours_notice(client: ClientView, ctx: Context) -> list[Effect]:
    """Off working hours: say when she is back, once per off-hours stretch."""
    if ctx.catalogue.hours.is_open(ctx.now):
        return []
    every = timedelta(hours=ctx.catalogue.offhours_notice_every_hours)
    last = client.offhours_notified_at
    if last is not None and ctx.now - last < every:
        return []
    return [MarkNoticed("offhours"), offhours(ctx, ctx.now)]


# --- restrictions: one calm notice, and one way through for something truly urgent -----------


def restricted_urgent(client: ClientView, msg: Inbound) -> list[Effect]:
    """A restricted client's «срочно…» still reaches her, once per restriction (the notice told
    them so); everything else they send is only stored."""
    if client.restriction_urgent_alerted or not is_emergency(msg.text):
        return []
    return [Alert("restricted_urgent", excerpt=msg.text), Say("restricted-urgent-ack", {"name": client.name})]


# --- payment flip-flops (seed 000: «подтверждать / отменять платежи по несколько раз») ----------

FLIP_WINDOW = timedelta(days=30)
FLIP_LIMIT = 2  # more flips than this and bookings wait for her


def payment_flips(events: Sequence[PaymentEvent], now: datetime) -> int:
    """How often the client changed direction between confirming (a booking, «я оплатила») and
    cancelling within the window: confirm → cancel → confirm → cancel is three flips."""
    directions = [
        "cancel" if e.kind == "cancel" else "confirm"
        for e in sorted(events, key=lambda e: e.at)
        if now - e.at <= FLIP_WINDOW
    ]
    return sum(1 for a, b in zip(directions, directions[1:], strict=False) if a != b)


def guard_payments(client: ClientView, effects: list[Effect], ctx: Context) -> list[Effect]:
    """Flag a client whose outcome makes them flip once too often; hold a flagged client's new
    booking for her personal confirmation (the client gets a calm answer, she one alert)."""
    new: list[PaymentEvent] = []
    drafts = {r.id for r in client.requests if r.stage is Stage.DRAFT}
    for effect in effects:
        if isinstance(effect, ChangeStage) and effect.stage is Stage.CANCELLED and effect.request in drafts:
            continue  # a draft let go («нет, не срочно»): nothing was confirmed, nothing is cancelled
        if isinstance(effect, ChangeStage) and effect.stage is Stage.CANCELLED:
            new.append(PaymentEvent(ctx.now, "cancel"))
        elif isinstance(effect, ChangeStage) and effect.stage is Stage.SUBMITTED:
            new.append(PaymentEvent(ctx.now, "confirm"))
        elif isinstance(effect, Alert) and effect.kind == "paid_claim":
            new.append(PaymentEvent(ctx.now, "claim"))
    if not new:
        return effects
    out = list(effects)
    flagged = client.flagged
    flips = payment_flips((*client.payment_events, *new), ctx.now)
    if not flagged and flips > FLIP_LIMIT:
        out += [Flag("payment_flips"), Alert("flagged", excerpt=str(flips))]
        flagged = True
    held = next((e for e in effects if isinstance(e, ChangeStage) and e.stage is Stage.SUBMITTED), None)
    if flagged and held is not None:
        # Flagged (before or by this very booking): it is stored, but not confirmed automatically.
        out = [e for e in out if not (isinstance(e, Say) and e.text_id in ("confirm-queue", "confirm-call"))]
        out += [
            Alert("flagged_booking", request=held.request),
            Say("flagged-booking-held", {"name": client.name, "number": held.request}),
        ]
    return out


def paid_claim(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """«Я оплатила»: she is asked to check (/paid N), the client is told it will be checked."""
    unpaid = [r for r in client.requests if r.stage in (Stage.DRAFT, *OPEN_STAGES) and not r.paid]
    if not unpaid:
        if any(r.paid and r.stage in OPEN_STAGES for r in client.requests):
            return [Say("paid-claim-already-paid", {"name": client.name})]
        return [menu(ctx.catalogue, client.language, "paid-claim-nothing", name=client.name)]
    target = next((r for r in reversed(unpaid) if r.stage is not Stage.DRAFT), unpaid[-1])
    if any(e.kind == "claim" and e.request_id == target.id for e in client.payment_events):
        return [Say("paid-claim-again", {"number": target.id})]  # she was told already: no second alert
    return [
        Alert("paid_claim", excerpt=msg.text, request=target.id),
        Say("paid-claim-ack", {"name": client.name, "number": target.id}),
    ]


# --- a pause (/pause): new clients and new bookings see it -----------------------------------

PAUSE_SEEN_WITH = (
    "greeting-first",
    "greeting-first-with-text",
    "emergency-ack-first",  # a newcomer's emergency carries the greeting
    "confirm-queue",
    "confirm-call",
    "status-header",
)


def pause_notice(effects: list[Effect], ctx: Context) -> list[Effect]:
    stats = ctx.stats
    paused = stats.paused or (stats.paused_until is not None and stats.paused_until > ctx.now)
    if not paused or not any(isinstance(e, Say) and e.text_id in PAUSE_SEEN_WITH for e in effects):
        return effects
    note = Say("pause-note", {"note": ctx.stats.pause_note}) if ctx.stats.pause_note else ""
    if ctx.stats.paused_until is not None:
        return [*effects, Say("pause-notice-until", {"until_at": ctx.stats.paused_until, "note": note})]
    return [*effects, Say("pause-notice-open", {"note": note})]
