"""What the practitioner sees on her page, and what clients hear, from the timed side of the
service: push alerts (deadline warnings, the broken promise, the no-show check) on /desk, a timed
/pause running out, call slots around a pause, and messages that can never be delivered.

The whole app (main.build) with a controllable clock; the push sweep and the relay are run by
hand (run_background=False), as the scheduler would run them.
"""

import asyncio
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from storage.models import Message, OutboxItem
from storage.pushes import PushRepo
from tests.e2e.chat_client import ChatClient
from tests.e2e.dashboard_login import log_in
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI
from tests.fakes.twilio_api import TwilioAPI

BACK = "вернулась к работе"  # client-pause-over
DEC_1_11 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # the first bookable slot from the test clock
DEC_7_11 = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # the first after a pause until 5 December (6th: Sunday)


async def command(http: httpx.AsyncClient, text: str) -> str:
    body = (await http.post("/desk/api/command", json={"text": text})).json()
    return "\n".join(reply["text"] for reply in body["replies"])


async def state(http: httpx.AsyncClient) -> dict:
    response = await http.get("/desk/api/state")
    assert response.status_code == 200
    return response.json()


async def sweep(app: FastAPI) -> int:
    queued = await app.state.pushes.sweep()
    await app.state.relay.drain()
    return queued


async def with_open_request(app: FastAPI, person: ChatClient, service: str = "planned_reading") -> int:
    """The web chat client, with a queued request of `service` (as /paid leaves it)."""
    async with app.state.desk.uow() as uow:
        client = await uow.clients.find_by_identity("web", person.key)
        request = await uow.requests.open(
            client_id=client.id, service=service, stage="submitted", emergency=False, now=app.state.desk.clock()
        )
        await uow.requests.change_stage(request, "queued", app.state.desk.clock())
        await uow.commit()
        return request.id


async def test_deadline_warnings_the_broken_promise_and_the_no_show_check_are_alerts_on_her_page(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    await anna.ask("СРОЧНО!!! помогите, муж ушёл")  # the emergency path: its own alert
    await boris.ask("Здравствуйте")
    call = await with_open_request(app, boris, "planned_call")
    async with app.state.desk.uow() as uow:
        [emergency] = await uow.requests.for_client((await uow.clients.find_by_identity("web", anna.key)).id)
        emergency.deadline_at = clock() + timedelta(hours=24)  # as if paid now
        boris_id = (await uow.clients.find_by_identity("web", boris.key)).id
        await PushRepo(uow.session, uow.practitioner_id).book(
            request_id=call, client_id=boris_id, starts_at=clock() + timedelta(hours=11), minutes=60, now=clock()
        )
        await uow.commit()
    await log_in(http)
    assert [a["kind"] for a in (await state(http))["alerts"]] == ["emergency"]

    for hours in (12, 12, 22, 24, 24):  # each moment twice: once-only
        clock.now = emergency.deadline_at - timedelta(hours=24 - hours)
        await sweep(app)

    alerts = (await state(http))["alerts"]
    # The sweeps also crossed 9:00 in Moscow on 25 November: that morning's digest, once.
    assert sorted(a["kind"] for a in alerts) == ["breach", "deadline12", "deadline2", "digest", "emergency", "noshow"]
    by_kind = {a["kind"]: a for a in alerts}
    for kind in ("deadline12", "deadline2", "breach"):
        assert by_kind[kind]["client_name"] == "Анна" and by_kind[kind]["request_id"] == emergency.id
    assert by_kind["noshow"]["client_name"] == "Борис" and by_kind["noshow"]["request_id"] == call
    assert f"/noshow {call}" in by_kind["noshow"]["text"]  # the push's own text: what to do
    assert by_kind["noshow"]["client_id"] == boris_id  # the card's link on her page
    page = (await http.get("/desk")).text
    assert "12 ч до срока" in page and "Клиент не пришёл?" in page  # the badges' words


async def test_the_morning_digest_is_one_alert_a_day_on_her_page_about_no_one_client(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    anna = ChatClient(http, app, "Анна")
    await anna.ask("СРОЧНО!!! помогите, муж ушёл")
    await log_in(http)
    clock.now = datetime(2026, 11, 25, 5, 59, tzinfo=UTC)  # 08:59 in Moscow: not yet
    await sweep(app)
    assert [a["kind"] for a in (await state(http))["alerts"]] == ["emergency"]

    clock.advance(minutes=1)
    await sweep(app)
    clock.advance(hours=3)
    await sweep(app)  # again that day: nothing more
    await asyncio.gather(sweep(app), sweep(app))  # two sweeps at once: still one
    alerts = (await state(http))["alerts"]
    [digest] = [a for a in alerts if a["kind"] == "digest"]
    assert digest["client_id"] is None and digest["client_name"] is None and digest["channel"] == ""
    assert digest["request_id"] is None
    assert "Сводка на 25 ноября" in digest["text"] and "Экстренных заявок открыто: 1" in digest["text"]
    assert "Сводка дня" in (await http.get("/desk")).text  # the badge's word

    clock.advance(days=1, hours=-3)  # 09:00 the next morning
    await sweep(app)
    digests = [a["text"] for a in (await state(http))["alerts"] if a["kind"] == "digest"]
    assert len(digests) == 2 and "Сводка на 26 ноября" in digests[0]  # newest first


async def test_erasing_a_client_named_in_the_digest_takes_the_name_out_of_it(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    for person in (anna, boris):
        await person.ask("Здравствуйте")
    calls = [await with_open_request(app, person, "planned_call") for person in (anna, boris)]
    async with app.state.desk.uow() as uow:
        for person, call, hour in zip((anna, boris), calls, (14, 15), strict=True):
            client_id = (await uow.clients.find_by_identity("web", person.key)).id
            await PushRepo(uow.session, uow.practitioner_id).book(
                request_id=call, client_id=client_id, starts_at=clock().replace(hour=hour), minutes=60, now=clock()
            )
        await uow.commit()
    clock.now = clock().replace(hour=6, minute=30)  # 09:30 in Moscow: the morning digest is due
    await sweep(app)
    await log_in(http)
    [digest] = [a for a in (await state(http))["alerts"] if a["kind"] == "digest"]
    assert "— Анна (№" in digest["text"] and "— Борис (№" in digest["text"]

    await anna.ask("Удалите, пожалуйста, мои данные")
    assert "удалены" in await command(http, f"/forget #{calls[0]}")
    [digest] = [a for a in (await state(http))["alerts"] if a["kind"] == "digest"]
    assert "Анна" not in digest["text"] and f"— — (№{calls[0]})" in digest["text"]
    assert "— Борис (№" in digest["text"]  # what it says of the others stays


async def test_a_timed_pause_running_out_tells_the_clients_told_of_it_once(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    anna, boris, carl = (ChatClient(http, app, name) for name in ("Анна", "Борис", "Карл"))
    for person in (anna, boris, carl):
        await person.ask("Здравствуйте")
    for person in (anna, boris):
        await with_open_request(app, person)
    await log_in(http)
    assert "известила: 2" in await command(http, "/pause 2d")
    await app.state.relay.drain()
    for person in (anna, boris):
        assert "перерыв" in "\n".join(m["text"] for m in await person.replies())

    clock.advance(days=1, hours=23, minutes=59)
    assert await sweep(app) == 0  # still on
    clock.advance(minutes=2)  # it ran out; she never typed /resume
    assert await sweep(app) == 2
    for person in (anna, boris):
        [back] = await person.replies()
        assert BACK in back["text"]
    assert await carl.replies() == []  # never told of the pause: nothing to take back
    clock.advance(minutes=30)
    assert await sweep(app) == 0  # once
    assert await anna.replies() == [] and await boris.replies() == []
    assert "Перерыва сейчас нет" in await command(http, "/resume")

    # Ended by /resume before its time: the end of its time says nothing more.
    assert "известила: 2" in await command(http, "/pause 3d")
    await command(http, "/resume")
    await app.state.relay.drain()
    for person in (anna, boris):
        texts = [m["text"] for m in await person.replies()]
        assert len(texts) == 2 and BACK in texts[-1]
    clock.advance(days=3, minutes=1)
    assert await sweep(app) == 0
    async with app.state.desk.uow() as uow:
        backs = list(await uow.session.scalars(select(Message.text).where(Message.text.contains(BACK))))
    assert len(backs) == 4  # two pauses, two clients, once each


async def test_call_slots_offered_to_clients_skip_her_pause(
    app: FastAPI, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    async def first_offered(name: str) -> tuple[str, list[str]]:
        person = ChatClient(http, app, name)
        await person.ask("Здравствуйте")
        await person.ask("Хочу плановый созвон")
        await person.say("Да")
        [offer] = await person.replies()
        return offer["text"], [b["payload"] for b in offer["buttons"] if b["payload"].startswith("slot:")]

    _, before = await first_offered("Анна")
    assert before[0] == "slot:" + DEC_1_11.strftime("%Y%m%d%H%M")
    await log_in(http)
    # Her /slots counts what clients are offered: 14 days of 4 slots a day but Sundays, from
    # 13:00 today; the clients' window, 1–15 December.
    assert "Свободных окон за эти дни: 47; в окне записи клиентов: 52." in await command(http, "/slots")
    assert "Перерыв до 5 декабря" in await command(http, "/pause до 05.12")
    _, during = await first_offered("Борис")
    assert during[0] == "slot:" + DEC_7_11.strftime("%Y%m%d%H%M")
    assert all(payload > "slot:202612060000" for payload in during)
    # She is away through 5 December: of the 14 days, the 7th only; of the window, 7–15 December.
    assert "Свободных окон за эти дни: 4; в окне записи клиентов: 32." in await command(http, "/slots")

    await command(http, "/resume")
    await command(http, "/pause")  # until /resume: when she is back is not known
    text, offered = await first_offered("Карл")
    assert offered == [] and "Свободных окон" in text
    assert "Свободных окон за эти дни: 0; в окне записи клиентов: 0." in await command(http, "/slots")


async def test_a_blocked_bot_is_recorded_and_shown_on_her_page(
    tg_app: FastAPI, tg_http: httpx.AsyncClient, telegram_api: TelegramBotAPI, user
) -> None:  # noqa: ANN001
    telegram_api.fail_next("sendMessage", 403, "Forbidden: bot was blocked by the user")
    anna = user(1001, "Анна")
    assert await anna.ask("Здравствуйте") == ""
    await tg_app.state.relay.drain()
    assert len(telegram_api.called("sendMessage")) == 1  # never retried
    await log_in(tg_http)
    [shown] = (await state(tg_http))["undelivered"]
    assert shown["state"] == "failed" and shown["client_name"] == "Анна" and shown["channel"] == "telegram"
    assert "blocked by the user" in shown["error"]


async def test_an_invalid_whatsapp_number_is_recorded_and_shown_on_her_page(
    wa_app: FastAPI, wa_http: httpx.AsyncClient, twilio_api: TwilioAPI, wa_user
) -> None:  # noqa: ANN001
    twilio_api.fail_next(400, 21211)
    anna = wa_user("+79161234567", "Анна")
    await anna.say("Здравствуйте")
    await wa_app.state.relay.drain()
    assert len(twilio_api.requests) == 1 and anna.replies() == []  # never retried
    async with wa_app.state.desk.uow() as uow:
        [row] = await uow.session.scalars(select(OutboxItem).where(OutboxItem.destination == anna.address))
    assert row.state == "failed"
    await log_in(wa_http)
    [shown] = (await state(wa_http))["undelivered"]
    assert shown["state"] == "failed" and shown["client_name"] == "Анна" and shown["channel"] == "whatsapp"
    assert "21211" in shown["error"] and "not a valid" in shown["error"]


async def test_her_card_offers_to_move_only_a_call(app: FastAPI, http: httpx.AsyncClient) -> None:
    """Issue 24, item 4: «Перенести» with a date field was offered on readings and emergencies too."""
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    for person in (anna, boris):
        await person.ask("Здравствуйте")
    await with_open_request(app, anna, "planned_reading")
    await with_open_request(app, boris, "planned_call")
    await log_in(http)
    async with app.state.desk.uow() as uow:
        ids = [(await uow.clients.find_by_identity("web", p.key)).id for p in (anna, boris)]
    reading, call = [(await http.get(f"/desk/clients/{i}")).text for i in ids]

    assert 'value="done"' in reading and 'value="reschedule"' not in reading
    assert 'value="reschedule"' in call
