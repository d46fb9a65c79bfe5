"""Settings from the environment or `.env` (names are the interface contract in PRODUCT.md)."""

from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.outbox.message_kinds import KINDS

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
    # Telegram Business (bot/telegram/business.py): the bot answers clients in her own account once she
    # connects it there. Off: the bot asks Telegram for no business updates at all.
    telegram_business: bool = True
    business_pause_hours: float = 12.0  # her own message in a client's chat pauses the bot there; 0: until /resume

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    # Approved WhatsApp templates (ContentSid) per message kind, for pushes 24 h after the client
    # last wrote: JSON {"reminder": "HX…", "queue_update": "HX…", "result": "HX…", "any": "HX…"}.
    twilio_templates: dict[str, str] = {}
    # Choices as WhatsApp buttons (Content API quick replies and list pickers, created by priem)
    # inside the 24-hour window; off: listed under the text, answered by number or in words.
    twilio_buttons: bool = False
    # Signs the short codes that join a client's Telegram and WhatsApp (flows/linking.py); derived
    # from the channel tokens when unset.
    link_secret: SecretStr | None = None

    practitioner_telegram_ids: Annotated[list[int], NoDecode] = []
    practitioner_whatsapp_numbers: Annotated[list[str], NoDecode] = []
    practitioner_name: str = "Practitioner"
    practitioner_language: str = "ru"  # the language of her command answers and alerts

    redis_url: str | None = None

    # The web dashboard's password (/login). Unset: a random one is made at start-up and logged once.
    dashboard_password: SecretStr | None = None
    # The platform admin's login at /platform: load per practitioner, nothing of any client's
    # messages (handlers/platform_admin.py). Unset: no /platform at all.
    platform_admin_password: SecretStr | None = None
    # Proxies whose X-Forwarded-For is believed (uvicorn's forwarded_allow_ips, e.g. "127.0.0.1"
    # with nginx in front); unset: none, and a client's address is the connection's own.
    forwarded_allow_ips: str | None = None
    metrics_token: SecretStr | None = None  # /metrics behind this bearer token; unset: this machine only

    # Outbound rates (shared/PERF.md): Telegram's "30 or so" per bot is soft, so run below it.
    telegram_rate_per_second: int = 28
    telegram_chat_rate_per_second: int = 1
    twilio_mps: int = 80  # per sender: Twilio gives a WhatsApp sender 80 messages per second by default

    # Time-driven pushes (bot/pushes.py).
    queue_updates_per_day: int = 3  # queue-position updates one client gets at most per day
    nudge_after_hours: float = 12.0  # a question list left unfinished this long gets one nudge
    digest_hour: int = 9  # the practitioner's morning digest, in TIMEZONE
    # Message texts older than this many days are erased (bot/privacy.py) unless the client has an
    # open request; counts and times stay, so statistics do not change. Unset or 0: keep everything.
    retention_days: int | None = None

    # Payments inside the chat (bot/payments/); all off by default: she confirms by /paid.
    telegram_payments: bool = False  # invoices in Telegram Stars (XTR) after a booking
    telegram_payment_provider_token: SecretStr | None = None  # set: card invoices instead of Stars
    stripe_api_key: SecretStr | None = None  # set with the secret: payment links on WhatsApp and the web
    stripe_webhook_secret: SecretStr | None = None
    stripe_api_base: str | None = None  # a proxy or a test double instead of https://api.stripe.com
    payment_flip_limit: int = 3  # abandoned or refunded payments before a client's invoices wait for her

    @field_validator("practitioner_telegram_ids", "practitioner_whatsapp_numbers", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("twilio_templates")
    @classmethod
    def _template_kinds(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - KINDS)
        if unknown:  # a typo would silently leave that kind waiting for the client to write
            raise ValueError(f"TWILIO_TEMPLATES: unknown kinds {unknown}; known: {sorted(KINDS)}")
        return {kind: sid.strip() for kind, sid in value.items() if sid.strip()}

    @field_validator("retention_days")
    @classmethod
    def _retention(cls, value: int | None) -> int | None:
        if value is not None and value < 0:
            raise ValueError("RETENTION_DAYS must be a number of days (0 or unset: keep everything)")
        return value or None

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
    def telegram_payments_enabled(self) -> bool:
        return self.telegram_enabled and (self.telegram_payments or self.telegram_payment_provider_token is not None)

    @property
    def stripe_enabled(self) -> bool:
        return self.stripe_api_key is not None and self.stripe_webhook_secret is not None

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.twilio_account_sid and self.twilio_auth_token and self.twilio_whatsapp_from)
