"""Paying a Telegram invoice: the pre-checkout question (answered within Telegram's 10 s;
bot/telegram/inbox.py feeds it at once) and `successful_payment` with its charge ids."""

import logging
from datetime import datetime

from bot.payments.context import PaymentContext
from bot.payments.invoices import by_payload
from bot.payments.settle import settle
from flows.model import Stage
from flows.payments import CheckoutView, Price, refusal

log = logging.getLogger(__name__)


class TelegramCheckout:
    def __init__(self, ctx: PaymentContext) -> None:
        self.ctx = ctx

    async def pre_checkout(self, payload: str, user_id: int, currency: str, amount: int) -> str | None:
        """Whether this checkout may go on: None, or the reason shown to the client."""
        async with self.ctx.uow() as uow:
            found = await by_payload(uow, payload)
            if found is None:
                return self.ctx.texts.text("pay-refuse-stale", {}, "ru", "UTC")
            payment, request, client = found
            payer = await uow.clients.find_by_identity("telegram", str(user_id))
            restricted = await uow.clients.active_restriction(client.id, self.ctx.clock()) is not None
            view = CheckoutView(
                stage=Stage(request.stage),
                request_paid=request.payment_state != "unpaid",
                payment_state=payment.state if payer is not None and payer.id == client.id else "foreign",
                client_restricted=restricted,
                price=Price(payment.currency, payment.amount),
                asked=Price(currency, amount),
            )
            reason = refusal(view)
            if reason is None:
                return None
            log.info("pre-checkout for request %s refused: %s", request.id, reason)
            return self.ctx.text(reason, {"number": request.id}, client)

    async def paid(
        self,
        *,
        payload: str,
        currency: str,
        amount: int,
        telegram_charge_id: str,
        provider_charge_id: str | None,
        paid_at: datetime,
    ) -> bool:
        """`successful_payment`: True when it was new (a repeat changes nothing)."""
        async with self.ctx.uow() as uow:
            found = await by_payload(uow, payload)
            if found is None:
                log.error("a Telegram payment for an unknown invoice payload arrived")
                return False
            payment = found[0]
            charges = {"telegram_charge_id": telegram_charge_id, "provider_charge_id": provider_charge_id or None}
            return await settle(
                self.ctx, uow, payment, "telegram", telegram_charge_id, Price(currency, amount), charges, paid_at
            )
