"""Telegram payments: pre-checkout answered within its 10 seconds, the successful payment recorded.

Pre-checkout queries reach this router straight from the webhook route or the poller (stored,
but not queued behind other updates: bot/telegram/inbox.py); `successful_payment` arrives as an
ordinary message and is settled once whatever number of times it is delivered.
"""

import logging

from aiogram import F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message, PreCheckoutQuery

from bot.payments import Payments

log = logging.getLogger(__name__)


async def pre_checkout(query: PreCheckoutQuery, payments: Payments | None) -> None:
    if payments is None:
        error: str | None = "—"
    else:
        error = await payments.pre_checkout(
            query.invoice_payload, query.from_user.id, query.currency, query.total_amount
        )
    try:
        await query.answer(ok=error is None, error_message=error)
    except TelegramAPIError as error_answering:
        # Too late (over 10 s) or answered already: Telegram has cancelled this checkout itself.
        log.warning("pre-checkout %s not answered: %s", query.id, type(error_answering).__name__)


async def successful_payment(message: Message, payments: Payments | None) -> None:
    paid = message.successful_payment
    if payments is None or paid is None:
        return
    await payments.telegram_paid(
        payload=paid.invoice_payload,
        currency=paid.currency,
        amount=paid.total_amount,
        telegram_charge_id=paid.telegram_payment_charge_id,
        provider_charge_id=paid.provider_payment_charge_id,
        paid_at=message.date,
    )


def router() -> Router:
    payments = Router(name=__name__)
    payments.pre_checkout_query.register(pre_checkout)
    payments.message.filter(F.chat.type == ChatType.PRIVATE)
    payments.message.register(successful_payment, F.successful_payment)
    return payments
