"""The practitioner's boundaries: restrictions, floods, discount and off-hours replies (seeds 000, 004)."""

from datetime import timedelta

from flows.context import Context
from flows.effects import Alert, Effect, MarkNoticed, Say
from flows.model import ClientView, Inbound
from flows.replies import offhours


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
    return client.messages_last_minute > ctx.catalogue.flood_messages_per_minute


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
