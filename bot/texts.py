"""Renders the flows' text ids with the gettext catalogs in locales/ (ru first, en second).

Flows return ids and params, never strings; rendering happens here, per client language and
time zone. Catalogs are compiled from .po in memory at start-up, so no build step is needed.
Each language directory may hold several .po files (priem.po for the client conversation, one per
area besides); they are merged into one catalog, and an id defined twice is a start-up error.
"""

import io
from collections.abc import Mapping
from datetime import datetime
from gettext import GNUTranslations
from pathlib import Path
from string import Formatter
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone_location
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.money import format_money
from flows.conversation import LABEL_INTENTS
from flows.effects import Button, NewRequest, Say
from flows.intents import Intent
from flows.payments import Price
from flows.queue import Days

DOMAIN = "priem"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


class _Params(dict[str, Any]):
    """A missing param renders as an empty string rather than failing the whole message."""

    def __missing__(self, key: str) -> str:
        return ""


class Texts:
    def __init__(self, locales: Path) -> None:
        self._catalogs: dict[str, GNUTranslations] = {}
        for language in LANGUAGES:
            paths = sorted((locales / language / "LC_MESSAGES").glob("*.po"))
            if not paths:
                raise FileNotFoundError(f"no .po catalogs for {language!r} under {locales}")
            catalog = None
            for path in paths:
                with path.open("rb") as po:
                    part = read_po(po, locale=language, domain=DOMAIN)
                if catalog is None:
                    catalog = part
                    continue
                for message in part:
                    if not message.id:
                        continue
                    if message.id in catalog:
                        raise ValueError(f"text {message.id!r} is defined twice ({path.name})")
                    catalog[message.id] = message
            buffer = io.BytesIO()
            write_mo(buffer, catalog)
            buffer.seek(0)
            self._catalogs[language] = GNUTranslations(buffer)

    def ids(self, language: str) -> set[str]:
        return set(self._catalogs[language]._catalog) - {""}  # type: ignore[attr-defined]

    def lookup(self, text_id: str, language: str) -> str:
        for candidate in (language, DEFAULT_LANGUAGE):
            catalog = self._catalogs.get(candidate)
            if catalog is not None and text_id in catalog._catalog:  # type: ignore[attr-defined]
                return catalog.gettext(text_id)
        raise KeyError(f"text {text_id!r} is in no catalog")

    def render(self, say: Say, language: str, timezone: str, *, zone: bool = True) -> str:
        return self.text(say.text_id, say.params, language, timezone, zone=zone)

    def text(
        self, text_id: str, params: Mapping[str, Any], language: str, timezone: str, *, zone: bool = True
    ) -> str:
        """`zone`: a time says whose clock it is on («15:00 (Москва)»), except on a button, where
        the message above it has said so and the label must stay short."""
        template = self.lookup(text_id, language)
        values = _Params({k: self._value(k, v, language, timezone, zone) for k, v in params.items()})
        return Formatter().vformat(template, (), values)

    def typed_labels(self) -> dict[str, Intent]:
        """Every language's label of the buttons whose label a client may type instead of tapping."""
        return {self.lookup(i, language): intent for i, intent in LABEL_INTENTS.items() for language in LANGUAGES}

    def button(self, button: Button, language: str, timezone: str = "UTC") -> str:
        if button.label is not None:
            return button.label
        if button.at is not None:  # a call slot, shown in the reader's time zone
            return self.text(button.text_id or "", {"slot": button.at}, language, timezone, zone=False)
        return self.lookup(button.text_id or "", language)

    def _value(self, key: str, value: Any, language: str, timezone: str, zone: bool = True) -> Any:
        if isinstance(value, Say):
            return self.render(value, language, timezone, zone=zone)
        if isinstance(value, NewRequest):
            raise ValueError("a NEW request reference reached the renderer unresolved")
        if isinstance(value, datetime):
            local = value.astimezone(ZoneInfo(timezone))
            if key.endswith("_date"):
                return format_date(local, "d MMMM", locale=language)
            pattern = "EEE d MMMM, HH:mm" if key == "slot" or key.endswith("_slot") else "d MMMM, HH:mm"
            shown = format_datetime(local, pattern, locale=language)  # a call's weekday helps pick it
            return f"{shown} ({zone_name(local, timezone, language)})" if zone else shown
        if isinstance(value, Price):
            return format_money(value, language)
        if isinstance(value, Days):  # the word agrees with the last number: «1–3 дня», «4–14 дней»
            unit = self.lookup(f"unit-days-{Locale.parse(language).plural_form(value.high)}", language)
            span = str(value.high) if value.low == value.high else f"{value.low}–{value.high}"
            return f"{span} {unit}"
        if isinstance(value, tuple) and all(isinstance(v, Say) for v in value):  # lines of a list
            return "\n".join(self.render(v, language, timezone, zone=zone) for v in value)
        if value is None:
            return ""
        return value


def zone_name(local: datetime, timezone: str, language: str) -> str:
    """Whose clock a time is on: the zone's city («Москва», «Екатеринбург»), or its offset for a
    zone with no city (a client who said «UTC+5»: «GMT+05:00»)."""
    if timezone in ("UTC", "Etc/UTC", "GMT"):
        return "UTC"
    if timezone.startswith("Etc/"):
        return format_datetime(local, "ZZZZ", locale=language)
    return get_timezone_location(ZoneInfo(timezone), locale=language, return_city=True)
