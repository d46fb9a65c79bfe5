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

    async def loop(self, work: Callable[[], Awaitable[object]], what: str, idle_seconds: float) -> None:
        """Forever: work, then sleep until woken or the tick.

        The flag is cleared before the pass, so a wake that lands during it starts the next pass
        at once instead of waiting for the tick.
        """
        while True:
            self._event.clear()
            try:
                await work()
            except Exception:  # the database may be briefly unavailable; try again next tick
                log.exception("%s pass failed", what)
            try:
                await asyncio.wait_for(self._event.wait(), timeout=idle_seconds)
            except TimeoutError:
                pass
