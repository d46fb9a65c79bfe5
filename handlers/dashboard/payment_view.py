"""How the dashboard shows a request's money: where it stands (unpaid, invoice sent, paid in
Stars / by card / via Stripe / by hand, refunded) and each payment with its amount, times and
charge ids. The ids are named as the providers name them, so she can look a payment up there
(Telegram's `telegram_payment_charge_id` / `provider_payment_charge_id`, Stripe's Checkout
Session and PaymentIntent)."""

from collections.abc import Sequence
from typing import Any

from bot.money import format_money
from flows.payments import Price, paid_via, payment_status
from handlers.dashboard.render import Words
from storage.models import Payment


def charges(payment: Payment) -> dict[str, str]:
    if payment.provider == "stripe":
        ids = {"checkout_session_id": payment.checkout_session_id, "payment_intent": payment.provider_charge_id}
    else:
        ids = {
            "telegram_payment_charge_id": payment.telegram_charge_id,
            "provider_payment_charge_id": payment.provider_charge_id,
        }
    return {name: value for name, value in ids.items() if value}


def status_of(request_payment_state: str, payments: Sequence[Payment]) -> str:
    return payment_status(request_payment_state, payments).value


def payment_json(payment: Payment) -> dict[str, Any]:
    """One payment for the board's JSON API (amounts in minor units, times in ISO 8601)."""
    return {
        "id": payment.id,
        "provider": payment.provider,
        "via": paid_via(payment).value,
        "currency": payment.currency,
        "amount": payment.amount,
        "state": payment.state,
        "created_at": payment.created_at.isoformat(),
        "paid_at": payment.paid_at.isoformat() if payment.paid_at else None,
        "refunded_at": payment.refunded_at.isoformat() if payment.refunded_at else None,
        "charges": charges(payment),
    }


def payment_row(payment: Payment, words: Words) -> dict[str, Any]:
    """One payment as the client card shows it, in her language and time zone."""
    return {
        "id": payment.id,
        "via": words(f"dash-pay-via-{paid_via(payment).value}"),
        "amount": format_money(Price(payment.currency, payment.amount), words.language),
        "currency": payment.currency,
        "state": payment.state,
        "state_name": words(f"dash-pay-state-{payment.state}"),
        "created": words.when(payment.created_at),
        "paid": words.when(payment.paid_at),
        "refunded": words.when(payment.refunded_at),
        "charges": charges(payment),
    }
