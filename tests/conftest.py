import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.settings import Settings
from main import build
from tests import database
from tests.e2e.whatsapp_client import twilio_api, wa_app, wa_http, wa_user  # noqa: F401 (WhatsApp fixtures)
from tests.factories import FakeClock
from tests.fakes.telegram_api import TelegramBotAPI

CONTRACT = (
    "DATABASE_URL TELEGRAM_BOT_TOKEN TELEGRAM_API_SERVER TELEGRAM_MODE TELEGRAM_WEBHOOK_SECRET "
    "PUBLIC_BASE_URL TWILIO_ACCOUNT_SID TWILIO_AUTH_TOKEN TWILIO_WHATSAPP_FROM TWILIO_API_BASE_URL "
    "PRACTITIONER_TELEGRAM_IDS PRACTITIONER_WHATSAPP_NUMBERS HOST PORT TIMEZONE REDIS_URL CATALOGUE_PATH"
).split()


@pytest.fixture(autouse=True)
def _no_developer_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real settings."""
    for name in CONTRACT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DASHBOARD_PASSWORD", "test-dashboard-password")  # tests/e2e/dashboard_login.py
    # The send rates run on the wall clock; conversation tests would wait 1 s per extra reply in a
    # chat. The rate tests (tests/integration/test_relay_limits.py) set their own.
    for name in ("TELEGRAM_RATE_PER_SECOND", "TELEGRAM_CHAT_RATE_PER_SECOND", "TWILIO_MPS"):
        monkeypatch.setenv(name, "10000")


@pytest.fixture
async def db_path(tmp_path: Path) -> AsyncIterator[Path]:
    """The test's database: this SQLite file, or (--database=postgres) a fresh PostgreSQL
    database standing in for it; `tests.database.url_for(db_path)` gives the URL either way."""
    path = tmp_path / "priem.db"
    async with database.database_for(path):
        yield path


@pytest.fixture
def database_url(db_path: Path) -> str:
    return database.url_for(db_path)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(_env_file=None, database_url=database_url)  # type: ignore[call-arg]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[FastAPI]:
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
async def telegram_api() -> AsyncIterator[TelegramBotAPI]:
    """A Bot API double on a free local port; aiogram reaches it over real HTTP."""
    api = TelegramBotAPI()
    await api.start()
    yield api
    await api.stop()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database",
        choices=database.BACKENDS,
        default=os.environ.get("PRIEM_TEST_DATABASE", "sqlite"),
        help="where the database fixtures live (env PRIEM_TEST_DATABASE); postgres: a fresh database "
        "per test on PRIEM_TEST_POSTGRES_URL (default postgres@127.0.0.1:5432/test)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: reads the SQLite file itself; skipped with --database=postgres")
    database.use(config.getoption("--database"))
    if database.on_postgres():
        if not database.reachable_now():
            raise pytest.UsageError(f"--database=postgres, but PostgreSQL at {database.ADMIN_URL} is not reachable")
        database.prepare_template()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if database.on_postgres():
        skip = pytest.mark.skip(reason="SQLite-specific (the file, PRAGMAs); this run is on PostgreSQL")
        for item in items:
            if item.get_closest_marker("sqlite_only"):
                item.add_marker(skip)


def pytest_unconfigure(config: pytest.Config) -> None:
    database.drop_template()  # made on first use: the PostgreSQL run, or a PostgreSQL-only test


def pytest_report_header() -> str:
    return f"priem tests (cwd {os.getcwd()}), database: {database.backend()}"
