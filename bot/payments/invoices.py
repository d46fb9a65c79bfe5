"""Telegram invoices: an outbox row keyed `invoice:<payment>:<message>` becomes `sendInvoice`.

The row is written in the booking's transaction (bot/payments/offers.py), so an invoice is as
durable and ordered as any reply: it leaves after the confirmation, survives a restart, and is
never sent twice. What it asks is read when it leaves: a payment settled by hand, cancelled or
held since is no longer due. Its payload `<request>:<payment>:<check>` is how the checkout and
the money arriving find their payment again.
"""

import hmac
from dataclasses import dataclass

from bot.payments.context import OPEN_STAGES, PaymentContext
from flows.model import Stage
from flows.payments import STARS
from storage.models import Client, Payment, Request
from storage.uow import UnitOfWork

INVOICE_KEY = "invoice:"


@dataclass(frozen=True)
class InvoiceSpec:
    """One `sendInvoice`, as the Telegram sender needs it."""

    chat_id: int
    title: str
    description: str
    payload: str
    currency: str
    amount: int
    label: str
    provider_token: str | None


def invoice_key(payment: Payment, message_id: int | str) -> str:
    return f"{INVOICE_KEY}{payment.id}:{message_id}"


async def by_payload(uow: UnitOfWork, payload: str) -> tuple[Payment, Request, Client] | None:
    """The payment an invoice payload names, when its check matches; None for anything else."""
    parts = payload.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    payment = await uow.payments.get(int(parts[1]))
    if payment is None or payment.request_id != int(parts[0]):
        return None
    if not hmac.compare_digest(payment.check_token, parts[2]):
        return None
    request = await uow.requests.get(payment.request_id)
    client = await uow.clients.get(payment.client_id)
    if request is None or client is None:
        return None
    return payment, request, client


class Invoices:
    def __init__(self, ctx: PaymentContext, provider_token: str | None) -> None:
        self.ctx = ctx
        self.provider_token = provider_token

    async def invoice_for(self, key: str, destination: str) -> InvoiceSpec | None:
        """The invoice an outbox row stands for; None once it is no longer due (paid by hand,
        cancelled, or held since)."""
        try:
            payment_id = int(key.removeprefix(INVOICE_KEY).split(":")[0])
            chat_id = int(destination)
        except ValueError:
            return None
        async with self.ctx.uow() as uow:
            payment = await uow.payments.get(payment_id)
            if payment is None or payment.state != "invoiced":
                return None
            request = await uow.requests.get(payment.request_id)
            client = await uow.clients.get(payment.client_id)
            if request is None or client is None or Stage(request.stage) not in OPEN_STAGES:
                return None
            name = self.ctx.service_name(request.service, client.language)
            params = {"number": request.id, "service": name}
            return InvoiceSpec(
                chat_id=chat_id,
                title=self.ctx.text("pay-invoice-title", params, client)[:32],
                description=self.ctx.text("pay-invoice-description", params, client)[:255],
                payload=f"{request.id}:{payment.id}:{payment.check_token}",
                currency=payment.currency,
                amount=payment.amount,
                label=name[:64],
                provider_token=None if payment.currency == STARS else self.provider_token,
            )
