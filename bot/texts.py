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

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from bot.money import format_money
from flows.conversation import LABEL_INTENTS
from flows.effects import Button, NewRequest, Say
from flows.intents import Intent
from flows.payments import Price

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

    def render(self, say: Say, language: str, timezone: str) -> str:
        return self.text(say.text_id, say.params, language, timezone)

    def text(self, text_id: str, params: Mapping[str, Any], language: str, timezone: str) -> str:
        template = self.lookup(text_id, language)
        values = _Params({k: self._value(k, v, language, timezone) for k, v in params.items()})
        return Formatter().vformat(template, (), values)

    def typed_labels(self) -> dict[str, Intent]:
        """Every language's label of the buttons whose label a client may type instead of tapping."""
        return {self.lookup(i, language): intent for i, intent in LABEL_INTENTS.items() for language in LANGUAGES}

    def button(self, button: Button, language: str, timezone: str = "UTC") -> str:
        if button.label is not None:
            return button.label
        if button.at is not None:  # a call slot, shown in the reader's time zone
            return self.text(button.text_id or "", {"slot": button.at}, language, timezone)
        return self.lookup(button.text_id or "", language)

    def _value(self, key: str, value: Any, language: str, timezone: str) -> Any:
        if isinstance(value, Say):
            return self.render(value, language, timezone)
        if isinstance(value, NewRequest):
            raise ValueError("a NEW request reference reached the renderer unresolved")
        if isinstance(value, datetime):
            local = value.astimezone(ZoneInfo(timezone))
            if key.endswith("_date"):
                return format_date(local, "d MMMM", locale=language)
            if key == "slot" or key.endswith("_slot"):  # a call: the weekday helps pick the right one
                return format_datetime(local, "EEE d MMMM, HH:mm", locale=language)
            return format_datetime(local, "d MMMM, HH:mm", locale=language)
        if isinstance(value, Price):
            return format_money(value, language)
        if isinstance(value, tuple) and all(isinstance(v, Say) for v in value):  # lines of a list
            return "\n".join(self.render(v, language, timezone) for v in value)
        if value is None:
            return ""
        return value
