"""The scheduler's sweeps for every practitioner (bot/platform/jobs.py): her pushes go out through
her own bot, #1's through #1's, and a practitioner added while running is swept without a restart.
The sweeps are run by hand (run_background=False), as the scheduler runs them."""

from datetime import timedelta

import httpx
from fastapi import FastAPI
from sqlalchemy import select

from bot.desk import Desk
from scheduler import PLATFORM_PUSHES_JOB, build_scheduler
from storage.models import Client
from storage.pushes import PushRepo
from tests.e2e.telegram_client import SECRET_HEADER, TelegramUser, WebhookDelivery
from tests.e2e.test_telegram import telegram_settings
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.platform.test_two_practitioners import B_TOKEN, Writer, add, bella, http, two  # noqa: F401 (fixtures)

TOMORROW = "завтра созвон"  # push-remind24
C_TOKEN = "777:TEST-cara"


async def book_a_call(desk: Desk, clock: FakeClock) -> None:
    """Her one client's planned call, 25 hours ahead: the 24-hour reminder is due in an hour."""
    async with desk.uow() as uow:
        client_id = await uow.session.scalar(select(Client.id).where(Client.practitioner_id == desk.practitioner_id))
        assert client_id is not None
        request = await uow.requests.open(
            client_id=client_id, service="planned_call", stage="submitted", emergency=False, now=clock()
        )
        await PushRepo(uow.session, desk.practitioner_id).book(
            request_id=request.id, client_id=client_id, starts_at=clock() + timedelta(hours=25), minutes=60, now=clock()
        )
        await uow.commit()


def reminders(api: TelegramBotAPI, chat_id: int) -> list[str]:
    """The bots that sent this chat its 24-hour reminder, one entry per message."""
    return [c.bot for c in api.called("sendMessage") if c.params["chat_id"] == chat_id and TOMORROW in c.params["text"]]


async def test_her_call_reminder_goes_through_her_bot_and_leaves_the_first_practitioners_clients_alone(
    two: FastAPI,  # noqa: F811
    telegram_api: TelegramBotAPI,
    http: httpx.AsyncClient,  # noqa: F811
    clock: FakeClock,
) -> None:
    anna = Writer(two, telegram_api, http, 1001, "Анна", to_b=False)
    boris = Writer(two, telegram_api, http, 2002, "Борис", to_b=True)
    await anna.ask("Здравствуйте!")
    await boris.ask("Здравствуйте!")
    await book_a_call(two.state.desk, clock)
    await book_a_call((await bella(two)).desk, clock)
    clock.advance(hours=1, minutes=1)

    assert await two.state.platform.jobs.sweep_pushes() >= 1  # her reminder (and her morning digest)
    assert await two.state.platform.jobs.sweep_pushes() == 0  # once-only
    await two.state.relay.drain()
    assert reminders(telegram_api, 2002) == [B_TOKEN]
    assert reminders(telegram_api, 1001) == []  # #1's client is #1's sweep's

    await two.state.pushes.sweep()  # #1's own job, as before
    await two.state.relay.drain()
    assert reminders(telegram_api, 1001) == [TOKEN]
    assert reminders(telegram_api, 2002) == [B_TOKEN]


async def test_a_practitioner_added_while_running_is_swept_on_the_next_tick(
    two: FastAPI,  # noqa: F811
    telegram_api: TelegramBotAPI,
    http: httpx.AsyncClient,  # noqa: F811
    clock: FakeClock,
    db_path,  # noqa: ANN001
) -> None:
    telegram_api.tokens.add(C_TOKEN)
    await add(telegram_settings(db_path, telegram_api, "webhook"), "--slug", "cara", "--telegram-token", C_TOKEN)
    # No sync has run: the sweep itself finds her.
    await two.state.platform.jobs.sweep_pushes()
    cara = await two.state.platform.by_slug("cara")
    assert cara is not None and cara.telegram is not None and cara.pushes is not None
    update = TelegramUser(two, telegram_api, WebhookDelivery(http, ""), 3003, "Гость").message("Здравствуйте!")
    secret = cara.telegram.settings.telegram_webhook_secret
    headers = {SECRET_HEADER: secret.get_secret_value()} if secret else {}
    assert (await http.post("/webhook/telegram/cara", json=update, headers=headers)).status_code == 200
    await cara.telegram.inbox.process_pending()
    await book_a_call(cara.desk, clock)
    clock.advance(hours=1, minutes=1)
    assert await two.state.platform.jobs.sweep_pushes() >= 1
    await two.state.platform.sync()  # three practitioners: the relay claims per lane
    await two.state.relay.drain()
    assert reminders(telegram_api, 3003) == [C_TOKEN]


async def test_the_scheduler_runs_the_platform_sweeps_beside_the_first_practitioners(two: FastAPI) -> None:  # noqa: F811
    scheduler = build_scheduler(
        two.state.relay, pushes=two.state.pushes, privacy=two.state.privacy, platform=two.state.platform.jobs
    )
    ids = {job.id for job in scheduler.get_jobs()}
    assert {"pushes-sweep", PLATFORM_PUSHES_JOB, "platform-privacy-sweep", "platform-whatsapp-replay"} <= ids
    assert "platform-retention-sweep" not in ids  # RETENTION_DAYS unset
