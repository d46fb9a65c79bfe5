"""Where the desk, her command shell and the dashboard get the settings in force.

Each unit of work starts with `refresh`: one indexed read of the settings row's version. Only
when it moved (a save on this worker or any other) is the document read, validated and laid over
catalogue.toml again; otherwise the last one built is reused. So a saved change reaches the very
next message on every worker, and no worker re-parses anything per message.

On a many-practitioner deployment a practitioner may have her own catalogue in place of the
deployment's file (`main.py practitioner add|set --catalogue`): bot/platform/tenants.py hands it over with
`set_base`, and her settings are laid over it instead.
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
        self.defaults = Effective(0, catalogue, texts)  # the deployment's catalogue.toml
        self._bases: dict[int, Effective] = {}  # per practitioner with a catalogue of her own
        self._latest: dict[int, Effective] = {}  # per practitioner: the newest version built

    def base(self, practitioner_id: int) -> Effective:
        """Her defaults: her own catalogue, or the deployment's file."""
        return self._bases.get(practitioner_id, self.defaults)

    def set_base(self, practitioner_id: int, catalogue: Catalogue | None) -> None:
        """Her own catalogue from now on (None: the deployment's again); the settings she saved
        are laid over it at once, with no read of the database."""
        if catalogue is None:
            self._bases.pop(practitioner_id, None)
        else:
            self._bases[practitioner_id] = Effective(0, catalogue, self.defaults.texts)
        known = self._latest.get(practitioner_id)
        if known is not None:
            self._latest[practitioner_id] = self._laid(practitioner_id, known.version, known.document)

    def current(self, practitioner_id: int) -> Effective:
        """What the last refresh found (her defaults before any)."""
        return self._latest.get(practitioner_id) or self.base(practitioner_id)

    async def refresh(self, session: AsyncSession, practitioner_id: int) -> Effective:
        repo = PracticeSettingsRepo(session, practitioner_id)
        known = self.current(practitioner_id)
        if await repo.version() == known.version:
            return known
        version, raw = await repo.load()
        latest = self.current(practitioner_id)
        if version <= latest.version:  # two refreshes raced: the newer version stays
            return latest
        built = self.build(version, raw, practitioner_id)
        self._latest[practitioner_id] = built
        return built

    def build(self, version: int, raw: dict[str, Any], practitioner_id: int = 0) -> Effective:
        try:
            document = PracticeDocument.model_validate(raw)
        except ValidationError:
            # A row no longer valid (a rule tightened since she saved it) must not stop a single
            # conversation: the file's defaults hold until she saves the page again.
            log.error("stored practice settings v%s are invalid; catalogue.toml applies", version, exc_info=True)
            document = PracticeDocument()
        return self._laid(practitioner_id, version, document)

    def _laid(self, practitioner_id: int, version: int, document: PracticeDocument) -> Effective:
        base = self.base(practitioner_id)
        return Effective(
            version=version,
            catalogue=effective_catalogue(base.catalogue, document),
            texts=effective_texts(base.texts, document),
            document=document,
        )
