"""The Telegram channel end to end: the real aiogram Bot over HTTP against the Bot API double,
updates arriving by webhook (POSTed as Telegram would) or by getUpdates."""

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.settings import Settings
from bot.telegram.app import webhook_secret
from main import build
from storage.models import Client, InboxUpdate, Message, OutboxItem, Question
from tests.database import url_for
from tests.e2e.telegram_client import (
    SECRET_HEADER,
    Delivery,
    PollingDelivery,
    TelegramUser,
    WebhookDelivery,
)
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

PRACTITIONER_CHAT = 777
SECRET = "s3cret-Webhook_token"
PUBLIC = "https://desk.example.com"


def telegram_settings(db_path: Path, api: TelegramBotAPI, mode: str) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=url_for(db_path),
        telegram_bot_token=TOKEN,
        telegram_api_server=api.base_url,
        telegram_mode=mode,
        telegram_webhook_secret=SECRET,
        public_base_url=PUBLIC,
        practitioner_telegram_ids=str(PRACTITIONER_CHAT),
    )


BOTH_MODES = pytest.mark.parametrize("mode", ["webhook", "polling"])


@pytest.fixture
def mode() -> str:
    """Once an update is stored, both modes share one path: most tests need only one of them."""
    return "webhook"


@pytest.fixture
async def tg_app(
    db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, mode: str
) -> AsyncIterator[FastAPI]:
    application = build(
        telegram_settings(db_path, telegram_api, mode), clock=clock, run_background=False
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def tg_http(tg_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=tg_app), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


@pytest.fixture
def delivery(
    mode: str, tg_http: httpx.AsyncClient, telegram_api: TelegramBotAPI, tg_app: FastAPI
) -> Delivery:
    return (
        WebhookDelivery(tg_http, SECRET)
        if mode == "webhook"
        else PollingDelivery(telegram_api, tg_app)
    )


@pytest.fixture
def user(tg_app: FastAPI, telegram_api: TelegramBotAPI, delivery: Delivery):  # noqa: ANN201
    def make(chat_id: int, first_name: str, last_name: str | None = None) -> TelegramUser:
        return TelegramUser(tg_app, telegram_api, delivery, chat_id, first_name, last_name)

    return make


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))


async def book_planned_reading(anna: TelegramUser) -> str:
    assert anna.name in await anna.ask("Здравствуйте!")
    terms = await anna.ask("Хочу плановый расклад")
    assert "условия" in terms.lower() and "4 дней до 2 недель" in terms
    assert "готово" in await anna.ask("Да, согласна")
    for i, question in enumerate(
        [
            "Что меня ждёт в работе?",
            "Как сложатся отношения с мамой?",
            "Стоит ли переезжать весной?",
        ],
        start=1,
    ):
        assert f"Вопросов в списке: {i}" in await anna.ask(question)
    return await anna.ask("готово")


@BOTH_MODES
async def test_the_foundation_journey(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user, mode: str
) -> None:  # noqa: ANN001
    anna = user(1001, "Анна", "Петрова")
    confirmation = await book_planned_reading(anna)
    assert "запрос принят" in confirmation and "Вопросов: 3" in confirmation
    assert "Место в очереди: 1" in confirmation

    boris = user(1002, "Борис")
    ack = await boris.ask("СРОЧНО!!! помогите")
    assert "экстренный запрос" in ack and "24 часов с момента оплаты" in ack
    [alert] = telegram_api.sent(PRACTITIONER_CHAT)
    assert (
        "ЭКСТРЕННО" in alert["text"] and "Борис" in alert["text"] and "telegram" in alert["text"]
    )
    assert "помогите" in alert["text"]
    # One tap from the alert to the request on her page.
    assert re.search(r"/desk#request-\d+", alert["text"])

    status = await anna.ask("где мой расклад?")
    assert "Место в очереди: 1" in status and "Плановый расклад" in status

    [client] = await rows(
        tg_app, Client, Client.display_name == "Анна Петрова"
    )  # the profile's full name
    assert client.language == "ru"
    assert "parse_mode" not in telegram_api.sent()[0]
    if mode == "webhook":
        [hook] = telegram_api.called("setWebhook")
        assert hook.params["url"] == PUBLIC + "/webhook/telegram"
        assert hook.params["secret_token"] == SECRET
        assert set(hook.params["allowed_updates"]) == {
            "message",
            "edited_message",
            "callback_query",
            "business_connection",  # Business mode is on by default: harmless until she connects the bot
            "business_message",
            "edited_business_message",
        }
    else:
        assert telegram_api.called("getUpdates")[0].params["allowed_updates"]


async def test_a_newcomers_emergency_is_one_answer_queued_right_after_her_alert(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user
) -> None:  # noqa: ANN001
    boris = user(1002, "Борис")
    await boris.ask("СРОЧНО!!! помогите")
    # Nothing ahead of the answer in his chat (a greeting first would hold it back a second,
    # Telegram's 1 msg/s per chat), and nothing ahead of her alert in the relay's order.
    [answer] = telegram_api.sent(1002)
    assert answer["text"].startswith("Здравствуйте, Борис!") and "экстренный запрос" in answer["text"]
    queued = await rows(tg_app, OutboxItem)
    order = sorted(queued, key=lambda row: (row.priority, row.id))
    assert [row.destination for row in order] == [str(PRACTITIONER_CHAT), "1002"]
    assert "ЭКСТРЕННО" in order[0].text


async def test_a_button_tap_advances_the_flow(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, user
) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await anna.ask("Здравствуйте")
    await anna.ask("Хочу плановый расклад")
    prompt = await anna.press("terms:yes")
    assert "готово" in prompt
    [answered] = telegram_api.called("answerCallbackQuery")
    assert answered.params["callback_query_id"].startswith("cq")
    tap = (await rows(tg_app, Message, Message.external_id.like("cb:%")))[0]
    assert tap.text and tap.direction == "in"  # the button's label, as the web chat stores it


async def test_a_voice_message_in_a_question_list_is_a_question(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    await anna.ask("Здравствуйте")
    await anna.ask("Хочу плановый расклад")
    await anna.press("terms:yes")
    assert "Вопросов в списке: 1" in await anna.ask("Что меня ждёт в работе?")
    await anna.send(
        anna.message(voice={"file_id": "VOICE-1", "file_unique_id": "u1", "duration": 7})
    )
    assert "Вопросов в списке: 2" in "\n".join(anna.replies())
    assert "Вопросов: 2" in await anna.ask("готово")
    questions = [q.text for q in await rows(tg_app, Question)]
    assert questions[1] == "[voice] VOICE-1"
    [voice] = await rows(tg_app, Message, Message.kind == "voice")
    assert voice.media_ref == "VOICE-1"


@BOTH_MODES
async def test_the_same_update_three_times_is_one_message_and_one_reply(
    tg_app: FastAPI,
    telegram_api: TelegramBotAPI,
    user,
    mode: str,  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    update = anna.message("Здравствуйте")
    for _ in range(3):
        if mode == "polling":  # Telegram re-serves unconfirmed updates, e.g. after a restart
            tg_app.state.telegram.poller.offset = None
        await anna.send(update)
    assert len(await rows(tg_app, Message, Message.direction == "in")) == 1
    assert len(await rows(tg_app, InboxUpdate)) == 1
    assert len(telegram_api.sent(1001)) == 1


async def test_an_edit_is_a_new_message_and_start_carries_its_payload(
    tg_app: FastAPI, user
) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    first = anna.message("/start from_site")
    await anna.send(first)
    assert anna.replies()
    await anna.send(anna.edit(first, "Хочу плановый расклад"))
    assert "условия" in "\n".join(anna.replies()).lower()
    inbound = await rows(tg_app, Message, Message.direction == "in")
    assert inbound[0].text == "/start"  # the deep-link payload went to the flow as a payload
    assert [m.external_id for m in inbound] == [
        f"1001:{first['message']['message_id']}",
        f"edit:1001:{first['message']['message_id']}:{first['message']['date'] + 60}",
    ]


async def test_what_is_no_client_message_is_stored_and_ignored(
    tg_app: FastAPI,
    telegram_api: TelegramBotAPI,
    user,  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    group = anna.message("СРОЧНО!!! всем привет")
    group["message"]["chat"] = {"id": -100500, "type": "group", "title": "Чат"}
    anonymous = anna.message("привет")
    del anonymous["message"]["from"]
    channel_post = {
        "update_id": telegram_api.next_update_id(),
        "channel_post": anonymous["message"],
    }
    for update in (group, anonymous, channel_post):
        await anna.send(update)
    assert await rows(tg_app, Message) == []
    assert telegram_api.sent() == []
    assert all(u.processed_at is not None for u in await rows(tg_app, InboxUpdate))


async def test_a_429_delays_that_chat_and_loses_nothing(
    tg_app: FastAPI,
    telegram_api: TelegramBotAPI,
    clock: FakeClock,
    user,  # noqa: ANN001
) -> None:
    anna, boris = user(1001, "Анна"), user(1002, "Борис")
    telegram_api.fail_next("sendMessage", 429, "Too Many Requests: retry after 2", retry_after=2)
    start = clock()
    await anna.send(anna.message("Здравствуйте"))
    await anna.send(anna.message("где мой расклад?"))  # queued behind the first reply
    assert telegram_api.sent(1001) == []
    await boris.send(boris.message("Здравствуйте"))
    assert len(telegram_api.sent(1002)) == 1  # other chats are not held up

    clock.advance(seconds=1.9)
    await tg_app.state.relay.drain()
    assert telegram_api.sent(1001) == []
    clock.advance(seconds=0.2)
    await tg_app.state.relay.drain()
    replies = anna.replies()
    assert len(replies) == 2 and anna.name in replies[0]  # both, in order
    sent = await rows(tg_app, OutboxItem, OutboxItem.destination == "1001")
    assert [row.state for row in sent] == ["sent", "sent"]
    assert all(row.sent_at - start >= timedelta(seconds=2) for row in sent)


async def test_a_5xx_is_retried_later(
    tg_app: FastAPI, telegram_api: TelegramBotAPI, clock: FakeClock, user
) -> None:  # noqa: ANN001
    anna = user(1001, "Анна")
    telegram_api.fail_next("sendMessage", 500, "Internal Server Error")
    await anna.send(anna.message("Здравствуйте"))
    assert anna.replies() == []
    clock.advance(minutes=1)
    await tg_app.state.relay.drain()
    assert len(anna.replies()) == 1


@pytest.mark.parametrize("headers", [{SECRET_HEADER: "wrong"}, {SECRET_HEADER: ""}, {}])
async def test_a_wrong_or_missing_secret_is_403_and_stores_nothing(
    tg_app: FastAPI,
    tg_http: httpx.AsyncClient,
    user,
    headers: dict[str, str],  # noqa: ANN001
) -> None:
    update = user(1001, "Анна").message("Здравствуйте")
    response = await tg_http.post("/webhook/telegram", json=update, headers=headers)
    assert response.status_code == 403
    assert await rows(tg_app, InboxUpdate) == []


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', b"\xff\xfe"]
)
async def test_a_malformed_body_is_400_and_stores_nothing(
    tg_app: FastAPI, tg_http: httpx.AsyncClient, body: bytes
) -> None:
    response = await tg_http.post(
        "/webhook/telegram",
        content=body,
        headers={SECRET_HEADER: SECRET, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert await rows(tg_app, InboxUpdate) == []


async def test_an_authentic_update_that_cannot_be_read_is_set_aside(
    tg_app: FastAPI,
    tg_http: httpx.AsyncClient,
    telegram_api: TelegramBotAPI,
    user,  # noqa: ANN001
) -> None:
    broken = {
        "update_id": telegram_api.next_update_id(),
        "message": {"message_id": "not a number"},
    }
    response = await tg_http.post(
        "/webhook/telegram", json=broken, headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 200  # a 5xx would make Telegram re-send it forever
    anna = user(1001, "Анна")
    await anna.send(anna.message("Здравствуйте"))
    assert len(anna.replies()) == 1  # the update behind it was not blocked
    dead, ok = await rows(tg_app, InboxUpdate)
    assert dead.processed_at is not None and dead.last_error.startswith("invalid update")
    assert ok.processed_at is not None and ok.last_error is None


async def test_without_a_configured_secret_one_is_derived_from_the_token(
    db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock
) -> None:
    settings = telegram_settings(db_path, telegram_api, "webhook")
    settings = Settings(
        **{**settings.model_dump(), "telegram_webhook_secret": None, "_env_file": None}
    )
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        secret = telegram_api.called("setWebhook")[0].params["secret_token"]
        assert secret == webhook_secret(settings) and TOKEN.split(":")[1] not in secret
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as http:
            update = {"update_id": 1, "message": {}}
            assert (await http.post("/webhook/telegram", json=update)).status_code == 403
            assert (
                await http.post("/webhook/telegram", json=update, headers={SECRET_HEADER: secret})
            ).status_code == 200


async def test_without_telegram_there_is_no_webhook_route(http: httpx.AsyncClient) -> None:
    assert (await http.post("/webhook/telegram", json={"update_id": 1})).status_code in (404, 405)


@BOTH_MODES
async def test_background_tasks_answer_without_help(
    db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, mode: str
) -> None:
    application = build(
        telegram_settings(db_path, telegram_api, mode), clock=clock, run_background=True
    )
    async with application.router.lifespan_context(application):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://t"
        ) as http:
            anna = TelegramUser(
                application, telegram_api, WebhookDelivery(http, SECRET), 1001, "Анна"
            )
            update = anna.message("Здравствуйте")
            if mode == "polling":
                telegram_api.push(update)
            else:
                await anna.delivery.deliver(update)
            for _ in range(1500):  # background work: a generous cap, never a timing claim
                if telegram_api.sent(1001):
                    break
                await asyncio.sleep(0.01)
            assert len(telegram_api.sent(1001)) == 1
    if mode == "polling":
        assert telegram_api.called("deleteWebhook")  # a webhook left behind would block getUpdates
