"""The background pass loop's idle tick (bot/inbound/wakeup.py): fixed, or backing off while idle."""

import pytest

from bot.inbound import wakeup
from bot.inbound.wakeup import Wakeup


class Stop(Exception):
    pass


async def ticks(
    monkeypatch: pytest.MonkeyPatch, results: list[int], most_idle: float | None, woken_at: int = -1
) -> list[float]:
    """The timeouts the loop waited with, one per pass; pass number `woken_at` is woken during it."""
    waited: list[float] = []
    box = Wakeup()
    calls = iter(range(len(results) + 1))

    async def work() -> int:
        n = next(calls)
        if n == len(results):
            raise Stop
        if n == woken_at:
            box.wake()
        return results[n]

    async def wait_for(awaitable, timeout: float):  # noqa: ANN001, ANN202
        waited.append(timeout)
        if box._event.is_set():
            return await awaitable
        awaitable.close()
        raise TimeoutError

    monkeypatch.setattr(wakeup.asyncio, "wait_for", wait_for)
    # The loop logs a failed pass and goes on: Stop, raised by the last pass, ends it instead.
    monkeypatch.setattr(wakeup.log, "exception", lambda *a, **k: (_ for _ in ()).throw(Stop()))
    with pytest.raises(Stop):
        await box.loop(work, "test", 1.0, most_idle)
    return waited


async def test_without_most_idle_the_tick_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await ticks(monkeypatch, [0, 0, 0, 0], None) == [1.0, 1.0, 1.0, 1.0]


async def test_idle_passes_back_off_to_most_idle_and_work_resets_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    assert await ticks(monkeypatch, [0, 0, 0, 0, 0, 3, 0], 10.0) == [2.0, 4.0, 8.0, 10.0, 10.0, 1.0, 2.0]


async def test_a_wake_resets_the_tick(monkeypatch: pytest.MonkeyPatch) -> None:
    # Pass 3 is woken while it runs: its wait returns at once and the next idle pass starts over.
    assert await ticks(monkeypatch, [0, 0, 0, 0, 0], 10.0, woken_at=3) == [2.0, 4.0, 8.0, 10.0, 2.0]
