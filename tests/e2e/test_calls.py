"""Planned calls end to end: clients book slots with buttons in their own time zone (Telegram
double and web chat), race for one slot, move their call; the practitioner runs /slots,
/reschedule and /noshow in her Telegram chat and the clients hear about it."""

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.desk import Desk
from flows.calls import stamp
from flows.conversation import handle
from flows.model import Channel, Inbound
from storage.client_state import load_client_view
from storage.engine import make_engine, session_factory
from storage.models import Booking, Client, Message, Request
from tests.database import url_for
from tests.e2e import test_telegram as telegram_fixtures
from tests.e2e.chat_client import ChatClient
from tests.e2e.telegram_client import TelegramUser
from tests.factories import FakeClock

PRACTITIONER_CHAT = telegram_fixtures.PRACTITIONER_CHAT
# The Telegram channel's fixtures (the real aiogram stack against the Bot API double).
tg_app, tg_http, delivery, mode, user = (
    telegram_fixtures.tg_app,
    telegram_fixtures.tg_http,
    telegram_fixtures.delivery,
    telegram_fixtures.mode,
    telegram_fixtures.user,
)

# The clock starts on Tuesday 24 November 2026, 12:00 in Moscow: calls are booked 1–15 December,
# at 11:00, 13:00, 15:00 and 17:00 Moscow time, Monday to Saturday (catalogue.toml).
DEC_1_11 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
DEC_1_13 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
DEC_3_15 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


def slot(at: datetime) -> str:
    return "slot:" + stamp(at)


def shown_buttons(person: TelegramUser) -> list[tuple[str, str]]:
    """(label, payload) of the newest message to this chat that has buttons."""
    message = next(m for m in reversed(person.api.sent(person.chat_id)) if "reply_markup" in m)
    return [(b["text"], b["callback_data"]) for row in message["reply_markup"]["inline_keyboard"] for b in row]


async def open_call_booking(person: TelegramUser) -> str:
    await person.ask("Здравствуйте!")
    terms = await person.ask("Хочу плановый созвон")
    assert "24 часа" in terms
    return await person.ask("Да")


async def bookings(app: FastAPI) -> list[Booking]:
    async with app.state.desk.uow() as uow:
        return list(await uow.session.scalars(select(Booking).order_by(Booking.id)))


async def booked(app: FastAPI) -> list[tuple[int, datetime]]:
    return [(b.request_id, b.starts_at) for b in await bookings(app) if b.state == "booked"]


async def request_of(app: FastAPI, name: str) -> Request:
    async with app.state.desk.uow() as uow:
        client = await uow.session.scalar(select(Client).where(Client.display_name == name))
        assert client is not None
        return (await uow.requests.for_client(client.id))[-1]


def her(user: Any) -> TelegramUser:  # noqa: ANN401
    return user(PRACTITIONER_CHAT, "Практик")


async def test_a_client_books_a_slot_with_a_button_and_sees_times_in_their_zone(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna, boris = user(1001, "Анна"), user(1002, "Борис")

    offer = await open_call_booking(anna)
    assert "выберите время" in offer and "Europe/Moscow, UTC+03:00" in offer
    buttons = shown_buttons(anna)
    assert buttons[0] == ("вт 1 декабря, 11:00", slot(DEC_1_11))
    assert len(buttons) == 7 and buttons[-2] == ("ср 2 декабря, 13:00", "slot:202612021000")
    assert buttons[-1] == ("Другие даты ▸", "slots:after:202612021000")

    # Boris lives in Yekaterinburg: the same slots, two hours later on his clock.
    await open_call_booking(boris)
    assert "Запомнила ваш часовой пояс" in await boris.ask("мой часовой пояс Екатеринбург")
    assert shown_buttons(boris)[0] == ("вт 1 декабря, 13:00", slot(DEC_1_11))

    confirmation = await anna.press(slot(DEC_1_11))
    assert "вы записаны ✅" in confirmation and "вт 1 декабря, 11:00" in confirmation
    assert "реквизиты для оплаты" in confirmation
    request = await request_of(tg_app, "Анна")
    assert request.stage == "submitted"
    assert await booked(tg_app) == [(request.id, DEC_1_11)]

    # The slot Anna took is no longer offered; later pages go on from the last shown.
    later = await boris.press(shown_buttons(boris)[-1][1])
    assert "Ещё свободное время" in later
    assert slot(DEC_1_11) not in [p for _, p in shown_buttons(boris)]
    typed = await boris.ask("3 декабря 17:00")  # his 17:00 is 15:00 in Moscow
    assert "чт 3 декабря, 17:00" in typed and "Asia/Yekaterinburg" in typed
    assert (await request_of(tg_app, "Борис")).id in dict(await booked(tg_app))
    assert dict(await booked(tg_app))[(await request_of(tg_app, "Борис")).id] == DEC_3_15


async def test_two_clients_tapping_one_slot_one_gets_it_and_the_other_is_offered_the_next(
    tg_app: FastAPI,
    user,  # noqa: ANN001
) -> None:
    anna, boris = user(1001, "Анна"), user(1002, "Борис")
    await open_call_booking(anna)
    await open_call_booking(boris)  # both were shown 1 December 11:00

    assert "вы записаны" in await anna.press(slot(DEC_1_11))
    second = await boris.press(slot(DEC_1_11))

    assert "только что заняли" in second and "вы записаны" not in second
    assert shown_buttons(boris)[0] == ("вт 1 декабря, 13:00", slot(DEC_1_13))
    anna_request = await request_of(tg_app, "Анна")
    assert await booked(tg_app) == [(anna_request.id, DEC_1_11)]
    assert (await request_of(tg_app, "Борис")).stage == "draft"
    assert "вы записаны" in await boris.press(slot(DEC_1_13))


async def _picking(http: httpx.AsyncClient, app: FastAPI, name: str) -> ChatClient:
    person = ChatClient(http, app, name)
    await person.ask("Здравствуйте")
    await person.ask("Хочу плановый созвон")
    assert "выберите время" in await person.ask("Да")
    return person


def _tap(person: ChatClient, payload: str, n: int) -> Inbound:
    return Inbound(
        channel=Channel.WEB,
        external_id=f"race-{person.key}-{n}",
        sender_ref=person.key,
        sender_name=person.name,
        text="",
        received_at=datetime.now(UTC),
        payload=payload,
    )


async def test_a_real_race_on_one_database_file_never_double_books(
    app: FastAPI,
    http: httpx.AsyncClient,
    db_path,
    clock: FakeClock,  # noqa: ANN001
) -> None:
    """Two shells, each with its own engine on the same database, handle two taps at once."""
    other: Desk = copy.copy(app.state.desk)
    engine = make_engine(url_for(db_path))
    other.sessions = session_factory(engine)
    try:
        for round_ in range(3):
            anna = await _picking(http, app, f"Анна{round_}")
            boris = await _picking(http, app, f"Борис{round_}")
            target = DEC_1_11 + timedelta(days=round_)
            await asyncio.gather(
                app.state.desk.handle(_tap(anna, slot(target), round_)),
                other.handle(_tap(boris, slot(target), round_)),
            )
            await app.state.relay.drain()
            holders = [request for request, at in await booked(app) if at == target]
            assert len(holders) == 1, holders
            said = [m["text"] for m in await anna.replies() + await boris.replies()]
            assert sum("вы записаны" in t for t in said) == 1, said
            assert sum("только что заняли" in t for t in said) == 1, said
    finally:
        await engine.dispose()


async def test_when_the_database_refuses_the_slot_the_rest_of_the_outcome_is_void(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """Boris's free-slot list is read before Anna books; his tap then hits the unique index
    (the IntegrityError path, which on SQLite only a stale list can reach deterministically)."""
    desk: Desk = app.state.desk
    anna = await _picking(http, app, "Анна")
    boris = await _picking(http, app, "Борис")
    async with desk.uow() as uow:
        stale = await desk._context(uow, clock.now)
    assert DEC_1_11 in stale.free_slots

    assert "вы записаны" in await anna.ask("", payload=slot(DEC_1_11))

    tap = _tap(boris, slot(DEC_1_11), 0)
    async with desk.uow() as uow:
        client = await uow.clients.find_by_identity(Channel.WEB, boris.key)
        assert client is not None
        message = await uow.messages.add(
            client_id=client.id,
            direction="in",
            channel="web",
            kind="text",
            text="",
            external_id=tap.external_id,
            now=clock.now,
        )
        outcome = handle(await load_client_view(uow, client, clock.now, False), tap, stale)
        await desk._apply(uow, outcome, client, tap, message.id, clock.now)
        await uow.commit()
    await app.state.relay.drain()

    told = "\n".join(m["text"] for m in await boris.replies())
    assert "только что заняли" in told and "вы записаны" not in told
    anna_request, boris_request = await request_of(app, "Анна"), await request_of(app, "Борис")
    assert await booked(app) == [(anna_request.id, DEC_1_11)]
    assert boris_request.stage == "draft"  # the ChangeStage after the BookSlot was discarded
    async with desk.uow() as uow:
        boris_row = await uow.clients.find_by_identity(Channel.WEB, boris.key)
        assert boris_row is not None and boris_row.step == "call_wish"
        texts = list(await uow.session.scalars(select(Message.text).where(Message.client_id == boris_row.id)))
    assert not any("вы записаны" in t for t in texts)


async def test_moving_the_call_is_free_25_hours_before_and_refused_23_hours_before(
    tg_app: FastAPI,
    user,  # noqa: ANN001
    clock: FakeClock,
) -> None:
    anna = user(1001, "Анна")
    await open_call_booking(anna)
    assert "вы записаны" in await anna.ask("03.12 15:00")
    [(request_id, _)] = await booked(tg_app)

    clock.now = DEC_3_15 - timedelta(hours=25)
    offer = await anna.ask("Можно перенести созвон?")
    assert "перенос бесплатный" in offer and "чт 3 декабря, 15:00" in offer
    moved = await anna.ask("10 декабря 11:00")  # the window is now 9–23 December
    assert "созвон перенесён ✅" in moved and "чт 10 декабря, 11:00" in moved and "чт 3 декабря, 15:00" in moved
    new_slot = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
    assert await booked(tg_app) == [(request_id, new_slot)]
    assert [b.state for b in await bookings(tg_app)] == ["released", "booked"]

    clock.now = new_slot - timedelta(hours=23)
    refused = await anna.ask("перенести")
    assert "меньше 24 ч" in refused and "бесплатный перенос уже недоступен" in refused and "/human" in refused
    assert shown_buttons(anna)[-1][1] == "human"
    assert await booked(tg_app) == [(request_id, new_slot)]


async def test_cancelling_an_unpaid_call_releases_its_slot(tg_app: FastAPI, user) -> None:  # noqa: ANN001
    anna, boris = user(1001, "Анна"), user(1002, "Борис")
    await open_call_booking(anna)
    await anna.press(slot(DEC_1_11))
    await anna.ask("хочу отменить заявку")
    assert "отменён" in await anna.ask("да")

    assert await booked(tg_app) == []
    assert [b.state for b in await bookings(tg_app)] == ["released"]
    await open_call_booking(boris)
    assert shown_buttons(boris)[0][1] == slot(DEC_1_11)


async def test_her_slots_reschedule_and_noshow_and_what_the_clients_receive(
    tg_app: FastAPI,
    user,  # noqa: ANN001
    clock: FakeClock,
) -> None:
    anna, boris = user(1001, "Анна"), user(1002, "Борис")
    await open_call_booking(anna)
    await anna.press(slot(DEC_1_11))
    await open_call_booking(boris)
    await boris.ask("часовой пояс Екатеринбург")
    await boris.press(slot(DEC_1_13))
    anna_request, boris_request = await request_of(tg_app, "Анна"), await request_of(tg_app, "Борис")
    practitioner = her(user)
    practitioner.replies()

    board = await practitioner.ask("/slots")
    assert "Созвоны на 14 дн.: 2" in board
    assert f"вт 1 декабря, 11:00 · №{anna_request.id} Анна" in board
    assert f"вт 1 декабря, 13:00 · №{boris_request.id} Борис" in board  # her zone, not his

    # Force majeure accepted two hours before the call: moved free of charge.
    clock.now = DEC_1_13 - timedelta(hours=2)
    moved = await practitioner.ask(f"/reschedule {boris_request.id} 03.12 15:00")
    assert "перенесён без оплаты" in moved and "вт 1 декабря, 13:00 → чт 3 декабря, 15:00" in moved
    told = "\n".join(boris.replies())
    assert "Практик перенесла ваш созвон" in told and "чт 3 декабря, 17:00" in told  # his Yekaterinburg time
    assert dict(await booked(tg_app))[boris_request.id] == DEC_3_15

    # Anna does not come: 15 minutes of grace, then the session counts as held.
    clock.now = DEC_1_11 + timedelta(minutes=10)
    early = await practitioner.ask(f"/noshow {anna_request.id}")
    assert "Неявку можно отметить с вт 1 декабря, 11:15" in early
    clock.now = DEC_1_11 + timedelta(minutes=16)
    noted = await practitioner.ask(f"/noshow {anna_request.id}")
    assert "неявка" in noted and "считается проведённой" in noted
    told = "\n".join(anna.replies())
    assert "сессия считается проведённой" in told and "оплатить заново" in told
    assert (await request_of(tg_app, "Анна")).stage == "no_show"
    states = {b.request_id: b.state for b in await bookings(tg_app) if b.request_id == anna_request.id}
    assert states == {anna_request.id: "no_show"}

    # A held call: /done marks its booking held.
    await practitioner.ask(f"/done {boris_request.id}")
    assert [b.state for b in await bookings(tg_app) if b.request_id == boris_request.id] == ["released", "held"]


async def test_every_calls_command_error_says_what_was_expected(tg_app: FastAPI, user, clock: FakeClock) -> None:  # noqa: ANN001
    anna, boris, carl, dasha = user(1001, "Анна"), user(1002, "Борис"), user(1003, "Карл"), user(1004, "Даша")
    await open_call_booking(anna)
    await anna.press(slot(DEC_1_11))
    await open_call_booking(boris)
    await boris.press(slot(DEC_1_13))
    await open_call_booking(carl)  # a call request with no slot picked yet
    await dasha.ask("Здравствуйте")
    await dasha.ask("Мне только один вопрос")
    await dasha.ask("Да")
    await dasha.ask("Вернётся ли он?")
    anna_id = (await request_of(tg_app, "Анна")).id
    boris_id = (await request_of(tg_app, "Борис")).id
    carl_id = (await request_of(tg_app, "Карл")).id
    dasha_id = (await request_of(tg_app, "Даша")).id
    practitioner = her(user)
    practitioner.replies()
    expectations = {
        "/reschedule": "Нужен номер заявки",
        "/reschedule abc 03.12 15:00": "не номер заявки",
        "/reschedule 999 03.12 15:00": "Заявки №999 нет",
        f"/reschedule {anna_id}": "Нужны номер заявки и новое время",
        f"/reschedule {anna_id} когда-нибудь": "Не понимаю дату и время «когда-нибудь»",
        f"/reschedule {anna_id} 01.01.2020 15:00": "уже в прошлом",
        f"/reschedule {dasha_id} 03.12 15:00": "а не созвон",
        f"/reschedule {carl_id} 03.12 15:00": "нет записи на созвон",
        f"/reschedule {anna_id} 01.12 11:00": "и так назначен на вт 1 декабря, 11:00",
        f"/reschedule {anna_id} 01.12 13:30": f"вт 1 декабря, 13:30 уже занято: созвон №{boris_id}",
        "/noshow": "Нужен номер заявки",
        f"/noshow {dasha_id}": "а не созвон",
        f"/noshow {carl_id}": "нет записи на созвон",
        f"/noshow {anna_id}": "Неявку можно отметить с вт 1 декабря, 11:15",
    }
    for command, expected in expectations.items():
        answer = await practitioner.ask(command)
        assert expected in answer, (command, answer)
    assert await booked(tg_app) == [(anna_id, DEC_1_11), (boris_id, DEC_1_13)]  # no refused command moved a call
    await practitioner.ask(f"/done {anna_id}")
    assert "уже в статусе «готово»" in await practitioner.ask(f"/reschedule {anna_id} 03.12 15:00")
    assert "Созвоны на 14 дн.: 1" in await practitioner.ask("/slots")
    assert [c for c in anna.replies() if "перенесла" in c] == []
