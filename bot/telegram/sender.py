"""Outbox rows to Telegram through the real aiogram Bot, with errors mapped to relay results."""

import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, LabeledPrice, Message

from bot.outbox.delivery import Delivered, Failed, Result, RetryLater, Uncertain
from bot.payments import INVOICE_KEY, InvoiceSpec
from storage.models import OutboxItem

log = logging.getLogger(__name__)

CALLBACK_DATA_LIMIT = 64  # bytes, Bot API InlineKeyboardButton.callback_data


class BotSession(AiohttpSession):
    """aiogram's session, minus its 250 ms pause on close where there is no TLS to wind down.

    The pause exists for TLS connections (aiohttp's graceful-shutdown advice); a local Bot API
    server over plain http — and the test double — has none.
    """

    async def close(self) -> None:
        if urlsplit(self.api.base).scheme == "https":
            await super().close()
        elif self._session is not None and not self._session.closed:
            await self._session.close()


def make_bot(token: str, api_server: str, timeout: float = 30.0) -> Bot:
    session = BotSession(api=TelegramAPIServer.from_base(api_server), timeout=timeout)
    # No parse_mode: client text inside our messages can never break entities (aiogram #197).
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=None))


def keyboard(buttons: Sequence[dict[str, str]] | None) -> InlineKeyboardMarkup | None:
    """One button per row: menu labels are long. Free text works everywhere, so a button
    whose payload Telegram cannot carry is left out rather than failing the whole message."""
    rows = []
    for button in buttons or ():
        if len(button["payload"].encode()) > CALLBACK_DATA_LIMIT:
            log.warning("button payload over %d bytes left out", CALLBACK_DATA_LIMIT)
            continue
        rows.append([InlineKeyboardButton(text=button["label"], callback_data=button["payload"])])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def _never_connected(error: TelegramNetworkError) -> bool:
    """True when the request cannot have reached the Bot API: refused, DNS, connect timeout."""
    return isinstance(
        error.__cause__, (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError)
    )


InvoiceSource = Callable[[str, str], Awaitable[InvoiceSpec | None]]  # (outbox key, chat id)


class TelegramSender:
    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # bot/payments.Payments.invoice_for once payments are on: `invoice:` rows become sendInvoice.
        self.invoices: InvoiceSource | None = None

    async def send(
        self, item: OutboxItem, *, chat_id: int | None = None, business_connection_id: str | None = None
    ) -> Result:
        """`chat_id` and `business_connection_id` come from bot/telegram/business_sender.py for a row to
        her Telegram Business chat (or, outside its window, to the client's bot chat)."""
        if chat_id is None:
            try:
                chat_id = int(item.destination)
            except ValueError:
                return Failed(error="destination is not a Telegram chat id")
        try:
            if (item.idempotency_key or "").startswith(INVOICE_KEY):
                spec = await self.invoices(item.idempotency_key, item.destination) if self.invoices else None
                if spec is None:
                    return Failed(error="the invoice is no longer due (paid, cancelled or held)")
                sent = await self._invoice(spec)
            else:
                sent = await self.bot.send_message(
                    chat_id=chat_id,
                    text=item.text,
                    reply_markup=keyboard(item.buttons),
                    business_connection_id=business_connection_id,
                )
        except TelegramRetryAfter as error:
            return RetryLater(error=self._describe(error), after_seconds=float(error.retry_after))
        except (
            TelegramForbiddenError,
            TelegramBadRequest,
            TelegramMigrateToChat,
            TelegramEntityTooLarge,
        ) as error:
            # Blocked by the user, chat not found, text too long: the same request fails again.
            return Failed(error=self._describe(error))
        except TelegramServerError as error:
            return RetryLater(error=self._describe(error))
        except TelegramNetworkError as error:
            if _never_connected(error):
                return RetryLater(error=self._describe(error))
            # Written but unanswered: sendMessage has no idempotency key, so a resend may
            # duplicate (python-telegram-bot #1045). Leave it for a human to judge.
            return Uncertain(error=self._describe(error))
        except ClientDecodeError as error:
            # Something other than the Bot API answered (a proxy's error page): sent? Unknown.
            return Uncertain(error=self._describe(error))
        except TelegramAPIError as error:
            # 401/404/409 and the like: configuration, fixed by the operator; the row waits.
            return RetryLater(error=self._describe(error))
        return Delivered(external_id=f"{sent.chat.id}:{sent.message_id}")

    async def _invoice(self, spec: InvoiceSpec) -> Message:
        # Stars (XTR) take no provider token (Bot API: payments for digital goods and services).
        return await self.bot.send_invoice(
            chat_id=spec.chat_id,
            title=spec.title,
            description=spec.description,
            payload=spec.payload,
            currency=spec.currency,
            prices=[LabeledPrice(label=spec.label, amount=spec.amount)],
            provider_token=spec.provider_token,
        )

    def _describe(self, error: Exception) -> str:
        # The token is part of every Bot API URL; keep it out of stored errors and logs.
        return f"{type(error).__name__}: {error}".replace(self.bot.token, "<token>")
