"""The document her dashboard settings are stored as (table practice_settings), with its rules.

Every section is optional: a section she never saved (or reset) leaves catalogue.toml in charge.
A rule that fails raises a PydanticCustomError whose type is the catalog id of the message she
sees next to the field (`set-err-…`, locales/*/settings.po); built-in pydantic errors are mapped
to such ids in handlers/dashboard/settings_forms.py.
"""

import re
from datetime import time
from decimal import Decimal
from string import Formatter
from typing import Annotated, Any

from babel.numbers import get_currency_precision, list_currencies
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

LANGUAGES = ("ru", "en")
_CLOCK = re.compile(r"^\s*(\d{1,2})[:.](\d{2})(?::00)?\s*$")


def _clock(value: Any) -> Any:
    """«9:00», «09:00», «9.00» (a phone keyboard) → 09:00; seconds are not a thing here."""
    if isinstance(value, time):
        return value
    found = _CLOCK.match(value) if isinstance(value, str) else None
    if found is None or int(found[1]) > 23 or int(found[2]) > 59:
        raise PydanticCustomError("set-err-time", "expected a time as HH:MM")
    return time(int(found[1]), int(found[2]))


Clock = Annotated[time, BeforeValidator(_clock), PlainSerializer(lambda t: t.strftime("%H:%M"), when_used="json")]
Weekday = Annotated[int, Field(ge=1, le=7)]  # 1 = Monday … 7 = Sunday, as in catalogue.toml


def _weekdays(days: list[int]) -> list[int]:
    if not days:
        raise PydanticCustomError("set-err-no-days", "pick at least one day")
    return sorted(set(days))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class HoursDoc(Section):
    days: list[Weekday]
    start: Clock
    end: Clock

    _days = field_validator("days")(_weekdays)

    @field_validator("end")
    @classmethod
    def _after_start(cls, end: time, info: ValidationInfo) -> time:
        start = info.data.get("start")
        if start is not None and end <= start:
            raise PydanticCustomError("set-err-end-before-start", "the end must come after the start")
        return end


class CallsDoc(Section):
    days: list[Weekday]
    times: list[Clock] = Field(default_factory=list, max_length=48)  # empty: a slot every `every_minutes`
    every_minutes: int = Field(ge=5, le=1440)
    minutes: int = Field(ge=10, le=480)  # one call's length
    days_ahead_min: int = Field(ge=0, le=365)
    days_ahead_max: int = Field(ge=0, le=365)
    free_reschedule_hours: float = Field(ge=0, le=720)
    offer: int = Field(ge=1, le=20)  # slot buttons shown at a time

    _days = field_validator("days")(_weekdays)

    @field_validator("times")
    @classmethod
    def _sorted(cls, times: list[time]) -> list[time]:
        return sorted(set(times))

    @field_validator("days_ahead_max")
    @classmethod
    def _not_before_min(cls, high: int, info: ValidationInfo) -> int:
        low = info.data.get("days_ahead_min")
        if low is not None and high < low:
            raise PydanticCustomError("set-err-max-below-min", "the latest must not be before the earliest")
        return high


class ServiceDoc(Section):
    """One service of the catalogue as she words and prices it; its key and intake stay the file's."""

    name_ru: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)
    terms_ru: str = Field(default="", max_length=4000)
    terms_en: str = Field(default="", max_length=4000)
    wait_min_days: float = Field(ge=0, le=365)
    wait_max_days: float = Field(ge=0, le=365)
    price_stars: int = Field(default=0, ge=0, le=1_000_000)  # Telegram Stars; 0: no Stars invoice
    # Card price in the currency's main unit as she types it (3000 or 3000.50 ₽); 0: no card invoice.
    price_card: Decimal = Field(default=Decimal(0), ge=0, le=10_000_000, decimal_places=2)
    price_currency: str = Field(default="", max_length=3)

    @field_validator("wait_max_days")
    @classmethod
    def _wait_range(cls, high: float, info: ValidationInfo) -> float:
        low = info.data.get("wait_min_days")
        if low is not None and high < low:
            raise PydanticCustomError("set-err-max-below-min", "the latest must not be before the earliest")
        return high

    @field_validator("price_currency")
    @classmethod
    def _currency(cls, value: str, info: ValidationInfo) -> str:
        value = value.upper()
        if value and value not in list_currencies():
            raise PydanticCustomError("set-err-currency", "an ISO 4217 code such as RUB or EUR")
        if not value and info.data.get("price_card"):
            raise PydanticCustomError("set-err-currency-needed", "a card price needs its currency")
        return value

    def minor_units(self) -> int:
        """The card price as invoices carry it: kopecks, cents (yen have none)."""
        if not self.price_currency:
            return 0
        return int(self.price_card * 10 ** get_currency_precision(self.price_currency))


# The canned replies she may reword, with the placeholders each may use ({name} in her text is
# filled in for every client) and those it must keep. tests/unit/test_overrides.py holds these
# equal to the catalogs' own placeholders.
CANNED: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "terms-intro": (frozenset({"service", "terms", "price"}), frozenset({"terms"})),
    "discount": (frozenset(), frozenset()),
    "offhours": (frozenset({"start", "end", "next_at"}), frozenset()),
}


def placeholders(text: str) -> set[str]:
    """The {names} in a text; a ValueError for a stray brace."""
    return {field for _, field, _, _ in Formatter().parse(text) if field is not None}


def _checked_text(text_id: str, text: str) -> str:
    allowed, required = CANNED[text_id]
    try:
        used = placeholders(text)
    except ValueError as error:
        raise PydanticCustomError("set-err-braces", "a { or } without its pair") from error
    # Only bare names: «{start.__class__}» or «{0}» must never reach str.format.
    unknown = sorted(name for name in used if name not in allowed)
    if unknown:
        raise PydanticCustomError(
            "set-err-placeholder",
            "unknown placeholder",
            {"given": ", ".join("{" + n + "}" for n in unknown), "allowed": _names(allowed)},
        )
    missing = sorted(required - used)
    if missing:
        raise PydanticCustomError("set-err-placeholder-needed", "a placeholder is needed", {"needed": _names(required)})
    return text


def _names(names: frozenset[str]) -> str:
    return ", ".join("{" + n + "}" for n in sorted(names)) or "—"


class TextDoc(Section):
    """Her wording of one canned reply; an empty language keeps the catalog's text in it."""

    ru: str = Field(default="", max_length=2000)
    en: str = Field(default="", max_length=2000)


class PracticeDocument(Section):
    hours: HoursDoc | None = None
    calls: CallsDoc | None = None
    services: dict[str, ServiceDoc] = Field(default_factory=dict)
    texts: dict[str, TextDoc] = Field(default_factory=dict)

    @field_validator("texts")
    @classmethod
    def _canned_only(cls, texts: dict[str, TextDoc]) -> dict[str, TextDoc]:
        for text_id, text in texts.items():
            if text_id not in CANNED:
                raise PydanticCustomError("set-err-not-canned", "not a text she may reword")
            for language in LANGUAGES:
                if getattr(text, language):
                    _checked_text(text_id, getattr(text, language))
        return {k: v for k, v in texts.items() if v.ru or v.en}

    def stored(self) -> dict[str, Any]:
        """As the JSON column keeps it (times as HH:MM, prices as decimal strings)."""
        return self.model_dump(mode="json", exclude_none=True)


def checked_text(text_id: str, language: str, text: str) -> str:
    """One canned text checked alone (the form reports each field's own problem)."""
    if language not in LANGUAGES or text_id not in CANNED:
        raise PydanticCustomError("set-err-not-canned", "not a text she may reword")
    return _checked_text(text_id, text) if text else text
