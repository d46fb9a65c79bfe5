"""Her own catalogue (`main.py practitioner add|set --catalogue`, bot/platform/tenants.py): a practitioner
other than #1 offers her own services, terms and prices instead of the deployment's
catalogue.toml; a bad file is refused and changes nothing; a new one is taken without a restart."""

import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from bot.platform.cli import run as cli
from bot.settings import Settings
from flows.replies import SERVICE_PREFIX
from main import build
from storage.engine import make_engine, session_factory, upgrade
from storage.models import Practitioner
from tests.e2e.dashboard_login import PASSWORD
from tests.e2e.test_calls import shown_buttons
from tests.e2e.test_telegram import telegram_settings
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI
from tests.platform.test_two_practitioners import B_SECRET, B_TOKEN, Writer, log_in_as

# Same key as the deployment's planned reading with her own words and price, and one service of
# her own; the deployment's other services (the ritual among them) are not hers.
HERS = """
[hours]
days = [1, 2, 3, 4, 5, 6]
start = "10:00"
end = "20:00"

[[service]]
key = "planned_reading"
intake = "questions"
promise_days = [1, 3]
price_stars = 900
price_amount = 250000
price_currency = "RUB"
name.ru = "Расклад от Беллы"
name.en = "Bella's reading"
terms.ru = "Условия Беллы: расклад за 1–3 дня, вопросы списком."
terms.en = "Bella's terms: a reading within 1–3 days."

[[service]]
key = "tarot_month"
intake = "one_question"
promise_days = [2, 5]
price_stars = 777
price_amount = 123450
price_currency = "EUR"
name.ru = "Таро на месяц"
name.en = "Tarot for the month"
terms.ru = "Один вопрос о ближайшем месяце."
"""

LATER = HERS.replace("Расклад от Беллы", "Новый расклад Беллы").replace("Условия Беллы", "Новые условия Беллы")

BAD = {
    "not TOML": ("[[service]\nkey =", "catalogue.toml"),
    "no services": ('[hours]\nstart = "10:00"\n', "no [[service]] entries"),
    "unknown intake": (HERS.replace('intake = "one_question"', 'intake = "telepathy"'), "[[service]] #2"),
    "a name that is no table": (
        HERS.replace('name.en = "Bella\'s reading"\n', "").replace('name.ru = "Расклад от Беллы"', 'name = "Расклад"'),
        "[[service]] #1",
    ),  # fmt: skip
    "a bad time": (HERS.replace('start = "10:00"', 'start = "ten"'), "[hours] start"),
    "a day 9": (HERS.replace("days = [1, 2, 3, 4, 5, 6]", "days = [1, 9]"), "[hours]"),
}


async def run(settings: Settings, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await cli(["practitioner", *argv], settings, out)
    return code, out.getvalue()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


async def stored(settings: Settings) -> dict[str, str | None]:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)  # a refused add may have touched nothing at all, the schema neither
        async with session_factory(engine)() as session:
            return {row.slug: row.catalogue for row in await session.scalars(select(Practitioner))}
    finally:
        await engine.dispose()


# The command


async def test_add_stores_her_catalogue_and_list_says_so(settings: Settings, tmp_path: Path) -> None:
    code, said = await run(settings, "add", "--slug", "bella", "--catalogue", write(tmp_path, "bella.toml", HERS))
    assert (code, said) == (0, "added practitioner #2 bella\n")
    assert (await run(settings, "add", "--slug", "cara"))[0] == 0
    assert await stored(settings) == {"default": None, "bella": HERS, "cara": None}
    listing = (await run(settings, "list"))[1].splitlines()
    assert "catalogue=own" in listing[1] and "catalogue=-" in listing[2] and "catalogue=-" in listing[0]


@pytest.mark.parametrize("case", sorted(BAD))
async def test_a_bad_catalogue_is_refused_with_its_reason_and_adds_nobody(
    settings: Settings, tmp_path: Path, case: str
) -> None:
    text, reason = BAD[case]
    path = write(tmp_path, "catalogue.toml", text)
    code, said = await run(settings, "add", "--slug", "bella", "--catalogue", path)
    assert code == 2 and said.startswith("refused: her catalogue: ") and reason in said, said
    assert "bella" not in await stored(settings)


async def test_a_missing_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    code, said = await run(settings, "add", "--slug", "bella", "--catalogue", str(tmp_path / "nowhere.toml"))
    assert code == 2 and "nowhere.toml" in said
    assert "bella" not in await stored(settings)


async def test_set_replaces_or_clears_her_catalogue_and_a_bad_file_changes_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    assert (await run(settings, "add", "--slug", "bella", "--catalogue", write(tmp_path, "a.toml", HERS)))[0] == 0
    bad, reason = BAD["unknown intake"]
    path = write(tmp_path, "b.toml", bad)
    code, said = await run(settings, "set", "--slug", "bella", "--telegram-payment-token", "tok", "--catalogue", path)
    assert code == 2 and reason in said
    assert (await stored(settings))["bella"] == HERS
    engine = make_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:  # the other change of that command neither
            paying = select(func.count()).where(Practitioner.telegram_payment_token.is_not(None))
            assert await session.scalar(paying) == 0
    finally:
        await engine.dispose()
    assert (await run(settings, "set", "--slug", "bella", "--catalogue", write(tmp_path, "c.toml", LATER)))[0] == 0
    assert (await stored(settings))["bella"] == LATER
    assert (await run(settings, "set", "--slug", "bella", "--catalogue", ""))[0] == 0
    assert (await stored(settings))["bella"] is None
    code, said = await run(settings, "set", "--slug", "nobody", "--catalogue", write(tmp_path, "d.toml", HERS))
    assert code == 2 and "no practitioner" in said


# Two practitioners, two catalogues


@pytest.fixture
async def two(db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock, tmp_path: Path) -> AsyncIterator[FastAPI]:
    telegram_api.tokens.add(B_TOKEN)
    settings = telegram_settings(db_path, telegram_api, "webhook")
    code, said = await run(
        settings, "add", "--slug", "bella", "--telegram-token", B_TOKEN, "--telegram-secret", B_SECRET,
        "--password", "bella-pass", "--catalogue", write(tmp_path, "bella.toml", HERS),
    )  # fmt: skip
    assert code == 0, said
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(two: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://127.0.0.1:8000") as client:
        yield client


def menu(person: Writer) -> list[str]:
    return [label for label, payload in shown_buttons(person) if payload.startswith(SERVICE_PREFIX)]


async def test_each_client_is_offered_her_practitioners_services_terms_and_prices(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient
) -> None:
    to_a = Writer(two, telegram_api, http, 4242, "Вера", to_b=False)
    to_b = Writer(two, telegram_api, http, 5353, "Вера", to_b=True)
    await to_a.ask("Здравствуйте!")
    await to_b.ask("Здравствуйте!")
    assert menu(to_b) == ["1. Расклад от Беллы", "2. Таро на месяц"]
    assert "Ритуал" in " ".join(menu(to_a)) and "Таро на месяц" not in " ".join(menu(to_a))
    assert len(menu(to_a)) == 5  # catalogue.toml's

    hers = await to_b.press(SERVICE_PREFIX + "planned_reading")
    ours = await to_a.press(SERVICE_PREFIX + "planned_reading")
    assert "Условия Беллы" in hers and "4 дней до 2 недель" not in hers
    assert "4 дней до 2 недель" in ours and "Беллы" not in ours
    await to_b.press("terms:no")  # back to her services
    assert "Один вопрос о ближайшем месяце" in await to_b.press(SERVICE_PREFIX + "tarot_month")

    # Her dashboard shows her prices; #1's the file's.
    assert await log_in_as(http, "bella", "bella-pass") == 303
    page = (await http.get("/desk/settings/services")).text
    assert "Таро на месяц" in page and 'value="1234.5"' in page and 'value="EUR"' in page
    assert 'value="2500"' in page and "Ритуал" not in page
    csrf = http.headers["X-CSRF-Token"]
    kept = await http.post("/desk/settings/services/tarot_month", data={"csrf_token": csrf, "reset": "1"})
    assert kept.status_code == 303  # her own service is one she may reword
    http.cookies.clear()
    assert await log_in_as(http, "", PASSWORD) == 303
    page = (await http.get("/desk/settings/services")).text
    assert "Ритуал" in page and 'value="3000"' in page and "Таро на месяц" not in page
    refused = await http.post(
        "/desk/settings/services/tarot_month", data={"csrf_token": http.headers["X-CSRF-Token"], "reset": "1"}
    )
    assert refused.status_code == 404  # not a service of #1's


async def test_a_new_catalogue_is_taken_at_the_next_sync_and_her_settings_stay_over_it(
    two: FastAPI, telegram_api: TelegramBotAPI, http: httpx.AsyncClient, db_path: Path, tmp_path: Path
) -> None:
    assert await log_in_as(http, "bella", "bella-pass") == 303
    saved = await http.post(
        "/desk/settings/services/tarot_month",
        data={
            "csrf_token": http.headers["X-CSRF-Token"], "name_ru": "Таро на месяц (её слова)", "name_en": "Tarot",
            "terms_ru": "Её условия.", "terms_en": "", "wait_min_days": "2", "wait_max_days": "5",
            "price_stars": "0", "price_card": "99", "price_currency": "EUR",
        },
    )  # fmt: skip
    assert saved.status_code == 303, saved.text
    to_b = Writer(two, telegram_api, http, 5353, "Вера", to_b=True)
    await to_b.ask("Здравствуйте!")
    assert menu(to_b) == ["1. Расклад от Беллы", "2. Таро на месяц (её слова)"]

    settings = telegram_settings(db_path, telegram_api, "webhook")
    assert (await run(settings, "set", "--slug", "bella", "--catalogue", write(tmp_path, "later.toml", LATER)))[0] == 0
    await two.state.platform.sync()  # the periodic sync, every SYNC_SECONDS on every worker
    await to_b.ask("меню")
    assert menu(to_b) == ["1. Новый расклад Беллы", "2. Таро на месяц (её слова)"]
    assert "Новые условия Беллы" in await to_b.press(SERVICE_PREFIX + "planned_reading")
    tenant = await two.state.platform.by_slug("bella")
    assert tenant is not None and tenant.telegram is not None
    assert [c.bot for c in telegram_api.called("setWebhook")].count(B_TOKEN) == 1  # her bot kept running

    assert (await run(settings, "set", "--slug", "bella", "--catalogue", ""))[0] == 0
    await two.state.platform.sync()
    await to_b.ask("меню")
    assert len(menu(to_b)) == 5 and "Ритуал" in " ".join(menu(to_b))  # the deployment's file again


async def test_her_hours_are_in_her_time_zone_with_her_catalogue_or_the_deployments(
    two: FastAPI, telegram_api: TelegramBotAPI, db_path: Path, tmp_path: Path
) -> None:
    settings = telegram_settings(db_path, telegram_api, "webhook")
    zone = "Asia/Yekaterinburg"
    assert (await run(settings, "add", "--slug", "cara", "--timezone", zone))[0] == 0
    path = write(tmp_path, "dora.toml", HERS)
    assert (await run(settings, "add", "--slug", "dora", "--timezone", zone, "--catalogue", path))[0] == 0
    cara, dora, bella = [await two.state.platform.by_slug(slug) for slug in ("cara", "dora", "bella")]
    assert cara.desk.catalogue.hours.timezone == dora.desk.catalogue.hours.timezone == zone
    assert len(cara.desk.catalogue.services) == 5 and len(dora.desk.catalogue.services) == 2
    assert bella.desk.catalogue.hours.timezone == settings.timezone == two.state.desk.catalogue.hours.timezone
