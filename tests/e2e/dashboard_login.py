"""Logging a test's HTTP client into the dashboard, the way the login form does it."""

import re

import httpx

from handlers.dashboard.auth import CSRF_HEADER, SESSION_COOKIE

# tests/conftest.py sets DASHBOARD_PASSWORD to this for every app a test builds.
PASSWORD = "test-dashboard-password"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _TOKEN.search(html)
    assert found is not None, "no CSRF token in the page"
    return found[1]


def _keep_secure_cookie(http: httpx.AsyncClient, response: httpx.Response) -> None:
    """An app with an https PUBLIC_BASE_URL marks the cookie Secure, which httpx keeps off this
    plain-http test transport (a browser behind TLS would send it): keep it as a plain cookie."""
    if "secure" in response.headers.get("set-cookie", "").lower():
        http.cookies.set(SESSION_COOKIE, response.cookies[SESSION_COOKIE])


async def log_in(http: httpx.AsyncClient, password: str = PASSWORD) -> str:
    """Logs in; returns the session's CSRF token, also set as the header JSON posts need."""
    form = await http.get("/login")
    _keep_secure_cookie(http, form)
    response = await http.post(
        "/login", data={"csrf_token": csrf_of(form.text), "password": password, "next": "/desk"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/desk", response.text
    _keep_secure_cookie(http, response)
    board = await http.get("/desk")
    assert board.status_code == 200
    token = csrf_of(board.text)
    http.headers[CSRF_HEADER] = token
    return token
