"""Cross-process mutual exclusion for work that must run in one place at a time.

On PostgreSQL (several worker processes) a session advisory lock, held on the given session's
connection for the duration of the block; other processes wait for it. On SQLite the service is
one process and its callers already serialise in memory, so nothing is taken (and no connection
is drawn from SQLite's one-connection pool).
"""

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a name (the same in every process)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


@asynccontextmanager
async def exclusive(session: AsyncSession, name: str) -> AsyncIterator[None]:
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    key = lock_key(name)
    await session.execute(select(func.pg_advisory_lock(key)))
    # The lock's own transaction ends at once: the connection stays checked out (and locked),
    # but is not left "idle in transaction" for the whole pass.
    await session.commit()
    try:
        yield
    finally:
        await session.execute(select(func.pg_advisory_unlock(key)))
        await session.commit()
