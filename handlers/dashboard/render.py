"""Rendering a dashboard page: the practitioner's language, her time zone, the CSRF token, the flash."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse

from bot.practice import Practice
from handlers.dashboard.auth import DeskSession

# A page full of a client's history is nobody's business but hers: no caching, no framing.
PRIVATE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class Words:
    """`t("dash-…", **params)` in templates, in her language; `when(dt)` in her time zone."""

    def __init__(self, practice: Practice) -> None:
        self.practice = practice
        self.language = practice.language
        self.timezone = practice.timezone

    def __call__(self, text_id: str, **params: Any) -> str:
        return self.practice.texts.text(text_id, params, self.language, self.timezone)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        local = moment.astimezone(ZoneInfo(self.timezone))
        return format_datetime(local, "d MMM yyyy, HH:mm", locale=self.language)

    def service(self, key: str) -> str:
        found = self.practice.catalogue.get(key)
        return found.name(self.language) if found else key

    def stage(self, stage: str) -> str:
        try:
            return self.practice.texts.lookup(f"stage-{stage}", self.language)
        except KeyError:
            return stage


def page(
    request: Request,
    name: str,
    session: DeskSession | None,
    context: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    practice: Practice = request.app.state.practice
    flash = list(session.flash) if session else []
    if session:
        session.flash.clear()  # shown once
    response = request.app.state.templates.TemplateResponse(
        request,
        name,
        {
            "t": Words(practice),
            "lang": practice.language,
            "csrf": session.csrf if session else "",
            "flash": flash,
            "logged_in": session is not None,
            **(context or {}),
        },
        status_code=status_code,
    )
    response.headers.update(PRIVATE_HEADERS)
    return response
