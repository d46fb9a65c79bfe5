"""Telegram Business end to end: the bot answering inside the practitioner's own account.

Updates (business_connection, business_message, edited_business_message, button taps) arrive
through the webhook and the real aiogram Dispatcher; the replies leave through the outbox and
aiogram's Bot against the Bot API double, where every message in her chat must carry
business_connection_id.
"""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from bot.settings import Settings
from main import build
from storage.models import BusinessConnection, CommandLog, Message, OutboxItem, Request
from tests.e2e.business_client import CONNECTION, BusinessChat, connection_update
from tests.e2e.dashboard_login import log_in
from tests.e2e.telegram_client import TelegramUser, WebhookDelivery
from tests.e2e.test_telegram import PRACTITIONER_CHAT, SECRET, telegram_settings
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI

HER = PRACTITIONER_CHAT  # her Telegram account: in PRACTITIONER_TELEGRAM_IDS, connected to the bot
LINK = re.compile(r"https://t\.me/priem_test_bot\?start=(b\d+-[0-9A-Z]{8})")


@pytest.fixture
async def biz_app(db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock) -> AsyncIterator[FastAPI]:
    base = telegram_settings(db_path, telegram_api, "webhook")
    settings = Settings(**{**base.model_dump(), "telegram_business": True, "_env_file": None})
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def biz_http(biz_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=biz_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def delivery(biz_http: httpx.AsyncClient) -> WebhookDelivery:
    return WebhookDelivery(biz_http, SECRET)


@pytest.fixture
def her(biz_app: FastAPI, telegram_api: TelegramBotAPI, delivery: WebhookDelivery) -> TelegramUser:
    """Her own chat with the bot: commands and notices."""
    return TelegramUser(biz_app, telegram_api, delivery, HER, "Марина")


@pytest.fixture
def chat(biz_app: FastAPI, telegram_api: TelegramBotAPI, delivery: WebhookDelivery):  # noqa: ANN201
    def make(chat_id: int, first_name: str) -> BusinessChat:
        return BusinessChat(biz_app, telegram_api, delivery, HER, chat_id, first_name)

    return make


async def connect(her: TelegramUser, **options: Any) -> None:  # noqa: ANN401
    await her.send(connection_update(her.api, HER, **options))


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:  # noqa: ANN401
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))


async def book(anna: BusinessChat) -> str:
    """Intake in her chat: greeting, terms accepted by a tap, a question list, «готово»."""
    assert anna.name in await anna.ask("Здравствуйте!")
    assert "условия" in (await anna.ask("Хочу плановый расклад")).lower()
    assert "готово" in await anna.press("terms:yes")
    assert "Вопросов в списке: 1" in await anna.ask("Что меня ждёт в работе?")
    return await anna.ask("готово")


async def test_a_clients_journey_runs_in_her_own_chat(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, chat
) -> None:  # noqa: ANN001
    await connect(her)
    [stored] = await rows(biz_app, BusinessConnection)
    assert stored.user_id == HER and stored.is_enabled and stored.can_reply
    assert stored.rights == {"can_reply": True, "can_read_messages": True}
    assert "подключён" in "\n".join(her.replies())
    assert telegram_api.called("getChat")[0].params["chat_id"] == HER  # her opening hours, if set

    anna = chat(5001, "Анна")
    confirmation = await book(anna)  # every reply was checked to carry business_connection_id
    assert "запрос принят" in confirmation and "Место в очереди: 1" in confirmation
    token = LINK.search(confirmation)
    assert token is not None, confirmation  # the one-tap link to the bot chat ends the intake
    sent = await rows(biz_app, OutboxItem, OutboxItem.channel == "tg_business")
    assert sent and {(r.business_connection_id, r.state) for r in sent} == {(CONNECTION, "sent")}
    history = await rows(biz_app, Message)
    assert {m.channel for m in history} == {"tg_business"}
    assert len([m for m in history if m.direction == "in"]) == 5  # the tap counted as the client's
    assert {"business_connection", "business_message"} <= set(telegram_api.webhook["allowed_updates"])

    # One tap: the client's own chat with the bot joins them, and the bot says so there.
    bot_chat = TelegramUser(biz_app, telegram_api, anna.delivery, 5001, "Анна")
    await bot_chat.send(bot_chat.message(f"/start {token[1]}"))
    [linked] = telegram_api.sent(5001)[anna.seen :]
    assert "business_connection_id" not in linked and "Готово, Анна" in linked["text"]
    [client_request] = await rows(biz_app, Request)
    async with biz_app.state.desk.uow() as uow:
        channels = {i.channel for i in await uow.clients.identities(client_request.client_id)}
    assert channels == {"tg_business", "telegram"}  # one client, one request, both chats


async def test_her_own_message_pauses_the_bot_in_that_chat(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, clock: FakeClock, chat
) -> None:  # noqa: ANN001
    await connect(her)
    her.replies()
    anna, boris = chat(5001, "Анна"), chat(5002, "Борис")
    assert await anna.ask("Здравствуйте!")
    await anna.send(anna.hers("Анна, добрый день! Я сама отвечу."))
    [told] = her.replies()
    assert "Анна" in told and "/resume" in told
    inbound = len(await rows(biz_app, Message, Message.direction == "in"))
    assert await anna.ask("Спасибо, жду") == ""  # the bot does not talk over her
    await anna.send(anna.hers("Сейчас посмотрю"))  # still hers: no second notice
    assert her.replies() == []
    assert len(await rows(biz_app, Message, Message.direction == "in")) == inbound  # not even stored
    assert boris.name in await boris.ask("Здравствуйте!")  # only her chat with Anna is paused

    resumed = await her.ask("/resume")
    assert "снова отвечает" in resumed and "1" in resumed
    assert "Анна" in await anna.ask("где мой расклад?")

    # Without /resume the pause ends by itself after BUSINESS_PAUSE_HOURS (12 by default).
    await anna.send(anna.hers("Ещё одно"))
    clock.advance(hours=11)
    assert await anna.ask("алло?") == ""
    clock.advance(hours=2)
    assert await anna.ask("где мой расклад?")


async def test_echoes_away_messages_and_commands_cause_nothing(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, chat
) -> None:  # noqa: ANN001
    await connect(her)
    her.replies()
    anna = chat(5001, "Анна")
    before = len(telegram_api.called("sendMessage"))
    for update in (
        anna.echo("Здравствуйте, Анна! Чем помочь?"),  # the bot's own reply, reported back
        anna.away("Я сейчас не в сети, отвечу позже"),  # Telegram's away message in her name
        anna.hers("/queue"),  # her command typed in the client's chat
        anna.hers("/resume"),
        anna.message("/queue"),  # the client typing one
        anna.message("/paid 1"),
    ):
        await anna.send(update)
    assert len(telegram_api.called("sendMessage")) == before  # nobody was answered, nothing leaked
    assert await rows(biz_app, Message) == [] and await rows(biz_app, CommandLog) == []
    assert anna.name in await anna.ask("Здравствуйте!")  # and none of them paused the chat


async def test_a_push_after_24_hours_goes_to_the_linked_bot_chat(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, clock: FakeClock, chat
) -> None:  # noqa: ANN001
    await connect(her)
    anna = chat(5001, "Анна")
    token = LINK.search(await book(anna))
    assert token is not None
    bot_chat = TelegramUser(biz_app, telegram_api, anna.delivery, 5001, "Анна")
    await bot_chat.send(bot_chat.message(f"/start {token[1]}"))
    anna.seen = len(anna.sent_here())
    assert "Место в очереди: 1" in await anna.ask("где мой расклад?")  # her chat again, in the window

    clock.advance(hours=25)  # the client has been silent since: Telegram's window is closed
    [request] = await rows(biz_app, Request)
    await her.ask(f"/paid {request.id}")
    [push] = anna.sent_here()[anna.seen :]
    assert "business_connection_id" not in push and "получена" in push["text"]  # in the bot chat
    [row] = await rows(biz_app, OutboxItem, OutboxItem.text == push["text"])
    assert row.channel == "tg_business" and row.state == "sent"


async def test_unlinked_a_push_waits_shows_on_the_dashboard_and_goes_when_the_client_writes(
    biz_app: FastAPI,
    biz_http: httpx.AsyncClient,
    telegram_api: TelegramBotAPI,
    her: TelegramUser,
    clock: FakeClock,
    chat,
) -> None:  # noqa: ANN001
    await connect(her)
    anna = chat(5001, "Анна")
    await book(anna)
    [request] = await rows(biz_app, Request)
    await log_in(biz_http)
    state = (await biz_http.get("/desk/api/state")).json()
    assert [row["window"] for row in state["queue"]] == ["open"]

    clock.advance(hours=25)
    await her.ask(f"/paid {request.id}")
    assert anna.sent_here()[anna.seen :] == []  # not sent: the window is closed, no bot chat
    [waiting] = await rows(biz_app, OutboxItem, OutboxItem.state == "waiting_window")
    assert waiting.channel == "tg_business" and "24 h" in (waiting.last_error or "")
    state = (await biz_http.get("/desk/api/state")).json()
    assert [row["window"] for row in state["queue"]] == ["closed"]
    assert [(u["state"], u["client_name"]) for u in state["undelivered"]] == [("waiting_window", "Анна")]
    card = (await biz_http.get(f"/desk/clients/{request.client_id}")).text
    assert "окно 24 ч закрыто" in card and "чат с ботом не открыт" in card

    status = await anna.ask("где мой расклад?")  # writing reopens the window: the wait is over
    assert "получена" in status and "Место в очереди" in status
    assert [r.state for r in await rows(biz_app, OutboxItem, OutboxItem.id == waiting.id)] == ["sent"]


async def test_a_disconnect_stops_processing_at_once(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, clock: FakeClock, chat
) -> None:  # noqa: ANN001
    await connect(her)
    anna = chat(5001, "Анна")
    await book(anna)
    [request] = await rows(biz_app, Request)
    her.replies()

    await connect(her, enabled=False)
    assert "отключён" in "\n".join(her.replies())
    inbound = len(await rows(biz_app, Message, Message.direction == "in"))
    assert await anna.ask("где мой расклад?") == ""
    assert len(await rows(biz_app, Message, Message.direction == "in")) == inbound
    await her.ask(f"/paid {request.id}")
    assert anna.sent_here()[anna.seen :] == []  # nowhere to go: waits, not failed
    [waiting] = await rows(biz_app, OutboxItem, OutboxItem.state == "waiting_window")

    await connect(her)  # connected again: what waited goes out (the window is still open)
    assert "получена" in "\n".join(anna.replies())
    assert [r.state for r in await rows(biz_app, OutboxItem, OutboxItem.id == waiting.id)] == ["sent"]


async def test_only_her_own_accounts_are_accepted(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, chat
) -> None:  # noqa: ANN001
    stranger = 4242
    await her.send(connection_update(telegram_api, stranger, connection="someone-elses"))
    assert await rows(biz_app, BusinessConnection) == []
    anna = chat(5001, "Анна")
    await anna.send(anna.message("Здравствуйте!", connection="someone-elses"))
    assert telegram_api.sent() == [] and await rows(biz_app, Message) == []

    await connect(her, can_reply=False)  # hers, but the bot may not reply: it does nothing
    assert "без права отвечать" in "\n".join(her.replies())
    assert await anna.ask("Здравствуйте!") == "" and await rows(biz_app, Message) == []


async def test_her_telegram_opening_hours_are_her_working_hours(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, chat
) -> None:  # noqa: ANN001
    # Wednesday and Thursday 10:00–18:00 in Moscow; the clock says Tuesday, 12:00 there.
    wednesday = 2 * 24 * 60
    hours = [{"opening_minute": day + 600, "closing_minute": day + 1080} for day in (wednesday, wednesday + 24 * 60)]
    telegram_api.chats[HER] = {"business_opening_hours": {"time_zone_name": "Europe/Moscow", "opening_hours": hours}}
    await connect(her)
    anna = chat(5001, "Анна")
    reply = await anna.ask("Здравствуйте!")
    assert "нерабочее время" in reply and "10:00–18:00" in reply and "25 ноября, 10:00" in reply


async def test_an_edit_in_her_chat_is_a_new_message_and_a_forwarded_link_joins_nobody(
    biz_app: FastAPI, telegram_api: TelegramBotAPI, her: TelegramUser, chat
) -> None:  # noqa: ANN001
    await connect(her)
    anna = chat(5001, "Анна")
    first = anna.message("Здравствуйте")
    await anna.send(first)
    anna.replies()
    await anna.send(anna.edit(first, "Хочу плановый расклад"))
    assert "условия" in "\n".join(anna.replies()).lower()
    await anna.press("terms:yes")
    await anna.ask("Что меня ждёт?")
    token = LINK.search(await anna.ask("готово"))
    assert token is not None

    # Anna forwards the link to Boris: his Start is not hers, so nothing is joined.
    boris = TelegramUser(biz_app, telegram_api, anna.delivery, 6001, "Борис")
    answer = await boris.ask(f"/start {token[1]}")
    assert "другого аккаунта" in answer
    [request] = await rows(biz_app, Request)
    async with biz_app.state.desk.uow() as uow:
        assert {i.channel for i in await uow.clients.identities(request.client_id)} == {"tg_business"}


async def test_forgetting_a_business_client_drops_their_chat_row(
    biz_app: FastAPI, her: TelegramUser, chat, clock: FakeClock
) -> None:  # noqa: ANN001
    """The business chat's row names the client's chat: erasure (issue 9) takes it with the address."""
    from storage.models import BusinessChat as ChatRow

    await connect(her)
    anna = chat(5003, "Анна")
    await book(anna)
    assert len(await rows(biz_app, ChatRow)) == 1
    [request] = await rows(biz_app, Request)
    assert "удалены" in await her.ask(f"/forget #{request.id} да")
    clock.advance(minutes=11)
    assert await biz_app.state.privacy.sweep_addresses() == 1
    assert await rows(biz_app, ChatRow) == []
