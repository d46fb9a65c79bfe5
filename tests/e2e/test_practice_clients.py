"""Restrictions, floods and payment flip-flops end to end: her commands in her Telegram chat (the
real aiogram stack against the Bot API double) and on her page, with what the clients receive."""

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from main import build
from storage.models import Client, CommandLog, Message, PractitionerAlert, Restriction
from tests.e2e.dashboard_login import log_in
from tests.e2e.telegram_client import TelegramUser
from tests.e2e.test_practice_commands import her, requests_of
from tests.e2e.test_telegram import (
    book_planned_reading,
    telegram_settings,
)
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI


async def rows(app: FastAPI, model: type, *where: Any) -> list[Any]:  # noqa: ANN401
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(model).where(*where).order_by(model.id)))


async def client_named(app: FastAPI, name: str) -> Client:
    [client] = await rows(app, Client, Client.display_name == name)
    return client


async def book_one_question(who: TelegramUser, question: str = "Вернётся ли он?") -> str:
    await who.ask("Мне только один вопрос")
    await who.ask("Да")  # terms: only asked the first time; afterwards «Да» is harmless
    return await who.ask(question)


class TestRestrict:
    async def test_one_calm_notice_then_silence_and_her_answer(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        user,
        clock: FakeClock,
    ) -> None:
        anna = user(1001, "Анна")
        await book_planned_reading(anna)
        practitioner = her(user)

        answer = await practitioner.ask("/restrict Анна 3d засоряет канал")
        assert "🔒 Анна ограничен(а) до 27 ноября" in answer and "засоряет канал" in answer
        [notice] = anna.replies()
        assert "до 27 ноября" in notice and "«срочно»" in notice and "сохраняются" in notice

        # Nothing else is processed, nothing is repeated, every message is still stored.
        assert await anna.ask("где мой расклад?") == ""
        assert await anna.ask("ау, ответьте") == ""
        anna_row = await client_named(tg_app, "Анна")
        stored = await rows(tg_app, Message, Message.client_id == anna_row.id, Message.direction == "in")
        assert [m.text for m in stored][-2:] == ["где мой расклад?", "ау, ответьте"]
        [restriction] = await rows(tg_app, Restriction)
        assert restriction.reason == "засоряет канал" and restriction.announced_at is not None

        # The one way through: something truly urgent reaches her, once per restriction.
        assert "передано практику" in await anna.ask("СРОЧНО, муж ушёл")
        assert "Клиент с ограничением" in "\n".join(practitioner.replies())
        assert await anna.ask("срочно!!! ответьте") == ""
        assert practitioner.replies() == []

        # When it ends, the client is answered again.
        clock.advance(days=3, minutes=1)
        assert "Место в очереди: 1" in await anna.ask("где мой расклад?")

    async def test_restricting_again_updates_it_and_unrestrict_tells_the_client(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        user,
    ) -> None:
        anna = user(1001, "Анна", "Петрова")
        await book_planned_reading(anna)
        [request] = await requests_of(tg_app)
        practitioner = her(user)

        assert "пока вы не снимете" in await practitioner.ask(f"/restrict {request.id}")
        assert "пока не снимет ограничение" in "\n".join(anna.replies())

        updated = await practitioner.ask("/restrict Анна Петрова до 24.12 грубость")
        assert "изменено: было пока не снимете, теперь до 24 декабря" in updated and "грубость" in updated
        [notice] = anna.replies()
        assert "до 24 декабря" in notice

        same = await practitioner.ask("/restrict Анна Петрова до 24.12 спам")
        assert "уже ограничен(а) с тем же сроком" in same
        assert anna.replies() == []  # not told twice
        active = [r for r in await rows(tg_app, Restriction) if r.lifted_at is None]
        assert [(r.reason, r.announced_at is not None) for r in active] == [("спам", True)]
        assert await anna.ask("где мой расклад?") == ""

        assert "снято, клиенту сообщено" in await practitioner.ask("/unrestrict Анна")
        assert "можно снова писать" in "\n".join(anna.replies())
        assert "Место в очереди: 1" in await anna.ask("где мой расклад?")
        assert "нет ограничений" in await practitioner.ask("/unrestrict Анна")

    async def test_a_non_practitioner_restrict_does_nothing(self, tg_app: FastAPI, user) -> None:  # noqa: ANN001
        anna, boris = user(1001, "Анна"), user(1002, "Борис")
        await book_planned_reading(anna)
        answer = await boris.ask("/restrict Анна навсегда")
        assert "ограничен" not in answer and answer  # the client experience: a menu, not her command
        assert await rows(tg_app, Restriction) == []
        async with tg_app.state.desk.uow() as uow:
            [attempt] = await uow.practice.refused_attempts()
        assert (attempt.address, attempt.text, attempt.allowed) == ("1002", "/restrict Анна навсегда", False)
        assert anna.replies() == [] and "Место в очереди" in await anna.ask("где мой расклад?")

    async def test_every_error_says_what_was_expected(self, tg_app: FastAPI, user) -> None:  # noqa: ANN001
        anna, anya = user(1001, "Анна"), user(1004, "Анюта")
        await book_planned_reading(anna)
        await anya.ask("Здравствуйте")
        practitioner = her(user)
        expectations = {
            "/restrict": "Укажите клиента",
            "/unrestrict": "Укажите клиента",
            "/restrict @nobody 3d": "Клиент «@nobody» не найден",
            "/restrict Ан 3d": "«Ан» подходит нескольким клиентам: Анна",
            "/restrict Анна до": "Не понимаю срок «до»",
            "/restrict Анна до 01.01.2020": "уже в прошлом",
            "/unrestrict Анна": "нет ограничений и отметок",
            "/unrestrict 999": "Клиент «#999» не найден",
        }
        for command, expected in expectations.items():
            answer = await practitioner.ask(command)
            assert expected in answer, (command, answer)
        assert await rows(tg_app, Restriction) == []
        assert anna.replies() == []

    async def test_the_page_restricts_the_same_way(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        tg_http: httpx.AsyncClient,
        user,
    ) -> None:
        anna = user(1001, "Анна")
        await book_planned_reading(anna)
        [request] = await requests_of(tg_app)
        await log_in(tg_http)
        body = (await tg_http.post("/desk/api/command", json={"text": f"/restrict {request.id} 12h"})).json()
        assert not body["error"] and "ограничен(а) до 25 ноября, 00:00" in body["replies"][0]["text"]
        await tg_app.state.relay.drain()
        assert "до 25 ноября, 00:00" in "\n".join(anna.replies())
        body = (await tg_http.post("/desk/api/command", json={"text": "/unrestrict Анна"})).json()
        assert "снято" in body["replies"][0]["text"]
        logged = await rows(tg_app, CommandLog)
        assert [(row.channel, row.allowed) for row in logged] == [("web", True), ("web", True)]


FLOOD_MESSAGES, FLOOD_MINUTES = 3, 10


class TestFlood:
    @pytest.fixture
    async def tg_app(
        self, db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, mode: str, tmp_path: Path
    ) -> AsyncIterator[FastAPI]:
        """The app on a catalogue whose [limits] say: more than 3 messages in 10 minutes."""
        source = (Path(__file__).resolve().parents[2] / "catalogue.toml").read_text(encoding="utf-8")
        limits = f"flood_messages = {FLOOD_MESSAGES}\nflood_minutes = {FLOOD_MINUTES}\n"
        edited = source.replace("flood_messages = 12\nflood_minutes = 1\n", limits)
        assert edited != source
        catalogue = tmp_path / "catalogue.toml"
        catalogue.write_text(edited, encoding="utf-8")
        settings = telegram_settings(db_path, telegram_api, mode).model_copy(update={"catalogue_path": catalogue})
        application = build(settings, clock=clock, run_background=False)
        async with application.router.lifespan_context(application):
            yield application

    async def test_a_burst_is_stored_not_answered_and_reported_once(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        user,
        clock: FakeClock,
    ) -> None:
        carl = user(1005, "Карл")
        practitioner = her(user)
        for text in ("привет", "ну что?", "ответьте"):  # three in the window: still answered
            assert await carl.ask(text) != ""
            clock.advance(minutes=2)
        warned = await carl.ask("алло???")  # the fourth within 10 minutes
        assert "сообщений очень много" in warned
        [alert] = practitioner.replies()
        assert "Флуд: Карл" in alert and "4 сообщений подряд" in alert
        for text in ("ау", "где вы", "ну же"):
            clock.advance(minutes=1)
            assert await carl.ask(text) == ""  # throttled: stored, not answered one by one
        assert practitioner.replies() == []  # reported once per burst
        carl_row = await client_named(tg_app, "Карл")
        stored = await rows(tg_app, Message, Message.client_id == carl_row.id, Message.direction == "in")
        assert len(stored) == 7
        assert [a.kind for a in await rows(tg_app, PractitionerAlert)] == ["flood"]

        clock.advance(minutes=FLOOD_MINUTES + 1)  # calm again: answered as usual
        assert "открытых запросов у вас сейчас нет" in await carl.ask("где мой расклад?")


class TestPaymentFlipFlops:
    async def book(self, who: TelegramUser, clock: FakeClock, first: bool = False) -> str:
        prompt = await who.ask("Мне только один вопрос")
        if first:
            assert "условия" in prompt.lower()
            prompt = await who.ask("Да")
        assert "одним сообщением" in prompt
        clock.advance(minutes=5)
        return await who.ask("Вернётся ли он ко мне?")

    async def cancel(self, who: TelegramUser, clock: FakeClock) -> None:
        assert "Отменить запрос" in await who.ask("отмена")
        assert "отменён" in await who.ask("да")
        clock.advance(hours=1)

    async def test_a_third_flip_takes_the_client_off_auto_processing(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        user,
        clock: FakeClock,
    ) -> None:
        dina = user(1006, "Дина")
        practitioner = her(user)
        assert "запрос принят" in await self.book(dina, clock, first=True)
        await self.cancel(dina, clock)  # flip 1
        assert "запрос принят" in await self.book(dina, clock)  # flip 2
        assert practitioner.replies() == []
        await self.cancel(dina, clock)  # flip 3: flagged, she is told once
        [alert] = practitioner.replies()
        assert "⚑ Дина" in alert and "3 смены за 30 дней" in alert
        assert (await client_named(tg_app, "Дина")).flag_reason == "payment_flips"

        held = await self.book(dina, clock)
        assert "подтвердит лично" in held and "запрос принят" not in held
        [alert] = practitioner.replies()
        request = (await requests_of(tg_app))[-1]
        assert f"Новая заявка №{request.id} от отмеченного клиента Дина" in alert
        assert request.stage == "submitted"  # stored, waiting for her
        assert "Дина ⚑ подтверждать лично" in await practitioner.ask("/queue")

        assert "оплачена" in await practitioner.ask(f"/paid {request.id}")
        assert "получена" in "\n".join(dina.replies())
        assert "снова обрабатывается автоматически" in await practitioner.ask("/unrestrict Дина")
        assert dina.replies() == []  # a flag was never announced to her: nothing to take back
        assert (await client_named(tg_app, "Дина")).flagged_at is None
        assert "⚑" not in await practitioner.ask("/queue")
        # Flips before she cleared the flag no longer count: the next booking is auto-processed.
        confirmation = await book_planned_reading(dina)
        assert "запрос принят" in confirmation and practitioner.replies() == []

    async def test_i_paid_alerts_her_once_and_tells_the_client_it_will_be_checked(  # noqa: ANN001
        self,
        tg_app: FastAPI,
        user,
    ) -> None:
        anna = user(1001, "Анна")
        practitioner = her(user)
        assert "не вижу у вас заявки" in await anna.ask("я оплатила")
        assert practitioner.replies() == []
        await book_planned_reading(anna)
        [request] = await requests_of(tg_app)
        assert f"проверит оплату по заявке №{request.id}" in await anna.ask("Я оплатила!")
        [alert] = practitioner.replies()
        assert f"пишет, что оплатил(а) заявку №{request.id}: /paid {request.id} — подтвердить" in alert
        assert "уже знает" in await anna.ask("я оплатила")
        assert practitioner.replies() == []
        await practitioner.ask(f"/paid {request.id}")
        assert "получена" in "\n".join(anna.replies())
        assert "оплата уже отмечена" in await anna.ask("оплатила")
