"""Honest ETAs (flows/queue.py) and the practitioner's working hours (flows/catalogue.py)."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from flows.catalogue import Hours, Service
from flows.model import QueueStats
from flows.queue import Eta, estimate
from tests.factories import WORKING_TIME, catalogue

CATALOGUE = catalogue()
NOW = WORKING_TIME
NO_HISTORY = QueueStats()


def service(key: str) -> Service:
    found = CATALOGUE.get(key)
    assert found is not None, key
    return found


class TestEstimateWithoutHistory:
    @pytest.mark.parametrize(
        ("key", "low", "high"), [("planned_reading", 4, 14), ("one_question", 2, 7)]
    )
    @pytest.mark.parametrize("position", [1, 5, 40])
    def test_is_the_catalogues_nominal_range_and_says_it_is_an_estimate(
        self, key: str, low: int, high: int, position: int
    ) -> None:
        eta = estimate(service(key), position, NOW, NO_HISTORY)

        assert eta == Eta(
            earliest=NOW + timedelta(days=low), latest=NOW + timedelta(days=high), estimated=True
        )
        assert eta.known

    def test_history_of_another_service_does_not_count(self) -> None:
        stats = QueueStats(throughput={"one_question": 0.5})

        assert estimate(service("planned_reading"), 3, NOW, stats).estimated


class TestEstimateFromMeasuredThroughput:
    @pytest.mark.parametrize(
        ("days_per_request", "position", "days"),
        [(1.0, 1, 1.0), (1.5, 3, 4.5), (0.25, 8, 2.0), (2.0, 10, 20.0)],
    )
    def test_is_position_times_the_days_per_request(
        self, days_per_request: float, position: int, days: float
    ) -> None:
        stats = QueueStats(throughput={"planned_reading": days_per_request})

        eta = estimate(service("planned_reading"), position, NOW, stats)

        expected = NOW + timedelta(days=days)
        assert eta == Eta(earliest=expected, latest=expected, estimated=False)

    @pytest.mark.parametrize("position", [0, -2])
    def test_a_position_below_one_counts_as_first(self, position: int) -> None:
        stats = QueueStats(throughput={"one_question": 2.0})

        eta = estimate(service("one_question"), position, NOW, stats)

        assert eta.earliest == NOW + timedelta(days=2)

    def test_a_zero_throughput_falls_back_to_the_nominal_range(self) -> None:
        stats = QueueStats(throughput={"planned_reading": 0.0})

        assert estimate(service("planned_reading"), 2, NOW, stats).estimated


class TestPause:
    def test_a_pause_shifts_the_nominal_range(self) -> None:
        stats = QueueStats(paused_until=NOW + timedelta(days=5))

        eta = estimate(service("planned_reading"), 1, NOW, stats)

        assert (eta.earliest, eta.latest) == (NOW + timedelta(days=9), NOW + timedelta(days=19))

    def test_a_pause_shifts_the_measured_eta(self) -> None:
        stats = QueueStats(
            throughput={"planned_reading": 1.0}, paused_until=NOW + timedelta(days=3)
        )

        eta = estimate(service("planned_reading"), 2, NOW, stats)

        assert eta.earliest == eta.latest == NOW + timedelta(days=5)

    @pytest.mark.parametrize("ended", [timedelta(0), timedelta(hours=1), timedelta(days=30)])
    def test_a_pause_that_has_ended_shifts_nothing(self, ended: timedelta) -> None:
        stats = QueueStats(paused_until=NOW - ended)

        assert estimate(service("planned_reading"), 1, NOW, stats) == estimate(
            service("planned_reading"), 1, NOW, NO_HISTORY
        )


class TestEstimateForOtherFormats:
    def test_an_unpaid_emergency_has_no_eta_yet(self) -> None:
        eta = estimate(service("emergency"), 1, NOW, NO_HISTORY)

        assert eta == Eta()
        assert not eta.known

    @pytest.mark.parametrize("paid_ago", [timedelta(0), timedelta(hours=3), timedelta(days=2)])
    def test_a_paid_emergency_is_due_24_hours_after_payment(self, paid_ago: timedelta) -> None:
        paid_at = NOW - paid_ago
        stats = QueueStats(throughput={"emergency": 0.1}, paused_until=NOW + timedelta(days=7))

        eta = estimate(service("emergency"), 4, NOW, stats, paid_at=paid_at)

        assert eta == Eta(deadline=paid_at + timedelta(hours=24), estimated=False)
        assert eta.known

    @pytest.mark.parametrize("key", ["planned_call", "ritual"])
    def test_calls_and_handoffs_have_no_queue_eta(self, key: str) -> None:
        stats = QueueStats(throughput={key: 1.0})

        eta = estimate(service(key), 2, NOW, stats, paid_at=NOW)

        assert eta == Eta()
        assert not eta.known


def moscow(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo("Europe/Moscow"))


WEEKDAYS_10_TO_19 = Hours()  # Monday to Friday, 10:00–19:00, Moscow


class TestWorkingHours:
    @pytest.mark.parametrize(
        ("now", "is_open"),
        [
            (moscow(2026, 11, 23, 10, 0), True),  # Monday, opening minute
            (moscow(2026, 11, 24, 12, 0), True),
            (moscow(2026, 11, 27, 18, 59), True),  # Friday, last minute
            (moscow(2026, 11, 27, 19, 0), False),  # closing time is already closed
            (moscow(2026, 11, 24, 9, 59), False),
            (moscow(2026, 11, 28, 12, 0), False),  # Saturday
            (moscow(2026, 11, 29, 12, 0), False),  # Sunday
            (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), True),  # 12:00 in Moscow
            (datetime(2026, 11, 24, 6, 30, tzinfo=UTC), False),  # 09:30 in Moscow
            (datetime(2026, 11, 27, 21, 30, tzinfo=UTC), False),  # Saturday 00:30 in Moscow
        ],
    )
    def test_is_open_reads_the_clock_in_the_practitioners_zone(
        self, now: datetime, is_open: bool
    ) -> None:
        assert WEEKDAYS_10_TO_19.is_open(now) is is_open

    def test_the_same_instant_can_be_open_in_one_zone_and_closed_in_another(self) -> None:
        friday_evening_utc = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)

        assert not Hours(timezone="Europe/Moscow").is_open(friday_evening_utc)  # 20:00
        assert Hours(timezone="Europe/Warsaw").is_open(friday_evening_utc)  # 18:00
        assert not Hours(timezone="Asia/Tokyo").is_open(friday_evening_utc)  # Saturday 02:00

    def test_the_catalogue_files_hours_include_saturday(self) -> None:
        hours = CATALOGUE.hours

        assert hours.is_open(moscow(2026, 11, 28, 19, 59))
        assert not hours.is_open(moscow(2026, 11, 29, 12, 0))
        assert (hours.start, hours.end, hours.timezone) == (time(10), time(20), "Europe/Moscow")


class TestNextOpening:
    def test_while_open_it_is_now(self) -> None:
        now = moscow(2026, 11, 24, 12, 0)

        assert WEEKDAYS_10_TO_19.next_opening(now) == now

    @pytest.mark.parametrize(
        ("now", "opening"),
        [
            (moscow(2026, 11, 24, 7, 0), moscow(2026, 11, 24, 10, 0)),  # early: today
            (moscow(2026, 11, 24, 19, 0), moscow(2026, 11, 25, 10, 0)),  # evening: tomorrow
            (moscow(2026, 11, 27, 19, 30), moscow(2026, 11, 30, 10, 0)),  # Friday → Monday
            (moscow(2026, 11, 28, 12, 0), moscow(2026, 11, 30, 10, 0)),  # Saturday → Monday
            (moscow(2026, 11, 29, 23, 59), moscow(2026, 11, 30, 10, 0)),  # Sunday night
            (moscow(2026, 11, 30, 0, 0), moscow(2026, 11, 30, 10, 0)),  # Monday midnight
        ],
    )
    def test_skips_the_weekend(self, now: datetime, opening: datetime) -> None:
        assert WEEKDAYS_10_TO_19.next_opening(now) == opening

    def test_is_found_from_a_utc_clock_in_the_practitioners_zone(self) -> None:
        # Friday 22:00 UTC is already Saturday 01:00 in Moscow.
        now = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)

        assert WEEKDAYS_10_TO_19.next_opening(now) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)

    def test_the_same_instant_opens_at_different_moments_in_different_zones(self) -> None:
        saturday_utc = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

        assert Hours(timezone="Asia/Vladivostok").next_opening(saturday_utc) == datetime(
            2026, 11, 30, 0, 0, tzinfo=UTC
        )
        assert Hours(timezone="America/New_York").next_opening(saturday_utc) == datetime(
            2026, 11, 30, 15, 0, tzinfo=UTC
        )

    def test_crosses_a_daylight_saving_change_at_local_opening_time(self) -> None:
        # Europe/Warsaw leaves summer time on Sunday 25 October 2026: 10:00 on Monday is 09:00 UTC.
        saturday = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)

        opening = Hours(timezone="Europe/Warsaw").next_opening(saturday)

        assert opening == datetime(2026, 10, 26, 9, 0, tzinfo=UTC)
        assert opening.astimezone(ZoneInfo("Europe/Warsaw")).time() == time(10, 0)

    def test_the_catalogue_files_saturday_means_only_sunday_is_skipped(self) -> None:
        assert CATALOGUE.hours.next_opening(moscow(2026, 11, 27, 21, 0)) == moscow(
            2026, 11, 28, 10, 0
        )
        assert CATALOGUE.hours.next_opening(moscow(2026, 11, 28, 20, 0)) == moscow(
            2026, 11, 30, 10, 0
        )

    def test_with_no_working_days_it_promises_nothing_better_than_now(self) -> None:
        now = moscow(2026, 11, 24, 12, 0)

        assert Hours(weekdays=frozenset()).next_opening(now) == now
