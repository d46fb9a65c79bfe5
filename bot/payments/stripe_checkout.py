"""Paying by a link (WhatsApp, the web chat): `/pay/<payment>/<check>` opens a Stripe Checkout
Session, created only when the link is opened (no network call inside a booking's transaction,
and an expired session is replaced by opening the link again); the signed webhook's
`checkout.session.completed` settles the payment, and `charge.refunded` (a full refund made in
the Stripe dashboard) marks it refunded. Each is idempotent: a repeat changes nothing."""

import hmac
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy.exc import IntegrityError

from bot.payments.context import OPEN_STAGES, PaymentContext
from bot.payments.refunds import refunded
from bot.payments.settle import settle
from bot.payments.stripe_gateway import StripeGateway
from flows.model import Stage
from flows.payments import Price
from storage.models import Payment

log = logging.getLogger(__name__)

PAY_PATH = "/pay"
CHECKOUT_REUSE = timedelta(hours=23)  # Stripe Checkout Sessions expire after 24 h
PAID_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
REFUND_EVENT = "charge.refunded"


def pay_link(pay_base: str, payment: Payment) -> str:
    """`pay_base` is `<PUBLIC_BASE_URL>/pay`, or `…/pay/<slug>` for a practitioner other than #1."""
    return f"{pay_base}/{payment.id}/{payment.check_token}"


class StripeCheckout:
    def __init__(self, ctx: PaymentContext, gateway: StripeGateway, link_base: str, flip_limit: int) -> None:
        self.ctx = ctx
        self.gateway = gateway
        self.link_base = link_base
        self.flip_limit = flip_limit

    async def checkout_url(self, payment_id: int, check: str) -> str | None:
        """Where the link sends the client: a Stripe Checkout page, created now or reused while
        it is still open; None for a bad link or a payment no longer due."""
        now = self.ctx.clock()
        async with self.ctx.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or payment.provider != "stripe" or not hmac.compare_digest(payment.check_token, check):
                return None
            request = await uow.requests.get(payment.request_id)
            client = await uow.clients.get(payment.client_id)
            if payment.state != "invoiced" or request is None or client is None:
                return None
            if Stage(request.stage) not in OPEN_STAGES or request.payment_state != "unpaid":
                return None
            if payment.checkout_url and payment.checkout_at and now - payment.checkout_at < CHECKOUT_REUSE:
                return payment.checkout_url
            name = self.ctx.service_name(request.service, client.language)
            session_id, url = await self.gateway.checkout(
                payment_id=payment.id,
                check=payment.check_token,
                request_id=request.id,
                price=Price(payment.currency, payment.amount),
                name=self.ctx.text("pay-invoice-title", {"number": request.id, "service": name}, client),
                return_url=f"{self.link_base}/",
            )
            payment.checkout_session_id, payment.checkout_url, payment.checkout_at = session_id, url, now
            await uow.commit()
            return url

    async def event(self, event: stripe.Event) -> bool:
        """A verified Stripe event: True when it paid or refunded a request now (repeats change nothing)."""
        if event.type == REFUND_EVENT:
            return await self.refund_event(event)
        if event.type not in PAID_EVENTS:
            return False
        session: dict[str, Any] = event.data.object.to_dict()  # the library's objects are no dicts
        if session.get("payment_status") != "paid":
            return False  # an asynchronous method: async_payment_succeeded follows
        metadata = session.get("metadata") or {}
        try:
            payment_id = int(metadata.get("payment_id", ""))
        except ValueError:
            return False
        paid_at = datetime.fromtimestamp(int(event.created), UTC)
        async with self.ctx.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or not hmac.compare_digest(payment.check_token, str(metadata.get("check", ""))):
                log.error("a Stripe payment for an unknown payment row arrived (event %s)", event.id)
                return False
            asked = Price(str(session.get("currency", "")).upper(), int(session.get("amount_total") or 0))
            charges = {"provider_charge_id": session.get("payment_intent"), "checkout_session_id": session.get("id")}
            return await settle(self.ctx, uow, payment, "stripe", event.id, asked, charges, paid_at)

    async def refund_event(self, event: stripe.Event) -> bool:
        """`charge.refunded`: the charge's PaymentIntent names the payment. Only a full refund
        changes anything (a payment row has one amount); a partial one is logged for her."""
        charge: dict[str, Any] = event.data.object.to_dict()
        intent = charge.get("payment_intent")
        if not intent:
            return False
        at = min(datetime.fromtimestamp(int(event.created), UTC), self.ctx.clock())
        async with self.ctx.uow() as uow:
            payment = await uow.payments.by_provider_charge("stripe", str(intent))
            if payment is None:
                log.error("a Stripe refund for an unknown payment arrived (event %s)", event.id)
                return False
            if payment.state != "paid":
                return False  # refunded already (a repeat), or never paid
            if not charge.get("refunded"):
                log.warning("payment %s partly refunded in Stripe: not reflected here", payment.id)
                return False
            card = await uow.practice.card(payment.request_id, self.ctx.clock())
            if card is None:
                return False
            effects = await refunded(self.ctx, uow, payment, card, at, self.flip_limit)
            replies = await self.ctx.practice.apply(uow, effects, at)
            await self.ctx.tell_her(
                uow,
                "pay-refund-noted",
                {"provider": "stripe", "answer": "\n".join(r.text for r in replies)},
                key=f"pay-refund-noted:{payment.id}",
                now=self.ctx.clock(),
            )
            try:
                await uow.commit()
            except IntegrityError:
                log.info("Stripe refund event %s raced with its own repeat", event.id)
                return False
        self.ctx.on_enqueued()
        self.ctx.practice.on_queue_changed()
        return True
