"""Seed 000's flip-flopping client: invoices abandoned (the request cancelled unpaid) or refunded
again and again flag the client once the limit is reached; a flagged client's invoices are held
until she approves one with `/invoice N`."""

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.payments.context import PaymentContext
from flows.model import Stage
from flows.payments import should_flag
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, PracticeEffect
from flows.practice.views import RequestCard
from storage.models import Client, Payment
from storage.uow import UnitOfWork

# Offers.offer with approved=True: (uow, client, request id, channel, address, now) → the payment.
ApprovedOffer = Callable[[UnitOfWork, Client, int, str, str, datetime], Awaitable[Payment | None]]


async def flag_if_flipping(
    ctx: PaymentContext, uow: UnitOfWork, client: Client, request_id: int, now: datetime, limit: int
) -> bool:
    """Flag the client once their abandoned and refunded payments reach the limit."""
    flips = await uow.payments.flips(client.id)
    if not should_flag(flips, limit, client.flagged_at is not None):
        return False
    client.flagged_at = now
    client.flag_reason = ctx.texts.text("pay-flag-reason", {"count": flips}, ctx.practice.language, "UTC")
    await uow.alerts.add(
        client_id=client.id, kind="payment_flips", excerpt=client.flag_reason, request_id=request_id, now=now
    )
    await ctx.tell_her(
        uow,
        "pay-flagged",
        {"client": client.display_name, "count": flips, "number": request_id},
        key=f"pay-flagged:{client.id}:{int(now.timestamp())}",
        now=now,
    )
    return True


async def approve(
    ctx: PaymentContext, uow: UnitOfWork, card: RequestCard, offer: ApprovedOffer
) -> list[PracticeEffect]:
    """/invoice N: the held invoice (or a fresh one) goes out despite the flag."""
    if card.stage in (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW):
        raise BadArgument("cmd-error-closed", number=card.request_id, stage=Answer(f"stage-{card.stage.value}"))
    if card.paid:
        return [Answer("cmd-paid-already", {"number": card.request_id, "client": card.client_name})]
    client = await uow.clients.get(card.client_id)
    route = await uow.clients.reply_route(card.client_id)
    if client is None or route is None:
        raise BadArgument("cmd-invoice-off", number=card.request_id)
    channel, address = route
    payment = await offer(uow, client, card.request_id, channel, address, ctx.clock())
    if payment is None:
        raise BadArgument("cmd-invoice-off", number=card.request_id)
    return [Answer("cmd-invoice-ok", {"number": card.request_id, "client": card.client_name})]
