"""GET/POST /login and POST /logout."""

import hmac
import secrets

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from handlers.dashboard.auth import (
    CSRF_FIELD,
    AuthDep,
    PageSession,
    checked_form,
    client_address,
    current,
    safe_next,
)
from handlers.dashboard.render import page

router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _login_token(request: Request) -> str:
    """The login form's CSRF token, kept in the (signed) cookie before there is a session."""
    token = request.session.get("login_csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["login_csrf"] = token
    return token


def _login_page(request: Request, next_path: str, error: str | None = None, status_code: int = 200) -> Response:
    return page(
        request,
        "dashboard/login.html",
        None,
        {"login_csrf": _login_token(request), "next": next_path, "error": error},
        status_code=status_code,
    )


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str = "/desk") -> Response:  # noqa: A002 (the query name)
    if current(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_page(request, safe_next(next))


@router.post("/login")
async def log_in(request: Request, auth: AuthDep) -> Response:
    form = await request.form()
    token = request.session.get("login_csrf")
    given = form.get(CSRF_FIELD)
    if not (isinstance(token, str) and isinstance(given, str) and hmac.compare_digest(token.encode(), given.encode())):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    target = safe_next(form.get("next"))
    address = client_address(request)
    if auth.limiter.blocked(address):
        return _login_page(request, target, "dash-login-too-many", status_code=429)
    password = form.get("password")
    if not isinstance(password, str) or not auth.password_matches(password):
        auth.limiter.failed(address)
        return _login_page(request, target, "dash-login-wrong", status_code=401)
    auth.end(request.session.get("sid"))
    request.session.clear()  # a new session id at login: nothing from before carries over
    sid, _ = auth.start()
    request.session["sid"] = sid
    return RedirectResponse(target, status_code=303)


@router.post("/logout")
async def log_out(request: Request, session: PageSession, auth: AuthDep) -> Response:
    await checked_form(request, session.csrf)
    auth.end(request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)
