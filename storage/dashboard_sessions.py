"""Dashboard logins (table dashboard_sessions), shared by every worker.

A browser's cookie is all a request has to say whose dashboard it is: looking a session up by its
token hash is therefore the one read here not narrowed to a practitioner beforehand; the row it
finds names her, and everything the request then reads is scoped to that practitioner. Creating a
session needs her id.

Every row has a role: a practitioner's names her, the platform admin's names nobody. Each lookup
asks for one role, so an admin's session is never taken for a practitioner's, nor the reverse.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DashboardSession

PRACTITIONER = "practitioner"
ADMIN = "admin"  # the platform admin (handlers/platform_admin.py)


class DashboardSessionStore:
    def __init__(self, session: AsyncSession, role: str = PRACTITIONER) -> None:
        if role not in (PRACTITIONER, ADMIN):
            raise ValueError(f"no such dashboard role: {role!r}")
        self.session = session
        self.role = role

    async def start(
        self, *, practitioner_id: int | None, token_hash: str, csrf: str, now: datetime, expires_at: datetime
    ) -> DashboardSession:
        if self.role == ADMIN:
            if practitioner_id is not None:
                raise ValueError("the platform admin's session belongs to no practitioner")
        elif isinstance(practitioner_id, bool) or not isinstance(practitioner_id, int) or practitioner_id <= 0:
            raise ValueError("a dashboard session belongs to a practitioner")
        row = DashboardSession(
            role=self.role,
            practitioner_id=practitioner_id,
            token_hash=token_hash,
            csrf=csrf,
            flash=None,
            created_at=now,
            last_seen_at=now,
            expires_at=expires_at,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def find(self, token_hash: str, now: datetime) -> DashboardSession | None:
        """The live session behind a cookie; an expired one is as good as none."""
        return await self.session.scalar(
            select(DashboardSession).where(
                DashboardSession.token_hash == token_hash,
                DashboardSession.role == self.role,
                DashboardSession.expires_at > now,
            )
        )

    async def seen(self, session_id: int, now: datetime) -> None:
        await self.session.execute(
            update(DashboardSession).where(DashboardSession.id == session_id).values(last_seen_at=now)
        )

    async def set_flash(self, session_id: int, flash: list[dict[str, Any]] | None) -> None:
        await self.session.execute(
            update(DashboardSession).where(DashboardSession.id == session_id).values(flash=flash or None)
        )

    async def end(self, token_hash: str) -> None:
        await self.session.execute(
            delete(DashboardSession).where(
                DashboardSession.token_hash == token_hash, DashboardSession.role == self.role
            )
        )

    async def purge_expired(self, now: datetime) -> None:
        await self.session.execute(delete(DashboardSession).where(DashboardSession.expires_at <= now))
