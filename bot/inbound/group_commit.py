"""Group commit: concurrent callers' rows written in one transaction, one fsync for all.

A commit per webhook request costs ~1.2 ms of ORM session plus an fsync, which caps durable
ingest at ~10% of a bare endpoint; sharing the commit among the requests that arrived while the
previous one was being written gets 37-59% (shared/PERF.md B/C). Each caller still awaits the
commit of its own row before it answers, so nothing is acknowledged before it is durable. Under
light load every batch is one row, so latency is what it was.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")

MAX_BATCH = 500


Outcomes = Sequence[Exception | None] | None


class GroupCommit(Generic[T]):
    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Outcomes]], max_batch: int = MAX_BATCH) -> None:
        # One transaction for all the rows: it raises if nothing committed, and returns None when
        # every row is durable, or, when it had to fall back to smaller transactions, one outcome
        # per row (None: durable) so that each caller answers for its own row.
        self._write = write
        self._max = max_batch
        self._queue: list[tuple[T, asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, row: T) -> None:
        """Returns once the row is committed; raises what the write raised for it."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="group-commit")
        # A caller that goes away (client disconnect) cancels only its own future: the writer
        # task is nobody's, and it skips a future that is done already.
        await done

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._max], self._queue[self._max :]
            try:
                outcomes = await self._write([row for row, _ in batch])
            except Exception as error:  # nobody's row is durable: every caller answers an error
                outcomes = [error] * len(batch)
            for (_, done), outcome in zip(batch, outcomes or [None] * len(batch), strict=True):
                if done.done():
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)
                    done.exception()  # retrieved here too: a gone caller logs no warning
