"""Pure decisions behind restrictions, floods, payment flip-flops, pauses and /stats."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.catalogue_file import CatalogueError, load_catalogue
from flows import boundaries
from flows.effects import NEW, Alert, ChangeStage, Flag, Say
from flows.model import PaymentEvent, QueueStats, Stage
from flows.practice import clients, pause, queue, stats
from flows.practice.args import BadArgument, Until
from flows.practice.effects import Answer, EndPause, Notify, Restrict, StartPause, Unrestrict
from flows.practice.views import ClientCard, PracticeContext, RequestCard
from tests.factories import ROOT, WORKING_TIME, catalogue, client, context

NOW = WORKING_TIME
CATALOGUE = catalogue()
CTX = PracticeContext(now=NOW, catalogue=CATALOGUE, timezone="Europe/Moscow")


def events(*kinds: str, start: datetime = NOW - timedelta(days=5)) -> tuple[PaymentEvent, ...]:
    return tuple(PaymentEvent(start + timedelta(hours=i), kind, i) for i, kind in enumerate(kinds))


class TestPaymentFlips:
    @pytest.mark.parametrize(
        ("kinds", "flips"),
        [
            ((), 0),
            (("confirm",), 0),
            (("confirm", "claim"), 0),  # a booking and «я оплатила» go the same way
            (("confirm", "cancel"), 1),
            (("confirm", "cancel", "confirm"), 2),
            (("confirm", "claim", "cancel", "confirm", "cancel"), 3),
        ],
    )
    def test_counts_changes_of_direction(self, kinds: tuple[str, ...], flips: int) -> None:
        assert boundaries.payment_flips(events(*kinds), NOW) == flips

    def test_only_the_window_counts(self) -> None:
        old = events("confirm", "cancel", "confirm", "cancel", start=NOW - timedelta(days=40))
        assert boundaries.payment_flips(old, NOW) == 0

    def test_the_third_flip_flags_the_client_and_alerts_her_once(self) -> None:
        flipping = client(payment_events=events("confirm", "cancel", "confirm"))
        out = boundaries.guard_payments(flipping, [ChangeStage(7, Stage.CANCELLED)], context())
        assert out == [ChangeStage(7, Stage.CANCELLED), Flag("payment_flips"), Alert("flagged", excerpt="3")]
        already = replace(flipping, flagged=True)
        assert boundaries.guard_payments(already, [ChangeStage(7, Stage.CANCELLED)], context()) == [
            ChangeStage(7, Stage.CANCELLED)
        ]

    def test_two_flips_change_nothing(self) -> None:
        effects = [ChangeStage(7, Stage.SUBMITTED), Say("confirm-queue", {"number": 7})]
        two = client(payment_events=events("confirm", "cancel"))
        assert boundaries.guard_payments(two, effects, context()) == effects

    def test_a_flagged_clients_booking_waits_for_her(self) -> None:
        effects = [ChangeStage(NEW, Stage.SUBMITTED), Say("confirm-queue", {"number": NEW})]
        out = boundaries.guard_payments(client(flagged=True), effects, context())
        assert out == [
            ChangeStage(NEW, Stage.SUBMITTED),
            Alert("flagged_booking", request=NEW),
            Say("flagged-booking-held", {"name": "Анна", "number": NEW}),
        ]


class TestFloodWindow:
    def test_more_than_n_in_the_window_is_a_flood(self) -> None:
        limit = CATALOGUE.flood_messages
        assert not boundaries.flooding(client(messages_last_minute=limit), context())
        assert boundaries.flooding(client(messages_last_minute=limit + 1), context())

    def write(self, tmp_path: Path, limits: str) -> Path:
        source = (ROOT / "catalogue.toml").read_text(encoding="utf-8")
        path = tmp_path / "catalogue.toml"
        path.write_text(source.replace("flood_messages = 12\nflood_minutes = 1\n", limits), encoding="utf-8")
        return path

    def test_the_window_is_configurable(self, tmp_path: Path) -> None:
        loaded = load_catalogue(self.write(tmp_path, "flood_messages = 20\nflood_minutes = 5\n"), "Europe/Moscow")
        assert (loaded.flood_messages, loaded.flood_minutes) == (20, 5.0)

    def test_the_older_per_minute_key_still_works(self, tmp_path: Path) -> None:
        loaded = load_catalogue(self.write(tmp_path, "flood_messages_per_minute = 7\n"), "Europe/Moscow")
        assert (loaded.flood_messages, loaded.flood_minutes, loaded.flood_messages_per_minute) == (7, 1.0, 7)

    @pytest.mark.parametrize(
        "limits",
        [
            "flood_messages = 5\nflood_messages_per_minute = 7\n",
            "flood_messages = 0\n",
            "flood_messages = 5\nflood_minutes = 0\n",
            "flood_messages = \"many\"\n",
        ],
    )
    def test_bad_limits_are_refused_at_start_up(self, tmp_path: Path, limits: str) -> None:
        with pytest.raises(CatalogueError, match=r"\[limits\]"):
            load_catalogue(self.write(tmp_path, limits), "Europe/Moscow")


class TestPauseSeen:
    def test_new_clients_and_bookings_see_a_pause_with_her_note(self) -> None:
        until = NOW + timedelta(days=3)
        ctx = replace(context(), stats=QueueStats(paused_until=until, paused=True, pause_note="семинар"))
        out = boundaries.pause_notice([Say("greeting-first")], ctx)
        assert out[-1] == Say("pause-notice-until", {"until_at": until, "note": Say("pause-note", {"note": "семинар"})})

    def test_other_answers_and_no_pause_are_left_alone(self) -> None:
        paused = replace(context(), stats=QueueStats(paused=True))
        assert boundaries.pause_notice([Say("discount")], paused) == [Say("discount")]
        assert boundaries.pause_notice([Say("greeting-first")], context()) == [Say("greeting-first")]
        ended = replace(context(), stats=QueueStats(paused_until=NOW - timedelta(hours=1)))
        assert boundaries.pause_notice([Say("greeting-first")], ended) == [Say("greeting-first")]


class TestRestrictDecision:
    ANNA = ClientCard(client_id=3, name="Анна")

    def test_a_new_restriction_is_announced_at_once(self) -> None:
        until = NOW + timedelta(days=3)
        out = clients.restrict(self.ANNA, Until(until), "спам", "@anna", "restrict:9", CTX)
        assert out[0] == Restrict(3, until, "спам", announced=True)
        params = {"name": "Анна", "until_at": until}
        assert out[1] == Notify(3, "client-restricted-until", key="restrict:9", params=params)
        assert isinstance(out[2], Answer) and out[2].text_id == "cmd-restrict-ok-until"

    def test_no_duration_means_until_she_lifts_it(self) -> None:
        out = clients.restrict(self.ANNA, None, "", "Анна", "restrict:9", CTX)
        assert out[0] == Restrict(3, None, "", announced=True)
        assert [e.text_id for e in out[1:]] == ["client-restricted-open", "cmd-restrict-ok-open"]  # type: ignore[union-attr]

    def test_the_same_end_again_keeps_the_old_reason_and_tells_no_one(self) -> None:
        on = replace(self.ANNA, restricted=True, restriction_reason="спам", restriction_announced=True)
        out = clients.restrict(on, Until(None), "", "Анна", "restrict:9", CTX)
        assert out == [Restrict(3, None, "спам", announced=True), out[1]]
        assert out[1].text_id == "cmd-restrict-same"  # type: ignore[union-attr]

    def test_unrestrict_lifts_the_flag_too_and_tells_only_a_restricted_client(self) -> None:
        flagged = replace(self.ANNA, flagged=True)
        out = clients.unrestrict(flagged, "Анна", "unrestrict:9")
        assert out[0] == Unrestrict(3) and not any(isinstance(e, Notify) for e in out)
        both = clients.unrestrict(replace(flagged, restricted=True), "Анна", "unrestrict:9")
        assert Notify(3, "client-unrestricted", key="unrestrict:9", params={"name": "Анна"}) in both
        assert clients.unrestrict(self.ANNA, "Анна", "k")[0].text_id == "cmd-unrestrict-not-restricted"  # type: ignore[union-attr]


class TestPauseDecision:
    def test_each_client_with_an_open_request_is_told_once(self) -> None:
        until = NOW + timedelta(days=2)
        out = pause.pause(None, until, "", [5, 6, 5], CTX)  # two requests of client 5: one notice
        assert out[0] == StartPause(until, "")
        keys = [e.key for e in out if isinstance(e, Notify)]
        assert keys == ["pause:20261124T090000:5", "pause:20261124T090000:6"]

    def test_errors(self) -> None:
        on = pause.PauseView(NOW - timedelta(days=1), None, "")
        with pytest.raises(BadArgument) as error:
            pause.pause(on, None, "", [], CTX)
        assert error.value.text_id == "cmd-error-pause-on"
        with pytest.raises(BadArgument) as error:
            pause.pause(None, NOW - timedelta(minutes=1), "", [], CTX)
        assert error.value.text_id == "cmd-error-in-past"
        with pytest.raises(BadArgument) as error:
            pause.resume(None, [], CTX)
        assert error.value.text_id == "cmd-error-no-pause"

    def test_resume_tells_those_told(self) -> None:
        on = pause.PauseView(NOW - timedelta(days=1), None, "")
        out = pause.resume(on, [5, 6], CTX)
        assert out[0] == EndPause()
        assert [e.key for e in out if isinstance(e, Notify)] == ["resume:20261123T090000:5", "resume:20261123T090000:6"]


class TestNextDecision:
    CARD = RequestCard(
        request_id=12,
        client_id=5,
        client_name="Анна",
        client_restricted=False,
        service="planned_reading",
        stage=Stage.QUEUED,
        paid=True,
        emergency=False,
        created_at=NOW,
        questions=("Работа?", "Переезд?"),
    )

    def test_the_card_found_goes_into_work_and_its_client_is_told(self) -> None:
        out = queue.next_request(self.CARD, 0, 0, CTX)
        assert out[0] == ChangeStage(12, Stage.IN_WORK)
        assert isinstance(out[1], Notify) and (out[1].client_id, out[1].key) == (5, "started:12")
        assert isinstance(out[2], Answer) and out[2].text_id == "cmd-next"
        assert out[2].params["client"] == "Анна" and len(out[2].params["questions"].params["lines"]) == 2

    def test_nothing_queued_says_how_many_wait_for_payment_and_are_in_work(self) -> None:
        assert queue.next_request(None, 3, 1, CTX) == [Answer("cmd-next-empty", {"unpaid": 3, "in_work": 1})]


class TestStats:
    @pytest.mark.parametrize(
        ("words", "days"), [([], 30), (["7d"], 7), (["30д"], 30), (["2w"], 14), (["14"], 14), (["1нед"], 7)]
    )
    def test_periods(self, words: list[str], days: int) -> None:
        assert stats.period(words) == timedelta(days=days)

    @pytest.mark.parametrize("word", ["abc", "0d", "400d", "3h", "-7d"])
    def test_bad_periods(self, word: str) -> None:
        with pytest.raises(BadArgument):
            stats.period([word])

    def test_percentile_is_nearest_rank(self) -> None:
        values = list(range(1, 11))
        assert (stats.percentile(values, 0.9), stats.percentile(values, 0.5), stats.percentile([4], 0.9)) == (9, 5, 4)

    def test_aggregate(self) -> None:
        day = timedelta(days=1)
        since = NOW - 30 * day
        facts = [
            stats.RequestFact("planned_reading", False, NOW - 20 * day, NOW - 19 * day, NOW - 10 * day, None),
            stats.RequestFact("planned_reading", False, NOW - 20 * day, NOW - 20 * day, NOW - 18 * day, None),
            stats.RequestFact("planned_reading", False, NOW - 20 * day, NOW - 16 * day, None, None),  # 16 d: broken
            stats.RequestFact("emergency", True, NOW - 2 * day, NOW - 2 * day, NOW - 47 * timedelta(hours=1), None),
            stats.RequestFact("emergency", True, NOW - day, NOW - timedelta(hours=3), None, None),  # still running
            stats.RequestFact("one_question", False, NOW - 40 * day, None, None, NOW - 39 * day),  # outside
        ]
        monday_late = datetime(2026, 11, 23, 20, 30, tzinfo=UTC)  # 23:30 Monday in Moscow
        tuesday_early = datetime(2026, 11, 23, 21, 30, tzinfo=UTC)  # 00:30 Tuesday in Moscow
        result = stats.aggregate(
            facts, [monday_late, tuesday_early, tuesday_early], since=since, now=NOW,
            catalogue=CATALOGUE, timezone="Europe/Moscow",
        )
        [planned, emergency] = result.services
        assert (planned.requests, planned.done, planned.median_wait, planned.p90_wait) == (3, 2, 6 * day, 10 * day)
        assert (emergency.requests, emergency.done) == (2, 1)
        promises = {p.service: (p.kept, p.broken, p.running) for p in result.promises}
        assert promises == {"planned_reading": (2, 1, 0), "emergency": (1, 0, 1)}
        assert result.by_hour[23] == 1 and result.by_hour[0] == 2 and sum(result.by_hour) == 3
        assert result.by_weekday[:2] == (1, 2)

    def test_sparkline(self) -> None:
        assert stats.sparkline([0, 0]) == "▁▁"
        assert stats.sparkline([0, 7, 14]) == "▁▅█"
