"""Her settings document (table practice_settings): one row per practitioner, a version per save."""

from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.models import PracticeSettings
from storage.scoped import Scoped


class PracticeSettingsRepo(Scoped):
    async def version(self) -> int:
        """0 while she has saved nothing: the file's defaults hold."""
        found = await self.session.scalar(
            select(PracticeSettings.version).where(PracticeSettings.practitioner_id == self.pid)
        )
        return int(found or 0)

    async def load(self, *, for_update: bool = False) -> tuple[int, dict[str, Any]]:
        """(version, document); for_update locks the row until the commit, so two saves of
        different sections at once both survive (PostgreSQL; SQLite has one writer anyway)."""
        query = select(PracticeSettings).where(PracticeSettings.practitioner_id == self.pid)
        row = await self.session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            return 0, {}
        return row.version, dict(row.document)

    async def save(self, document: dict[str, Any], now: datetime) -> int:
        """Store the whole document; returns its new version. A first save racing another one
        fails on the unique practitioner_id: the caller's transaction is rolled back, nothing half-saved."""
        row = await self.session.scalar(
            select(PracticeSettings).where(PracticeSettings.practitioner_id == self.pid).with_for_update()
        )
        if row is None:
            row = PracticeSettings(practitioner_id=self.pid, document=document, version=1, updated_at=now)
            self.session.add(row)
        else:
            row.document = document
            row.version += 1
            row.updated_at = now
        await self.session.flush()
        return row.version
