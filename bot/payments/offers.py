"""Offering payment after a booking, in the booking's own transaction (Desk calls `offer`): a
history row and an outbox row. Telegram gets an invoice (bot/payments/invoices.py); WhatsApp and
the web chat a text with a link (bot/payments/stripe_checkout.py). A flagged client's invoice is
held for her approval (bot/payments/flips.py)."""

import secrets
from datetime import datetime

from bot.money import format_money
from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.payments.context import PaymentContext
from bot.payments.flips import flag_if_flipping
from bot.payments.invoices import invoice_key
from bot.payments.stripe_checkout import pay_link
from flows.model import Priority
from flows.payments import Mode, price_of
from storage.models import Client, Payment
from storage.uow import UnitOfWork


class Offers:
    def __init__(
        self, ctx: PaymentContext, *, telegram: Mode | None, links: bool, pay_base: str, flip_limit: int
    ) -> None:
        self.ctx = ctx
        self.telegram = telegram
        self.links = links  # Stripe is configured: WhatsApp and the web chat get a link
        self.pay_base = pay_base
        self.flip_limit = flip_limit

    def mode_for(self, channel: str) -> Mode | None:
        if channel == "telegram":
            return self.telegram
        return Mode.CARD if self.links else None

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
        """An invoice or link for a request just submitted (in the caller's transaction); None
        when this channel takes no payments or the service has no price. A flagged client's
        invoice is held for her approval (`/invoice N`, which passes approved=True)."""
        mode = self.mode_for(channel)
        request = await uow.requests.get(request_id)
        if mode is None or request is None or request.payment_state != "unpaid":
            return None
        service = self.ctx.practice.catalogue.get(request.service)
        price = price_of(service, mode)
        if price is None:
            return None
        provider = "telegram" if channel == "telegram" else "stripe"
        open_ones = [p for p in await uow.payments.for_request(request_id) if p.state in ("invoiced", "held")]
        payment = next((p for p in open_ones if p.provider == provider), None)
        if payment is not None and payment.state == "invoiced" and not approved:
            return payment  # already offered: a re-submitted list gets no second invoice
        flagged = client.flagged_at is not None or await flag_if_flipping(
            self.ctx, uow, client, request_id, now, self.flip_limit
        )
        if payment is None:
            payment = await uow.payments.add(
                request_id=request_id,
                client_id=client.id,
                provider=provider,
                currency=price.currency,
                amount=price.amount,
                state="held",
                check_token=secrets.token_urlsafe(12),
                now=now,
            )
        if flagged and not approved:
            payment.state = "held"
            await self.ctx.tell_her(
                uow,
                "pay-held",
                {"client": client.display_name, "number": request_id, "reason": client.flag_reason or ""},
                key=f"pay-held:{payment.id}",
                now=now,
            )
            return payment
        payment.state = "invoiced"
        payment.currency, payment.amount = price.currency, price.amount
        priority = Priority.URGENT if request.is_emergency else Priority.REPLY
        name = service.name(client.language) if service else request.service
        if provider == "telegram":
            text = self.ctx.text("pay-invoice-description", {"number": request_id, "service": name}, client)
            kind, key = "invoice", invoice_key(payment, "{message_id}")
        else:
            params = {
                "number": request_id,
                "service": name,
                "amount": format_money(price, client.language),
                "url": pay_link(self.pay_base, payment),
            }
            text = self.ctx.text("pay-link", params, client)
            kind, key = "text", "msg:{message_id}"
        await outgoing.post(
            uow,
            channel=channel,
            destination=address,
            message=Rendered(text, priority=priority),
            key=key,
            now=now,
            client_id=client.id,
            request_id=request_id,
            kind=kind,
        )
        return payment
