"""Where a request stands with its money (flows/payments.payment_status), revenue per service and
currency over a period (flows/practice/stats), and money as she reads it (bot/money.py)."""

from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.money import format_money, major_units
from flows.payments import PaymentStatus, Price, payment_status
from flows.practice import stats
from flows.practice.effects import Answer
from tests.factories import WORKING_TIME, catalogue

NOW = WORKING_TIME
DAY = timedelta(days=1)
SINCE = NOW - 30 * DAY


@dataclass(frozen=True)
class Row:
    provider: str
    currency: str
    state: str


STARS_PAID = Row("telegram", "XTR", "paid")
CARD_PAID = Row("telegram", "RUB", "paid")
STRIPE_PAID = Row("stripe", "RUB", "paid")


@pytest.mark.parametrize(
    ("request_state", "rows", "expected"),
    [
        ("unpaid", [], PaymentStatus.UNPAID),
        ("unpaid", [Row("telegram", "XTR", "held")], PaymentStatus.HELD),
        ("unpaid", [Row("telegram", "XTR", "held"), Row("stripe", "RUB", "invoiced")], PaymentStatus.INVOICED),
        ("paid", [STARS_PAID], PaymentStatus.STARS),
        ("paid", [CARD_PAID], PaymentStatus.CARD),
        ("paid", [Row("stripe", "RUB", "invoiced"), STRIPE_PAID], PaymentStatus.STRIPE),
        ("paid", [], PaymentStatus.MANUAL),
        ("paid", [Row("telegram", "XTR", "invoiced")], PaymentStatus.MANUAL),  # the invoice left, cash taken
        ("refunded", [Row("telegram", "XTR", "refunded")], PaymentStatus.REFUNDED),
        # Money that arrived for a request closed meanwhile: shown as paid, hers to return.
        ("unpaid", [STARS_PAID], PaymentStatus.STARS),
    ],
)
def test_payment_status(request_state: str, rows: list[Row], expected: PaymentStatus) -> None:
    assert payment_status(request_state, rows) is expected


def fact(service: str, currency: str, amount: int, paid_days_ago: float, refunded_days_ago: float | None = None):  # noqa: ANN201
    refunded = NOW - refunded_days_ago * DAY if refunded_days_ago is not None else None
    return stats.PaymentFact(service, currency, amount, NOW - paid_days_ago * DAY, refunded)


def test_revenue_counts_money_when_it_moved_per_service_and_currency() -> None:
    payments = [
        fact("one_question", "RUB", 100000, 2),
        fact("planned_reading", "XTR", 1500, 3),
        fact("planned_reading", "XTR", 1500, 4, refunded_days_ago=1),  # paid and refunded inside
        fact("planned_reading", "RUB", 300000, 5),
        fact("planned_reading", "XTR", 1500, 40, refunded_days_ago=10),  # paid before, refunded inside
        fact("emergency", "XTR", 2500, 45),  # paid before, never refunded: nothing in the period
    ]
    result = stats.aggregate([], [], since=SINCE, now=NOW, catalogue=catalogue(), timezone="UTC", payments=payments)
    lines = {(r.service, r.currency): (r.received, r.payments, r.refunded, r.refunds, r.net) for r in result.revenue}
    assert lines == {
        ("planned_reading", "XTR"): (3000, 2, 3000, 2, 0),
        ("planned_reading", "RUB"): (300000, 1, 0, 0, 300000),
        ("one_question", "RUB"): (100000, 1, 0, 0, 100000),
    }
    # Catalogue order, Stars before money within a service.
    assert [(r.service, r.currency) for r in result.revenue] == [
        ("planned_reading", "XTR"),
        ("planned_reading", "RUB"),
        ("one_question", "RUB"),
    ]
    totals = {r.currency: (r.received, r.refunded, r.net) for r in result.revenue_totals}
    assert totals == {"XTR": (3000, 3000, 0), "RUB": (400000, 0, 400000)}


def test_requests_paid_by_hand_are_counted_apart_without_an_amount() -> None:
    by_hand = stats.RequestFact("emergency", True, NOW - DAY, NOW - DAY, None, None, paid_by_hand=True)
    in_chat = stats.RequestFact("emergency", True, NOW - DAY, NOW - DAY, None, None)
    old = stats.RequestFact("emergency", True, NOW - 40 * DAY, NOW - 40 * DAY, None, None, paid_by_hand=True)
    result = stats.aggregate([by_hand, in_chat, old], [], since=SINCE, now=NOW, catalogue=catalogue(), timezone="UTC")
    assert result.paid_by_hand == (("emergency", 1),) and result.revenue == ()
    [header, line] = stats.render_revenue(result)
    assert header == Answer("stats-revenue-header") and line.text_id == "stats-revenue-by-hand"


def test_no_money_and_nothing_by_hand_says_nothing_about_revenue() -> None:
    result = stats.aggregate([], [], since=SINCE, now=NOW, catalogue=catalogue(), timezone="UTC")
    assert stats.render_revenue(result) == []


@pytest.mark.parametrize(
    ("price", "language", "shown"),
    [
        (Price("XTR", 1500), "ru", "1\xa0500 ⭐"),
        (Price("XTR", 1500), "en", "1,500 ⭐"),
        (Price("RUB", 300000), "ru", "3\xa0000,00\xa0₽"),
        (Price("EUR", 1550), "en", "€15.50"),
        (Price("JPY", 1500), "en", "¥1,500"),  # no minor unit: 1500 is ¥1,500
        (Price("RUB", -150000), "ru", "-1\xa0500,00\xa0₽"),
    ],
)
def test_money_is_formatted_in_the_readers_locale(price: Price, language: str, shown: str) -> None:
    assert format_money(price, language) == shown


def test_major_units_follow_the_currency() -> None:
    assert (str(major_units(Price("RUB", 100000))), str(major_units(Price("XTR", 7)))) == ("1000.00", "7")
