"""How many inbox passes run at once in one process, every practitioner's together.

On PostgreSQL a pass holds two pooled connections (its lock's and its work's); with one inbox per
practitioner, 100 passes at once took the whole pool and the pass holding a lock waited for its
second connection (bench/practitioners.py). Each channel's inboxes share one limit.
"""

import asyncio
import weakref


class PassLimit:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def here(self) -> asyncio.Semaphore:
        """The limit's semaphore, one per event loop (the tests run several loops in turn)."""
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = asyncio.Semaphore(self.limit)
        return found
