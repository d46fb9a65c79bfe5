"""Per-channel send rates for the outbox relay, kept by the `limits` package.

Telegram: about 30 msg/s per bot and 1 msg/s per chat (shared/PERF.md T1, T2); Twilio: the
sender's MPS (W1). Moving windows, so no burst ever exceeds the rate within any one second. The
buckets live in memory, or in Redis when REDIS_URL is set, so several relay processes share them.

The windows cap what leaves within any one second but not how it is spread inside it, and
`limits` has no sub-second window: a Pacer spaces a lane's sends evenly on a grid of slots
shared by the processes and takes the overall token for each at its slot, most urgent waiter
first. The relay asks whether the chat's token is free before it claims and takes it just
before the send (see bot/outbox/relay.py).
"""

import asyncio
import heapq
import time
from collections.abc import Mapping
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

UNLIMITED = 1_000_000  # tokens reported for a channel without an overall rate (the web chat)


@dataclass(frozen=True)
class ChannelRate:
    overall: int | None = None  # messages per second for the whole channel (per bot / sender)
    per_chat: int | None = None  # messages per second to one destination


class RateLimits:
    def __init__(self, rates: Mapping[str, ChannelRate], redis_url: str | None = None, scope: str = "priem") -> None:
        self.rates = dict(rates)
        self.scope = scope  # keeps two bots (two tokens) on one Redis apart
        self.storage: Storage = (
            storage_from_string(_async_uri(redis_url), implementation="redispy") if redis_url else MemoryStorage()
        )
        self.limiter = MovingWindowRateLimiter(self.storage)
        self._overall = _ByLane({c: RateLimitItemPerSecond(r.overall) for c, r in self.rates.items() if r.overall})
        self._chat = _ByLane({c: RateLimitItemPerSecond(r.per_chat) for c, r in self.rates.items() if r.per_chat})
        self._slot = _ByLane({c: RateLimitItemPerSecond(1) for c, r in self.rates.items() if r.overall})
        self.shared = redis_url is not None

    def spacing(self, channel: str) -> float:
        """Seconds between two sends of the channel from this process: the window allows all
        of a second's tokens at once, but a burst reaches the platform smeared by the first
        requests' connection set-up and then bunches up with the next window's (measured: 7 ×
        429 of 301 at 28/s against a strict 30/s). Spread evenly, the arrivals stay spread."""
        rate = self.rates.get(channel_of(channel))
        return 1.0 / rate.overall if rate is not None and rate.overall else 0.0

    def burst(self, channel: str, horizon: float) -> int:
        """How many sends fit in the next `horizon` seconds at the channel's spacing."""
        gap = self.spacing(channel)
        return max(1, int(horizon / gap)) if gap else UNLIMITED

    async def available(self, channel: str) -> tuple[int, float]:
        """Overall tokens left for the channel now, and seconds until the next one frees."""
        item = self._overall.get(channel)
        if item is None:
            return UNLIMITED, 0.0
        stats = await self.limiter.get_window_stats(item, self.scope, channel)
        return max(stats.remaining, 0), _until(stats.reset_time)

    async def chat_wait(self, channel: str, destination: str) -> float:
        """0.0 when the destination's token is free now (it is not taken), else seconds until it frees."""
        item = self._chat.get(channel)
        if item is None or await self.limiter.test(item, self.scope, channel, destination):
            return 0.0
        stats = await self.limiter.get_window_stats(item, self.scope, channel, destination)
        return max(_until(stats.reset_time), 0.001)

    async def take_chat(self, channel: str, destination: str) -> float:
        """Take the destination's token: 0.0 when taken, else seconds until it may be tried."""
        item = self._chat.get(channel)
        if item is None or await self.limiter.hit(item, self.scope, channel, destination):
            return 0.0
        stats = await self.limiter.get_window_stats(item, self.scope, channel, destination)
        return max(_until(stats.reset_time), 0.001)

    async def take_overall(self, channel: str) -> float:
        """Take one overall token: 0.0 when taken, else seconds until one frees (another
        process took the last one between `available` and now)."""
        item = self._overall.get(channel)
        if item is None or await self.limiter.hit(item, self.scope, channel):
            return 0.0
        stats = await self.limiter.get_window_stats(item, self.scope, channel)
        return max(_until(stats.reset_time), 0.001)

    async def take_slot(self, channel: str, slot: int) -> bool:
        """Slot `slot` of the channel's grid (bot/ratelimit.Pacer) for this process: True unless
        another process sharing the buckets has it. A window of one per slot number, so it
        lives in the same store; in memory (one process) there is no one to share it with."""
        item = self._slot.get(channel)
        if item is None or not self.shared:
            return True
        return await self.limiter.hit(item, self.scope, "slot", channel, str(slot))

    async def close(self) -> None:
        # MemoryStorage expires old entries in a task of its own; don't leave it to the loop's end.
        timer = getattr(self.storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)


class Pacer:
    """A lane's send slots, `gap` seconds apart on the wall clock, each handed with the lane's
    overall token to the most urgent waiter of this process. The order is decided when the
    token is in hand, not when the row was claimed, so rows claimed ahead never stand in front
    of an alert claimed after them.

    The grid is fixed (an oversleep does not push the next slot back; a stall skips slots
    rather than catching up in a burst), so the rate is the setting's, not the setting less the
    event loop's lateness. Processes sharing Redis share the grid: a slot is one process's
    (RateLimits.take_slot), so their sends stay spread as one process's would; sharing only the
    one-second window, they bunched and the bunches came back a second later (a 429).

    The window counts a send when its token is taken; a sender resumed more than half a slot
    after that (its event loop stalled) takes another slot instead: sent late, it would reach
    the platform within the same second as the sends a second after its token, one too many
    there (measured: relay loops stalled up to 0.7 s on the shared 2-core machine)."""

    def __init__(self, limits: RateLimits, key: str) -> None:
        self.limits, self.key = limits, key
        self.gap = limits.spacing(key)
        self._next = 0  # the next slot this process may use (slot n starts at n × gap)
        self._waiting: list[tuple[int, int, asyncio.Future[float]]] = []
        self._runner: asyncio.Task[None] | None = None

    async def turn(self, priority: int, order: int) -> None:
        """Returns at the caller's slot, with the overall token taken for it."""
        for retry in (True, False):  # late twice: a loop this busy sends late rather than never
            entry = (priority, order, asyncio.get_running_loop().create_future())
            heapq.heappush(self._waiting, entry)
            if self._runner is None or self._runner.done():
                self._runner = asyncio.create_task(self._run())
            try:
                taken_at = await entry[2]
            except asyncio.CancelledError:
                if entry in self._waiting:  # not served: no token is taken for it
                    self._waiting.remove(entry)
                    heapq.heapify(self._waiting)
                raise
            if not retry or time.time() - taken_at <= self.gap / 2:
                return  # (late: that token goes unused, see the class docstring)

    async def _run(self) -> None:
        try:
            while self._waiting:
                now = time.time()
                slot = int(now / self.gap)
                if slot < self._next <= slot + 1:  # (further ahead: the clock was set back)
                    await asyncio.sleep(self._next * self.gap - now)
                    continue
                self._next = slot + 1
                if not await self.limits.take_slot(self.key, slot):
                    continue  # another process's slot
                # Within its slot only a hair from freeing, unless another process sends at
                # a rate of its own.
                while True:
                    taken_at = time.time()  # (the window stamps the token no earlier)
                    if not (wait := await self.limits.take_overall(self.key)):
                        break
                    await asyncio.sleep(wait)
                while self._waiting:  # (none left: the token goes unused, as a stopped relay's)
                    if not (waiter := heapq.heappop(self._waiting)[2]).done():
                        waiter.set_result(taken_at)
                        break
        except Exception as error:  # the shared window is unreachable: the waiting sends fail
            for _, _, waiter in self._waiting:
                if not waiter.done():
                    waiter.set_exception(error)
            self._waiting.clear()


def lane(channel: str, practitioner_id: int | None) -> str:
    """A bucket of its own per practitioner's bot or sender (`telegram#7`): one practitioner's
    fan-out never spends the tokens another's alert needs. None: the channel's one bucket."""
    return channel if practitioner_id is None else f"{channel}#{practitioner_id}"


def channel_of(key: str) -> str:
    return key.split("#", 1)[0]


class _ByLane(dict[str, RateLimitItemPerSecond]):
    """A lane has its channel's rate; the lane's name keeps its bucket apart."""

    def get(self, key: str, default: RateLimitItemPerSecond | None = None) -> RateLimitItemPerSecond | None:  # type: ignore[override]
        return super().get(channel_of(key), default)


def _until(reset_time: float) -> float:
    return max(reset_time - time.time(), 0.0)


def _async_uri(url: str) -> str:
    return url if url.startswith("async+") else f"async+{url}"
