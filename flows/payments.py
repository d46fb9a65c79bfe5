"""Paying inside the chat, decided purely: what an invoice asks, whether a checkout may go on,
when a client who keeps backing out of paying is flagged. bot/payments.py does the I/O.

The promise clock itself is /paid's (flows/practice/requests.paid): a payment arriving is the
same decision, made at the payment's time.
"""

from dataclasses import dataclass
from enum import StrEnum

from flows.catalogue import Service
from flows.model import Stage

STARS = "XTR"  # Telegram Stars: digital goods and services inside Telegram
CLOSED = (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW)


class Mode(StrEnum):
    STARS = "stars"  # Telegram invoice in Stars, no provider token
    CARD = "card"  # Telegram invoice through a payment provider, or a Stripe Checkout link


@dataclass(frozen=True)
class Price:
    currency: str
    amount: int  # minor units; Stars are whole


def price_of(service: Service | None, mode: Mode) -> Price | None:
    """What to ask for the service, or None: no price set, so no invoice (she uses /paid)."""
    if service is None:
        return None
    if mode is Mode.STARS:
        return Price(STARS, service.price_stars) if service.price_stars > 0 else None
    if service.price_amount > 0 and service.price_currency:
        return Price(service.price_currency, service.price_amount)
    return None


@dataclass(frozen=True)
class CheckoutView:
    """What a pre-checkout (or the money arriving) is checked against."""

    stage: Stage
    request_paid: bool
    payment_state: str  # held | invoiced | paid | refunded
    client_restricted: bool
    price: Price
    asked: Price  # what the platform says the client is about to pay


def refusal(view: CheckoutView) -> str | None:
    """Why this checkout must not go on (a text id for the client), or None to let it through."""
    if view.stage in CLOSED:
        return "pay-refuse-closed"
    if view.request_paid or view.payment_state in ("paid", "refunded"):
        return "pay-refuse-paid"
    if view.client_restricted:
        return "pay-refuse-restricted"
    if view.payment_state != "invoiced" or view.asked != view.price:
        return "pay-refuse-stale"
    return None


def should_flag(flips: int, limit: int, already_flagged: bool) -> bool:
    """Seed 000: a client who confirms and cancels payments again and again is not helped by
    more invoices; after `limit` flips she decides (limit 0 switches the check off)."""
    return limit > 0 and not already_flagged and flips >= limit
