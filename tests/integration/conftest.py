from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.engine import make_engine, session_factory, upgrade
from storage.uow import ensure_practitioner
from tests import database
from tests.factories import WORKING_TIME


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    async with database.database_for(tmp_path / "store.db") as url:
        engine = make_engine(url)
        await upgrade(engine)
        yield engine
        await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
async def practitioner(sessions: async_sessionmaker[AsyncSession]) -> int:
    return await ensure_practitioner(sessions, "default", "Практик", WORKING_TIME)
