"""GET/POST /login and POST /logout."""

import asyncio
import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from handlers.dashboard.auth import (
    CSRF_FIELD,
    SESSION_AGE,
    SESSION_COOKIE,
    AuthDep,
    PageSession,
    checked_form,
    client_address,
    current,
    database,
    safe_next,
)
from handlers.dashboard.render import page
from storage.platform import dummy_hash, password_matches

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _login_page(request: Request, next_path: str, error: str | None = None, status_code: int = 200) -> Response:
    """The form, its CSRF token bound to this browser's cookie (a visitor token made here if
    the browser has none yet)."""
    auth = request.app.state.dashboard_auth
    visitor = request.cookies.get(SESSION_COOKIE) or ""
    fresh = not visitor
    if fresh:
        visitor = secrets.token_urlsafe(32)
    response = page(
        request,
        "dashboard/login.html",
        None,
        {
            "login_csrf": auth.login_csrf(visitor),
            "next": next_path,
            "error": error,
            "many": request.app.state.platform.many,  # several practitioners: she names herself
        },
        status_code=status_code,
    )
    if fresh:
        auth.set_cookie(response, visitor)
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/desk") -> Response:  # noqa: A002 (the query name)
    if await current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
async def log_in(request: Request, auth: AuthDep) -> Response:
    form = await request.form()
    visitor = request.cookies.get(SESSION_COOKIE)
    given = form.get(CSRF_FIELD)
    if not (
        isinstance(visitor, str)
        and visitor
        and isinstance(given, str)
        and hmac.compare_digest(auth.login_csrf(visitor).encode(), given.encode())
    ):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    target = safe_next(form.get("next"))
    address = client_address(request)
    if auth.limiter.blocked(address):
        return _login_page(request, target, "dash-login-too-many", status_code=429)
    password = form.get("password")
    practitioner_id = request.app.state.practice.practitioner_id
    slug = form.get("practitioner")
    if isinstance(slug, str) and slug.strip() and slug.strip() != "default":
        # Another practitioner (bot/platform/tenants.py): her slug and her own password, into her data only.
        tenant = await request.app.state.platform.by_slug(slug.strip()[:64])
        # scrypt takes ~50 ms of CPU: in a thread, so webhooks and pages are not held up by
        # wrong guesses; against a dummy hash for a name that does not exist, so the answer's
        # timing does not tell which names do.
        stored = tenant.password_hash if tenant is not None else None
        matches = isinstance(password, str) and await asyncio.to_thread(
            password_matches, stored or dummy_hash(), password
        )
        if tenant is None or not stored or not matches:
            auth.limiter.failed(address)
            return _login_page(request, target, "dash-login-wrong", status_code=401)
        practitioner_id = tenant.practitioner_id
    elif not isinstance(password, str) or not auth.password_matches(password):
        auth.limiter.failed(address)
        return _login_page(request, target, "dash-login-wrong", status_code=401)
    # A new token at login: whatever the cookie held before (a visitor token, an old session)
    # opens nothing afterwards.
    sessions = database(request)
    await auth.end(sessions, visitor)
    token = await auth.start(sessions, practitioner_id)
    response = RedirectResponse(target, status_code=303)
    auth.set_cookie(response, token, max_age=SESSION_AGE)
    return response


@router.post("/logout")
async def log_out(request: Request, session: PageSession, auth: AuthDep) -> Response:
    await checked_form(request, session.csrf)
    await auth.end(database(request), request.cookies.get(SESSION_COOKIE))
    session.flash.clear()  # nothing left to show: the row is gone
    response = RedirectResponse("/login", status_code=303)
    auth.clear_cookie(response)
    return response
