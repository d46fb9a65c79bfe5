"""The Telegram channel's wiring: Bot, Dispatcher, sender, inbox worker, polling or webhook.

main.build() creates it before the relay (which needs the sender) and starts it once the Desk
exists (which the handlers need); it is on app.state.telegram for the webhook route.
"""

import asyncio
import hashlib
import hmac
import logging
from collections.abc import Callable
from datetime import datetime

from aiogram import Dispatcher
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.desk import Desk
from bot.outbox.delivery import Sender
from bot.payments import Payments, RefundFailed
from bot.settings import Settings
from bot.telegram.business import TelegramBusiness
from bot.telegram.business_sender import BusinessSender
from bot.telegram.inbox import TelegramInbox
from bot.telegram.ingest import WEBHOOK_PATH, TelegramIngest
from bot.telegram.polling import Poller
from bot.telegram.sender import TelegramSender, make_bot
from flows.model import Channel
from handlers.telegram.routers import build_router

log = logging.getLogger(__name__)



def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the token when it is unset: never no secret,
    since an unchecked webhook accepts updates from anyone (aiogram #1613). Derived, so every
    process and restart agrees, and nobody without the token can compute it."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().encode()
    return hmac.new(token, b"priem telegram webhook", hashlib.sha256).hexdigest()


class TelegramChannel:
    inbox: TelegramInbox  # set by start(): both need the Desk
    poller: Poller

    def __init__(self, settings: Settings) -> None:
        if settings.telegram_bot_token is None:
            raise ValueError("TELEGRAM_BOT_TOKEN is not set")
        if settings.telegram_mode == "webhook" and not settings.public_base_url:
            raise ValueError(
                "TELEGRAM_MODE=webhook needs PUBLIC_BASE_URL (the URL Telegram calls)"
            )
        self.settings = settings
        self.bot = make_bot(
            settings.telegram_bot_token.get_secret_value(), settings.telegram_api_server
        )
        self.sender = TelegramSender(self.bot)
        self.dispatcher = Dispatcher()
        self.dispatcher.include_router(
            build_router(with_payments=settings.telegram_payments_enabled, with_business=settings.telegram_business)
        )
        self.secret = webhook_secret(settings)
        # Another practitioner's bot: /webhook/telegram/<slug> (bot/platform/tenants.py).
        self.webhook_path = WEBHOOK_PATH
        self._tasks: list[asyncio.Task[None]] = []

    def senders(self, sessions: async_sessionmaker[AsyncSession], clock: Callable[[], datetime]) -> dict[str, Sender]:
        """The relay's senders: the bot chat, and with TELEGRAM_BUSINESS her business chats."""
        senders: dict[str, Sender] = {Channel.TELEGRAM.value: self.sender}
        if self.settings.telegram_business:
            senders[Channel.TELEGRAM_BUSINESS.value] = BusinessSender(self.sender, sessions, clock)
        return senders

    async def start(
        self,
        desk: Desk,
        *,
        run_background: bool = True,
        payments: Payments | None = None,
        ingest: TelegramIngest | None = None,
    ) -> None:
        self.dispatcher["desk"] = desk
        if self.settings.telegram_business:
            desk.business = self.dispatcher["business"] = TelegramBusiness(
                desk, self.bot, pause_hours=self.settings.business_pause_hours
            )
        self.dispatcher["payments"] = payments
        if payments is not None:
            payments.refund_stars = self.refund_stars
            self.sender.invoices = payments.invoice_for
        self.inbox = TelegramInbox(desk.uow, desk.clock, self.dispatcher, self.bot, ingest)
        allowed = self.dispatcher.resolve_used_update_types()
        self.poller = Poller(self.bot, self.inbox, allowed)
        if self.settings.telegram_mode == "webhook":
            url = (self.settings.public_base_url or "").rstrip("/") + self.webhook_path
            try:
                await self.bot.set_webhook(
                    url=url, secret_token=self.secret, allowed_updates=allowed
                )
            except Exception:
                # The app will not start; its session must not outlive it.
                await self.bot.session.close()
                raise
            log.info("Telegram webhook set to %s", url)
        if run_background:
            self._tasks.append(asyncio.create_task(self.inbox.run(), name="telegram-inbox"))
            if self.settings.telegram_mode == "polling":
                self._tasks.append(asyncio.create_task(self.poller.run(), name="telegram-polling"))

    async def refund_stars(self, user_id: int, charge_id: str) -> None:
        """refundStarPayment; one already refunded counts as done, so /refund may be repeated
        after a crash between Telegram's answer and our commit."""
        try:
            await self.bot.refund_star_payment(user_id=user_id, telegram_payment_charge_id=charge_id)
        except TelegramBadRequest as error:
            if "CHARGE_ALREADY_REFUNDED" not in str(error):
                raise RefundFailed(self.sender._describe(error)) from error
        except TelegramAPIError as error:
            raise RefundFailed(self.sender._describe(error)) from error

    def authentic(self, header: str | None) -> bool:
        return header is not None and hmac.compare_digest(header.encode(), self.secret.encode())

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.bot.session.close()
