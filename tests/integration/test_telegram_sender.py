"""The Telegram sender against the Bot API double: what each platform answer becomes."""

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.outbox.delivery import Delivered, Failed, RetryLater, Uncertain
from bot.telegram.sender import TelegramSender, make_bot
from storage.models import OutboxItem
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI


@pytest.fixture
async def bot(telegram_api: TelegramBotAPI) -> AsyncIterator[Bot]:
    bot = make_bot(TOKEN, telegram_api.base_url, timeout=5)
    yield bot
    await bot.session.close()


def item(
    text: str = "Здравствуйте, <b>Анна</b> & *co*", buttons: list[dict[str, str]] | None = None
) -> OutboxItem:
    return OutboxItem(id=1, channel="telegram", destination="4242", text=text, buttons=buttons)


async def test_plain_text_with_buttons_is_delivered(
    bot: Bot, telegram_api: TelegramBotAPI
) -> None:
    buttons = [
        {"label": "1. Плановый расклад", "payload": "svc:planned_reading"},
        {"label": "too long", "payload": "x" * 65},
    ]
    result = await TelegramSender(bot).send(item(buttons=buttons))
    assert isinstance(result, Delivered) and result.external_id.startswith("4242:")
    [params] = telegram_api.sent(4242)
    assert params["text"] == "Здравствуйте, <b>Анна</b> & *co*"
    assert "parse_mode" not in params  # client text can never break entities
    assert params["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "1. Плановый расклад", "callback_data": "svc:planned_reading"}]
        ]
    }


async def test_429_is_retried_after_what_telegram_said(
    bot: Bot, telegram_api: TelegramBotAPI
) -> None:
    telegram_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    result = await TelegramSender(bot).send(item())
    assert result == RetryLater(error=result.error, after_seconds=2.0)


@pytest.mark.parametrize(
    ("status", "description"),
    [(403, "Forbidden: bot was blocked by the user"), (400, "Bad Request: chat not found")],
)
async def test_blocked_or_unknown_chat_is_never_retried(
    bot: Bot, telegram_api: TelegramBotAPI, status: int, description: str
) -> None:
    telegram_api.fail_next("sendMessage", status, description)
    result = await TelegramSender(bot).send(item())
    assert isinstance(result, Failed) and description in result.error


async def test_server_error_is_retried(bot: Bot, telegram_api: TelegramBotAPI) -> None:
    telegram_api.fail_next("sendMessage", 502, "Bad Gateway")
    assert isinstance(await TelegramSender(bot).send(item()), RetryLater)


async def test_refused_connection_is_retried_and_the_token_stays_out(
    telegram_api: TelegramBotAPI,
) -> None:
    base = telegram_api.base_url
    await telegram_api.stop()  # the port is now closed: the request is never written
    bot = make_bot(TOKEN, base, timeout=5)
    try:
        result = await TelegramSender(bot).send(item())
    finally:
        await bot.session.close()
    assert isinstance(result, RetryLater)
    assert TOKEN not in result.error and TOKEN.split(":")[1] not in result.error


async def test_timeout_after_sending_is_uncertain_not_resent(telegram_api: TelegramBotAPI) -> None:
    telegram_api.fail_next("sendMessage", 500, delay=1.0)
    bot = make_bot(TOKEN, telegram_api.base_url, timeout=0.1)
    try:
        result = await TelegramSender(bot).send(item())
    finally:
        await bot.session.close()
    assert isinstance(result, Uncertain)
    assert len(telegram_api.called("sendMessage")) == 0  # the double had not answered yet


async def test_a_destination_that_is_no_chat_id_fails(bot: Bot) -> None:
    result = await TelegramSender(bot).send(
        OutboxItem(id=2, channel="telegram", destination="anna", text="x")
    )
    assert isinstance(result, Failed)
