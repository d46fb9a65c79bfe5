"""The WhatsApp channel end to end: forms signed as Twilio signs them, POSTed to the running app;
replies read from what the app sent, through the twilio SDK over HTTP, to the Twilio double."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from twilio.http.async_http_client import AsyncTwilioHttpClient

from main import build
from storage.models import DeadLetter, InboxUpdate, Message, Question
from tests.e2e.dashboard_login import log_in
from tests.e2e.whatsapp_client import (
    PRACTITIONER,
    PUBLIC,
    STATUS,
    WEBHOOK,
    WhatsAppUser,
    post_signed,
    rows,
    sign,
    whatsapp_settings,
)
from tests.fakes.twilio_api import ACCOUNT_SID, FROM, TwilioAPI

QUESTIONS = [
    "Что меня ждёт в работе?",
    "Как сложатся отношения с мамой?",
    "Стоит ли переезжать весной?",
]


async def book_planned_reading(anna: WhatsAppUser) -> str:
    greeting = await anna.ask("Здравствуйте!")
    assert anna.name in greeting
    assert "1. Плановый расклад" in greeting  # the menu, listed under the text
    terms = await anna.ask("Хочу плановый расклад")
    assert "условия" in terms.lower() and "4 дней до 2 недель" in terms
    assert "• Принимаю условия" in terms  # a choice without a menu number: typed in words
    assert "готово" in await anna.ask("Да, согласна")
    for i, question in enumerate(QUESTIONS, start=1):
        assert f"Вопросов в списке: {i}" in await anna.ask(question)
    return await anna.ask("готово")


async def test_the_whole_journey_on_whatsapp(
    wa_user, twilio_api: TwilioAPI, wa_http: httpx.AsyncClient
) -> None:
    anna = wa_user("+79161234567", "Анна")
    confirmation = await book_planned_reading(anna)
    assert "запрос принят" in confirmation and "Вопросов: 3" in confirmation
    assert "Место в очереди: 1" in confirmation

    boris = wa_user("+79031234567", "Борис")
    ack = await boris.ask("СРОЧНО!!! помогите")
    assert "экстренный запрос" in ack and "24 часов с момента оплаты" in ack
    alerts = twilio_api.delivered(f"whatsapp:{PRACTITIONER}")
    assert len(alerts) == 1 and "помогите" in alerts[0].body

    status = await anna.ask("где мой расклад?")
    assert "Место в очереди: 1" in status and "Плановый расклад" in status

    await log_in(wa_http)
    state = (await wa_http.get("/desk/api/state")).json()
    assert state["queue"][0]["is_emergency"] and state["queue"][0]["client_name"] == "Борис"
    assert {row["channel"] for row in state["queue"]} == {"whatsapp"}
    sent = twilio_api.delivered()
    assert {r.params["From"] for r in sent} == {FROM}
    assert {r.params["StatusCallback"] for r in sent} == {PUBLIC + STATUS}


async def test_choices_are_answered_by_number_or_in_words(wa_user) -> None:
    anna = wa_user("+79161234567", "Анна")
    await anna.ask("Здравствуйте!")
    assert "4 дней до 2 недель" in await anna.ask("1")
    assert "готово" in await anna.ask("Принимаю условия")  # a listed choice, typed back in words


async def test_a_voice_note_in_a_question_list_counts_as_a_question(
    wa_user, wa_app: FastAPI
) -> None:
    anna = wa_user("+79161234567", "Анна")
    await anna.ask("плановый расклад")
    await anna.ask("да")
    assert "Вопросов в списке: 1" in await anna.ask(QUESTIONS[0])
    await anna.send(anna.voice_form())
    assert "Вопросов в списке: 2" in "\n".join(anna.replies())
    # A media URL off Twilio's hosts is never kept (nor fetched): an SSRF otherwise.
    await anna.send(anna.voice_form(media_url="http://169.254.169.254/latest/meta-data/"))
    assert "Вопросов: 3" in await anna.ask("готово")
    voice = [m for m in await rows(wa_app, Message) if m.kind == "voice"]
    assert len(voice) == 2
    assert voice[0].media_ref.startswith(
        f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/"
    )
    assert voice[1].media_ref is None
    questions = [q.text for q in await rows(wa_app, Question)]
    assert questions[1].startswith("[voice] https://api.twilio.com/")
    assert "169.254" not in " ".join(questions)


async def assert_nothing_stored(app: FastAPI, api: TwilioAPI) -> None:
    assert await rows(app, Message) == []
    assert await rows(app, InboxUpdate) == []
    assert await rows(app, DeadLetter) == []
    await app.state.relay.drain()
    assert api.requests == []


FORM = {
    "MessageSid": "SM" + "1" * 32,
    "From": "whatsapp:+79161234567",
    "Body": "привет",
    "NumMedia": "0",
    "AccountSid": ACCOUNT_SID,
    "To": FROM,
    "ProfileName": "Анна",
}


OTHER = {WEBHOOK: STATUS, STATUS: WEBHOOK}
FORGERIES = {
    "missing signature": lambda path: {},
    "empty signature": lambda path: {"X-Twilio-Signature": ""},
    "other token": lambda path: {
        "X-Twilio-Signature": sign(PUBLIC + path, FORM, token="not-the-token")
    },
    # What the app itself sees behind the proxy: Twilio never signs this URL.
    "request url": lambda path: {"X-Twilio-Signature": sign("http://127.0.0.1:8000" + path, FORM)},
    "other host": lambda path: {
        "X-Twilio-Signature": sign("https://evil.example.com" + path, FORM)
    },
    "other path": lambda path: {"X-Twilio-Signature": sign(PUBLIC + OTHER[path], FORM)},
    "tampered": lambda path: {
        "X-Twilio-Signature": sign(PUBLIC + path, {**FORM, "Body": "другое"})
    },
}


@pytest.mark.parametrize("path", [WEBHOOK, STATUS])
@pytest.mark.parametrize("forgery", FORGERIES)
async def test_forged_requests_get_403_and_nothing_is_stored(
    wa_http: httpx.AsyncClient, wa_app: FastAPI, twilio_api: TwilioAPI, forgery: str, path: str
) -> None:
    response = await wa_http.post(path, data=FORM, headers=FORGERIES[forgery](path))
    assert response.status_code == 403
    await assert_nothing_stored(wa_app, twilio_api)


async def test_a_multipart_upload_is_never_taken_for_twilio(
    wa_http, wa_app, twilio_api: TwilioAPI
) -> None:
    response = await wa_http.post(
        WEBHOOK,
        data=FORM,
        files={"f": ("x.txt", b"x")},
        headers={"X-Twilio-Signature": sign(PUBLIC + WEBHOOK, FORM)},
    )
    assert response.status_code == 403
    await assert_nothing_stored(wa_app, twilio_api)


@pytest.mark.parametrize(
    "variant",
    [
        pytest.param({"signed_url": "https://desk.example.com:443" + WEBHOOK}, id="explicit :443"),
        pytest.param(
            {"extra": {"ChannelMetadata": '{"type":"whatsapp"}', "Latitude": "", "NewField": "x"}},
            id="unknown fields",
        ),
        pytest.param(
            {"query": "tenant=default&x=%D0%B9"}, id="query string in the configured URL"
        ),
    ],
)
async def test_genuine_variants_are_accepted(
    wa_user, twilio_api: TwilioAPI, variant: dict
) -> None:
    anna = wa_user("+79161234567", "Анна")
    form = anna.form("Здравствуйте!", **variant.pop("extra", {}))
    await anna.send(form, **variant)
    assert anna.name in "\n".join(anna.replies())


async def test_the_same_message_sid_three_times_has_one_effect(
    wa_user, wa_app, twilio_api
) -> None:
    anna = wa_user("+79161234567", "Анна")
    form = anna.form("Здравствуйте!")
    for _ in range(3):
        await anna.send(form)
    assert [m.direction for m in await rows(wa_app, Message)] == ["in", "out"]
    assert len(twilio_api.delivered(anna.address)) == 1
    assert len(await rows(wa_app, InboxUpdate)) == 1


async def test_a_signed_form_without_message_sid_or_from_is_dead_lettered(
    wa_http, wa_app, twilio_api
) -> None:
    for missing in ("MessageSid", "From"):
        form = {k: v for k, v in FORM.items() if k != missing}
        response = await post_signed(wa_http, WEBHOOK, form)
        assert response.status_code == 200 and "<Response" in response.text
    letters = await rows(wa_app, DeadLetter)
    assert [d.channel for d in letters] == ["whatsapp", "whatsapp"]
    assert await rows(wa_app, Message) == []


async def test_without_public_base_url_every_webhook_is_refused(
    db_path, twilio_api, clock
) -> None:
    app = build(
        whatsapp_settings(db_path, twilio_api, public_base_url=None),
        clock=clock,
        run_background=False,
    )
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as http:
            response = await post_signed(http, WEBHOOK, FORM)
            assert response.status_code == 403
            await assert_nothing_stored(app, twilio_api)


async def test_without_twilio_settings_there_is_no_webhook(http: httpx.AsyncClient) -> None:
    response = await http.post(
        WEBHOOK, data=FORM, headers={"X-Twilio-Signature": sign(PUBLIC + WEBHOOK, FORM)}
    )
    assert response.status_code == 404


class CountingHttpClient(AsyncTwilioHttpClient):
    """The SDK's own client, counting what passes through the build(twilio_http_client=) seam."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    async def request(self, method: str, url: str, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append((method, url))
        return await super().request(method, url, **kwargs)


async def test_an_injected_http_client_carries_the_sends_and_stays_open(
    db_path, twilio_api: TwilioAPI, clock
) -> None:
    injected = CountingHttpClient()
    settings = whatsapp_settings(db_path, twilio_api)
    app = build(settings, clock=clock, run_background=False, twilio_http_client=injected)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            await WhatsAppUser(http, app, twilio_api, "+79161234567", "Анна").say("Здравствуйте!")
    messages = f"{twilio_api.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert injected.calls == [("POST", messages)]
    assert not injected.session.closed  # the caller made it, the caller closes it
    await injected.close()
