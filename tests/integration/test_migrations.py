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


async def test_queued_rows_keep_their_lanes_when_her_actions_get_one(tmp_path: Path) -> None:
    """0014 puts ACTION between URGENT and REPLY: rows queued before it move down one, alerts stay."""
    from sqlalchemy import text

    from flows.model import Priority

    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'old.db'}")

    def to(revision: str):  # noqa: ANN202
        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    try:
        async with engine.begin() as connection:
            await connection.run_sync(to("0013"))
            await connection.execute(
                text("INSERT INTO practitioners (id, slug, name, created_at) VALUES (9, 'p9', 'P', '2026-12-07')")
            )
            for old in range(4):  # URGENT, REPLY, REMINDER, BULK as they were numbered
                await connection.execute(
                    text(
                        "INSERT INTO outbox (practitioner_id, channel, destination, priority, text, idempotency_key,"
                        " state, attempts, next_attempt_at, created_at)"
                        " VALUES (9, 'web', 'a', :p, 't', :k, 'pending', 0, '2026-12-07', '2026-12-07')"
                    ),
                    {"p": old, "k": f"k{old}"},
                )
            await connection.run_sync(to("0014"))
            rows = (await connection.execute(text("SELECT priority FROM outbox ORDER BY id"))).scalars().all()
    finally:
        await engine.dispose()
    assert rows == [Priority.URGENT, Priority.REPLY, Priority.REMINDER, Priority.BULK]
