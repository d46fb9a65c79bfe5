"""A background pass that runs when woken (a new row was committed) or on an idle tick."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


class Wakeup:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def wake(self) -> None:
        self._event.set()

    async def loop(
        self, work: Callable[[], Awaitable[object]], what: str, idle_seconds: float, most_idle: float | None = None
    ) -> None:
        """Forever: work, then sleep until woken or the tick.

        The flag is cleared before the pass, so a wake that lands during it starts the next pass
        at once instead of waiting for the tick. `most_idle`: while passes find nothing to do
        (work returns 0) the tick doubles up to it; a wake or a pass with work resets it.
        """
        tick = idle_seconds
        while True:
            self._event.clear()
            done: object = None
            try:
                done = await work()
            except Exception:  # the database may be briefly unavailable; try again next tick
                log.exception("%s pass failed", what)
            if most_idle is not None:
                tick = idle_seconds if done else min(2 * tick, most_idle)
            try:
                await asyncio.wait_for(self._event.wait(), timeout=tick)
                tick = idle_seconds
            except TimeoutError:
                pass
