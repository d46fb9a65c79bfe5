"""WhatsApp buttons end to end (TWILIO_BUTTONS): choices go out as Content API quick replies and list
pickers that priem creates itself; a tap comes back as a signed form with ButtonPayload or ListId
and moves the same flows a Telegram button does. Outside the 24-hour window the approved template
goes out instead; typed answers keep working; without the Content API the choices are listed."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from flows.calls import stamp
from main import build
from storage.models import Booking, Message, OutboxItem, Request
from tests.e2e.whatsapp_client import WhatsAppUser, rows, whatsapp_settings
from tests.factories import FakeClock
from tests.fakes.twilio_api import MessageRequest, TwilioAPI

ANNA = "+79161234567"
QUICK, LIST = "twilio/quick-reply", "twilio/list-picker"
# List items take 24 characters: longer service names are cut at a word.
MENU = [
    ("1. Плановый расклад…", "svc:planned_reading"),  # «1. Плановый расклад (видеозапись)»
    ("2. Экстренный расклад…", "svc:emergency"),  # «… / созвон»
    ("3. Плановый созвон", "svc:planned_call"),
    ("4. «Мне только один…", "svc:one_question"),
    ("5. Ритуал", "svc:ritual"),
    ("Где мой запрос?", "status"),
    ("Позвать практика", "human"),
]
TEMPLATE = "HX" + "7" * 32  # an approved template registered by hand (TWILIO_TEMPLATES)
# The clock starts on Tuesday 24 November 2026; calls are offered from 1 December (catalogue.toml).
DEC_1_11 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DEC_1_13 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class ButtonUser(WhatsAppUser):
    """A WhatsApp client who sees interactive messages and taps their buttons."""

    def messages(self) -> list[dict[str, Any]]:
        """What arrived since the last call: interactive ones as the double renders them, the
        rest as {"type": "text", "body": …}."""
        delivered = self.api.delivered(self.address)
        fresh, self.seen = delivered[self.seen :], len(delivered)
        return [self.api.shown(r) or {"type": "text", "body": r.body, "buttons": []} for r in fresh]

    def last(self) -> dict[str, Any]:
        [message] = self.messages()
        return message

    async def tap(self, payload: str, title: str) -> httpx.Response:
        """A quick-reply tap, as Twilio posts it."""
        return await self.send(self.form(title, MessageType="button", ButtonText=title, ButtonPayload=payload))

    async def pick(self, item_id: str, title: str) -> httpx.Response:
        """A list-picker choice, as Twilio posts it."""
        return await self.send(self.form(title, MessageType="interactive", ListId=item_id, ListTitle=title))


def app_with(db_path: Path, api: TwilioAPI, clock: FakeClock, **changes: Any) -> FastAPI:
    settings = whatsapp_settings(db_path, api, twilio_buttons=True, **changes)
    return build(settings, clock=clock, run_background=False)


@pytest.fixture
async def btn_app(db_path: Path, twilio_api: TwilioAPI, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = app_with(db_path, twilio_api, clock, twilio_templates={"any": TEMPLATE})
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def anna(btn_app: FastAPI, twilio_api: TwilioAPI) -> AsyncIterator[ButtonUser]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=btn_app), base_url="http://127.0.0.1:8000") as http:
        yield ButtonUser(http, btn_app, twilio_api, ANNA, "Анна")


def sent_to(api: TwilioAPI, user: WhatsAppUser) -> MessageRequest:
    return api.delivered(user.address)[-1]


def created(api: TwilioAPI) -> list[str]:
    return [r.definition["friendly_name"] for r in api.content_requests if r.method == "POST" and r.status == 201]


async def test_the_menu_terms_and_done_are_buttons_and_taps_move_the_flow(
    anna: ButtonUser, twilio_api: TwilioAPI, btn_app: FastAPI
) -> None:
    await anna.say("Здравствуйте!")
    menu = anna.last()
    assert menu["type"] == LIST and menu["button"] == "Выбрать" and "Анна" in menu["body"]
    assert menu["buttons"] == MENU
    assert "1. Плановый расклад" not in menu["body"]  # the choices are the list, not the text
    # The REST call itself: the resource priem created, and the message in its variables.
    request = sent_to(twilio_api, anna)
    assert "Body" not in request.params and request.content_sid in twilio_api.contents
    variables = request.content_variables
    assert variables["2"] == "Выбрать" and (variables["3"], variables["4"]) == MENU[0]
    assert twilio_api.contents[request.content_sid]["friendly_name"] == "priem_list_picker_7_v1"

    await anna.pick("svc:planned_reading", "1. Плановый расклад…")
    terms = anna.last()
    assert terms["type"] == QUICK and "4 дней до 2 недель" in terms["body"]
    assert terms["buttons"] == [("Принимаю условия", "terms:yes"), ("Назад к форматам", "terms:no")]

    await anna.tap("terms:yes", "Принимаю условия")
    prompt = anna.last()
    # «Готово, это все вопросы» is 23 characters; WhatsApp's button takes 20: the shorter wording.
    assert "готово" in prompt["body"] and prompt["buttons"] == [("Это все вопросы", "done")]
    for i, question in enumerate(["Что меня ждёт в работе?", "Стоит ли переезжать весной?"], start=1):
        await anna.say(question)
        assert f"Вопросов в списке: {i}" in anna.last()["body"]

    await anna.tap("done", "Это все вопросы")
    [confirmation] = [m["body"] for m in anna.messages()]
    assert "запрос принят" in confirmation and "Вопросов: 2" in confirmation
    [request_row] = await rows(btn_app, Request)
    assert request_row.service == "planned_reading" and request_row.stage == "submitted"
    # Taps are kept in history by their titles, as Telegram keeps a button's label.
    incoming = [m.text for m in await rows(btn_app, Message) if m.direction == "in"]
    assert incoming[1:3] == ["1. Плановый расклад…", "Принимаю условия"] and incoming[-1] == "Это все вопросы"
    # Each shape was created once, after one look for existing ones; then reused.
    assert [r.method for r in twilio_api.content_requests][:1] == ["GET"]
    assert sorted(created(twilio_api)) == [
        "priem_list_picker_7_v1",
        "priem_quick_reply_1_v1",
        "priem_quick_reply_2_v1",
    ]
    definition = next(r.definition for r in twilio_api.content_requests if r.method == "POST")
    assert definition["types"][LIST]["items"][0] == {"item": "{{3}}", "id": "{{4}}"}


async def test_a_call_is_booked_moved_and_cancelled_with_buttons(
    anna: ButtonUser, twilio_api: TwilioAPI, btn_app: FastAPI
) -> None:
    await anna.say("Здравствуйте!")
    anna.messages()
    await anna.pick("svc:planned_call", "3. Плановый созвон")
    assert "24 часа" in anna.last()["body"]
    await anna.tap("terms:yes", "Принимаю условия")
    offer = anna.last()
    assert offer["type"] == LIST and "выберите время" in offer["body"]
    assert offer["buttons"][0] == ("вт 1 декабря, 11:00", "slot:" + stamp(DEC_1_11))
    later_title, later_id = offer["buttons"][-1]
    assert later_title == "Другие даты ▸" and later_id.startswith("slots:after:")
    await anna.pick(later_id, later_title)  # only the id says which: the title is no date
    later = anna.last()
    assert "Ещё свободное время" in later["body"] and later["buttons"][0] not in offer["buttons"]

    await anna.pick("slot:" + stamp(DEC_1_11), "вт 1 декабря, 11:00")  # a slot from the first list
    booked = anna.last()
    assert "вы записаны ✅" in booked["body"] and booked["buttons"] == [("Где мой запрос?", "status")]

    await anna.say("перенести")  # typed words still work beside the buttons
    moving = anna.last()
    assert moving["type"] == LIST and ("вт 1 декабря, 13:00", "slot:" + stamp(DEC_1_13)) in moving["buttons"]
    await anna.pick("slot:" + stamp(DEC_1_13), "вт 1 декабря, 13:00")
    assert "вт 1 декабря, 13:00" in anna.last()["body"]
    [booking] = [b for b in await rows(btn_app, Booking) if b.state == "booked"]
    assert booking.starts_at == DEC_1_13

    await anna.say("хочу отменить заявку")
    confirm = anna.last()
    assert confirm["type"] == QUICK and [p for _, p in confirm["buttons"]] == ["cancel:yes", "cancel:no"]
    await anna.tap("cancel:yes", confirm["buttons"][0][0])
    assert "отменён" in anna.last()["body"]
    assert [b for b in await rows(btn_app, Booking) if b.state == "booked"] == []


async def test_typed_answers_work_where_buttons_are_shown(anna: ButtonUser) -> None:
    await anna.say("Здравствуйте!")
    anna.messages()
    await anna.say("1")  # the number shown on the list item
    assert anna.last()["buttons"][0][1] == "terms:yes"
    await anna.say("Да, согласна")
    assert "готово" in anna.last()["body"]
    await anna.say("Как сложатся отношения с мамой?")
    anna.messages()
    await anna.say("готово")
    assert "запрос принят" in anna.last()["body"]


async def test_outside_the_window_the_template_carries_the_choices(
    anna: ButtonUser, twilio_api: TwilioAPI, btn_app: FastAPI, clock: FakeClock
) -> None:
    await anna.say("Здравствуйте!")
    anna.messages()
    clock.advance(hours=25)
    before = len(twilio_api.requests)
    async with btn_app.state.desk.uow() as uow:
        await uow.outbox.enqueue(
            channel="whatsapp",
            destination=anna.address,
            priority=2,
            text="Напоминаем о созвоне завтра в 11:00.",
            buttons=[{"label": "Где мой запрос?", "payload": "status"}],
            key="remind24:1",
            now=clock(),
        )
        await uow.commit()
    await btn_app.state.relay.drain()
    [sent] = twilio_api.requests[before:]  # the window is known closed: no interactive attempt
    assert sent.status == 201 and sent.content_sid == TEMPLATE
    assert sent.content_variables == {"1": "Напоминаем о созвоне завтра в 11:00. · • Где мой запрос?"}


async def test_a_window_closed_unseen_gets_the_template_after_the_interactive_63016(
    anna: ButtonUser, twilio_api: TwilioAPI
) -> None:
    await anna.say("Здравствуйте!")
    anna.messages()
    twilio_api.close_window(anna.address)  # by priem's clock it is open; WhatsApp says otherwise
    before = len(twilio_api.requests)
    await anna.pick("svc:planned_reading", "1. Плановый расклад…")
    refused, sent = twilio_api.requests[before:]
    assert refused.status == 400 and refused.content_sid in twilio_api.contents
    assert sent.status == 201 and sent.content_sid == TEMPLATE
    assert "• Принимаю условия" in sent.content_variables["1"]


async def test_a_restart_reuses_the_resources_it_created(
    db_path: Path, twilio_api: TwilioAPI, clock: FakeClock
) -> None:
    for run in range(2):
        app = app_with(db_path, twilio_api, clock)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http:
                user = ButtonUser(http, app, twilio_api, f"+7916000000{run}", "Вера")
                await user.say("Здравствуйте!")
                assert user.last()["type"] == LIST
    assert [r.method for r in twilio_api.content_requests] == ["GET", "POST", "GET"]
    assert len(twilio_api.contents) == 1


async def test_without_the_content_api_choices_are_listed_and_it_is_asked_again_later(
    anna: ButtonUser, twilio_api: TwilioAPI, clock: FakeClock
) -> None:
    twilio_api.fail_next_content(503, 20503)
    await anna.say("Здравствуйте!")
    [text] = anna.messages()
    assert text["type"] == "text" and "1. Плановый расклад" in text["body"]
    await anna.say("меню")  # within the quiet minutes: no second request to the Content API
    assert anna.last()["type"] == "text" and len(twilio_api.content_requests) == 1
    clock.advance(minutes=6)
    await anna.say("меню")
    assert anna.last()["type"] == LIST


async def test_a_resource_deleted_in_the_console_is_replaced_and_the_message_still_arrives(
    anna: ButtonUser, twilio_api: TwilioAPI
) -> None:
    await anna.say("Здравствуйте!")
    old = sent_to(twilio_api, anna).content_sid
    assert old is not None
    anna.messages()
    twilio_api.delete_content(old)
    await anna.say("меню")
    [text] = anna.messages()  # refused 21655, sent as text straight away
    assert text["type"] == "text" and "1. Плановый расклад" in text["body"]
    await anna.say("меню")
    assert anna.last()["type"] == LIST and sent_to(twilio_api, anna).content_sid not in (old, None)


async def test_without_twilio_buttons_nothing_touches_the_content_api(wa_user, twilio_api: TwilioAPI) -> None:
    anna = wa_user(ANNA, "Анна")
    assert "1. Плановый расклад" in await anna.ask("Здравствуйте!")
    assert twilio_api.content_requests == [] and twilio_api.delivered()[-1].content_sid is None


async def test_the_create_request_is_json_as_the_content_api_takes_it(anna: ButtonUser, twilio_api: TwilioAPI) -> None:
    await anna.say("Здравствуйте!")
    [create] = [r for r in twilio_api.content_requests if r.method == "POST"]
    definition = json.loads(create.body)  # the double refuses a form-encoded body with 400
    assert definition["language"] == "ru" and set(definition["types"]) == {LIST}
    assert all(definition["variables"].values())  # Twilio requires a sample for every variable


async def test_an_unknown_long_payload_is_read_as_text(anna: ButtonUser, btn_app: FastAPI) -> None:
    await anna.say("Здравствуйте!")
    anna.messages()
    await anna.tap("x" * 300, "Плановый расклад")  # none of ours: the words decide
    assert anna.last()["buttons"][0][1] == "terms:yes"
    outbox = await rows(btn_app, OutboxItem)
    assert all(item.state == "sent" for item in outbox)


async def test_the_tapped_id_decides_not_the_words_on_the_button(anna: ButtonUser, btn_app: FastAPI) -> None:
    # Titles here say nothing the flows would read as an answer: only ButtonPayload can move them.
    await anna.say("Здравствуйте!")
    anna.messages()
    await anna.pick("svc:planned_reading", "✨")
    assert "условия" in anna.last()["body"]
    await anna.tap("terms:yes", "👍")
    assert "готово" in anna.last()["body"]
    await anna.say("Что меня ждёт в работе?")
    anna.messages()
    await anna.tap("done", "🙂")  # inside a question list, words would be one more question
    assert "запрос принят" in anna.last()["body"]
    [request] = await rows(btn_app, Request)
    assert request.stage == "submitted"
