"""Which database the suite runs on: SQLite files always, PostgreSQL on request.

Either way a test's database starts migrated from a template made once per session: on SQLite
the template file is copied (a copy takes ~1 ms, an Alembic run on a fresh file ~200-400 ms, and
the app's own upgrade at start-up then finds the schema at head).

`PRIEM_TEST_DATABASE=postgres` (or `pytest --database=postgres`) points every database fixture
at a fresh PostgreSQL database per test, cloned from a template migrated once per session
(CREATE DATABASE … TEMPLATE takes ~20 ms, an Alembic run from scratch takes far longer). The
server is PRIEM_TEST_POSTGRES_URL, by default the local one CI has: postgres@127.0.0.1:5432/test.
"""

import asyncio
import contextlib
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy.engine import URL, make_url

ADMIN_URL = os.environ.get("PRIEM_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
BACKENDS = ("sqlite", "postgres")

_backend = os.environ.get("PRIEM_TEST_DATABASE", "sqlite")
_template: str | None = None
_counter = itertools.count()
# db_path → the PostgreSQL URL standing in for it, so helpers that take a db_path still work.
_registered: dict[Path, str] = {}
# The session's migrated SQLite file (see database_for), made on first use.
_sqlite_template: Path | None = None
# Made by open_now at import: dropped by close_now, or at the session's end if the module never ran.
_opened_now: set[Path] = set()


def backend() -> str:
    return _backend


def on_postgres() -> bool:
    return _backend == "postgres"


def use(name: str) -> None:
    global _backend
    if name not in BACKENDS:
        raise ValueError(f"unknown test database {name!r}; use one of {BACKENDS}")
    _backend = name


def _admin() -> URL:
    return make_url(ADMIN_URL).set(drivername="postgresql+asyncpg")


def _url_of(database: str) -> str:
    return _admin().set(database=database).render_as_string(hide_password=False)


async def _connect(database: str | None = None, timeout: float = 5.0):  # noqa: ANN202
    import asyncpg  # the `postgres` extra; only needed when PostgreSQL is asked for

    url = _admin()
    return await asyncpg.connect(
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        database=database or url.database or "postgres",
        timeout=timeout,
    )


async def reachable(timeout: float = 2.0) -> bool:
    """True when the PostgreSQL server answers (and asyncpg is installed)."""
    try:
        connection = await _connect(timeout=timeout)
    except Exception:
        return False
    await connection.close()
    return True


def reachable_now(timeout: float = 2.0) -> bool:
    """reachable(), from synchronous code with no loop running (collection, skip markers)."""
    return asyncio.run(reachable(timeout))


async def _drop(connection, name: str) -> None:  # noqa: ANN001
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def prepare_template() -> str:
    """Create and migrate the session's template database once (no event loop running yet)."""
    return asyncio.run(_ensure_template())


async def _ensure_template() -> str:
    global _template
    if _template is None:
        name = f"priem_tpl_{os.getpid()}"
        await _create_template(name)
        _template = name
    return _template


async def _create_template(name: str) -> None:
    from storage.engine import make_engine, upgrade

    connection = await _connect()
    try:
        await _drop(connection, name)
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    engine = make_engine(_url_of(name))
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()  # a template must have no connections when it is copied


async def _ensure_sqlite_template() -> Path:
    global _sqlite_template
    if _sqlite_template is None:
        from storage.engine import make_engine, upgrade

        path = Path(tempfile.mkdtemp(prefix="priem-template-")) / "template.db"
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()  # the last connection checkpoints the WAL into the file
        _sqlite_template = path
    return _sqlite_template


def drop_template() -> None:
    global _template, _sqlite_template
    if _sqlite_template is not None:
        shutil.rmtree(_sqlite_template.parent, ignore_errors=True)
        _sqlite_template = None
    for path in list(_opened_now):
        close_now(path)
    if _template is None:
        return
    name, _template = _template, None

    async def run() -> None:
        connection = await _connect()
        try:
            await _drop(connection, name)
        finally:
            await connection.close()

    asyncio.run(run())


async def _create_database(migrated: bool) -> str:
    name = f"priem_t_{os.getpid()}_{next(_counter)}"
    template = await _ensure_template() if migrated else "template0"
    connection = await _connect()
    try:
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await connection.close()
    return name


async def _drop_database(name: str) -> None:
    connection = await _connect()
    try:
        await _drop(connection, name)
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def fresh_postgres(migrated: bool = True) -> AsyncIterator[str]:
    """A new, empty (or migrated) database for one test; dropped afterwards."""
    name = await _create_database(migrated)
    try:
        yield _url_of(name)
    finally:
        await _drop_database(name)


@contextlib.asynccontextmanager
async def database_for(path: Path) -> AsyncIterator[str]:
    """The URL of a test's database: the SQLite file at `path`, or a fresh PostgreSQL database
    registered under `path` (see url_for)."""
    if not on_postgres():
        shutil.copyfile(await _ensure_sqlite_template(), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    async with fresh_postgres() as url:
        _registered[path] = url
        try:
            yield url
        finally:
            _registered.pop(path, None)


def open_now(path: Path) -> str:
    """database_for(path) for a module that builds its app at import, with no loop running: the
    URL; close_now(path) drops the PostgreSQL database made here."""
    if on_postgres():
        _registered[path] = _url_of(asyncio.run(_create_database(migrated=True)))
        _opened_now.add(path)
    return url_for(path)


def close_now(path: Path) -> None:
    _opened_now.discard(path)
    url = _registered.pop(path, None)
    if url is not None:
        asyncio.run(_drop_database(str(make_url(url).database)))


def url_for(path: Path) -> str:
    """The database URL standing for a db_path fixture's value on the selected backend."""
    return _registered.get(path, f"sqlite+aiosqlite:///{path}")


# Redis for the scale-out tests (several processes sharing rate buckets): db 15, the tests' own.
REDIS_URL = os.environ.get("PRIEM_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def redis_reachable() -> bool:
    """Whether Redis answers; if so its test database is emptied (no rate windows left over)."""
    try:
        from redis import asyncio as aioredis
    except ImportError:
        return False
    client = aioredis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
        await client.flushdb()
        return True
    except Exception:
        return False
    finally:
        await client.aclose()
