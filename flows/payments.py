"""Paying inside the chat, decided purely: what an invoice asks, whether a checkout may go on,
when a client who keeps backing out of paying is flagged, where a request stands with its money.
bot/payments/ does the I/O.

The promise clock itself is /paid's (flows/practice/requests.paid): a payment arriving is the
same decision, made at the payment's time.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

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


class PaymentStatus(StrEnum):
    """Where a request stands with its money, as the dashboard shows it."""

    UNPAID = "unpaid"
    HELD = "held"  # an invoice held for her approval (a flagged client)
    INVOICED = "invoiced"  # an invoice or a payment link sent
    STARS = "stars"  # paid in Telegram Stars
    CARD = "card"  # paid by card through Telegram's payment provider
    STRIPE = "stripe"  # paid through Stripe Checkout
    MANUAL = "manual"  # she confirmed it with /paid: cash or a bank transfer
    REFUNDED = "refunded"


class PaymentLike(Protocol):
    provider: str  # telegram | stripe
    currency: str
    state: str  # held | invoiced | paid | refunded


def paid_via(payment: PaymentLike) -> PaymentStatus:
    """How a payment was (or would be) made: Stars, a card through Telegram, or Stripe."""
    if payment.provider == "stripe":
        return PaymentStatus.STRIPE
    return PaymentStatus.STARS if payment.currency == STARS else PaymentStatus.CARD


def payment_status(request_payment_state: str, payments: Sequence[PaymentLike]) -> PaymentStatus:
    """A request's payment state from the request (unpaid | paid | refunded) and its payment rows,
    oldest first. Money that arrived counts even on a request closed since (hers to return)."""
    if request_payment_state == "refunded":
        return PaymentStatus.REFUNDED
    paid = [p for p in payments if p.state == "paid"]
    if paid:
        return paid_via(paid[-1])
    if request_payment_state == "paid":
        return PaymentStatus.MANUAL
    states = {p.state for p in payments}
    for state, status in (
        ("refunded", PaymentStatus.REFUNDED),
        ("invoiced", PaymentStatus.INVOICED),
        ("held", PaymentStatus.HELD),
    ):
        if state in states:
            return status
    return PaymentStatus.UNPAID
