"""Seeded fault injection for the HTTP doubles: for a window of real time, a share of send requests
fails with a 5xx, a 429, or a timeout (the double holds the request past the client's timeout).

A timeout is ambiguous to the client, as it is in production: the double decides (seeded) whether
the message was written before the answer was lost, and records that decision, so a test can say
exactly which copies reached the chat. The decisions are seeded; which request meets which
decision depends on the order requests arrive in.
"""

import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

TIMEOUT = "timeout"
# Relative weights of the kinds: mostly 5xx and 429, a few timeouts (each one leaves a row
# `uncertain` for the practitioner to judge, so they are kept rarer than the retried kinds).
MIX: Mapping[str, int] = {"500": 3, "502": 3, "503": 3, "429": 4, TIMEOUT: 1}


@dataclass(frozen=True)
class Injected:
    kind: str  # an HTTP status ("500", "429"…) or "timeout"
    destination: str  # Telegram chat id or Twilio "To"
    text: str  # what the request carried (Telegram text, Twilio Body)
    written: bool = False  # a timeout after the message was accepted: the chat has it


class FaultWindow:
    def __init__(
        self,
        *,
        seconds: float,
        rate: float,
        seed: int,
        hold: float,
        mix: Mapping[str, int] = MIX,
        written_share: float = 0.5,
    ) -> None:
        self.started = time.monotonic()
        self.ends = self.started + seconds
        self.rate = rate
        self.hold = hold  # seconds a timed-out request is held: longer than the client's timeout
        self.written_share = written_share
        self._kinds, self._weights = list(mix), list(mix.values())
        self._rng = random.Random(seed)
        self.injected: list[Injected] = []

    @property
    def open(self) -> bool:
        return time.monotonic() < self.ends

    def draw(self) -> str | None:
        """The fault for the request arriving now, or None to serve it normally."""
        if not self.open or self._rng.random() >= self.rate:
            return None
        return self._rng.choices(self._kinds, self._weights)[0]

    def written(self) -> bool:
        """For a timeout: was the message accepted before the answer was lost?"""
        return self._rng.random() < self.written_share

    def retry_after(self) -> int:
        return self._rng.randint(1, 3)

    def record(self, kind: str, destination: str, text: str, written: bool = False) -> None:
        self.injected.append(Injected(kind, destination, text, written))

    def counts(self) -> Counter[str]:
        return Counter(i.kind for i in self.injected)

    def timeouts(self, destination: str) -> list[Injected]:
        return [i for i in self.injected if i.kind == TIMEOUT and i.destination == destination]
