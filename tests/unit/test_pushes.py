"""The pure push decisions: lead times, late bookings, deadlines, nudges, queue moves, days."""

from datetime import UTC, date, datetime, timedelta

import pytest

from flows.pushes import (
    QueueEntry,
    QueueMove,
    deadline_warning,
    digest_due,
    local_day,
    no_show_due,
    nudge_due,
    pause_over_due,
    queue_changes,
    queue_move,
    reminder,
)

T = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
LONG_AGO = T - timedelta(days=7)


@pytest.mark.parametrize(
    ("before", "booked_at", "expected"),
    [
        (timedelta(hours=25), LONG_AGO, None),
        (timedelta(hours=24), LONG_AGO, "remind24"),
        (timedelta(hours=2), LONG_AGO, "remind24"),
        (timedelta(hours=1), LONG_AGO, "remind1"),
        (timedelta(minutes=1), LONG_AGO, "remind1"),
        (timedelta(0), LONG_AGO, None),
        (timedelta(hours=20), T - timedelta(hours=22), None),  # booked 22 h ahead: no "tomorrow"
        (timedelta(minutes=30), T - timedelta(hours=3), "remind1"),
        (timedelta(minutes=30), T - timedelta(minutes=40), None),  # booked 40 min ahead
    ],
)
def test_reminder(before: timedelta, booked_at: datetime, expected: str | None) -> None:
    assert reminder(T, booked_at, T - before) == expected


def test_no_show_from_15_minutes_for_a_day() -> None:
    assert not no_show_due(T, T + timedelta(minutes=14, seconds=59))
    assert no_show_due(T, T + timedelta(minutes=15))
    assert no_show_due(T, T + timedelta(hours=23))
    assert not no_show_due(T, T + timedelta(days=1, minutes=1))


@pytest.mark.parametrize(
    ("left", "expected"),
    [
        (timedelta(hours=12, seconds=1), None),
        (timedelta(hours=12), "deadline12"),
        (timedelta(hours=2, seconds=1), "deadline12"),
        (timedelta(hours=2), "deadline2"),
        (timedelta(seconds=1), "deadline2"),
        (timedelta(0), "breach"),
        (-timedelta(hours=23), "breach"),
        (-timedelta(days=2), None),
    ],
)
def test_deadline_warning(left: timedelta, expected: str | None) -> None:
    assert deadline_warning(T, T - left) == expected


def test_nudge_after_the_quiet_time() -> None:
    after = timedelta(hours=6)
    assert not nudge_due(None, T, after)
    assert not nudge_due(T - timedelta(hours=5), T, after)
    assert nudge_due(T - timedelta(hours=6), T, after)
    assert not nudge_due(T - timedelta(days=3), T, after)


def test_queue_move() -> None:
    assert queue_move(3, 3, 0, 2) is None
    assert queue_move(3, None, 5, 2) is QueueMove.RECORD
    assert queue_move(2, 3, 1, 2) is QueueMove.PUSH
    assert queue_move(2, 3, 2, 2) is QueueMove.WAIT


def test_queue_changes_count_positions_per_service_and_tell_one_thing_per_client() -> None:
    entries = [
        QueueEntry(10, 1, "a", 2),  # moved 2 → 1
        QueueEntry(11, 2, "a", 2),  # still 2
        QueueEntry(12, 1, "a", 4),  # client 1 again, 4 → 3: next sweep
        QueueEntry(20, 3, "b", None),  # first seen: recorded
        QueueEntry(21, 1, "b", None),  # first seen, client 1: recorded anyway (silent)
    ]
    changes = [(c.request_id, c.position) for c in queue_changes(entries)]
    assert changes == [(10, 1), (20, 1), (21, 2)]


def test_local_day_and_digest_in_the_practitioners_zone() -> None:
    late_utc = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # already the 25th in Moscow
    today, start, end = local_day(late_utc, "Europe/Moscow")
    assert today == date(2026, 11, 25)
    assert (start, end) == (datetime(2026, 11, 24, 21, 0, tzinfo=UTC), datetime(2026, 11, 25, 21, 0, tzinfo=UTC))
    assert digest_due(datetime(2026, 11, 25, 5, 59, tzinfo=UTC), "Europe/Moscow", 9) is None
    assert digest_due(datetime(2026, 11, 25, 6, 0, tzinfo=UTC), "Europe/Moscow", 9) == date(2026, 11, 25)
    assert digest_due(datetime(2026, 11, 25, 6, 0, tzinfo=UTC), "America/New_York", 9) is None
    # Down at nine, up at half past ten: still the morning's digest. Up at 15:17: none that day.
    assert digest_due(datetime(2026, 11, 25, 7, 30, tzinfo=UTC), "Europe/Moscow", 9) == date(2026, 11, 25)
    assert digest_due(datetime(2026, 11, 25, 12, 17, tzinfo=UTC), "Europe/Moscow", 9) is None


@pytest.mark.parametrize(
    ("until", "ended_at", "now", "due"),
    [
        (T, None, T - timedelta(seconds=1), False),  # still on
        (T, None, T, True),  # ran out
        (T, None, T + timedelta(hours=23), True),  # the service was down for a while
        (T, None, T + timedelta(days=1), False),  # too late to say
        (T, T - timedelta(hours=1), T + timedelta(minutes=1), False),  # she ended it: /resume told them
        (None, None, T, False),  # until /resume: only /resume ends it
    ],
)
def test_a_timed_pause_is_over_when_its_time_ran_out_and_no_resume_ended_it(
    until: datetime | None, ended_at: datetime | None, now: datetime, due: bool
) -> None:
    assert pause_over_due(until, ended_at, now) is due
