"""Dashboard sessions have a role (storage/dashboard_sessions.py): the platform admin's session
names no practitioner, and each login finds only sessions of its own role, so the admin's session
is never #1's, nor #1's the admin's, even where their token hashes would agree."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from handlers.dashboard.auth import SESSION_COOKIE
from handlers.platform_admin import PLATFORM_COOKIE, PlatformAuth
from storage.dashboard_sessions import ADMIN, PRACTITIONER, DashboardSessionStore
from storage.models import DashboardSession
from tests.e2e.dashboard_login import PASSWORD
from tests.platform.test_platform_admin import admin_log_in, admin_password  # noqa: F401 (autouse fixture)
from tests.platform.test_two_practitioners import http, log_in_as, two  # noqa: F401 (fixtures)

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


async def rows(app: FastAPI) -> list[tuple[str, int | None]]:
    async with app.state.desk.sessions() as session:
        found = await session.execute(select(DashboardSession.role, DashboardSession.practitioner_id))
        return sorted(((role, pid) for role, pid in found), key=str)


async def test_the_admins_session_row_names_no_practitioner(
    two: FastAPI,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    assert (await admin_log_in(http)).status_code == 303
    assert await rows(two) == [(ADMIN, None)]
    http.cookies.clear()
    assert await log_in_as(http, "", PASSWORD) == 303
    assert await rows(two) == [(ADMIN, None), (PRACTITIONER, 1)]


@pytest.fixture
def one_hash_domain(monkeypatch: pytest.MonkeyPatch) -> None:
    """The admin's token hashes as a practitioner's: only the sessions' role keeps them apart."""
    monkeypatch.setattr(PlatformAuth, "role", b"")


async def test_1s_dashboard_refuses_the_admins_session(
    one_hash_domain: None,
    two: FastAPI,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    assert (await admin_log_in(http)).status_code == 303
    assert (await http.get("/platform")).status_code == 200
    http.cookies.set(SESSION_COOKIE, http.cookies[PLATFORM_COOKIE])  # the admin's token as #1's cookie
    assert (await http.get("/desk/api/state")).status_code == 401
    refused = await http.get("/desk")
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")


async def test_the_platform_page_refuses_1s_session(
    one_hash_domain: None,
    two: FastAPI,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
) -> None:
    assert await log_in_as(http, "", PASSWORD) == 303
    assert (await http.get("/desk/api/state")).status_code == 200
    token = next(c.value for c in http.cookies.jar if c.name == SESSION_COOKIE)
    http.cookies.set(PLATFORM_COOKIE, token)  # #1's token as the admin's cookie
    refused = await http.get("/platform")
    assert refused.status_code == 303 and refused.headers["location"] == "/platform/login"
    # Nor does the admin's logout end her session.
    assert (await http.post("/platform/logout", data={"csrf_token": "x"})).status_code == 303
    assert (await http.get("/desk/api/state")).status_code == 200


async def test_the_store_keeps_the_roles_apart(two: FastAPI) -> None:  # noqa: F811
    sessions = two.state.desk.sessions
    later = NOW + timedelta(days=1)
    async with sessions() as db:
        await DashboardSessionStore(db, ADMIN).start(
            practitioner_id=None, token_hash="a" * 64, csrf="c", now=NOW, expires_at=later
        )
        await DashboardSessionStore(db).start(
            practitioner_id=1, token_hash="b" * 64, csrf="c", now=NOW, expires_at=later
        )
        with pytest.raises(ValueError):
            await DashboardSessionStore(db, ADMIN).start(
                practitioner_id=1, token_hash="c" * 64, csrf="c", now=NOW, expires_at=later
            )
        with pytest.raises(ValueError):
            await DashboardSessionStore(db).start(
                practitioner_id=None, token_hash="c" * 64, csrf="c", now=NOW, expires_at=later
            )
        with pytest.raises(ValueError):
            DashboardSessionStore(db, "owner")
        await db.commit()
    async with sessions() as db:
        admin, practitioner = DashboardSessionStore(db, ADMIN), DashboardSessionStore(db)
        assert await practitioner.find("a" * 64, NOW) is None and await admin.find("b" * 64, NOW) is None
        found = await admin.find("a" * 64, NOW)
        assert found is not None and found.practitioner_id is None
        await practitioner.end("a" * 64)  # the other role's row: left alone
        await admin.end("b" * 64)
        await db.commit()
    async with sessions() as db:
        assert await DashboardSessionStore(db, ADMIN).find("a" * 64, NOW) is not None
        assert await DashboardSessionStore(db).find("b" * 64, NOW) is not None


@pytest.mark.parametrize("role, practitioner_id", [(ADMIN, 1), (PRACTITIONER, None)])
async def test_the_table_refuses_a_row_whose_role_and_practitioner_disagree(
    two: FastAPI,  # noqa: F811
    role: str,
    practitioner_id: int | None,
) -> None:
    async with two.state.desk.sessions() as db:
        db.add(
            DashboardSession(
                role=role, practitioner_id=practitioner_id, token_hash="d" * 64, csrf="c",
                created_at=NOW, last_seen_at=NOW, expires_at=NOW,
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            await db.flush()
