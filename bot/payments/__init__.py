"""Payment inside the chat: invoices and links after a booking, the money arriving, refunds.

One concept per module:

| module | holds |
|---|---|
| `context.py` | what every step shares (database, catalogue, texts, her shell, clock) and her notices |
| `offers.py` | the invoice or link written in the booking's own transaction |
| `invoices.py` | Telegram invoices: the outbox row that becomes `sendInvoice`, its payload |
| `telegram_checkout.py` | the pre-checkout question (10 s) and `successful_payment` |
| `stripe_gateway.py` | Stripe's official library: Checkout Sessions out, signed webhooks in |
| `stripe_checkout.py` | the `/pay/…` link opening a Checkout Session, `checkout.session.completed` |
| `settle.py` | the money arriving: /paid's own decision at the payment's time, once per event |
| `refunds.py` | `/refund N` for Stars |
| `flips.py` | a client who keeps backing out is flagged; `/invoice N`, her approval |
| `facade.py` | `Payments`, the one object the rest of priem holds |
| `setup.py` | `open_payments` (#1, from settings), `practitioner_payments` (another practitioner's row): or None |
"""

from bot.payments.context import Destination
from bot.payments.facade import Payments
from bot.payments.invoices import INVOICE_KEY, InvoiceSpec
from bot.payments.refunds import RefundFailed, StarRefund
from bot.payments.setup import open_payments, practitioner_payments
from bot.payments.stripe_checkout import PAY_PATH
from bot.payments.stripe_gateway import StripeGateway

__all__ = [
    "INVOICE_KEY",
    "PAY_PATH",
    "Destination",
    "InvoiceSpec",
    "Payments",
    "RefundFailed",
    "StarRefund",
    "StripeGateway",
    "open_payments",
    "practitioner_payments",
]
