"""Settings defaults (the interface contract) and the practitioner's catalogue file."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.catalogue_file import CatalogueError, load_catalogue
from bot.settings import Settings
from flows.catalogue import Intake
from tests.factories import ROOT


def test_defaults_need_no_settings_at_all() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.database_url == "sqlite+aiosqlite:///./data/priem.db"
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.timezone == "Europe/Moscow"
    assert settings.telegram_api_server == "https://api.telegram.org"
    assert settings.telegram_mode == "polling"
    assert settings.twilio_api_base_url == "https://api.twilio.com"
    assert not settings.telegram_enabled and not settings.whatsapp_enabled
    assert settings.practitioner_telegram_ids == [] and settings.redis_url is None


def test_the_send_rates_default_to_the_platforms_published_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_RATE_PER_SECOND", "TELEGRAM_CHAT_RATE_PER_SECOND", "TWILIO_MPS"):
        monkeypatch.delenv(name, raising=False)  # the suite's conftest lifts them
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.twilio_mps == 80, "Twilio's default for a WhatsApp sender"
    assert (settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second) == (28, 1)


def test_every_contract_name_is_documented_in_env_example() -> None:
    documented = (ROOT / ".env.example").read_text(encoding="utf-8")
    for field in Settings.model_fields:
        assert f"\n{field.upper()}=" in documented, field


def test_environment_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRACTITIONER_TELEGRAM_IDS", "123456789012, 42")
    monkeypatch.setenv("PRACTITIONER_WHATSAPP_NUMBERS", "whatsapp:+79990000000")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@127.0.0.1/test")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1:AAtoken-value")
    monkeypatch.setenv("TELEGRAM_MODE", "")  # empty means default
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.practitioner_telegram_ids == [123456789012, 42]
    assert settings.practitioner_whatsapp_numbers == ["whatsapp:+79990000000"]
    assert settings.database_url == "postgresql+asyncpg://u@127.0.0.1/test"
    assert settings.telegram_enabled and settings.telegram_mode == "polling"
    assert "AAtoken-value" not in repr(settings)


@pytest.mark.parametrize(("name", "value"), [("TELEGRAM_MODE", "push"), ("TIMEZONE", "Mars/Olympus"), ("PORT", "x")])
def test_bad_values_are_refused_at_start_up(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_shipped_catalogue_has_the_five_formats_of_seed_000() -> None:
    catalogue = load_catalogue(ROOT / "catalogue.toml", "Europe/Moscow")
    assert [s.key for s in catalogue.services] == [
        "planned_reading", "emergency", "planned_call", "one_question", "ritual"
    ]
    reading = catalogue.get("planned_reading")
    assert reading is not None and reading.intake is Intake.QUESTIONS
    assert (reading.promise_min_days, reading.promise_max_days) == (4, 14)
    assert catalogue.emergency() is catalogue.get("emergency")
    for service in catalogue.services:
        assert service.name("ru") and service.name("en") and service.terms_text("ru") and service.terms_text("en")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "catalogue.toml"),
        ("[hours]\nstart='10:00'\n", "no [[service]]"),
        ("[[service]]\nkey='a'\nintake='questions'\n", "missing 'name'"),
        ("[[service]]\nkey='a'\nintake='dance'\nname.ru='x'\n", "#1"),
        ("[[service]]\nkey='a'\nintake='questions'\nname.ru='x'\n[[service]]\nkey='a'\nintake='questions'\nname.ru='y'\n",
         "unique"),
        ("[hours]\nstart='ten'\n[[service]]\nkey='a'\nintake='questions'\nname.ru='x'\n", "HH:MM"),
    ],
)
def test_a_broken_catalogue_names_the_problem(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "catalogue.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CatalogueError, match=message.replace("[", r"\[")):
        load_catalogue(path, "Europe/Moscow")
