"""`Payments`: the one object the rest of priem holds when payments are on. It only routes: the
Desk's `offer`, the Telegram sender's `invoice_for`, the Telegram handlers' `pre_checkout` and
`telegram_paid`, the web routes' `checkout_url` and `stripe_event`, her `/refund` and `/invoice`."""

from datetime import datetime

import stripe

from bot.payments.context import PaymentContext
from bot.payments.flips import approve
from bot.payments.invoices import Invoices, InvoiceSpec
from bot.payments.offers import Offers
from bot.payments.refunds import StarRefund, refund
from bot.payments.stripe_checkout import PAY_PATH, StripeCheckout
from bot.payments.stripe_gateway import StripeGateway
from bot.payments.telegram_checkout import TelegramCheckout
from flows.payments import Mode
from flows.practice.effects import PracticeEffect
from flows.practice.views import RequestCard
from storage.models import Client, Payment
from storage.uow import UnitOfWork


class Payments:
    def __init__(
        self,
        ctx: PaymentContext,
        *,
        telegram: Mode | None = None,
        provider_token: str | None = None,
        stripe_gateway: StripeGateway | None = None,
        link_base: str = "",
        pay_path: str = PAY_PATH,  # another practitioner's links: /pay/<slug> (handlers/payments.py)
        flip_limit: int = 3,
    ) -> None:
        self.ctx = ctx
        self.stripe = stripe_gateway
        self.flip_limit = flip_limit
        self.refund_stars: StarRefund | None = None  # set by the Telegram channel
        link_base = link_base.rstrip("/")
        self.offers = Offers(
            ctx,
            telegram=telegram,
            links=stripe_gateway is not None,
            pay_base=link_base + pay_path,
            flip_limit=flip_limit,
        )
        self.invoices = Invoices(ctx, provider_token)
        self.telegram_checkout = TelegramCheckout(ctx)
        self.stripe_checkout = StripeCheckout(ctx, stripe_gateway, link_base, flip_limit) if stripe_gateway else None

    async def close(self) -> None:
        if self.stripe is not None:
            await self.stripe.close()

    async def offer(
        self,
        uow: UnitOfWork,
        client: Client,
        request_id: int,
        channel: str,
        address: str,
        now: datetime,
        *,
        approved: bool = False,
    ) -> Payment | None:
        return await self.offers.offer(uow, client, request_id, channel, address, now, approved=approved)

    async def invoice_for(self, key: str, destination: str) -> InvoiceSpec | None:
        return await self.invoices.invoice_for(key, destination)

    async def pre_checkout(self, payload: str, user_id: int, currency: str, amount: int) -> str | None:
        return await self.telegram_checkout.pre_checkout(payload, user_id, currency, amount)

    async def telegram_paid(
        self,
        *,
        payload: str,
        currency: str,
        amount: int,
        telegram_charge_id: str,
        provider_charge_id: str | None,
        paid_at: datetime,
    ) -> bool:
        return await self.telegram_checkout.paid(
            payload=payload,
            currency=currency,
            amount=amount,
            telegram_charge_id=telegram_charge_id,
            provider_charge_id=provider_charge_id,
            paid_at=paid_at,
        )

    async def checkout_url(self, payment_id: int, check: str) -> str | None:
        if self.stripe_checkout is None:
            return None
        return await self.stripe_checkout.checkout_url(payment_id, check)

    async def stripe_event(self, event: stripe.Event) -> bool:
        if self.stripe_checkout is None:
            return False
        return await self.stripe_checkout.event(event)

    async def refund(self, uow: UnitOfWork, card: RequestCard, log_id: int) -> list[PracticeEffect]:
        return await refund(self.ctx, uow, card, self.refund_stars, self.flip_limit)

    async def approve(self, uow: UnitOfWork, card: RequestCard) -> list[PracticeEffect]:
        return await approve(self.ctx, uow, card, self._approved_offer)

    async def _approved_offer(
        self, uow: UnitOfWork, client: Client, request_id: int, channel: str, address: str, now: datetime
    ) -> Payment | None:
        return await self.offers.offer(uow, client, request_id, channel, address, now, approved=True)
