"""Renders the flows' text ids with the gettext catalogs in locales/ (ru first, en second).

Flows return ids and params, never strings; rendering happens here, per client language and
time zone. Catalogs are compiled from .po in memory at start-up, so no build step is needed.
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

from flows.effects import Button, NewRequest, Say

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
            path = locales / language / "LC_MESSAGES" / f"{DOMAIN}.po"
            with path.open("rb") as po:
                catalog = read_po(po, locale=language, domain=DOMAIN)
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

    def button(self, button: Button, language: str) -> str:
        if button.label is not None:
            return button.label
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
            return format_datetime(local, "d MMMM, HH:mm", locale=language)
        if value is None:
            return ""
        return value
