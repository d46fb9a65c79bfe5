"""Engine creation and schema upgrades (Alembic, applied at start-up).

Two backends, one schema: SQLite (one process, the default) and PostgreSQL via asyncpg (several
worker processes). What differs between them is kept here, so repositories stay dialect-free.
"""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

ROOT = Path(__file__).resolve().parent.parent

# Any constant shared by every process of a deployment: the key of the advisory lock that lets
# only one of N starting workers run the migrations at a time (the others then find them done).
MIGRATION_LOCK = 0x7072_6965_6D00  # "priem\0"
# SQLite: how long a writer waits for another's lock; at start-up, for another worker's migration.
BUSY_TIMEOUT_MS = 5000
MIGRATION_WAIT_MS = 300_000

# PostgreSQL `text` cannot hold NUL (SQLite can): a client can send one, and the raw update must
# still be stored, so NUL becomes U+FFFD on the way in.
NUL, REPLACEMENT = "\x00", "\ufffd"


def make_engine(url: str, *, pool_size: int = 5, max_overflow: int = 5) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return _postgres_engine(url, pool_size, max_overflow)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer anyway, and colliding writers sleep in the busy
    # handler with 0.3-0.8 s tails (shared/PERF.md). FULL: a 2xx means the row survives power loss.
    engine = create_async_engine(url, pool_size=1, max_overflow=0)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _postgres_engine(url: str, pool_size: int, max_overflow: int) -> AsyncEngine:
    # Each worker process has its own pool: N workers hold up to N × (pool_size + max_overflow)
    # connections, well under PostgreSQL's default max_connections=100 for a handful of workers.
    # pool_pre_ping: a connection dropped by a PostgreSQL restart or an idle timeout is replaced
    # instead of failing the request that draws it; pool_recycle keeps clear of idle timeouts
    # of proxies such as PgBouncer.
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        # Fail a start-up against an unreachable server in seconds, not minutes.
        connect_args={"timeout": 10},
    )

    @event.listens_for(engine.sync_engine, "before_cursor_execute", retval=True)
    def _no_nul(
        _conn: object, _cursor: object, statement: str, parameters: Any, _context: object, executemany: bool
    ) -> tuple[str, Any]:
        if executemany and isinstance(parameters, Sequence):
            return statement, [_strip_nul(row) for row in parameters]
        return statement, _strip_nul(parameters)

    return engine


def _strip_nul(parameters: Any) -> Any:
    if isinstance(parameters, Mapping):
        if any(isinstance(v, str) and NUL in v for v in parameters.values()):
            return {k: _clean(v) for k, v in parameters.items()}
        return parameters
    if isinstance(parameters, tuple | list):
        if any(isinstance(v, str) and NUL in v for v in parameters):
            return type(parameters)(_clean(v) for v in parameters)
    return parameters


def _clean(value: Any) -> Any:
    return value.replace(NUL, REPLACEMENT) if isinstance(value, str) else value


def session_factory(engine: AsyncEngine) -> async_sessionmaker:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # N workers start at once: the first migrates, the others wait here, then find the
        # schema at head. Released with the transaction (DDL is transactional on PostgreSQL).
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    elif connection.dialect.name == "sqlite":
        # The driver opens no transaction before DDL, so Alembic's CREATE TABLEs would run one by
        # one, and two workers starting on a fresh file both create `practitioners` (the second
        # fails to start). BEGIN IMMEDIATE takes the write lock first: the second waits in the
        # busy handler, then finds the schema at head; the migration is also all-or-nothing.
        # A long migration of a big file (a recount) holds the lock for more than the usual 5 s.
        connection.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATION_WAIT_MS}")
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema to the newest migration on the service's own connection."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            await connection.exec_driver_sql(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
