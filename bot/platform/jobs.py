"""The scheduler's sweeps for every practitioner but #1 (whose jobs main.build wires as before).

Each sweep asks the database which practitioners exist, so one added while running is swept on the
next tick, and runs her own Pushes, Privacy and WhatsApp replay (built with her tenant in
bot/platform/tenants.py): her desk, texts and destinations, her bot or sender through the routed relay.
One practitioner's failure is logged and costs only her this tick.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.platform.tenants import Platform, Tenant

log = logging.getLogger(__name__)


class PlatformJobs:
    def __init__(self, platform: "Platform") -> None:
        self.platform = platform
        self.on_wake: Callable[[], None] = lambda: None  # set by the scheduler: sweep pushes now

    def wake(self) -> None:
        self.on_wake()

    async def _each(self, what: str, job: Callable[["Tenant"], Awaitable[int]]) -> int:
        done = 0
        for practitioner_id in await self.platform.others():
            try:
                tenant = await self.platform.tenant(practitioner_id)
                if tenant is not None:
                    done += await job(tenant)
            except Exception as error:  # her bad row or a failed sweep must not stop the others
                log.error("%s for practitioner %s failed: %s", what, practitioner_id, type(error).__name__)
                log.debug("%s for practitioner %s traceback", what, practitioner_id, exc_info=True)
        return done

    async def sweep_pushes(self) -> int:
        """Every other practitioner's due pushes; how many messages were queued."""

        async def pushes(tenant: "Tenant") -> int:
            return await tenant.pushes.sweep() if tenant.pushes is not None else 0

        return await self._each("push sweep", pushes)

    async def sweep_addresses(self) -> int:
        async def addresses(tenant: "Tenant") -> int:
            return await tenant.privacy.sweep_addresses() if tenant.privacy is not None else 0

        return await self._each("privacy sweep", addresses)

    async def sweep_retention(self) -> int:
        async def retention(tenant: "Tenant") -> int:
            if tenant.privacy is None:
                return 0
            erased = await tenant.privacy.sweep_retention()
            return 0 if erased is None else erased.messages + erased.questions

        return await self._each("retention sweep", retention)

    async def replay_whatsapp(self) -> int:
        """Her stored WhatsApp messages left unprocessed, and late status reports (as #1's replay
        tick does in bot/whatsapp/app.py), through her inbox: its lock keeps them in order with
        her worker's passes. The first replay also starts that worker (after a restart)."""
        whatsapp = self.platform.shared.whatsapp if self.platform.shared is not None else None

        async def replay(tenant: "Tenant") -> int:
            if whatsapp is None or tenant.whatsapp is None:
                return 0
            return await whatsapp.inbox(tenant.desk).replay()

        return await self._each("whatsapp replay", replay)
