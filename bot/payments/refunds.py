"""Money given back. `/refund N` returns a Stars payment itself (`refundStarPayment`); a card
payment is refunded in the provider's own dashboard, and Stripe's signed `charge.refunded`
(bot/payments/stripe_checkout.py) reports it. Either way the payment and the request become
refunded, an open request is closed, the client is told, and refunds count towards the flag."""

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.payments.context import PaymentContext
from bot.payments.flips import flag_if_flipping
from flows.effects import ChangeStage
from flows.model import Priority, Stage
from flows.payments import STARS
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, Notify, PracticeEffect, QueueChanged, ServiceName
from flows.practice.views import RequestCard
from storage.models import Payment
from storage.uow import UnitOfWork


class RefundFailed(Exception):
    pass


StarRefund = Callable[[int, str], Awaitable[None]]  # (user id, telegram charge id)


async def refund(
    ctx: PaymentContext, uow: UnitOfWork, card: RequestCard, refund_stars: StarRefund | None, flip_limit: int
) -> list[PracticeEffect]:
    """/refund N: the last Stars payment of the request back to the client."""
    paid = [p for p in await uow.payments.for_request(card.request_id) if p.state == "paid"]
    if not paid:
        raise BadArgument("cmd-refund-none", number=card.request_id)
    payment = paid[-1]
    if payment.currency != STARS or payment.telegram_charge_id is None:
        raise BadArgument("cmd-refund-manual", number=card.request_id, provider=payment.provider)
    if refund_stars is None:
        raise BadArgument("cmd-refund-off", number=card.request_id)
    identity = next((i for i in await uow.clients.identities(card.client_id) if i.channel == "telegram"), None)
    if identity is None:
        raise BadArgument("cmd-refund-off", number=card.request_id)
    try:
        await refund_stars(int(identity.address), payment.telegram_charge_id)
    except RefundFailed as error:
        raise BadArgument("cmd-refund-failed", number=card.request_id, error=str(error)[:200]) from error
    return await refunded(ctx, uow, payment, card, ctx.clock(), flip_limit)


async def refunded(
    ctx: PaymentContext, uow: UnitOfWork, payment: Payment, card: RequestCard, at: datetime, flip_limit: int
) -> list[PracticeEffect]:
    """The payment is back with the client (at `at`): record it; the effects close the request,
    tell the client and answer her."""
    payment.state, payment.refunded_at = "refunded", at
    request = await uow.requests.get(card.request_id)
    assert request is not None
    request.payment_state = "refunded"
    effects: list[PracticeEffect] = []
    if card.stage not in (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW):
        effects.append(ChangeStage(card.request_id, Stage.CANCELLED))
    effects += [
        Notify(
            card.client_id,
            "pay-refunded",
            key=f"refund:{payment.id}",
            params={"number": card.request_id, "service": ServiceName(card.service)},
            priority=Priority.REPLY,
            request_id=card.request_id,
        ),
        Answer("cmd-refund-ok", {"number": card.request_id, "client": card.client_name}),
        QueueChanged(),
    ]
    client = await uow.clients.get(card.client_id)
    if client is not None and await flag_if_flipping(ctx, uow, client, card.request_id, ctx.clock(), flip_limit):
        effects.append(Answer("cmd-refund-flagged", {"client": card.client_name}))
    return effects
