"""Cross-process mutual exclusion for work that must run in one place at a time.

On PostgreSQL (several worker processes) a session advisory lock, held for the duration of the
block on a connection of its own; other processes wait for it. On SQLite the service is one
process and its callers already serialise in memory, so nothing is taken (and no connection is
drawn from SQLite's one-connection pool).
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
    # A session lock belongs to the PostgreSQL connection that took it, and an ORM session hands
    # its connection back to the pool at every commit: taken through the session, the lock stayed
    # on an idle pooled connection, the unlock ran on another one (a no-op), and the next pass
    # waited forever for a lock its own process held. So one connection, checked out for the
    # whole block, takes and releases it.
    async with session.bind.connect() as connection:
        try:
            await connection.execute(select(func.pg_advisory_lock(key)))
            # The lock's own transaction ends at once: the connection stays checked out (and
            # locked), but is not left "idle in transaction" for the whole pass.
            await connection.commit()
            yield
            await connection.execute(select(func.pg_advisory_unlock(key)))
            await connection.commit()
        except BaseException:
            # A failed pass, a cancelled wait or unlock (shutdown): the connection may still hold
            # the lock, so it must not go back to the pool. Closing it ends the PostgreSQL
            # session, and the lock with it.
            await connection.invalidate()
            raise
