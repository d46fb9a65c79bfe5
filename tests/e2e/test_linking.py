"""One person on Telegram (the Bot API double, updates POSTed to the webhook) and WhatsApp (forms
signed as Twilio signs them) ends up as ONE client with one history: by sharing their phone
number on Telegram, or by a link code asked for in one messenger and sent from the other."""

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from main import build
from storage.models import Client, Identity, Message, Request
from tests.e2e.telegram_client import TelegramUser, WebhookDelivery
from tests.e2e.test_telegram import book_planned_reading
from tests.e2e.whatsapp_client import WhatsAppUser, rows, whatsapp_settings
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.fakes.twilio_api import TwilioAPI

SECRET = "s3cret-Webhook_token"
PRACTITIONER_CHAT = 777
NUMBER = "+79161234567"
ANNA_CHAT = 5001
CODE = re.compile(r"\b(\d+-[0-9A-Z]{8})\b")


@pytest.fixture
async def both_app(
    db_path: Path, telegram_api: TelegramBotAPI, twilio_api: TwilioAPI, clock: FakeClock
) -> AsyncIterator[FastAPI]:
    settings = whatsapp_settings(
        db_path,
        twilio_api,
        telegram_bot_token=TOKEN,
        telegram_api_server=telegram_api.base_url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        practitioner_telegram_ids=str(PRACTITIONER_CHAT),
    )
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def both_http(both_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=both_app), base_url="http://127.0.0.1:8000"
    ) as client:
        yield client


@pytest.fixture
def tg(both_app: FastAPI, both_http: httpx.AsyncClient, telegram_api: TelegramBotAPI) -> Callable[..., TelegramUser]:
    def make(chat_id: int, name: str) -> TelegramUser:
        return TelegramUser(both_app, telegram_api, WebhookDelivery(both_http, SECRET), chat_id, name)

    return make


@pytest.fixture
def wa_anna(both_app: FastAPI, both_http: httpx.AsyncClient, twilio_api: TwilioAPI) -> WhatsAppUser:
    return WhatsAppUser(both_http, both_app, twilio_api, NUMBER, "Анна")


async def share_contact(user: TelegramUser, phone: str, owner: int | None = None) -> str:
    """A contact message: the sender's own number unless `owner` says whose card it is."""
    contact: dict[str, Any] = {"phone_number": phone, "first_name": user.name, "user_id": owner or user.chat_id}
    await user.send(user.message(contact=contact))
    return "\n---\n".join(user.replies())


async def one_client(app: FastAPI) -> Client:
    clients = await rows(app, Client)
    assert len(clients) == 1, [(c.id, c.display_name) for c in clients]
    [client] = clients
    identities = {(i.channel, i.address) for i in await rows(app, Identity, Identity.client_id == client.id)}
    assert identities == {("telegram", str(ANNA_CHAT)), ("whatsapp", f"whatsapp:{NUMBER}")}
    assert {m.client_id for m in await rows(app, Message)} == {client.id}
    return client


async def history(tg: Callable[..., TelegramUser]) -> str:
    return await tg(PRACTITIONER_CHAT, "Практик").ask("/history Анна")


async def test_sharing_the_phone_on_telegram_joins_the_whatsapp_client(
    both_app: FastAPI, tg, wa_anna: WhatsAppUser
) -> None:
    assert "Анна" in await wa_anna.ask("Здравствуйте! Пишу из WhatsApp")
    first = (await rows(both_app, Client))[0]
    anna = tg(ANNA_CHAT, "Анна")
    await book_planned_reading(anna)  # a whole request, on Telegram, as a second client so far
    assert len(await rows(both_app, Client)) == 2

    joined = await share_contact(anna, "79161234567")  # Telegram gives the number without "+"
    assert "уже писал нам в WhatsApp" in joined
    client = await one_client(both_app)
    assert client.id == first.id and client.phone == "79161234567"  # the older client survives
    [request] = await rows(both_app, Request)
    assert request.client_id == client.id

    status = await wa_anna.ask("где мой расклад?")  # the request made on Telegram, seen on WhatsApp
    assert "Место в очереди: 1" in status or "в очереди" in status
    shown = await history(tg)
    assert "Стоит ли переезжать весной?" in shown and "где мой расклад?" in shown  # Telegram, WhatsApp
    assert {m.channel for m in await rows(both_app, Message)} == {"telegram", "whatsapp"}


async def test_a_number_shared_first_joins_the_later_whatsapp_messages(
    both_app: FastAPI, tg, wa_anna: WhatsAppUser
) -> None:
    anna = tg(ANNA_CHAT, "Анна")
    await anna.ask("Здравствуйте!")
    assert "номер сохранён" in await share_contact(anna, "+7 916 123-45-67")
    greeting = await wa_anna.ask("Это Анна, теперь из WhatsApp")
    assert greeting and "Я помощник практика" not in greeting  # known: no first-contact greeting
    await one_client(both_app)
    assert "уже связан" in await share_contact(anna, "+79161234567")  # again: nothing to do
    await one_client(both_app)


async def test_someone_elses_contact_card_links_nothing(both_app: FastAPI, tg, wa_anna: WhatsAppUser) -> None:
    await wa_anna.ask("Здравствуйте!")
    mallory = tg(6666, "Мэллори")
    await mallory.ask("Привет")
    answer = await share_contact(mallory, "79161234567", owner=ANNA_CHAT)  # Anna's card, sent by another
    assert "WhatsApp" not in answer and "сохранён" not in answer
    clients = await rows(both_app, Client)
    assert len(clients) == 2 and {c.phone for c in clients} == {"79161234567", None}


@pytest.mark.parametrize("ask_on", ["whatsapp", "telegram"])
async def test_a_link_code_from_one_messenger_sent_from_the_other_makes_one_client(
    both_app: FastAPI, tg, wa_anna: WhatsAppUser, clock: FakeClock, ask_on: str
) -> None:
    anna = tg(ANNA_CHAT, "Анна")
    await wa_anna.ask("Здравствуйте, это WhatsApp")
    await anna.ask("Здравствуйте, это Telegram")
    asker, sender = (wa_anna, anna) if ask_on == "whatsapp" else (anna, wa_anna)
    given = await asker.ask("Код" if ask_on == "whatsapp" else "/link")
    assert "в течение 30 минут" in given
    [code] = CODE.findall(given)
    clock.advance(minutes=29)
    merged = await sender.ask(f"  {code.lower()} ")  # as typed: spaces, lower case
    assert "аккаунты связаны" in merged
    await one_client(both_app)
    shown = await history(tg)
    assert "это WhatsApp" in shown and "это Telegram" in shown


async def test_wrong_expired_and_own_codes_get_a_clear_answer_and_link_nothing(
    both_app: FastAPI, tg, wa_anna: WhatsAppUser, clock: FakeClock
) -> None:
    anna = tg(ANNA_CHAT, "Анна")
    await anna.ask("Здравствуйте!")
    [code] = CODE.findall(await wa_anna.ask("код"))
    client_id, mac = code.split("-")
    forged = f"{client_id}-{'0' if mac[0] != '0' else '1'}{mac[1:]}"
    assert "не подошёл" in await anna.ask(forged)
    assert "не подошёл" in await anna.ask(f"{int(client_id) + 1}-{mac}")  # someone else's number
    assert "этого же аккаунта" in await wa_anna.ask(code)
    clock.advance(minutes=45)
    assert "истёк" in await anna.ask(code)
    assert len(await rows(both_app, Client)) == 2
    fresh = CODE.findall(await wa_anna.ask("код"))[0]
    assert "аккаунты связаны" in await anna.ask(fresh)
    await one_client(both_app)
