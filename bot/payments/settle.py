"""The money arriving (Telegram `successful_payment`, Stripe `checkout.session.completed`): /paid's
own decision (flows/practice/requests.paid) made at the payment's time and applied by her shell.

The provider's event id is unique per provider (payments.event_id), so an event delivered three
times — or racing with its own repeat in another worker — is recorded once.
"""

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from bot.payments.context import PaymentContext
from flows.payments import Price
from flows.practice import requests as decide
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, PracticeEffect
from storage.models import Payment
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


async def settle(
    ctx: PaymentContext,
    uow: UnitOfWork,
    payment: Payment,
    provider: str,
    event_id: str,
    asked: Price,
    charges: dict[str, Any],
    paid_at: datetime,
) -> bool:
    """Mark the payment paid with its charge ids, queue the request, tell her; commits. True when
    this event was new."""
    now = ctx.clock()
    if await uow.payments.by_event(provider, event_id) is not None:
        return False  # the same event again
    if payment.state in ("paid", "refunded"):
        log.warning("a second %s payment event for payment %s ignored", provider, payment.id)
        return False
    # The promise clock starts when the client paid, never in the future of our own clock.
    paid_at = min(paid_at, now)
    payment.state, payment.event_id, payment.paid_at = "paid", event_id, paid_at
    for name, value in charges.items():
        if value:
            setattr(payment, name, str(value))
    card = await uow.practice.card(payment.request_id, now)
    if card is None:
        return False
    if asked != Price(payment.currency, payment.amount):
        log.warning(
            "payment %s: paid %s %s, invoiced %s %s",
            payment.id,
            asked.amount,
            asked.currency,
            payment.amount,
            payment.currency,
        )
    try:
        lengths = await uow.requests.queue_lengths()
        effects: list[PracticeEffect] = decide.paid(
            card, await ctx.practice.context(uow, paid_at), lengths.get(card.service, 0)
        )
    except BadArgument:
        # Closed since the invoice (cancelled, say): the money is hers to return.
        effects = [Answer("pay-closed-request", {"number": card.request_id, "client": card.client_name})]
    replies = await ctx.practice.apply(uow, effects, paid_at)
    await ctx.tell_her(
        uow,
        "pay-received",
        {"provider": provider, "answer": "\n".join(r.text for r in replies)},
        key=f"pay-received:{payment.id}",
        now=now,
    )
    try:
        await uow.commit()
    except IntegrityError:
        log.info("%s payment event %s raced with its own repeat", provider, event_id)
        return False
    ctx.on_enqueued()
    ctx.practice.on_queue_changed()
    return True
