"""The dashboard's login: one password, server-side sessions, CSRF tokens, a login rate limit.

The cookie (Starlette's signed SessionMiddleware cookie: HttpOnly, SameSite=Strict, Secure behind
https) carries only a random session id; the session itself (its CSRF token, the flash of the last
action) lives here in memory, so logging out really ends it and a long command answer never has to
fit into a cookie. A restart logs her out: the signing key is made fresh at every start.
"""

import hmac
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from starlette.datastructures import FormData

log = logging.getLogger("priem.dashboard")

SESSION_COOKIE = "priem_desk"
SESSION_AGE = timedelta(days=7)
# Failed logins one address may make in the window before even the right password is refused
# for the rest of it: the password cannot be guessed faster than this.
LOGIN_FAILURES = 5
LOGIN_WINDOW = timedelta(minutes=10)
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class Flash:
    text: str
    error: bool = False


@dataclass
class DeskSession:
    csrf: str
    started_at: datetime
    flash: list[Flash] = field(default_factory=list)


class LoginLimiter:
    """A sliding window of failed logins per client address, on the app's clock (testable)."""

    def __init__(self, clock: Callable[[], datetime], failures: int = LOGIN_FAILURES, window: timedelta = LOGIN_WINDOW):
        self.clock = clock
        self.failures = failures
        self.window = window
        self._seen: dict[str, deque[datetime]] = {}

    def _recent(self, address: str) -> deque[datetime]:
        times = self._seen.setdefault(address, deque())
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._seen[address]  # the table holds only addresses that failed lately
            return deque()
        return times

    def blocked(self, address: str) -> bool:
        return len(self._recent(address)) >= self.failures

    def failed(self, address: str) -> None:
        self._recent(address)
        self._seen.setdefault(address, deque()).append(self.clock())


class DashboardAuth:
    def __init__(self, password: str, clock: Callable[[], datetime]) -> None:
        self._password = password.encode()
        self.clock = clock
        self.limiter = LoginLimiter(clock)
        self.sessions: dict[str, DeskSession] = {}

    @classmethod
    def from_setting(cls, password: str | None, clock: Callable[[], datetime]) -> "DashboardAuth":
        if password:
            return cls(password, clock)
        made = secrets.token_urlsafe(12)
        # Logged once, here: the only place it is ever shown (never in a page, never stored).
        log.info("DASHBOARD_PASSWORD is not set; the dashboard password for this run is: %s", made)
        return cls(made, clock)

    def password_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._password)

    def start(self) -> tuple[str, DeskSession]:
        self._forget_expired()
        sid = secrets.token_urlsafe(32)
        session = DeskSession(csrf=secrets.token_urlsafe(32), started_at=self.clock())
        self.sessions[sid] = session
        return sid, session

    def find(self, sid: object) -> DeskSession | None:
        if not isinstance(sid, str):
            return None
        session = self.sessions.get(sid)
        if session is None or self.clock() - session.started_at > SESSION_AGE:
            return None
        return session

    def end(self, sid: object) -> None:
        if isinstance(sid, str):
            self.sessions.pop(sid, None)

    def _forget_expired(self) -> None:
        now = self.clock()
        for sid in [s for s, v in self.sessions.items() if now - v.started_at > SESSION_AGE]:
            del self.sessions[sid]


def get_auth(request: Request) -> DashboardAuth:
    return request.app.state.dashboard_auth


AuthDep = Annotated[DashboardAuth, Depends(get_auth)]


def current(request: Request) -> DeskSession | None:
    return get_auth(request).find(request.session.get("sid"))


def page_login(request: Request) -> DeskSession:
    """Pages and form posts: without a session, off to /login (and back here afterwards)."""
    session = current(request)
    if session is None:
        target = request.url.path if request.method == "GET" else "/desk"
        raise HTTPException(status_code=303, headers={"Location": f"/login?next={target}"})
    return session


def api_login(request: Request) -> DeskSession:
    session = current(request)
    if session is None:
        raise HTTPException(status_code=401, detail="log in at /login first")
    return session


def api_csrf(request: Request, session: Annotated[DeskSession, Depends(api_login)]) -> DeskSession:
    """JSON posts carry the session's token in a header: a cross-site page cannot set one."""
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return session


PageSession = Annotated[DeskSession, Depends(page_login)]
ApiSession = Annotated[DeskSession, Depends(api_login)]
ApiPostSession = Annotated[DeskSession, Depends(api_csrf)]


async def checked_form(request: Request, expected: str) -> FormData:
    """The posted form, once its hidden CSRF token matched the session's; else a 403."""
    form = await request.form()
    given = form.get(CSRF_FIELD)
    if not isinstance(given, str) or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return form


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def safe_next(value: Any) -> str:
    """Only a local dashboard path: never an open redirect to another site."""
    if isinstance(value, str) and value.startswith("/desk") and "//" not in value and "\\" not in value:
        return value
    return "/desk"
