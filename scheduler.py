"""Timed jobs. The truth of what is due lives in the database (outbox rows with a
next_attempt_at); the jobs only tick, so a restart or a second process loses or doubles nothing.
"""

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.relay import OutboxRelay


def build_scheduler(relay: OutboxRelay, outbox_tick_seconds: float = 5.0) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    # The relay wakes itself on every new row; the tick catches rows whose retry time came due.
    scheduler.add_job(
        relay.wake,
        "interval",
        seconds=outbox_tick_seconds,
        id="outbox-tick",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
