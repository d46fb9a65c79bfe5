"""The platform admin's page, /platform: load per practitioner, nothing of any client's messages.

Installed only when PLATFORM_ADMIN_PASSWORD is set. The login is the dashboard's machinery
(handlers/dashboard/auth.py: sessions in the database, CSRF tokens, the login rate limit) under
another role: its own cookie, scoped to /platform, and token hashes in a domain of their own, so
a practitioner's cookie opens nothing here and the admin's opens no /desk page, whichever cookie
name either is sent under. The session row has the admin role and names no practitioner: /desk
looks up practitioner rows only, this page admin rows only.
"""

import hmac
import secrets
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.settings import Settings
from handlers.dashboard.auth import CSRF_FIELD, SESSION_AGE, DashboardAuth, DeskSession, client_address
from handlers.dashboard.render import page
from storage.dashboard_sessions import ADMIN
from storage.platform import PractitionerStore

PLATFORM_COOKIE = "priem_platform"

router = APIRouter(tags=["platform"], include_in_schema=False)


class PlatformAuth(DashboardAuth):
    cookie = PLATFORM_COOKIE
    cookie_path = "/platform"
    role = b"priem platform admin\0"
    login_label = b"priem platform login form\0"
    session_role = ADMIN


def install(app: FastAPI, settings: Settings, clock: Callable[[], datetime]) -> None:
    if settings.platform_admin_password is None or not settings.platform_admin_password.get_secret_value():
        return
    secure = (settings.public_base_url or "").startswith("https://")
    app.state.platform_auth = PlatformAuth(settings.platform_admin_password.get_secret_value(), clock, secure=secure)
    app.include_router(router)


def _auth(request: Request) -> PlatformAuth:
    return request.app.state.platform_auth


async def _admin(request: Request) -> DeskSession | None:
    return await _auth(request).find(request.app.state.practice.sessions, request.cookies.get(PLATFORM_COOKIE))


def _login_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    auth = _auth(request)
    visitor = request.cookies.get(PLATFORM_COOKIE) or ""
    fresh = not visitor
    if fresh:
        visitor = secrets.token_urlsafe(32)
    response = page(
        request, "platform/login.html", None, {"login_csrf": auth.login_csrf(visitor), "error": error}, status_code
    )
    if fresh:
        auth.set_cookie(response, visitor)
    return response


@router.get("/platform", response_class=HTMLResponse)
async def load_page(request: Request) -> Response:
    admin = await _admin(request)
    if admin is None:
        return RedirectResponse("/platform/login", status_code=303)
    async with request.app.state.practice.sessions() as db:
        load = await PractitionerStore(db).load(request.app.state.practice.clock())
    return page(request, "platform/admin.html", None, {"load": load, "admin_csrf": admin.csrf})


@router.get("/platform/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    if await _admin(request) is not None:
        return RedirectResponse("/platform", status_code=303)
    return _login_page(request)


@router.post("/platform/login")
async def log_in(request: Request) -> Response:
    auth = _auth(request)
    form = await request.form()
    visitor, given = request.cookies.get(PLATFORM_COOKIE), form.get(CSRF_FIELD)
    if not (
        isinstance(visitor, str)
        and visitor
        and isinstance(given, str)
        and hmac.compare_digest(auth.login_csrf(visitor).encode(), given.encode())
    ):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    address = client_address(request)
    if auth.limiter.blocked(address):
        return _login_page(request, "dash-login-too-many", status_code=429)
    password = form.get("password")
    if not isinstance(password, str) or not auth.password_matches(password):
        auth.limiter.failed(address)
        return _login_page(request, "dash-login-wrong", status_code=401)
    sessions = request.app.state.practice.sessions
    await auth.end(sessions, visitor)  # whatever the cookie held before opens nothing afterwards
    token = await auth.start(sessions, None)  # the admin is no practitioner
    response = RedirectResponse("/platform", status_code=303)
    auth.set_cookie(response, token, max_age=SESSION_AGE)
    return response


@router.post("/platform/logout")
async def log_out(request: Request) -> Response:
    auth = _auth(request)
    admin = await _admin(request)
    if admin is None:
        return RedirectResponse("/platform/login", status_code=303)
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), admin.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    await auth.end(request.app.state.practice.sessions, request.cookies.get(PLATFORM_COOKIE))
    response = RedirectResponse("/platform/login", status_code=303)
    auth.clear_cookie(response)
    return response
