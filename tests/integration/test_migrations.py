"""The Alembic migrations and the models describe one schema, and every revision steps back.

Several people add tables at once; a model changed without its migration (or the reverse) would
work in tests that create tables one way and fail on a deployed database made the other way.
"""

import asyncio
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import alembic_config, make_engine, upgrade
from storage.models import Base


def _differences(connection: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def test_the_migrated_schema_is_the_models_schema(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


async def test_every_revision_downgrades_and_upgrades_again(engine: AsyncEngine) -> None:
    def down_to_base(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "base")

    async with engine.begin() as connection:
        await connection.run_sync(down_to_base)
    await upgrade(engine)
    async with engine.connect() as connection:
        assert await connection.run_sync(_differences) == []


# One worker process starting: migrate the file named on the command line, as main.py does.
START_ONE = """
import asyncio, sys
from storage.engine import make_engine, upgrade

async def main() -> None:
    engine = make_engine(sys.argv[1])
    await upgrade(engine)
    await engine.dispose()

asyncio.run(main())
"""


async def test_workers_starting_at_once_on_a_fresh_sqlite_file_migrate_it_once(tmp_path: Path) -> None:
    """`uvicorn --workers 3` on a new SQLite file: each worker migrates at start-up. Without a
    lock over the whole migration the second created `practitioners` again and failed to start."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'priem.db'}"
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", START_ONE, url, stderr=asyncio.subprocess.PIPE, cwd=Path(__file__).parents[2]
        )
        for _ in range(3)
    ]
    errors = [(await worker.communicate())[1].decode() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0, 0], errors
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(_differences) == []
    finally:
        await engine.dispose()
