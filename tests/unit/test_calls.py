"""Calls, pure: the slot grid and window, the client picking and moving a slot, time zones, and
the practitioner's /slots, /reschedule, /noshow decisions."""

import random
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.catalogue_file import CatalogueError, load_catalogue
from flows import calls
from flows.catalogue import Calls
from flows.conversation import handle
from flows.effects import BookSlot, ChangeStage, Outcome, Say, SetStep, UpdateClient
from flows.model import ClientView, RequestView, Stage, Step
from flows.practice import calls as practice
from flows.practice.args import BadArgument
from flows.practice.calls import CallLine
from flows.practice.effects import Answer, MoveCall, Notify, QueueChanged
from flows.practice.views import PracticeContext, RequestCard
from flows.zones import phone_zone, stated_zone
from tests.factories import WORKING_TIME, catalogue, client, context, inbound

MOSCOW = "Europe/Moscow"
CATALOGUE = catalogue()
# WORKING_TIME is Tuesday 24 November 2026, 12:00 in Moscow: the window is 1–15 December.
THURSDAY_15 = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # 15:00 in Moscow
FIRST_SLOT = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # Tuesday 1 December, 11:00 in Moscow


# --- the grid ---------------------------------------------------------------------------------


class TestGrid:
    def test_fixed_times_on_working_days_only(self) -> None:
        rules = Calls(times=(time(11, 0), time(15, 0)), weekdays=frozenset({0, 2}))  # Mon, Wed
        slots = calls.grid(rules, MOSCOW, date(2026, 11, 30), date(2026, 12, 6))

        assert slots == [
            datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
            datetime(2026, 11, 30, 12, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 8, 0, tzinfo=UTC),
            datetime(2026, 12, 2, 12, 0, tzinfo=UTC),
        ]

    def test_every_n_minutes_while_a_whole_call_fits_in_the_hours(self) -> None:
        rules = Calls(minutes=60, every_minutes=90, start=time(10, 0), end=time(14, 0))

        assert calls.day_starts(rules) == [time(10, 0), time(11, 30), time(13, 0)]  # 13:00–14:00 fits
        assert calls.day_starts(replace(rules, end=time(13, 59))) == [time(10, 0), time(11, 30)]

    def test_a_slot_keeps_its_local_hour_across_a_daylight_saving_change(self) -> None:
        rules = Calls(times=(time(11, 0),), weekdays=frozenset(range(7)))
        before, after = calls.grid(rules, "Europe/Berlin", date(2027, 3, 27), date(2027, 3, 28))

        assert (before.hour, after.hour) == (10, 9)  # 11:00 CET, then 11:00 CEST

    def test_the_booking_window_is_one_to_three_weeks_ahead(self) -> None:
        slots = calls.bookable(CATALOGUE.calls, MOSCOW, WORKING_TIME)

        assert slots[0] == FIRST_SLOT
        assert slots[-1] == datetime(2026, 12, 15, 14, 0, tzinfo=UTC)  # Tuesday 15 December, 17:00
        assert all(s.astimezone(ZoneInfo(MOSCOW)).weekday() != 6 for s in slots)  # no Sundays in catalogue.toml
        assert len(slots) == 13 * 4

    def test_a_held_booking_blocks_every_slot_it_overlaps_even_off_the_grid(self) -> None:
        slots = [datetime(2026, 12, 1, h, 0, tzinfo=UTC) for h in (8, 10, 12)]
        held = [(datetime(2026, 12, 1, 9, 30, tzinfo=UTC), 60)]  # 9:30–10:30 UTC

        assert calls.free(slots, 60, held) == [slots[0], slots[2]]
        assert calls.free(slots, 60, [(slots[1], 60)]) == [slots[0], slots[2]]
        assert calls.free(slots, 60, []) == slots

    @pytest.mark.parametrize("seed", range(20))
    def test_free_slots_are_those_no_booking_overlaps(self, seed: int) -> None:
        """`free` finds overlaps by bisection: the same slots as comparing each with every booking,
        with calls of different lengths, off the grid, touching a slot's ends, nested."""
        rng = random.Random(seed)
        start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
        slots = [start + timedelta(minutes=30 * n) for n in range(40)]
        held = [
            (
                start + timedelta(minutes=rng.randrange(-120, 1300, rng.choice((1, 15, 30)))),
                rng.choice((15, 30, 60, 240)),
            )
            for _ in range(rng.randrange(0, 25))
        ]
        for minutes in (30, 60, 90):
            naive = [s for s in slots if not any(calls.overlaps(s, minutes, b, bm) for b, bm in held)]
            assert calls.free(slots, minutes, held) == naive

    def test_a_slot_payload_round_trips(self) -> None:
        assert calls.unstamp(calls.stamp(THURSDAY_15)) == THURSDAY_15
        assert calls.unstamp("not-a-time") is None


class TestCatalogueFile:
    def write(self, tmp_path: Path, calls_table: str, hours: str = "") -> Path:
        path = tmp_path / "catalogue.toml"
        service = '[[service]]\nkey = "c"\nintake = "call"\nname.ru = "Созвон"\n'
        path.write_text(hours + calls_table + "\n" + service, encoding="utf-8")
        return path

    def test_without_a_calls_table_days_and_hours_follow_the_working_hours(self, tmp_path: Path) -> None:
        hours = '[hours]\ndays = [1, 3]\nstart = "09:00"\nend = "12:00"\n'
        loaded = load_catalogue(self.write(tmp_path, "", hours), MOSCOW).calls

        assert loaded.weekdays == frozenset({0, 2})
        assert (loaded.start, loaded.end) == (time(9, 0), time(12, 0))
        assert (loaded.minutes, loaded.min_days, loaded.max_days) == (60, 7, 21)
        assert (loaded.free_reschedule_hours, loaded.grace_minutes) == (24, 15)

    def test_the_calls_table_sets_every_rule(self, tmp_path: Path) -> None:
        table = (
            '[calls]\nminutes = 45\ntimes = ["16:00", "12:30"]\ndays = [6]\ndays_ahead = [3, 10]\n'
            "free_reschedule_hours = 12\nno_show_grace_minutes = 10\noffer = 4\n"
        )
        loaded = load_catalogue(self.write(tmp_path, table), MOSCOW).calls

        assert loaded == Calls(
            minutes=45,
            times=(time(12, 30), time(16, 0)),
            weekdays=frozenset({5}),
            min_days=3,
            max_days=10,
            free_reschedule_hours=12,
            grace_minutes=10,
            offer=4,
        )

    def test_the_shipped_catalogue_offers_four_calls_a_day(self) -> None:
        assert CATALOGUE.calls.times == (time(11, 0), time(13, 0), time(15, 0), time(17, 0))

    @pytest.mark.parametrize(
        ("table", "complaint"),
        [
            ('[calls]\ntimes = ["25:00"]\n', "expected HH:MM"),
            ("[calls]\ndays_ahead = [21, 7]\n", "days_ahead"),
            ("[calls]\nminutes = 0\n", "positive"),
            ("[calls]\ndays = [8]\n", "1 (Monday)"),
            ('[calls]\nminutes = "long"\n', "[calls]"),
        ],
    )
    def test_a_bad_calls_table_names_what_is_wrong(self, tmp_path: Path, table: str, complaint: str) -> None:
        with pytest.raises(CatalogueError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
            load_catalogue(self.write(tmp_path, table), MOSCOW)


# --- time zones -------------------------------------------------------------------------------


class TestZones:
    @pytest.mark.parametrize(
        ("text", "zone"),
        [
            ("мой часовой пояс Екатеринбург", "Asia/Yekaterinburg"),
            ("Часовой пояс: по Екатеринбургу", "Asia/Yekaterinburg"),
            ("у меня часовой пояс UTC+5", "Etc/GMT-5"),
            ("my time zone is GMT-4", "Etc/GMT+4"),
            ("timezone Europe/Berlin", "Europe/Berlin"),
            ("часовой пояс МСК+2", "Etc/GMT-5"),
            ("часовой пояс UTC+0", "UTC"),
        ],
    )
    def test_a_stated_zone_is_understood(self, text: str, zone: str) -> None:
        assert stated_zone(text) == zone

    @pytest.mark.parametrize("text", ["Екатеринбург", "UTC+5", "Asia/Tokyo", "Вопрос про Екатеринбург"])
    def test_outside_slot_picking_a_zone_needs_the_words_time_zone(self, text: str) -> None:
        assert stated_zone(text) is None
        assert stated_zone(text, loose=True) is not None

    @pytest.mark.parametrize("text", ["часовой пояс UTC+15", "часовой пояс Тмутаракань", "Mars/Olympus", ""])
    def test_nonsense_is_no_zone(self, text: str) -> None:
        assert stated_zone(text, loose=True) is None

    @pytest.mark.parametrize(
        ("number", "zone"),
        [
            ("+73432000000", "Asia/Yekaterinburg"),  # a Yekaterinburg landline
            ("4915112345678", "Europe/Berlin"),
            ("+79991234567", None),  # a Russian mobile spans eleven zones
            ("not a number", None),
        ],
    )
    def test_a_number_gives_a_zone_only_when_it_names_exactly_one(self, number: str, zone: str | None) -> None:
        assert phone_zone(number) == zone


# --- the client -------------------------------------------------------------------------------


def draft() -> RequestView:
    return RequestView(id=7, service="planned_call", stage=Stage.DRAFT)


def picking(request: RequestView | None = None, **changes: object) -> ClientView:
    request = request or draft()
    return client(
        step=Step.CALL_WISH,
        step_service="planned_call",
        step_request_id=request.id,
        requests=(request,),
        accepted_terms=frozenset({"planned_call"}),
        **changes,
    )


def reply(
    who: ClientView, text: str = "", *, payload: str | None = None, now: datetime = WORKING_TIME, **ctx_changes: object
) -> Outcome:
    ctx = replace(context(now), **ctx_changes)
    return handle(who, inbound(text, payload=payload, now=now), ctx)


def last_say(outcome: Outcome) -> Say:
    return outcome.says()[-1]


def slot_buttons(say: Say) -> list[datetime]:
    return [b.at for b in say.buttons if b.payload.startswith(calls.SLOT_PREFIX) and b.at is not None]


class TestPicking:
    def test_accepting_the_terms_offers_the_first_free_slots_and_a_later_dates_button(self) -> None:
        outcome = reply(client(step=Step.TERMS, step_service="planned_call"), "да")

        prompt = last_say(outcome)
        assert prompt.text_id == "call-pick-prompt"
        assert prompt.params["zone"] == "Europe/Moscow, UTC+03:00"
        assert slot_buttons(prompt) == list(context().free_slots[:6])
        assert prompt.buttons[0].payload == "slot:202612010800"
        assert prompt.buttons[-1].payload == "slots:after:" + calls.stamp(context().free_slots[5])
        assert prompt.buttons[-1].text_id == "button-later-dates"
        assert SetStep(Step.CALL_WISH, "planned_call", outcome.of(SetStep)[0].request) in outcome.of(SetStep)

    def test_later_dates_pages_on_and_the_last_page_has_no_later_button(self) -> None:
        free = context().free_slots
        page = last_say(reply(picking(), payload="slots:after:" + calls.stamp(free[5])))
        assert page.text_id == "call-slots-later" and slot_buttons(page) == list(free[6:12])

        end = last_say(reply(picking(), payload="slots:after:" + calls.stamp(free[-3])))
        assert slot_buttons(end) == list(free[-2:])
        assert all(not b.payload.startswith(calls.LATER_PREFIX) for b in end.buttons)

        beyond = last_say(reply(picking(), payload="slots:after:" + calls.stamp(free[-1])))
        assert beyond.text_id == "call-no-later-slots" and [b.payload for b in beyond.buttons] == ["human"]

    def test_with_every_slot_taken_the_client_is_told_and_pointed_to_her(self) -> None:
        outcome = reply(client(step=Step.TERMS, step_service="planned_call"), "да", free_slots=())

        assert last_say(outcome).text_id == "call-no-slots"
        assert [b.payload for b in last_say(outcome).buttons] == ["human"]

    def test_a_slot_button_books_it_and_submits_the_request(self) -> None:
        outcome = reply(picking(), payload="slot:" + calls.stamp(THURSDAY_15))

        book, stage, step, said = outcome.effects
        assert book == BookSlot(7, THURSDAY_15, 60, if_taken=book.if_taken)
        assert (stage, step) == (ChangeStage(7, Stage.SUBMITTED), SetStep(Step.IDLE))
        assert said.text_id == "call-booked" and said.params["slot"] == THURSDAY_15
        # Should another client win the race, the answer offers the slots after this one.
        [taken] = book.if_taken
        assert taken.text_id == "call-slot-taken"
        assert THURSDAY_15 not in slot_buttons(taken)
        assert slot_buttons(taken)[0] == datetime(2026, 12, 3, 14, 0, tzinfo=UTC)

    def test_a_slot_gone_before_the_tap_offers_the_next_free_ones_and_books_nothing(self) -> None:
        free = tuple(s for s in context().free_slots if s != THURSDAY_15)
        outcome = reply(picking(), payload="slot:" + calls.stamp(THURSDAY_15), free_slots=free)

        assert outcome.of(BookSlot) == [] and outcome.of(SetStep) == []
        said = last_say(outcome)
        assert said.text_id == "call-slot-taken"
        assert slot_buttons(said)[0] > THURSDAY_15

    @pytest.mark.parametrize("typed", ["3 декабря 15:00", "03.12 15:00", "чт 3 декабря, 15:00", "3 декабря в 15:00"])
    def test_a_typed_date_means_that_slot(self, typed: str) -> None:
        [book] = reply(picking(), typed).of(BookSlot)

        assert book.starts_at == THURSDAY_15

    def test_a_typed_time_is_read_in_the_clients_zone(self) -> None:
        # 17:00 in Yekaterinburg is 15:00 in Moscow.
        [book] = reply(picking(timezone="Asia/Yekaterinburg"), "3 декабря 17:00").of(BookSlot)

        assert book.starts_at == THURSDAY_15

    def test_a_date_without_a_time_lists_that_days_free_slots(self) -> None:
        said = last_say(reply(picking(), "5 декабря"))

        assert said.text_id == "call-slots-from-day"
        assert slot_buttons(said)[0] == datetime(2026, 12, 5, 8, 0, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("typed", "text_id"),
        [
            ("3 декабря 16:00", "call-slot-unavailable"),  # not a slot start
            ("1 марта 15:00", "call-slot-unavailable"),  # beyond three weeks
            ("25 ноября 15:00", "call-slot-unavailable"),  # tomorrow: less than a week ahead
            ("1 марта", "call-outside-window"),
            ("вечером", "call-pick-hint"),
            ("часовой пояс Тмутаракань", "call-zone-unknown"),
        ],
    )
    def test_what_cannot_be_booked_is_explained_with_slots_to_pick(self, typed: str, text_id: str) -> None:
        outcome = reply(picking(), typed)

        assert outcome.of(BookSlot) == []
        assert last_say(outcome).text_id == text_id
        assert slot_buttons(last_say(outcome))[0] == FIRST_SLOT

    def test_naming_a_zone_while_picking_shows_the_slots_in_it(self) -> None:
        outcome = reply(picking(), "Екатеринбург")

        assert outcome.effects[0] == UpdateClient(timezone="Asia/Yekaterinburg")
        said = last_say(outcome)
        assert said.text_id == "call-zone-set-pick"
        assert said.params["zone"] == "Asia/Yekaterinburg, UTC+05:00"
        assert slot_buttons(said)[0] == FIRST_SLOT

    def test_a_zone_stated_any_time_is_remembered_and_the_call_restated_in_it(self) -> None:
        booked = RequestView(id=7, service="planned_call", stage=Stage.QUEUED, call_at=THURSDAY_15)
        outcome = reply(client(requests=(booked,)), "мой часовой пояс UTC+5")

        assert outcome.effects[0] == UpdateClient(timezone="Etc/GMT-5")
        said = last_say(outcome)
        assert (said.text_id, said.params["slot"], said.params["zone"]) == (
            "call-zone-set-call",
            THURSDAY_15,
            "UTC+05:00",
        )

    def test_cancel_while_picking_leaves_the_step_and_books_nothing(self) -> None:
        outcome = reply(picking(), "отмена")

        assert outcome.of(BookSlot) == [] and outcome.effects[0] == SetStep(Step.IDLE)

    def test_a_step_pointing_at_a_lost_request_gets_the_menu(self) -> None:
        outcome = reply(replace(picking(), step_request_id=99), "3 декабря 15:00")

        assert outcome.of(BookSlot) == [] and outcome.effects[0] == SetStep(Step.IDLE)


class TestRescheduling:
    def booked(self, hours_ahead: float, stage: Stage = Stage.QUEUED) -> ClientView:
        at = WORKING_TIME + timedelta(hours=hours_ahead)
        return client(requests=(RequestView(id=7, service="planned_call", stage=stage, call_at=at),))

    @pytest.mark.parametrize(
        "text", ["перенести", "Можно перенести созвон?", "хочу другое время", "I need to reschedule"]
    )
    def test_more_than_24_hours_before_moving_is_free_and_offers_slots(self, text: str) -> None:
        outcome = reply(self.booked(25), text)

        assert outcome.of(SetStep) == [SetStep(Step.CALL_WISH, "planned_call", 7)]
        said = last_say(outcome)
        assert said.text_id == "call-reschedule-pick" and said.params["hours"] == "24"
        assert slot_buttons(said)[0] == FIRST_SLOT

    def test_less_than_24_hours_before_it_is_refused_with_the_rule_and_the_way_to_her(self) -> None:
        outcome = reply(self.booked(23), "перенести")

        assert outcome.of(SetStep) == [] and outcome.of(BookSlot) == []
        said = last_say(outcome)
        assert said.text_id == "call-reschedule-late"
        assert (said.params["hours"], said.params["grace"]) == ("24", 15)
        assert [b.payload for b in said.buttons] == ["human"]

    def test_exactly_24_hours_before_is_still_free(self) -> None:
        assert last_say(reply(self.booked(24), "перенести")).text_id == "call-reschedule-pick"

    def test_picking_the_new_slot_moves_the_booking(self) -> None:
        old = WORKING_TIME + timedelta(days=8)
        request = RequestView(id=7, service="planned_call", stage=Stage.QUEUED, call_at=old)
        outcome = reply(picking(request), payload="slot:" + calls.stamp(THURSDAY_15))

        [book] = outcome.of(BookSlot)
        assert book.starts_at == THURSDAY_15
        assert outcome.of(ChangeStage) == []  # paid and queued: stays so
        said = last_say(outcome)
        assert said.text_id == "call-moved" and (said.params["slot"], said.params["old_slot"]) == (THURSDAY_15, old)

    def test_a_pick_made_after_the_24_hours_passed_is_refused(self) -> None:
        old = WORKING_TIME + timedelta(hours=30)
        request = RequestView(id=7, service="planned_call", stage=Stage.QUEUED, call_at=old)
        later = WORKING_TIME + timedelta(hours=7)
        ctx_slots = context(later).free_slots
        outcome = reply(picking(request), payload="slot:" + calls.stamp(ctx_slots[0]), now=later)

        assert outcome.of(BookSlot) == []
        assert last_say(outcome).text_id == "call-reschedule-late"

    def test_the_same_slot_again_changes_nothing(self) -> None:
        request = RequestView(id=7, service="planned_call", stage=Stage.QUEUED, call_at=THURSDAY_15)
        outcome = reply(picking(request), "3 декабря 15:00")

        assert outcome.of(BookSlot) == [] and last_say(outcome).text_id == "call-unchanged"

    def test_with_no_booked_call_there_is_nothing_to_move(self) -> None:
        outcome = reply(client(), "перенести")

        assert outcome.of(SetStep) == [] and last_say(outcome).text_id == "call-reschedule-nothing"

    def test_an_old_slot_button_tapped_later_starts_a_move(self) -> None:
        outcome = reply(self.booked(24 * 9), payload="slot:" + calls.stamp(THURSDAY_15))

        assert outcome.of(BookSlot) == []
        assert last_say(outcome).text_id == "call-reschedule-pick"


# --- her commands -----------------------------------------------------------------------------


def her_context(now: datetime = WORKING_TIME) -> PracticeContext:
    return PracticeContext(now=now, catalogue=CATALOGUE, timezone=MOSCOW)


def card(stage: Stage = Stage.QUEUED, service: str = "planned_call") -> RequestCard:
    return RequestCard(
        request_id=7,
        client_id=3,
        client_name="Анна",
        client_restricted=False,
        service=service,
        stage=stage,
        paid=True,
        emergency=False,
        created_at=WORKING_TIME,
    )


def line(at: datetime, request_id: int = 7, name: str = "Анна") -> CallLine:
    return CallLine(request_id=request_id, client_name=name, starts_at=at, minutes=60, paid=request_id == 7)


def refused(call: object) -> BadArgument:
    with pytest.raises(BadArgument) as caught:
        call()  # type: ignore[operator]
    return caught.value


class TestSlotsCommand:
    def test_booked_calls_of_the_next_14_days_and_the_free_count(self) -> None:
        soon = WORKING_TIME + timedelta(days=2)
        far = datetime(2026, 12, 15, 8, 0, tzinfo=UTC)  # a slot in the window, beyond 14 days
        [answer] = practice.slots([line(soon), line(THURSDAY_15, 8, "Борис"), line(far, 9)], her_context())

        header, *lines = answer.params["lines"]
        assert header.text_id == "cmd-slots-header"
        grid_14 = [
            s for s in calls.grid(CATALOGUE.calls, MOSCOW, date(2026, 11, 24), date(2026, 12, 7)) if s > WORKING_TIME
        ]
        assert header.params["count"] == 2
        assert header.params["free"] == len(grid_14) - 1  # `soon` is off the grid: it blocks nothing
        assert header.params["window_free"] == 13 * 4 - 2  # THURSDAY_15 and `far` (15 December)
        assert [(x.params["number"], x.params["slot"]) for x in lines] == [(7, soon), (8, THURSDAY_15)]

    def test_no_calls_says_so_with_the_free_count(self) -> None:
        [answer] = practice.slots([], her_context())

        assert answer.text_id == "cmd-slots-empty" and answer.params["window_free"] == 52

    def test_slots_in_her_pause_are_not_free(self) -> None:
        back = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # back on 5 December, 00:00 in Moscow
        paused = [(WORKING_TIME, back)]
        [answer] = practice.slots([], her_context(), paused)
        # 14 days: 5 December (Saturday) and 7 December, 4 slots each (6 December is a Sunday).
        # The clients' window, 1–15 December: from the 5th on, Sundays off: 9 days of 4.
        assert (answer.params["free"], answer.params["window_free"]) == (8, 36)

        in_the_pause, after_it = line(THURSDAY_15), line(datetime(2026, 12, 7, 12, 0, tzinfo=UTC), 8, "Борис")
        [answer] = practice.slots([in_the_pause, after_it], her_context(), paused)
        header = answer.params["lines"][0]
        assert header.params["count"] == 2  # her booked calls are listed all the same
        assert (header.params["free"], header.params["window_free"]) == (7, 35)  # one slot more is taken

    def test_a_pause_until_she_resumes_leaves_no_slot_free(self) -> None:
        [answer] = practice.slots([], her_context(), [(WORKING_TIME - timedelta(hours=1), None)])

        assert answer.text_id == "cmd-slots-empty"
        assert (answer.params["free"], answer.params["window_free"]) == (0, 0)


class TestRescheduleCommand:
    def test_force_majeure_moves_the_call_whatever_the_time_left(self) -> None:
        in_an_hour = WORKING_TIME + timedelta(hours=1)
        effects = practice.reschedule(card(), line(in_an_hour), THURSDAY_15, [line(in_an_hour)], her_context())

        assert effects[0] == MoveCall(7, THURSDAY_15, 60)
        notify = effects[1]
        assert isinstance(notify, Notify) and notify.text_id == "client-call-rescheduled"
        assert (notify.client_id, notify.params["slot"], notify.params["old_slot"]) == (3, THURSDAY_15, in_an_hour)
        assert isinstance(effects[2], Answer) and effects[2].text_id == "cmd-reschedule-ok"

    @pytest.mark.parametrize(
        ("make_card", "booked", "at", "others", "error"),
        [
            (lambda: card(service="planned_reading"), line(THURSDAY_15), FIRST_SLOT, [], "cmd-error-not-a-call"),
            (lambda: card(Stage.DONE), line(THURSDAY_15), FIRST_SLOT, [], "cmd-error-closed"),
            (lambda: card(), None, FIRST_SLOT, [], "cmd-error-no-booking"),
            (lambda: card(), line(THURSDAY_15), THURSDAY_15, [], "cmd-error-same-time"),
            (
                lambda: card(),
                line(THURSDAY_15),
                FIRST_SLOT + timedelta(minutes=30),
                [line(FIRST_SLOT, 8, "Борис")],
                "cmd-error-slot-busy",
            ),
        ],
    )
    def test_what_cannot_be_moved_is_refused(self, make_card, booked, at, others, error) -> None:  # noqa: ANN001
        bad = refused(lambda: practice.reschedule(make_card(), booked, at, others, her_context()))

        assert bad.text_id == error


class TestNoShowCommand:
    def test_after_the_grace_the_call_counts_as_held_and_the_client_is_told(self) -> None:
        now = THURSDAY_15 + timedelta(minutes=15)
        stage, notify, answer, changed = practice.noshow(card(), line(THURSDAY_15), her_context(now))

        assert stage == ChangeStage(7, Stage.NO_SHOW)
        assert isinstance(notify, Notify) and notify.text_id == "client-call-noshow" and notify.params["grace"] == 15
        assert isinstance(answer, Answer) and answer.text_id == "cmd-noshow-ok"
        assert changed == QueueChanged()

    def test_before_the_grace_is_over_it_is_too_early(self) -> None:
        now = THURSDAY_15 + timedelta(minutes=14)
        bad = refused(lambda: practice.noshow(card(), line(THURSDAY_15), her_context(now)))

        assert bad.text_id == "cmd-error-noshow-early"
        assert bad.params["from_slot"] == THURSDAY_15 + timedelta(minutes=15)

    def test_an_already_recorded_no_show_is_closed(self) -> None:
        bad = refused(lambda: practice.noshow(card(Stage.NO_SHOW), line(THURSDAY_15), her_context()))

        assert bad.text_id == "cmd-error-closed"


def test_free_slots_skip_a_pause_and_an_open_pause_blocks_everything_after_its_start() -> None:
    hour = timedelta(hours=1)
    slots = [WORKING_TIME + n * hour for n in range(6)]
    away = (WORKING_TIME + 2 * hour, WORKING_TIME + 4 * hour)  # [start, end)
    # A 60-minute call starting 1 h before the pause would run into it; one at its end is fine.
    assert calls.free(slots, 60, [], [away]) == [slots[0], slots[1], slots[4], slots[5]]
    assert calls.free(slots, 90, [], [away]) == [slots[0], slots[4], slots[5]]
    assert calls.free(slots, 60, [(slots[0], 60)], [away]) == [slots[1], slots[4], slots[5]]
    assert calls.free(slots, 60, [], [(WORKING_TIME + 3 * hour, None)]) == slots[:3]
    assert calls.free(slots, 60, []) == slots
