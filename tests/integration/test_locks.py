"""storage/locks.exclusive on PostgreSQL: a session advisory lock belongs to the connection that
took it, so that connection must stay out of the pool until the lock is released.

Taken through an ORM session, the lock went back to the pool with its connection at the first
commit: the next unit of work drew that connection (and could take the lock again, or had its
unlock run elsewhere), and the Telegram inbox worker ended up waiting forever for a lock its own
process held (tests/e2e/test_telegram.py::test_background_tasks_answer_without_help).
"""

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.locks import exclusive, lock_key
from tests import database

NAME = "priem:test-lock"

pytestmark = pytest.mark.skipif(not database.on_postgres(), reason="on SQLite exclusive() takes nothing")


async def taken_by_another_unit_of_work(sessions: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the lock is held elsewhere, asked from a session drawn from the same pool."""
    async with sessions() as other:
        got = await other.scalar(select(func.pg_try_advisory_lock(lock_key(NAME))))
        if got:
            await other.scalar(select(func.pg_advisory_unlock(lock_key(NAME))))
        await other.commit()
    return not got


async def test_the_lock_is_held_for_the_block_and_released_after_it(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for _ in range(3):  # a pass after a pass, as the inbox worker runs
        async with sessions() as guard, exclusive(guard, NAME):
            assert await taken_by_another_unit_of_work(sessions)
        assert not await taken_by_another_unit_of_work(sessions)


async def test_a_failed_pass_releases_the_lock(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(RuntimeError):
        async with sessions() as guard, exclusive(guard, NAME):
            raise RuntimeError("the pass failed")
    assert not await taken_by_another_unit_of_work(sessions)
