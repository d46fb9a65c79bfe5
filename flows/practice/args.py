"""Forgiving argument parsers for the practitioner's commands.

Every parser returns a value or raises `BadArgument` naming what was expected, so each error
message she sees says what to type instead.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

import dateparser


class BadArgument(ValueError):
    """`text_id` names the catalog text that explains what was expected."""

    def __init__(self, text_id: str, **params: object) -> None:
        super().__init__(text_id)
        self.text_id = text_id
        self.params = params


_NUMBER = re.compile(r"^(?:#|№|n|N)?\s*(\d{1,12})$")


def request_number(token: str | None) -> int:
    if token is None or not token.strip():
        raise BadArgument("cmd-error-need-number")
    match = _NUMBER.match(token.strip())
    if match is None:
        raise BadArgument("cmd-error-bad-number", given=token[:40])
    return int(match[1])


class RefKind(StrEnum):
    REQUEST = "request"  # #12: the client of request 12
    USERNAME = "username"  # @anna
    PHONE = "phone"  # +7 999 123-45-67
    NAME = "name"  # Анна


@dataclass(frozen=True)
class ClientRef:
    kind: RefKind
    value: str

    def show(self) -> str:
        return {"request": f"#{self.value}", "username": f"@{self.value}"}.get(self.kind, self.value)


_PHONE = re.compile(r"^\+?[\d\s().-]{7,20}$")


def client_ref(text: str) -> ClientRef:
    """A client named the way she would: a request number, @username, a phone, or a name."""
    value = text.strip()
    if not value:
        raise BadArgument("cmd-error-need-client")
    if value.startswith("@") and len(value) > 1:
        return ClientRef(RefKind.USERNAME, value[1:].lower())
    if _NUMBER.match(value) and not (value.startswith("+") or len(re.sub(r"\D", "", value)) >= 7):
        return ClientRef(RefKind.REQUEST, str(request_number(value)))
    if _PHONE.match(value) and len(re.sub(r"\D", "", value)) >= 7:
        return ClientRef(RefKind.PHONE, phone_digits(value))
    return ClientRef(RefKind.NAME, value)


def phone_digits(value: str) -> str:
    return re.sub(r"\D", "", value)


FOREVER_WORDS = {"forever", "навсегда", "permanently", "насовсем"}
UNTIL_WORDS = {"until", "till", "до", "по"}
_SPAN = re.compile(r"^(\d{1,4})\s*(m|min|мин|h|ч|d|д|дн|w|н|нед)$", re.IGNORECASE)
_UNITS = {
    "m": "minutes",
    "min": "minutes",
    "мин": "minutes",
    "h": "hours",
    "ч": "hours",
    "d": "days",
    "д": "days",
    "дн": "days",
    "w": "weeks",
    "н": "weeks",
    "нед": "weeks",
}


@dataclass(frozen=True)
class Until:
    """How long: `at` is None for good."""

    at: datetime | None


def duration(words: list[str], now: datetime, timezone: str) -> tuple[Until | None, list[str]]:
    """A leading duration (`3d`, `12h`, `forever`, `until 2026-12-24`), and the words left.

    Returns (None, words) when the words do not start with a duration: the caller picks a default.
    """
    if not words:
        return None, words
    first = words[0].lower()
    if first in FOREVER_WORDS:
        return Until(None), words[1:]
    span = _SPAN.match(first)
    if span is not None:
        amount = int(span[1])
        if amount <= 0:
            raise BadArgument("cmd-error-bad-duration", given=words[0][:40])
        return Until(now + timedelta(**{_UNITS[span[2].lower()]: amount})), words[1:]
    if first in UNTIL_WORDS:
        if len(words) < 2:
            raise BadArgument("cmd-error-bad-duration", given=words[0][:40])
        # The date may be one word (2026-12-24, 24.12) or a few (24 декабря).
        for size in (3, 2, 1):
            if len(words) - 1 < size:
                continue
            at = moment(" ".join(words[1 : 1 + size]), now, timezone, end_of_day=True)
            if at is not None:
                if at <= now:
                    raise BadArgument("cmd-error-in-past", given=" ".join(words[1 : 1 + size])[:40])
                return Until(at), words[1 + size :]
        raise BadArgument("cmd-error-bad-duration", given=" ".join(words[:3])[:40])
    return None, words


_SHORT_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})(?=\s|$)")


def moment(text: str, now: datetime, timezone: str, *, end_of_day: bool = False) -> datetime | None:
    """A date and time as she writes it (2026-12-03 15:00, 03.12 15:00, завтра 15:00, 3 декабря),
    in her time zone, preferring the future; None when it is no date. A bare date means the end
    of that day when `end_of_day` (restrictions, pauses) and is refused otherwise by callers that
    need a time (see `when`)."""
    text = text.strip()
    if not text or len(text) > 60:
        return None
    zone = ZoneInfo(timezone)
    local_now = now.astimezone(zone)
    short = _SHORT_DATE.match(text)
    if short is not None:  # dateparser reads «03.12» as nothing: add the year she means
        text = f"{short[1]}.{short[2]}.{local_now.year}{text[short.end() :]}"
    parsed = dateparser.parse(
        text,
        languages=["ru", "en"],
        settings={
            "RELATIVE_BASE": local_now.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "DATE_ORDER": "DMY",
            "TIMEZONE": timezone,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DAY_OF_MONTH": "first",
        },
    )
    if parsed is None:
        return None
    parsed = parsed.astimezone(zone)
    has_time = _has_time(text)
    if short is not None and parsed.date() < local_now.date():
        parsed = parsed.replace(year=parsed.year + 1)  # «05.01» written in December means next January
    if end_of_day and not has_time:
        parsed = parsed.replace(hour=23, minute=59, second=0, microsecond=0)
    return parsed


def when(text: str, now: datetime, timezone: str) -> datetime:
    """A date with a time for a call (`/reschedule 12 03.12 15:00`)."""
    at = moment(text, now, timezone)
    if at is None or not _has_time(text):
        raise BadArgument("cmd-error-bad-when", given=text[:40])
    if at <= now:
        raise BadArgument("cmd-error-in-past", given=text[:40])
    return at


_TIME = re.compile(r"\b\d{1,2}:\d{2}\b|\d\s*(am|pm)\b", re.IGNORECASE)


def _has_time(text: str) -> bool:
    """15:00 or 3pm; «03.12» is a date, not a time."""
    return _TIME.search(text) is not None
