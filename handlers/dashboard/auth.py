"""The dashboard's login: one password, sessions in the database, CSRF tokens, a login rate limit.

The cookie (HttpOnly, SameSite=Strict, Secure behind https) carries a random token and nothing
else; the database keeps only its SHA-256 (table dashboard_sessions, storage/dashboard_sessions.py)
with the practitioner it logs in, the session's CSRF token and the flash of the last action. So a
restart or a second worker keeps her logged in, logging out deletes the row (the cookie, replayed,
opens nothing), and an expired row is refused.

Before the login there is no session: the same cookie then holds a random visitor token, and the
login form's CSRF token is an HMAC of it under a key derived from the password, so every worker
checks it alike and a cross-site page can neither read nor forge it.
"""

import hashlib
import hmac
import logging
import secrets
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import FormData

from storage.dashboard_sessions import PRACTITIONER, DashboardSessionStore

log = logging.getLogger("priem.dashboard")

SESSION_COOKIE = "priem_desk"
SESSION_AGE = timedelta(days=7)
# last_seen_at is written at most this often: the board polls every few seconds.
SEEN_EVERY = timedelta(minutes=1)
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
    id: int
    practitioner_id: int  # 0 on the platform admin's session: she is no practitioner
    csrf: str
    started_at: datetime
    flash: list[Flash] = field(default_factory=list)
    # The flash as the row held it when the request began: written back only when it changed.
    stored_flash: tuple[Flash, ...] = ()


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


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class DashboardAuth:
    # A practitioner's login. The platform admin's (handlers/platform_admin.py) is the same machinery
    # under another role: its own cookie, token hashes in a domain of their own, and session rows of
    # its own role (storage/dashboard_sessions.py), so neither cookie opens the other's pages even
    # when sent in the other's name.
    cookie = SESSION_COOKIE
    cookie_path = "/"
    role = b""
    session_role = PRACTITIONER
    login_label = b"priem dashboard login form\0"

    def __init__(self, password: str, clock: Callable[[], datetime], *, secure: bool = False) -> None:
        self._password = password.encode()
        self._login_key = hashlib.sha256(self.login_label + self._password).digest()
        self.clock = clock
        self.secure = secure  # the cookie only over https (PUBLIC_BASE_URL is https)
        self.limiter = LoginLimiter(clock)

    @classmethod
    def from_setting(
        cls, password: str | None, clock: Callable[[], datetime], *, secure: bool = False
    ) -> "DashboardAuth":
        if password:
            return cls(password, clock, secure=secure)
        made = secrets.token_urlsafe(12)
        # Logged once, here: the only place it is ever shown (never in a page, never stored).
        log.info("DASHBOARD_PASSWORD is not set; the dashboard password for this run is: %s", made)
        return cls(made, clock, secure=secure)

    def password_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self._password)

    def hash(self, token: str) -> str:
        return token_hash(token) if not self.role else hashlib.sha256(self.role + token.encode()).hexdigest()

    def login_csrf(self, visitor: str) -> str:
        return hmac.new(self._login_key, visitor.encode(), hashlib.sha256).hexdigest()

    async def start(self, sessions: async_sessionmaker[AsyncSession], practitioner_id: int | None) -> str:
        """A new session for her (None: the platform admin's); returns the token for the cookie
        (never stored as such)."""
        now = self.clock()
        token = secrets.token_urlsafe(32)
        async with sessions() as db:
            store = DashboardSessionStore(db, self.session_role)
            await store.purge_expired(now)
            await store.start(
                practitioner_id=practitioner_id,
                token_hash=self.hash(token),
                csrf=secrets.token_urlsafe(32),
                now=now,
                expires_at=now + SESSION_AGE,
            )
            await db.commit()
        return token

    async def find(self, sessions: async_sessionmaker[AsyncSession], token: object) -> DeskSession | None:
        if not isinstance(token, str) or not token:
            return None
        now = self.clock()
        async with sessions() as db:
            store = DashboardSessionStore(db, self.session_role)
            row = await store.find(self.hash(token), now)
            if row is None:
                return None
            if now - row.last_seen_at >= SEEN_EVERY:
                await store.seen(row.id, now)
                await db.commit()
            flash = tuple(Flash(str(f.get("text", "")), bool(f.get("error"))) for f in row.flash or [])
            return DeskSession(
                id=row.id,
                practitioner_id=row.practitioner_id or 0,
                csrf=row.csrf,
                started_at=row.created_at,
                flash=list(flash),
                stored_flash=flash,
            )

    async def keep_flash(self, sessions: async_sessionmaker[AsyncSession], session: DeskSession) -> None:
        if tuple(session.flash) == session.stored_flash:
            return
        async with sessions() as db:
            await DashboardSessionStore(db, self.session_role).set_flash(
                session.id, [{"text": f.text, "error": f.error} for f in session.flash]
            )
            await db.commit()

    async def end(self, sessions: async_sessionmaker[AsyncSession], token: object) -> None:
        if isinstance(token, str) and token:
            async with sessions() as db:
                await DashboardSessionStore(db, self.session_role).end(self.hash(token))
                await db.commit()

    def set_cookie(self, response: Response, token: str, *, max_age: timedelta | None = None) -> None:
        response.set_cookie(
            self.cookie,
            token,
            max_age=int(max_age.total_seconds()) if max_age else None,
            path=self.cookie_path,
            secure=self.secure,
            httponly=True,
            samesite="strict",
        )

    def clear_cookie(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.cookie_path, secure=self.secure, httponly=True, samesite="strict")


def get_auth(request: Request) -> DashboardAuth:
    return request.app.state.dashboard_auth


def database(request: Request) -> async_sessionmaker[AsyncSession]:
    return request.app.state.practice.sessions


async def _auth_dependency(request: Request) -> DashboardAuth:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    return get_auth(request)


AuthDep = Annotated[DashboardAuth, Depends(_auth_dependency)]


async def current(request: Request) -> DeskSession | None:
    if "desk_session" in request.state._state:  # looked up once per request (handlers/deps.py too)
        return request.state.desk_session
    session = await get_auth(request).find(database(request), request.cookies.get(SESSION_COOKIE))
    request.state.desk_session = session
    if session is not None:
        # Every dashboard page shows her settings as they stand now, whichever worker saved them.
        async with database(request)() as db:
            await request.app.state.practice.overrides.refresh(db, session.practitioner_id)
    return session


async def page_login(request: Request) -> AsyncIterator[DeskSession]:
    """Pages and form posts: without a session, off to /login (and back here afterwards). The
    flash an action leaves is stored before its redirect is sent, for the next page to show."""
    session = await current(request)
    if session is None:
        target = request.url.path if request.method == "GET" else "/desk"
        raise HTTPException(status_code=303, headers={"Location": f"/login?next={target}"})
    yield session
    await get_auth(request).keep_flash(database(request), session)


async def api_login(request: Request) -> DeskSession:
    session = await current(request)
    if session is None:
        raise HTTPException(status_code=401, detail="log in at /login first")
    return session


async def api_csrf(request: Request, session: Annotated[DeskSession, Depends(api_login)]) -> DeskSession:
    """JSON posts carry the session's token in a header: a cross-site page cannot set one."""
    if not hmac.compare_digest(request.headers.get(CSRF_HEADER, "").encode(), session.csrf.encode()):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token")
    return session


# scope="function": the flash is saved when the handler returns, before the response leaves.
PageSession = Annotated[DeskSession, Depends(page_login, scope="function")]
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
