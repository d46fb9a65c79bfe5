"""The practitioner's web dashboard: login, the live queue board, client cards, statistics, settings.

`install(app, settings, clock)` is the one line main.py needs: it sets up the login state and adds
every dashboard route. Every route but /login is behind the login (pages redirect to /login, the
JSON API answers 401); every form post checks a CSRF token. Sessions live in the database
(handlers/dashboard/auth.py), so no middleware and no signing key are involved.
"""

from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI

from bot.settings import Settings
from handlers.dashboard import board, clients, export, login, settings_pages, stats
from handlers.dashboard.auth import DashboardAuth


def install(app: FastAPI, settings: Settings, clock: Callable[[], datetime]) -> None:
    password = settings.dashboard_password.get_secret_value() if settings.dashboard_password else None
    secure = (settings.public_base_url or "").startswith("https://")
    app.state.dashboard_auth = DashboardAuth.from_setting(password, clock, secure=secure)
    for module in (login, board, clients, export, stats, settings_pages):
        app.include_router(module.router)
