"""Where the desk, her command shell and the dashboard get the settings in force.

Each unit of work starts with `refresh`: one indexed read of the settings row's version. Only
when it moved (a save on this worker or any other) is the document read, validated and laid over
catalogue.toml again; otherwise the last one built is reused. So a saved change reaches the very
next message on every worker, and no worker re-parses anything per message.
"""

import logging
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.overrides.document import PracticeDocument
from bot.overrides.effective import effective_catalogue, effective_texts
from bot.texts import Texts
from flows.catalogue import Catalogue
from storage.practice_settings import PracticeSettingsRepo

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Effective:
    version: int  # 0: nothing saved, the file's defaults
    catalogue: Catalogue
    texts: Texts
    document: PracticeDocument = field(default_factory=PracticeDocument)


class SettingsSource:
    def __init__(self, catalogue: Catalogue, texts: Texts) -> None:
        self.defaults = Effective(0, catalogue, texts)
        self._latest: dict[int, Effective] = {}  # per practitioner: the newest version built

    def current(self, practitioner_id: int) -> Effective:
        """What the last refresh found (the defaults before any)."""
        return self._latest.get(practitioner_id, self.defaults)

    async def refresh(self, session: AsyncSession, practitioner_id: int) -> Effective:
        repo = PracticeSettingsRepo(session, practitioner_id)
        known = self.current(practitioner_id)
        if await repo.version() == known.version:
            return known
        version, raw = await repo.load()
        latest = self.current(practitioner_id)
        if version <= latest.version:  # two refreshes raced: the newer version stays
            return latest
        built = self.build(version, raw)
        self._latest[practitioner_id] = built
        return built

    def build(self, version: int, raw: dict[str, Any]) -> Effective:
        try:
            document = PracticeDocument.model_validate(raw)
        except ValidationError:
            # A row no longer valid (a rule tightened since she saved it) must not stop a single
            # conversation: the file's defaults hold until she saves the page again.
            log.error("stored practice settings v%s are invalid; catalogue.toml applies", version, exc_info=True)
            document = PracticeDocument()
        base = self.defaults
        return Effective(
            version=version,
            catalogue=effective_catalogue(base.catalogue, document),
            texts=effective_texts(base.texts, document),
            document=document,
        )
