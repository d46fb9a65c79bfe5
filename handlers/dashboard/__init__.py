"""The practitioner's web dashboard: login, the live queue board, client cards, statistics.

`install(app, settings, clock)` is the one line main.py needs: it adds the session cookie
middleware, the login state and every dashboard route. Every route but /login is behind the login
(pages redirect to /login, the JSON API answers 401); every form post checks a CSRF token.
"""

import secrets
from collections.abc import Callable
from datetime import datetime

from fastapi import FastAPI
from starlette.middleware.sessions import SessionMiddleware

from bot.settings import Settings
from handlers.dashboard import board, clients, login, stats
from handlers.dashboard.auth import SESSION_AGE, SESSION_COOKIE, DashboardAuth


def install(app: FastAPI, settings: Settings, clock: Callable[[], datetime]) -> None:
    password = settings.dashboard_password.get_secret_value() if settings.dashboard_password else None
    app.state.dashboard_auth = DashboardAuth.from_setting(password, clock)
    app.add_middleware(
        SessionMiddleware,
        # Fresh at every start: the cookie only names a session kept in memory anyway.
        secret_key=secrets.token_urlsafe(32),
        session_cookie=SESSION_COOKIE,
        max_age=int(SESSION_AGE.total_seconds()),
        same_site="strict",
        https_only=(settings.public_base_url or "").startswith("https://"),
    )
    for module in (login, board, clients, stats):
        app.include_router(module.router)
