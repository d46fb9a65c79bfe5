"""Per-channel send rates for the outbox relay, kept by the `limits` package.

Telegram: about 30 msg/s per bot and 1 msg/s per chat (shared/PERF.md T1, T2); Twilio: the
sender's MPS (W1). Moving windows, so no burst ever exceeds the rate within any one second. The
buckets live in memory, or in Redis when REDIS_URL is set, so several relay processes share them.

The relay asks before it claims (how many overall tokens are left, whether the chat's token is
free) and takes both tokens at the moment it sends: a claimed row is sent at once, never held
waiting for a token, and the platform sees the sends spaced as the buckets spaced them
(see bot/relay.py).
"""

import asyncio
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

    async def close(self) -> None:
        # MemoryStorage expires old entries in a task of its own; don't leave it to the loop's end.
        timer = getattr(self.storage, "timer", None)
        if isinstance(timer, asyncio.Task) and not timer.done():
            timer.cancel()
            await asyncio.gather(timer, return_exceptions=True)


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
