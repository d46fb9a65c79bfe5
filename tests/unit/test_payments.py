"""flows/payments.py: what an invoice asks, when a checkout is refused, when a client is flagged."""

from dataclasses import replace

import pytest

from flows.model import Stage
from flows.payments import CheckoutView, Mode, Price, price_of, refusal, should_flag
from tests.factories import catalogue

STARS_1500 = Price("XTR", 1500)
OK = CheckoutView(
    stage=Stage.SUBMITTED,
    request_paid=False,
    payment_state="invoiced",
    client_restricted=False,
    price=STARS_1500,
    asked=STARS_1500,
)


def test_prices_come_from_the_catalogue_per_mode() -> None:
    reading = catalogue().get("planned_reading")
    assert price_of(reading, Mode.STARS) == Price("XTR", 1500)
    assert price_of(reading, Mode.CARD) == Price("RUB", 300000)
    assert price_of(catalogue().get("ritual"), Mode.STARS) is None  # agreed in person: no invoice
    assert price_of(None, Mode.CARD) is None


def test_a_service_with_a_stars_price_only_gets_no_card_invoice() -> None:
    reading = replace(catalogue().get("planned_reading"), price_amount=0)
    assert price_of(reading, Mode.CARD) is None and price_of(reading, Mode.STARS) is not None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"stage": Stage.CANCELLED}, "pay-refuse-closed"),
        ({"stage": Stage.DONE}, "pay-refuse-closed"),
        ({"request_paid": True}, "pay-refuse-paid"),
        ({"payment_state": "paid"}, "pay-refuse-paid"),
        ({"client_restricted": True}, "pay-refuse-restricted"),
        ({"payment_state": "held"}, "pay-refuse-stale"),
        ({"asked": Price("XTR", 1)}, "pay-refuse-stale"),
    ],
)
def test_a_checkout_is_refused_with_a_reason(change: dict, reason: str) -> None:
    assert refusal(OK) is None
    assert refusal(replace(OK, **change)) == reason


def test_flagging_needs_the_limit_and_happens_once() -> None:
    assert not should_flag(2, 3, already_flagged=False)
    assert should_flag(3, 3, already_flagged=False)
    assert not should_flag(5, 3, already_flagged=True)
    assert not should_flag(9, 0, already_flagged=False)  # 0 switches it off
