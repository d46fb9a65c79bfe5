"""Money as people read it: Telegram Stars as «1 500 ⭐», any other currency through Babel's
format_currency in the reader's locale («3 000,00 ₽», «€15.00»). Amounts are stored in minor
units; the currency's own precision (ISO 4217: 2 for RUB, 0 for JPY) turns them into major ones."""

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, get_currency_precision

from flows.payments import STARS, Price


def major_units(price: Price) -> Decimal:
    """The amount in major units (Stars are whole): what a CSV or a person adds up."""
    if price.currency == STARS:
        return Decimal(price.amount)
    return Decimal(price.amount).scaleb(-get_currency_precision(price.currency))


def format_money(price: Price, language: str) -> str:
    if price.currency == STARS:
        return f"{format_decimal(price.amount, locale=language)} ⭐"
    return format_currency(major_units(price), price.currency, locale=language)
