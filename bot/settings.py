"""Settings from the environment or `.env` (names are the interface contract in PRODUCT.md)."""

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def _split(value: object) -> object:
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./data/priem.db"
    host: str = "127.0.0.1"
    port: int = 8000
    timezone: str = "Europe/Moscow"
    public_base_url: str | None = None
    catalogue_path: Path = ROOT / "catalogue.toml"
    log_level: str = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_api_server: str = "https://api.telegram.org"
    telegram_mode: str = "polling"
    telegram_webhook_secret: SecretStr | None = None

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"

    practitioner_telegram_ids: Annotated[list[int], NoDecode] = []
    practitioner_whatsapp_numbers: Annotated[list[str], NoDecode] = []
    practitioner_name: str = "Practitioner"

    redis_url: str | None = None

    @field_validator("practitioner_telegram_ids", "practitioner_whatsapp_numbers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("telegram_mode")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value not in ("polling", "webhook"):
            raise ValueError("TELEGRAM_MODE must be 'polling' or 'webhook'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:  # better at start-up than in a reminder
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like Europe/Moscow") from error
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        # A plain postgresql:// URL from a hosting panel still means the async driver here.
        for plain, driver in (("postgresql://", "postgresql+asyncpg://"), ("postgres://", "postgresql+asyncpg://")):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        if value.startswith("sqlite://") and not value.startswith("sqlite+aiosqlite://"):
            return "sqlite+aiosqlite://" + value[len("sqlite://") :]
        return value

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)
