"""Timed jobs. The truth of what is due lives in the database (outbox rows with a
next_attempt_at; bookings, deadlines, question lists for the pushes); the jobs only tick, so a
restart or a second process loses or doubles nothing (bot/pushes.py: every push is once-only).
"""

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.outbox.relay import OutboxRelay
from bot.platform.jobs import PlatformJobs
from bot.privacy import Privacy
from bot.pushes import Pushes

PUSHES_JOB = "pushes-sweep"
PLATFORM_PUSHES_JOB = "platform-pushes-sweep"
WHATSAPP_REPLAY_SECONDS = 30.0  # as #1's worker (bot/whatsapp/app.py)
PRIVACY_TICK_SECONDS = 60.0  # a forgotten client's addresses go within a minute of their due time
RETENTION_TICK_SECONDS = 3600.0  # RETENTION_DAYS is counted in days: hourly is exact enough
EXECUTOR_LOG = "apscheduler.executors.default"  # where APScheduler logs a job's exception


class CancelledAtShutdown(logging.Filter):
    """A sweep still running when the service stops is cancelled by `shutdown()`, and APScheduler
    logs that as the job raising, with a traceback. It is no error: what is due lives in the
    database, and the next start sweeps it. Real failures still log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], asyncio.CancelledError))


def build_scheduler(
    relay: OutboxRelay,
    outbox_tick_seconds: float = 5.0,
    pushes: Pushes | None = None,
    pushes_tick_seconds: float = 30.0,
    privacy: Privacy | None = None,
    platform: PlatformJobs | None = None,
    retention_days: int | None = None,
) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    executor_log = logging.getLogger(EXECUTOR_LOG)
    if not any(isinstance(f, CancelledAtShutdown) for f in executor_log.filters):
        executor_log.addFilter(CancelledAtShutdown())
    # The relay wakes itself on every new row; the tick catches rows whose retry time came due.
    scheduler.add_job(
        relay.wake,
        "interval",
        seconds=outbox_tick_seconds,
        id="outbox-tick",
        max_instances=1,
        coalesce=True,
    )
    if pushes is not None:
        scheduler.add_job(
            pushes.sweep,
            "interval",
            seconds=pushes_tick_seconds,
            id=PUSHES_JOB,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),  # a restart catches up at once
        )
        pushes.on_wake = lambda: _run_soon(scheduler, PUSHES_JOB)
    if privacy is not None:
        scheduler.add_job(
            privacy.sweep_addresses,
            "interval",
            seconds=PRIVACY_TICK_SECONDS,
            id="privacy-sweep",
            max_instances=1,
            coalesce=True,
        )
        if privacy.retention_days:
            scheduler.add_job(
                privacy.sweep_retention,
                "interval",
                seconds=RETENTION_TICK_SECONDS,
                id="retention-sweep",
                max_instances=1,
                coalesce=True,
                next_run_time=datetime.now(UTC),
            )
    if platform is not None:
        _add_platform_jobs(scheduler, platform, pushes_tick_seconds, retention_days)
    return scheduler


def _add_platform_jobs(
    scheduler: AsyncIOScheduler, jobs: PlatformJobs, pushes_tick_seconds: float, retention_days: int | None
) -> None:
    """The same sweeps for every other practitioner (bot/platform/jobs.py), one job each: #1's jobs
    above stay as they were."""
    now = datetime.now(UTC)
    every = (
        (PLATFORM_PUSHES_JOB, jobs.sweep_pushes, pushes_tick_seconds, now),
        ("platform-privacy-sweep", jobs.sweep_addresses, PRIVACY_TICK_SECONDS, None),
        ("platform-whatsapp-replay", jobs.replay_whatsapp, WHATSAPP_REPLAY_SECONDS, now),
    )
    if retention_days:
        every += (("platform-retention-sweep", jobs.sweep_retention, RETENTION_TICK_SECONDS, now),)
    for job_id, job, seconds, first in every:
        options = {"next_run_time": first} if first is not None else {}
        scheduler.add_job(job, "interval", seconds=seconds, id=job_id, max_instances=1, coalesce=True, **options)
    jobs.on_wake = lambda: _run_soon(scheduler, PLATFORM_PUSHES_JOB)


def _run_soon(scheduler: AsyncIOScheduler, job_id: str) -> None:
    """Bring the job's next run forward to now (a run in progress is not doubled:
    max_instances=1; the interval then continues from this run)."""
    if scheduler.running and (job := scheduler.get_job(job_id)) is not None:
        job.modify(next_run_time=datetime.now(UTC))
