"""Keeping secrets and client data out of the service's log output.

Two layers, installed by main.main():
- libraries whose DEBUG/INFO output carries what must not be logged are held at WARNING
  whatever LOG_LEVEL says: httpx (full URLs: a Bot API URL holds the token), SQLAlchemy's
  engine and aiosqlite (every statement's parameters and results: client messages, phone
  numbers), Twilio's HTTP client (every request's URL and headers);
- a filter on every handler replaces every configured secret (each SecretStr setting, the bot
  token's secret half, the Basic credentials made from the Twilio auth token) with a mask, as a
  net under the rule that no code logs them (tests/e2e/test_secrets.py checks both). Secrets
  known only while running (another practitioner's bot token and payment keys, read from her
  row by bot/platform/tenants.py) are added to the same filters with mask().
"""

import base64
import logging
from collections.abc import Iterable

from pydantic import SecretStr

from bot.settings import Settings

QUIET = ("httpx", "httpcore", "sqlalchemy.engine", "aiosqlite", "twilio.http_client", "twilio.async_http_client")
MASK = "[redacted]"
MIN_SECRET = 6  # shorter values would mask ordinary words


def secrets_of(settings: Settings) -> list[str]:
    # Every SecretStr setting (tokens, passwords, webhook and link secrets, payment keys), so a
    # secret added later is masked without anyone remembering this list, plus the forms the
    # service derives from them: the bot token's secret half and Twilio's Basic credentials.
    found = [
        value.get_secret_value()
        for name in type(settings).model_fields
        if isinstance(value := getattr(settings, name), SecretStr)
    ]
    if settings.telegram_bot_token is not None:
        found.append(settings.telegram_bot_token.get_secret_value().partition(":")[2])
    if settings.twilio_auth_token is not None and settings.twilio_account_sid:
        auth = settings.twilio_auth_token.get_secret_value()
        found.append(base64.b64encode(f"{settings.twilio_account_sid}:{auth}".encode()).decode())
    return found


class Redact(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        # Longest first, so that a token is masked whole before its secret half is looked for.
        # One assignment: a record filtered meanwhile sees the old list or the new one, whole.
        found = {s for s in secrets if len(s) >= MIN_SECRET} | set(self.secrets)
        self.secrets = sorted(found, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging itself reports it, unredacted otherwise
            message = str(record.msg)
        record.msg, record.args = self.clean(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


_installed: list[Redact] = []  # the filters install() put on the root handlers


def mask(secrets: Iterable[str]) -> None:
    """Secrets learnt while running: masked from now on by every filter install() put up."""
    secrets = list(secrets)
    for redact in _installed:
        redact.add(secrets)


def install(settings: Settings) -> None:
    """After logging.basicConfig: quiet the chatty libraries, filter every root handler. uvicorn
    is then run without a logging config of its own, so its records reach these handlers too."""
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    redact = Redact(secrets_of(settings))
    _installed.append(redact)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redact)
