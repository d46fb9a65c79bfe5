"""One inbound message, one outbound message: what a client reads in Telegram and WhatsApp.

Each turn of a conversation is answered with one message (Telegram allows one per second per
chat: a second message would cost the client a second and could come after their next one),
by day and by night. A text longer than the channel allows arrives complete, in order, in parts
the channel accepts (the doubles refuse what Telegram and Twilio refuse: 4,096 and 1,600).
"""

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.e2e.dashboard_login import log_in
from tests.e2e.telegram_client import TelegramUser
from tests.e2e.whatsapp_client import WhatsAppUser
from tests.factories import WORKING_TIME, FakeClock
from tests.fakes.telegram_api import TelegramBotAPI
from tests.fakes.twilio_api import TwilioAPI

NIGHT = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)  # 23:30 in Moscow, her hours are 10:00-20:00
DAY_AND_NIGHT = pytest.mark.parametrize("now", [WORKING_TIME, NIGHT], ids=["day", "night"])


async def turn(anna: TelegramUser, text: str | None = None, *, tap: str | None = None) -> dict[str, Any]:
    """The bot's answer to one message: exactly one Telegram message."""
    before = len(anna.api.sent(anna.chat_id))
    await anna.send(anna.tap(tap) if tap else anna.message(text))
    new = anna.api.sent(anna.chat_id)[before:]
    assert len(new) == 1, [m["text"] for m in new]
    anna.replies()
    return new[0]


def buttons(message: dict[str, Any]) -> list[str]:
    keyboard = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in keyboard for b in row]


@DAY_AND_NIGHT
async def test_every_turn_of_a_booking_is_one_message(
    now: datetime, clock: FakeClock, tg_app: FastAPI, user  # noqa: ANN001
) -> None:
    clock.now = now
    anna = user(1001, "Анна")
    greeting = await turn(anna, "Здравствуйте!")
    assert "Анна" in greeting["text"] and buttons(greeting), "the menu is on the greeting"
    assert ("нерабочее время" in greeting["text"]) == (now == NIGHT), "the night notice is in the same message"
    terms = await turn(anna, "Хочу плановый расклад")
    assert "условия" in terms["text"].lower() and "terms:yes" in buttons(terms)
    assert "готово" in (await turn(anna, tap="terms:yes"))["text"]
    for i, question in enumerate(["Что меня ждёт в работе?", "Стоит ли переезжать весной?"], start=1):
        assert f"Вопросов в списке: {i}" in (await turn(anna, question))["text"]
    confirmation = await turn(anna, "готово")
    assert "запрос принят" in confirmation["text"] and "Место в очереди: 1" in confirmation["text"]
    status = await turn(anna, "где мой расклад?")
    assert "Место в очереди: 1" in status["text"] and "Плановый расклад" in status["text"]
    assert "нерабочее время" not in status["text"], "the notice is said once, not on every answer"


@DAY_AND_NIGHT
async def test_a_newcomers_emergency_is_one_message_that_never_contradicts_itself(
    now: datetime, clock: FakeClock, tg_app: FastAPI, user  # noqa: ANN001
) -> None:
    clock.now = now
    boris = user(1002, "Борис")
    answer = await turn(boris, "СРОЧНО помогите")
    assert answer["text"].startswith("Здравствуйте, Борис!") and "экстренный запрос" in answer["text"]
    assert "Сейчас нерабочее время (часы" not in answer["text"], "not the general notice after «she is alerted»"
    if now == NIGHT:  # the emergency answer itself says when she will likely answer, and from when 24 h run
        assert "ответить она, скорее всего, сможет начиная с 25 ноября, 10:00 (Москва)" in answer["text"]
        assert "считается с момента оплаты" in answer["text"]
    assert "status" in buttons(answer)


def long_text() -> str:
    """10,000+ characters in paragraphs: a long answer she pastes into /reply."""
    paragraphs = [f"Абзац {n}. " + "Карты говорят о переменах, терпении и новых встречах. " * 6 for n in range(1, 31)]
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert len(text) > 10_000
    return text


def assert_complete_in_order(parts: list[str], text: str, limit: int) -> None:
    assert len(parts) > 1 and all(len(p) <= limit for p in parts)
    assert "\n\n".join(parts).endswith(text), "every paragraph, whole, in order"


async def test_a_10000_character_answer_arrives_complete_on_telegram(
    tg_app: FastAPI, tg_http: httpx.AsyncClient, telegram_api: TelegramBotAPI, user  # noqa: ANN001
) -> None:
    anna = user(1001, "Анна")
    await anna.ask("Здравствуйте")
    await log_in(tg_http)
    text = long_text()
    response = await tg_http.post("/desk/api/command", json={"text": f"/reply Анна {text}"})
    assert response.status_code == 200 and not response.json()["error"], response.text
    await tg_app.state.relay.drain()

    parts = anna.replies()
    assert_complete_in_order(parts, text, 4096)
    assert [c for c in telegram_api.calls if c.status != 200] == [], "nothing refused by the Bot API"


async def test_a_10000_character_answer_arrives_complete_on_whatsapp(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI, wa_user  # noqa: ANN001
) -> None:
    anna: WhatsAppUser = wa_user("+79990001122", "Анна")
    await anna.ask("Здравствуйте")
    await log_in(wa_http)
    text = long_text()
    response = await wa_http.post("/desk/api/command", json={"text": f"/reply Анна {text}"})
    assert response.status_code == 200 and not response.json()["error"], response.text
    await wa_app.state.relay.drain()

    parts = anna.replies()
    assert_complete_in_order(parts, text, 1600)
    assert [r for r in twilio_api.requests if r.status != 201] == [], "no Body over 1,600 refused (21617)"
