"""Payments as configured, or None: with no payment settings nothing changes (manual /paid)."""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.payments.context import Destination, PaymentContext
from bot.payments.facade import Payments
from bot.payments.stripe_checkout import PAY_PATH
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
    token = settings.telegram_payment_provider_token
    stripe_keys = None
    if settings.stripe_enabled:
        assert settings.stripe_api_key is not None and settings.stripe_webhook_secret is not None
        stripe_keys = (settings.stripe_api_key.get_secret_value(), settings.stripe_webhook_secret.get_secret_value())
    ctx = PaymentContext(
        sessions=sessions,
        practitioner_id=practitioner_id,
        texts=texts,
        practice=practice,
        clock=clock,
        destinations=tuple(destinations),
        on_enqueued=on_enqueued,
    )
    return _payments(
        settings, ctx, telegram, token.get_secret_value() if token is not None else None, stripe_keys, PAY_PATH
    )


def practitioner_payments(
    settings: "Settings",
    ctx: PaymentContext,
    *,
    slug: str,
    has_bot: bool,
    provider_token: str | None,
    stripe_api_key: str | None,
    stripe_webhook_secret: str | None,
) -> Payments | None:
    """Another practitioner's payments, from her row (bot/platform/tenants.py), never #1's keys: invoices
    through her bot (card with her provider token; Stars when TELEGRAM_PAYMENTS is on for the
    deployment, paid to her bot), and Stripe links only with her own key and signing secret
    (her links at /pay/<slug>/…, her webhook at /webhook/payments/stripe/<slug>)."""
    telegram = None
    if has_bot and provider_token:
        telegram = Mode.CARD
    elif has_bot and settings.telegram_payments:
        telegram = Mode.STARS
    stripe_keys = (stripe_api_key, stripe_webhook_secret) if stripe_api_key and stripe_webhook_secret else None
    return _payments(settings, ctx, telegram, provider_token or None, stripe_keys, f"{PAY_PATH}/{slug}")


def _payments(
    settings: "Settings",
    ctx: PaymentContext,
    telegram: Mode | None,
    provider_token: str | None,
    stripe_keys: tuple[str, str] | None,
    pay_path: str,
) -> Payments | None:
    """None with no payment at all: nothing changes (manual /paid)."""
    gateway = StripeGateway(*stripe_keys, settings.stripe_api_base) if stripe_keys is not None else None
    if telegram is None and gateway is None:
        return None
    return Payments(
        ctx,
        telegram=telegram,
        provider_token=provider_token,
        stripe_gateway=gateway,
        link_base=settings.public_base_url or f"http://{settings.host}:{settings.port}",
        pay_path=pay_path,
        flip_limit=settings.payment_flip_limit,
    )
