import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.settings import Settings
from main import build
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


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "priem.db"


@pytest.fixture
def settings(db_path: Path) -> Settings:
    return Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{db_path}")  # type: ignore[call-arg]


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


def pytest_report_header() -> str:
    return f"priem tests (cwd {os.getcwd()})"
