"""Payments as configured, or None: with no payment settings nothing changes (manual /paid)."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments.context import Destination, PaymentContext
from bot.payments.facade import Payments
from bot.payments.stripe_gateway import StripeGateway
from bot.practice import Practice
from bot.texts import Texts
from flows.payments import Mode

if TYPE_CHECKING:
    from bot.settings import Settings


def open_payments(
    settings: "Settings",
    *,
    sessions: async_sessionmaker[AsyncSession],
    practitioner_id: int,
    texts: Texts,
    practice: Practice,
    clock: Callable[[], datetime],
    destinations: Sequence[Destination],
    on_enqueued: Callable[[], None],
) -> Payments | None:
    telegram = None
    if settings.telegram_payments_enabled:
        telegram = Mode.CARD if settings.telegram_payment_provider_token is not None else Mode.STARS
    gateway = None
    if settings.stripe_enabled:
        assert settings.stripe_api_key is not None and settings.stripe_webhook_secret is not None
        gateway = StripeGateway(
            settings.stripe_api_key.get_secret_value(),
            settings.stripe_webhook_secret.get_secret_value(),
            settings.stripe_api_base,
        )
    if telegram is None and gateway is None:
        return None
    token = settings.telegram_payment_provider_token
    ctx = PaymentContext(
        sessions=sessions,
        practitioner_id=practitioner_id,
        texts=texts,
        practice=practice,
        clock=clock,
        destinations=tuple(destinations),
        on_enqueued=on_enqueued,
    )
    return Payments(
        ctx,
        telegram=telegram,
        provider_token=token.get_secret_value() if token is not None else None,
        stripe_gateway=gateway,
        link_base=settings.public_base_url or f"http://{settings.host}:{settings.port}",
        flip_limit=settings.payment_flip_limit,
    )
