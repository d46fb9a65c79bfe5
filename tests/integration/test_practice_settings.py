"""Her settings row and dashboard sessions on a real database, with two practitioners."""

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.overrides.document import HoursDoc, PracticeDocument, TextDoc
from bot.overrides.source import SettingsSource
from bot.texts import Texts
from storage.dashboard_sessions import DashboardSessionStore
from storage.practice_settings import PracticeSettingsRepo
from storage.uow import ensure_practitioner
from tests.factories import WORKING_TIME, catalogue

NOW = WORKING_TIME
ROOT = Path(__file__).resolve().parents[2]
TEXTS = Texts(ROOT / "locales")
LATE = PracticeDocument(hours=HoursDoc(days=[1], start="18:00", end="22:00"), texts={"discount": TextDoc(ru="Нет.")})


@pytest.fixture
async def second(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await ensure_practitioner(sessions, "second", "Вторая", NOW)


async def save(sessions: async_sessionmaker[AsyncSession], practitioner: int, document: dict) -> int:
    async with sessions() as session:
        version = await PracticeSettingsRepo(session, practitioner).save(document, NOW)
        await session.commit()
        return version


async def refreshed(source: SettingsSource, sessions: async_sessionmaker[AsyncSession], practitioner: int):  # noqa: ANN201
    async with sessions() as session:
        return await source.refresh(session, practitioner)


async def test_each_practitioner_has_her_own_settings(
    sessions: async_sessionmaker[AsyncSession], practitioner: int, second: int
) -> None:
    source = SettingsSource(catalogue(), TEXTS)
    assert await save(sessions, practitioner, LATE.stored()) == 1
    mine, hers = await refreshed(source, sessions, practitioner), await refreshed(source, sessions, second)
    assert mine.version == 1 and mine.catalogue.hours.start.hour == 18
    assert mine.texts.text("discount", {}, "ru", "UTC") == "Нет."
    assert hers is source.defaults and hers.catalogue.hours.start.hour == 10
    async with sessions() as session:
        assert await PracticeSettingsRepo(session, second).version() == 0
        assert await PracticeSettingsRepo(session, second).load() == (0, {})
    with pytest.raises(ValueError):
        PracticeSettingsRepo(None, 0)  # type: ignore[arg-type]  # no practitioner, no repository


async def test_the_cache_is_rebuilt_only_when_the_version_moves(
    sessions: async_sessionmaker[AsyncSession], practitioner: int
) -> None:
    source = SettingsSource(catalogue(), TEXTS)
    first = await refreshed(source, sessions, practitioner)
    assert first is source.defaults and await refreshed(source, sessions, practitioner) is first
    await save(sessions, practitioner, LATE.stored())
    built = await refreshed(source, sessions, practitioner)
    assert built.version == 1 and await refreshed(source, sessions, practitioner) is built  # reused, not re-parsed
    assert source.current(practitioner) is built
    # Another worker's save: this cache sees version 2 on its next unit of work.
    await save(sessions, practitioner, PracticeDocument().stored())
    again = await refreshed(source, sessions, practitioner)
    assert again.version == 2 and again.catalogue == source.defaults.catalogue


async def test_an_unreadable_row_leaves_the_file_in_charge(
    sessions: async_sessionmaker[AsyncSession], practitioner: int, caplog: pytest.LogCaptureFixture
) -> None:
    await save(sessions, practitioner, {"hours": {"days": [], "start": "nine", "end": "10:00"}, "extra": 1})
    source = SettingsSource(catalogue(), TEXTS)
    with caplog.at_level(logging.ERROR):
        effective = await refreshed(source, sessions, practitioner)
    assert effective.version == 1 and effective.catalogue == source.defaults.catalogue
    assert "invalid" in caplog.text


async def test_dashboard_sessions_expire_and_end(
    sessions: async_sessionmaker[AsyncSession], practitioner: int, second: int
) -> None:
    async with sessions() as session:
        store = DashboardSessionStore(session)
        await store.start(
            practitioner_id=practitioner, token_hash="a" * 64, csrf="c1", now=NOW, expires_at=NOW + timedelta(days=7)
        )
        await store.start(
            practitioner_id=second, token_hash="b" * 64, csrf="c2", now=NOW, expires_at=NOW + timedelta(hours=1)
        )
        with pytest.raises(ValueError):
            await store.start(practitioner_id=0, token_hash="c" * 64, csrf="c3", now=NOW, expires_at=NOW)
        await session.commit()
    async with sessions() as session:
        store = DashboardSessionStore(session)
        found = await store.find("b" * 64, NOW)
        assert found is not None and found.practitioner_id == second  # the row says whose dashboard
        later = NOW + timedelta(hours=2)
        assert await store.find("b" * 64, later) is None  # expired: refused
        await store.purge_expired(later)
        await store.end("a" * 64)
        await session.commit()
    async with sessions() as session:
        store = DashboardSessionStore(session)
        assert await store.find("a" * 64, NOW) is None and await store.find("b" * 64, NOW) is None
