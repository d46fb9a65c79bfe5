"""The client conversation, branch by branch: client state and one message in, effects out."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from flows.conversation import handle
from flows.effects import (
    NEW,
    AcceptTerms,
    AddQuestion,
    Alert,
    BookSlot,
    ChangeStage,
    MarkNoticed,
    OpenRequest,
    Outcome,
    Say,
    SetStep,
    UpdateClient,
)
from flows.model import ClientView, Kind, Priority, QueueStats, RequestView, Stage, Step
from flows.queue import Days
from flows.replies import price_of
from tests.factories import WORKING_TIME, catalogue, client, context, inbound

CATALOGUE = catalogue()
ALL_ACCEPTED = frozenset(s.key for s in CATALOGUE.services)
MENU_PAYLOADS = [
    "svc:planned_reading",
    "svc:emergency",
    "svc:planned_call",
    "svc:one_question",
    "svc:ritual",
    "status",
    "human",
]
SUNDAY_NOON = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)  # 12:00 in Moscow, a day off
TUESDAY_LATE = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 23:00 in Moscow
SATURDAY_NOON = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)  # Saturday is a working day here


def reply(
    who: ClientView,
    text: str = "",
    *,
    payload: str | None = None,
    kind: Kind = Kind.TEXT,
    now: datetime = WORKING_TIME,
    **queue_lengths: int,
) -> Outcome:
    return handle(
        who, inbound(text, payload=payload, kind=kind, now=now), context(now, **queue_lengths)
    )


def text_ids(outcome: Outcome) -> list[str]:
    return [say.text_id for say in outcome.says()]


def the_say(outcome: Outcome, text_id: str) -> Say:
    found = [say for say in outcome.says() if say.text_id == text_id]
    assert len(found) == 1, f"expected one {text_id!r}, got {text_ids(outcome)}"
    return found[0]


def payloads(say: Say) -> list[str]:
    return [button.payload for button in say.buttons]


def request(id: int, service: str, stage: Stage, *questions: str, **more: object) -> RequestView:
    return RequestView(id=id, service=service, stage=stage, questions=questions, **more)  # type: ignore[arg-type]


def collecting(step: Step, open_request: RequestView, **changes: object) -> ClientView:
    """A client in the middle of an intake step for `open_request`."""
    return client(
        step=step,
        step_service=open_request.service,
        step_request_id=open_request.id,
        requests=(open_request,),
        accepted_terms=ALL_ACCEPTED,
        **changes,
    )


class TestFirstContact:
    @pytest.mark.parametrize("text", ["Привет", "Здравствуйте!", "/start", "меню", "/help"])
    def test_a_greeting_gets_a_greeting_by_name_and_the_menu(self, text: str) -> None:
        outcome = reply(client(first_contact=True), text)

        assert text_ids(outcome) == ["greeting-first"]
        greeting = the_say(outcome, "greeting-first")
        assert greeting.params == {"name": "Анна"}
        assert payloads(greeting) == MENU_PAYLOADS

    def test_the_menu_numbers_every_catalogue_service_in_the_clients_language(self) -> None:
        greeting = the_say(reply(client(first_contact=True), "hello"), "greeting-first")

        labels = [b.label for b in greeting.buttons if b.payload.startswith("svc:")]
        assert labels == [
            "1. Planned reading (video recording)",
            "2. Emergency reading / call",
            "3. Planned call",
            "4. “Just one question”",
            "5. Ritual",
        ]
        assert [b.text_id for b in greeting.buttons[-2:]] == ["button-status", "button-human"]

    @pytest.mark.parametrize(
        "text", ["хочу узнать про мужа", "I have been thinking about my husband", "а вы кто?"]
    )
    def test_unrecognised_text_gets_the_longer_greeting_and_the_menu(self, text: str) -> None:
        outcome = reply(client(first_contact=True), text)

        assert text_ids(outcome) == ["greeting-first-with-text"]
        assert payloads(the_say(outcome, "greeting-first-with-text")) == MENU_PAYLOADS

    @pytest.mark.parametrize(
        ("text", "language"),
        [("Привет", "ru"), ("хочу расклад", "ru"), ("hello", "en"), ("I need a reading", "en")],
    )
    def test_the_language_is_recorded_from_the_first_message(
        self, text: str, language: str
    ) -> None:
        outcome = reply(client(first_contact=True, language="ru"), text)

        assert outcome.effects[0] == UpdateClient(language=language)

    def test_choosing_a_format_at_first_contact_greets_then_shows_its_terms(self) -> None:
        outcome = reply(client(first_contact=True), "плановый расклад")

        assert text_ids(outcome) == ["greeting-first", "terms-intro"]


class TestLanguageOfAKnownClient:
    def test_a_short_message_keeps_the_stored_language(self) -> None:
        outcome = reply(client(language="en"), "ок")

        assert outcome.of(UpdateClient) == []

    def test_a_long_message_in_another_script_switches_the_language(self) -> None:
        outcome = reply(client(language="ru"), "Where is my reading, please?")

        assert outcome.of(UpdateClient) == [UpdateClient(language="en")]
        assert text_ids(outcome)[0] == "status-none"


class TestChoosingAFormat:
    @pytest.mark.parametrize(
        ("text", "payload", "service"),
        [
            ("плановый расклад", None, "planned_reading"),
            ("хочу расклад", None, "planned_reading"),
            ("1", None, "planned_reading"),
            ("1️⃣", None, "planned_reading"),
            ("", "svc:planned_reading", "planned_reading"),
            ("плановый созвон", None, "planned_call"),
            ("3", None, "planned_call"),
            ("мне только один вопрос", None, "one_question"),
            ("", "svc:one_question", "one_question"),
        ],
    )
    def test_a_new_client_sees_the_terms_of_the_chosen_format(
        self, text: str, payload: str | None, service: str
    ) -> None:
        outcome = reply(client(), text, payload=payload)

        chosen = CATALOGUE.get(service)
        assert chosen is not None
        assert outcome.of(SetStep) == [SetStep(Step.TERMS, service)]
        terms = the_say(outcome, "terms-intro")
        assert terms.params == {
            "service": chosen.name("ru"),
            "terms": chosen.terms_text("ru"),
            "price": Say("terms-price", {"price": price_of(chosen)}),  # the terms show the price
        }
        assert payloads(terms) == ["terms:yes", "terms:no"]
        assert outcome.of(OpenRequest) == []

    def test_the_terms_come_in_the_clients_language(self) -> None:
        terms = the_say(
            reply(client(language="en"), "", payload="svc:planned_call"), "terms-intro"
        )

        assert terms.params["service"] == "Planned call"
        assert terms.params["terms"].startswith("Calls are booked for an exact date and time")

    @pytest.mark.parametrize(
        ("service", "step", "prompt"),
        [
            ("planned_reading", Step.QUESTIONS, "questions-prompt"),
            ("one_question", Step.ONE_QUESTION, "one-question-prompt"),
            ("planned_call", Step.CALL_WISH, "call-pick-prompt"),
        ],
    )
    def test_with_the_terms_already_accepted_the_intake_starts_at_once(
        self, service: str, step: Step, prompt: str
    ) -> None:
        outcome = reply(client(accepted_terms=ALL_ACCEPTED), "", payload=f"svc:{service}")

        assert outcome.effects == (
            OpenRequest(service, Stage.DRAFT),
            SetStep(step, service, NEW),
            outcome.says()[0],
        )
        assert text_ids(outcome) == [prompt]

    def test_the_question_list_prompt_offers_a_done_button(self) -> None:
        outcome = reply(client(accepted_terms=ALL_ACCEPTED), "", payload="svc:planned_reading")

        assert payloads(the_say(outcome, "questions-prompt")) == ["done"]

    def test_an_abandoned_draft_is_resumed_rather_than_opened_again(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(client(accepted_terms=ALL_ACCEPTED, requests=(draft,)), "плановый расклад")

        assert outcome.of(OpenRequest) == []
        assert outcome.of(SetStep) == [SetStep(Step.QUESTIONS, "planned_reading", 5)]

    @pytest.mark.parametrize("stage", [Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK])
    def test_a_format_with_an_open_request_answers_already_open(self, stage: Stage) -> None:
        open_one = request(3, "planned_reading", stage, "Что с работой?")
        outcome = reply(client(accepted_terms=ALL_ACCEPTED, requests=(open_one,)), "1")

        assert text_ids(outcome) == ["already-open"]
        assert the_say(outcome, "already-open").params == {
            "service": "Плановый расклад (видеозапись)",
            "number": 3,
        }
        assert outcome.of(OpenRequest) == [] and outcome.of(SetStep) == []

    def test_a_finished_request_does_not_block_booking_again(self) -> None:
        done = request(3, "planned_reading", Stage.DONE, "Что с работой?")
        outcome = reply(client(accepted_terms=ALL_ACCEPTED, requests=(done,)), "1")

        assert outcome.of(OpenRequest) == [OpenRequest("planned_reading", Stage.DRAFT)]

    @pytest.mark.parametrize(("text", "payload"), [("2", None), ("", "svc:emergency")])
    def test_choosing_the_emergency_format_asks_for_the_situation_first(
        self, text: str, payload: str | None
    ) -> None:
        # An alert that says «2» helps no one: the situation comes first, then the alert.
        outcome = reply(client(), text, payload=payload)

        assert outcome.of(OpenRequest) == [] and outcome.of(Alert) == []
        assert outcome.of(SetStep) == [SetStep(Step.SITUATION, "emergency", None)]
        assert text_ids(outcome) == ["emergency-describe"]

        described = reply(
            client(step=Step.SITUATION, step_service="emergency"), "Муж ушёл, не знаю что делать"
        )
        assert described.of(OpenRequest) == [OpenRequest("emergency", Stage.SUBMITTED, emergency=True)]
        assert [(a.kind, a.excerpt) for a in described.of(Alert)] == [
            ("emergency", "Муж ушёл, не знаю что делать")
        ]
        assert text_ids(described) == ["emergency-ack"]

    def test_choosing_emergency_with_one_already_open_asks_what_to_add(self) -> None:
        open_one = request(7, "emergency", Stage.SUBMITTED, "помогите")
        outcome = reply(client(requests=(open_one,)), "", payload="svc:emergency")

        assert outcome.of(OpenRequest) == []
        assert text_ids(outcome) == ["emergency-detail-prompt"]

    def test_a_ritual_is_handed_off_to_the_practitioner(self) -> None:
        outcome = reply(client(accepted_terms=ALL_ACCEPTED), "ритуал")

        assert outcome.effects[:3] == (
            OpenRequest("ritual", Stage.SUBMITTED),
            Alert("handoff", excerpt="Ритуал", request=NEW),
            SetStep(Step.IDLE),
        )
        assert the_say(outcome, "handoff-ack").params == {"service": "Ритуал", "name": "Анна"}

    def test_a_stale_service_button_falls_back_to_the_menu(self) -> None:
        # The web chat sends the button's label as the text along with its payload.
        outcome = reply(client(), "6. Таро для котиков", payload="svc:tarot_for_cats")

        assert text_ids(outcome) == ["menu-prompt-named"]
        assert outcome.of(OpenRequest) == []


class TestAcceptingTheTerms:
    def terms_shown(self, service: str = "planned_reading") -> ClientView:
        return client(step=Step.TERMS, step_service=service)

    @pytest.mark.parametrize(
        ("text", "payload"),
        [
            ("да", None),
            ("Да, согласна", None),
            ("принимаю", None),
            ("👍", None),
            ("", "terms:yes"),
        ],
    )
    def test_yes_records_the_acceptance_and_starts_the_question_list(
        self, text: str, payload: str | None
    ) -> None:
        outcome = reply(self.terms_shown(), text, payload=payload)

        assert outcome.effects[:3] == (
            AcceptTerms("planned_reading"),
            OpenRequest("planned_reading", Stage.DRAFT),
            SetStep(Step.QUESTIONS, "planned_reading", NEW),
        )
        assert text_ids(outcome) == ["questions-prompt"]

    def test_yes_to_one_question_waits_for_that_one_question(self) -> None:
        outcome = reply(self.terms_shown("one_question"), "да")

        assert outcome.of(AcceptTerms) == [AcceptTerms("one_question")]
        assert outcome.of(SetStep) == [SetStep(Step.ONE_QUESTION, "one_question", NEW)]

    @pytest.mark.parametrize(
        ("text", "payload"), [("нет", None), ("не хочу", None), ("", "terms:no")]
    )
    def test_no_goes_back_to_the_menu_without_booking(
        self, text: str, payload: str | None
    ) -> None:
        outcome = reply(self.terms_shown(), text, payload=payload)

        assert outcome.of(SetStep) == [SetStep(Step.IDLE)]
        assert text_ids(outcome) == ["terms-declined"]
        assert payloads(the_say(outcome, "terms-declined")) == MENU_PAYLOADS
        assert outcome.of(AcceptTerms) == [] and outcome.of(OpenRequest) == []

    @pytest.mark.parametrize("text", ["хм", "1", "не понимаю условия"])
    def test_anything_else_asks_again_for_yes_or_no(self, text: str) -> None:
        outcome = reply(self.terms_shown(), text)

        assert text_ids(outcome) == ["terms-repeat"]
        repeat = the_say(outcome, "terms-repeat")
        assert repeat.params == {"service": "Плановый расклад (видеозапись)"}
        assert payloads(repeat) == ["terms:yes", "terms:no"]
        assert outcome.of(AcceptTerms) == [] and outcome.of(SetStep) == []

    def test_a_different_format_button_shows_that_formats_terms_instead(self) -> None:
        outcome = reply(self.terms_shown(), "", payload="svc:planned_call")

        assert outcome.of(SetStep) == [SetStep(Step.TERMS, "planned_call")]
        assert the_say(outcome, "terms-intro").params["service"] == "Плановый созвон"


class TestQuestionList:
    @pytest.mark.parametrize("already", [0, 1, 4])
    def test_each_message_is_one_more_question_with_the_running_count(self, already: int) -> None:
        draft = request(
            5, "planned_reading", Stage.DRAFT, *[f"вопрос {i}" for i in range(already)]
        )
        outcome = reply(collecting(Step.QUESTIONS, draft), "  Что меня ждёт на работе?  ")

        assert outcome.effects[0] == AddQuestion(5, "Что меня ждёт на работе?")
        added = the_say(outcome, "question-added")
        assert added.params == {"count": already + 1}
        assert payloads(added) == ["done"]

    def test_a_voice_note_counts_as_a_question(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(collecting(Step.QUESTIONS, draft), kind=Kind.VOICE)

        [added] = outcome.of(AddQuestion)
        assert added.request == 5 and added.text.startswith("[voice] ")
        assert the_say(outcome, "question-added").params == {"count": 2}

    @pytest.mark.parametrize(
        "text",
        [
            "Будет ли звонок от него в этом месяце?",
            "Что покажет расклад на мои отношения с Иваном?",
            "Стоит ли мне брать ритуал у другой гадалки?",
            "2",
        ],
    )
    def test_a_question_that_names_a_format_is_still_a_question(self, text: str) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(collecting(Step.QUESTIONS, draft), text)

        assert outcome.of(AddQuestion) == [AddQuestion(5, text)]
        assert text_ids(outcome) == ["question-added"]
        assert outcome.of(OpenRequest) == [] and outcome.of(Alert) == []

    @pytest.mark.parametrize(
        ("text", "payload"),
        [("готово", None), ("Это все вопросы", None), ("всё", None), ("done", None), ("", "done")],
    )
    def test_done_submits_the_list_and_confirms_the_place_in_the_queue(
        self, text: str, payload: str | None
    ) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?", "Что с мужем?")
        outcome = reply(collecting(Step.QUESTIONS, draft), text, payload=payload)

        assert outcome.effects[:2] == (ChangeStage(5, Stage.SUBMITTED), SetStep(Step.IDLE))
        confirmation = the_say(outcome, "confirm-queue")
        assert {k: v for k, v in confirmation.params.items() if k != "eta"} == {
            "name": "Анна",
            "service": "Плановый расклад (видеозапись)",
            "number": 5,
            "count": 2,
            "questions": (
                Say("question-line", {"n": 1, "text": "Что с работой?"}),
                Say("question-line", {"n": 2, "text": "Что с мужем?"}),
            ),
            "position": 1,
            "price": "",
        }
        assert confirmation.params["eta"].text_id == "eta-days-estimate", "unpaid: days from payment, not dates"
        assert payloads(confirmation) == ["status"]

    @pytest.mark.parametrize("queue_length", [0, 1, 6])
    def test_the_confirmed_position_is_behind_everyone_already_waiting(
        self, queue_length: int
    ) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(collecting(Step.QUESTIONS, draft), "готово", planned_reading=queue_length)

        assert the_say(outcome, "confirm-queue").params["position"] == queue_length + 1

    def test_the_confirmation_gives_the_catalogues_range_as_an_estimate(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(collecting(Step.QUESTIONS, draft), "готово")

        assert the_say(outcome, "confirm-queue").params["eta"] == Say("eta-days-estimate", {"days": Days(4, 14)})

    def test_done_with_no_questions_asks_for_at_least_one(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT)
        outcome = reply(collecting(Step.QUESTIONS, draft), "готово")

        assert text_ids(outcome) == ["questions-empty"]
        assert outcome.of(ChangeStage) == [] and outcome.of(SetStep) == []

    @pytest.mark.parametrize(
        ("text", "kind"),
        [
            ("", Kind.TEXT),
            ("   ", Kind.TEXT),
            ("🙏🙏🙏", Kind.TEXT),
            ("?!", Kind.TEXT),
            ("", Kind.STICKER),
            ("", Kind.PHOTO),
        ],
    )
    def test_a_message_without_words_asks_for_a_question(self, text: str, kind: Kind) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Что с работой?")
        outcome = reply(collecting(Step.QUESTIONS, draft), text, kind=kind)

        assert text_ids(outcome) == ["questions-need-text"]
        assert payloads(the_say(outcome, "questions-need-text")) == ["done"]
        assert outcome.of(AddQuestion) == []

    def test_a_very_long_question_is_stored_whole(self) -> None:
        text = "Что будет дальше? " * 500
        draft = request(5, "planned_reading", Stage.DRAFT)
        outcome = reply(collecting(Step.QUESTIONS, draft), text)

        assert outcome.of(AddQuestion) == [AddQuestion(5, text.strip())]


class TestAddingAForgottenQuestion:
    @pytest.mark.parametrize("stage", [Stage.SUBMITTED, Stage.QUEUED])
    @pytest.mark.parametrize(
        "text",
        [
            "ещё вопрос: а что с работой?",
            "Забыла спросить — а что с работой?",
            "Здравствуйте! Еще вопрос: а что с работой?",
        ],
    )
    def test_it_is_added_to_the_waiting_reading(self, stage: Stage, text: str) -> None:
        waiting = request(3, "planned_reading", stage, "Что с мужем?", "Что с домом?")
        outcome = reply(client(requests=(waiting,)), text)

        assert outcome.effects == (
            AddQuestion(3, "а что с работой?"),
            Say("add-question-added", {"count": 3, "number": 3}),
        )

    def test_once_work_has_started_it_is_too_late(self) -> None:
        started = request(3, "planned_reading", Stage.IN_WORK, "Что с мужем?")
        outcome = reply(client(requests=(started,)), "ещё вопрос: а что с работой?")

        assert text_ids(outcome) == ["add-question-too-late"]
        assert payloads(the_say(outcome, "add-question-too-late")) == MENU_PAYLOADS
        assert outcome.of(AddQuestion) == []

    @pytest.mark.parametrize(
        "requests",
        [
            (),
            (request(3, "planned_reading", Stage.DONE, "Что с мужем?"),),
            (request(4, "one_question", Stage.QUEUED, "Он вернётся?"),),
        ],
    )
    def test_with_no_open_question_list_it_offers_the_menu(self, requests: tuple) -> None:
        outcome = reply(client(requests=requests), "ещё вопрос: а что с работой?")

        assert text_ids(outcome) == ["add-question-nothing-open"]
        assert outcome.of(AddQuestion) == []

    def test_asking_to_add_without_the_question_opens_the_list_again(self) -> None:
        waiting = request(3, "planned_reading", Stage.QUEUED, "Что с мужем?", "Что с домом?")
        outcome = reply(client(requests=(waiting,)), "хочу добавить вопрос")

        assert outcome.effects[0] == SetStep(Step.QUESTIONS, "planned_reading", 3)
        assert text_ids(outcome) == ["add-question-prompt"]
        assert payloads(the_say(outcome, "add-question-prompt")) == ["done"]

    def test_the_reopened_list_takes_questions_with_the_running_count(self) -> None:
        waiting = request(3, "planned_reading", Stage.QUEUED, "Что с мужем?", "Что с домом?")
        outcome = reply(collecting(Step.QUESTIONS, waiting), "А что с работой?")

        assert outcome.of(AddQuestion) == [AddQuestion(3, "А что с работой?")]
        assert the_say(outcome, "question-added").params == {"count": 3}

    def test_done_on_the_reopened_list_updates_it_without_submitting_again(self) -> None:
        waiting = request(
            3, "planned_reading", Stage.QUEUED, "Что с мужем?", "Что с домом?", "Работа?"
        )
        outcome = reply(collecting(Step.QUESTIONS, waiting), "готово")

        assert outcome.effects == (SetStep(Step.IDLE), Say("questions-updated", {"count": 3}))


class TestOneQuestion:
    def waiting_for_it(self) -> ClientView:
        return collecting(Step.ONE_QUESTION, request(8, "one_question", Stage.DRAFT))

    def test_exactly_one_message_is_taken_and_confirmed(self) -> None:
        outcome = reply(self.waiting_for_it(), "Вернётся ли он ко мне?", one_question=2)

        assert outcome.effects[:3] == (
            AddQuestion(8, "Вернётся ли он ко мне?"),
            ChangeStage(8, Stage.SUBMITTED),
            SetStep(Step.IDLE),
        )
        assert text_ids(outcome) == ["confirm-queue"]
        confirmation = the_say(outcome, "confirm-queue")
        assert confirmation.params["count"] == 1
        assert confirmation.params["position"] == 3
        assert confirmation.params["service"] == "«Мне только один вопрос»"

    def test_a_voice_note_is_the_one_question(self) -> None:
        outcome = reply(self.waiting_for_it(), kind=Kind.VOICE)

        assert outcome.of(AddQuestion)[0].text.startswith("[voice] ")
        assert outcome.of(ChangeStage) == [ChangeStage(8, Stage.SUBMITTED)]

    def test_several_questions_in_the_message_are_taken_with_a_note_about_the_format(self) -> None:
        outcome = reply(self.waiting_for_it(), "Он позвонит? Когда? Любит ли он меня?")

        assert outcome.of(AddQuestion) == [AddQuestion(8, "Он позвонит? Когда? Любит ли он меня?")]
        assert text_ids(outcome) == ["one-question-many", "confirm-queue"]
        assert the_say(outcome, "one-question-many").params == {
            "service": "«Мне только один вопрос»"
        }

    @pytest.mark.parametrize("text", ["", "🙏", "..."])
    def test_a_message_without_words_asks_again(self, text: str) -> None:
        outcome = reply(self.waiting_for_it(), text)

        assert outcome.effects == (Say("single-need-text"),)

    @pytest.mark.parametrize("stage", [Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK])
    def test_chatting_after_submitting_is_answered_with_the_formats_rule(
        self, stage: Stage
    ) -> None:
        asked = request(8, "one_question", stage, "Вернётся ли он?")
        outcome = reply(client(requests=(asked,)), "а вы как думаете, он правда меня любит")

        assert text_ids(outcome) == ["one-question-no-chat"]
        assert payloads(the_say(outcome, "one-question-no-chat")) == MENU_PAYLOADS

    def test_chatting_after_the_answer_came_is_ordinary_out_of_scope(self) -> None:
        answered = request(8, "one_question", Stage.DONE, "Вернётся ли он?")
        outcome = reply(client(requests=(answered,)), "а вы как думаете, он правда меня любит")

        assert text_ids(outcome) == ["out-of-scope"]


class TestPlannedCall:
    """The call intake books a real slot; the slot logic itself is in tests/unit/test_calls.py."""

    # Thursday 3 December 2026, 15:00 in Moscow: a slot of the default grid, in the window.
    SLOT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

    @pytest.mark.parametrize("typed", ["3 декабря 15:00", "03.12 15:00", "чт 3 декабря, 15:00"])
    def test_a_typed_date_and_time_books_that_slot_and_confirms_it(self, typed: str) -> None:
        outcome = reply(collecting(Step.CALL_WISH, request(7, "planned_call", Stage.DRAFT)), typed)

        [book] = outcome.of(BookSlot)
        assert (book.request, book.starts_at, book.minutes) == (7, self.SLOT, 60)
        assert outcome.effects[1:3] == (ChangeStage(7, Stage.SUBMITTED), SetStep(Step.IDLE))
        confirmation = the_say(outcome, "call-booked")
        assert confirmation.params["number"] == 7
        assert confirmation.params["service"] == "Плановый созвон"
        assert confirmation.params["slot"] == self.SLOT
        assert outcome.of(AddQuestion) == []

    @pytest.mark.parametrize("wish", ["в среду вечером", "👍", "Удобно созвониться, звонок лучше вечером"])
    def test_a_wish_that_is_no_date_asks_for_one_with_the_free_slots(self, wish: str) -> None:
        outcome = reply(collecting(Step.CALL_WISH, request(7, "planned_call", Stage.DRAFT)), wish)

        assert outcome.of(BookSlot) == [] and outcome.of(AddQuestion) == []
        hint = outcome.says()[-1]
        assert hint.text_id in ("call-pick-hint", "call-slot-unavailable")
        assert [b.payload for b in hint.buttons][0].startswith("slot:")


class TestEmergency:
    @pytest.mark.parametrize(
        ("who", "text"),
        [
            (client(), "СРОЧНО!!! помогите"),
            (
                collecting(Step.QUESTIONS, request(5, "planned_reading", Stage.DRAFT, "Работа?")),
                "СРОЧНО!!! помогите",
            ),
            (client(), "Здравствуйте, срочно нужен расклад, муж ушёл"),
            (client(step=Step.TERMS, step_service="planned_reading"), "sos"),
        ],
    )
    def test_an_urgent_opening_opens_an_emergency_and_alerts_the_practitioner(
        self, who: ClientView, text: str
    ) -> None:
        outcome = reply(who, text)

        ack = the_say(outcome, "emergency-ack")
        assert outcome.effects == (
            OpenRequest("emergency", Stage.SUBMITTED, emergency=True),
            AddQuestion(NEW, text),
            SetStep(Step.SITUATION, "emergency", NEW),
            Alert("emergency", excerpt=text, request=NEW),
            ack,
        )
        assert ack.priority is Priority.URGENT
        assert ack.params == {"name": "Анна", "hours": 24, "price": ""}
        assert payloads(ack) == ["status", "human"]

    def test_a_first_message_that_is_an_emergency_is_answered_first_with_the_greeting_in_it(self) -> None:
        outcome = reply(client(first_contact=True), "срочно!")

        # One message, nothing ahead of it: a greeting first would hold the answer back a second
        # (the chat's 1 msg/s); the answer greets the newcomer itself.
        assert text_ids(outcome) == ["emergency-ack-first"]
        ack = the_say(outcome, "emergency-ack-first")
        assert ack.priority is Priority.URGENT
        assert ack.params == {"name": "Анна", "hours": 24, "price": ""}
        assert payloads(ack) == ["status", "human"]
        assert [a.kind for a in outcome.of(Alert)] == ["emergency"]
        assert outcome.effects.index(outcome.of(Alert)[0]) < outcome.effects.index(ack)

    def test_a_newcomers_emergency_during_a_pause_is_answered_before_the_pause_notice(self) -> None:
        ctx = replace(context(), stats=QueueStats(paused=True))
        outcome = handle(client(first_contact=True), inbound("СРОЧНО помогите"), ctx)

        assert text_ids(outcome) == ["emergency-ack-first", "pause-notice-open"]

    def test_a_known_clients_emergency_is_not_greeted(self) -> None:
        assert text_ids(reply(client(), "срочно!")) == ["emergency-ack"]

    def test_another_urgent_message_joins_the_open_emergency(self) -> None:
        open_emergency = request(4, "emergency", Stage.SUBMITTED, "срочно, помогите")
        outcome = reply(client(requests=(open_emergency,)), "СРОЧНО, ответьте!")

        assert outcome.of(OpenRequest) == []
        assert outcome.effects[:3] == (
            AddQuestion(4, "СРОЧНО, ответьте!"),
            SetStep(Step.SITUATION, "emergency", 4),
            Alert("emergency", excerpt="СРОЧНО, ответьте!", request=4),
        )
        again = the_say(outcome, "emergency-again")
        assert again.params == {"name": "Анна", "number": 4}
        assert again.priority is Priority.URGENT

    @pytest.mark.parametrize(
        "detail",
        ["Муж ушёл вчера и не отвечает", "он не берёт трубку, звонок сбрасывает", "1", "voice"],
    )
    def test_details_of_the_situation_are_added_to_the_emergency(self, detail: str) -> None:
        open_emergency = request(4, "emergency", Stage.SUBMITTED, "срочно")
        kind = Kind.VOICE if detail == "voice" else Kind.TEXT
        outcome = reply(collecting(Step.SITUATION, open_emergency), detail, kind=kind)

        [added] = outcome.of(AddQuestion)
        assert added.request == 4
        assert text_ids(outcome) == ["emergency-detail-added"]
        assert outcome.of(Alert) == [] and outcome.of(OpenRequest) == []

    def test_once_the_emergency_is_closed_the_situation_step_no_longer_collects(self) -> None:
        closed = request(4, "emergency", Stage.DONE, "срочно")
        outcome = reply(collecting(Step.SITUATION, closed), "плановый расклад")

        assert outcome.of(AddQuestion) == []
        assert outcome.of(OpenRequest) == [OpenRequest("planned_reading", Stage.DRAFT)]
        assert text_ids(outcome) == ["questions-prompt"]

    @pytest.mark.parametrize(
        "text", ["не срочно, но хочу расклад", "Несрочно", "Not urgent", "ничего срочного, просто вопрос"]
    )
    def test_a_negated_or_late_urgency_word_is_not_an_emergency(self, text: str) -> None:
        outcome = reply(client(), text)

        assert outcome.of(OpenRequest) == []
        assert outcome.of(Alert) == []
        assert "emergency-ack" not in text_ids(outcome)


class TestStatus:
    @pytest.mark.parametrize(
        ("text", "payload"),
        [
            ("где мой расклад?", None),
            ("/status", None),
            ("", "status"),
            ("сколько ещё ждать", None),
        ],
    )
    def test_open_requests_are_listed_with_their_place_in_the_queue(
        self, text: str, payload: str | None
    ) -> None:
        requests = (
            request(3, "planned_reading", Stage.QUEUED, "Работа?", position=2),
            request(8, "one_question", Stage.SUBMITTED, "Он вернётся?", position=1),
            request(1, "planned_reading", Stage.DONE, "Старый вопрос"),
            request(2, "planned_call", Stage.CANCELLED),
        )
        outcome = reply(client(requests=requests), text, payload=payload)

        assert text_ids(outcome) == ["status-header", "status-line", "status-line"]
        assert the_say(outcome, "status-header").params == {"name": "Анна", "count": 2}
        first, second = outcome.says()[1:]
        assert (first.params["number"], first.params["position"]) == (3, 2)
        assert first.params["stage"] == Say("stage-queued")
        assert first.params["service"] == "Плановый расклад (видеозапись)"
        assert (second.params["number"], second.params["position"]) == (8, 1)
        assert second.params["stage"] == Say("stage-submitted")

    def test_a_request_in_work_has_no_place_in_the_queue(self) -> None:
        started = request(3, "planned_reading", Stage.IN_WORK, "Работа?", position=1)
        outcome = reply(client(requests=(started,)), "/status")

        line = the_say(outcome, "status-line-no-position")
        assert "position" not in line.params
        assert line.params["stage"] == Say("stage-in_work")

    def test_the_status_line_gives_a_measured_or_nominal_eta(self) -> None:
        waiting = request(3, "planned_reading", Stage.QUEUED, "Работа?", position=2)
        line = the_say(reply(client(requests=(waiting,)), "/status"), "status-line")

        assert line.params["eta"] == Say(
            "eta-range-estimate",
            {
                "earliest_date": WORKING_TIME + timedelta(days=4),
                "latest_date": WORKING_TIME + timedelta(days=14),
            },
        )

    def test_an_unpaid_request_counts_its_wait_in_days_from_payment(self) -> None:
        unpaid = request(3, "planned_reading", Stage.SUBMITTED, "Работа?", position=2)
        line = the_say(reply(client(requests=(unpaid,)), "/status"), "status-line")

        assert line.params["eta"] == Say("eta-days-estimate", {"days": Days(4, 14)})

    def test_an_unpaid_emergency_says_the_clock_starts_at_payment(self) -> None:
        unpaid = request(4, "emergency", Stage.SUBMITTED, "срочно")
        line = the_say(reply(client(requests=(unpaid,)), "/status"), "status-line-no-position")

        assert line.params["eta"] == Say("eta-after-payment")

    def test_a_paid_emergency_shows_its_deadline(self) -> None:
        deadline = WORKING_TIME + timedelta(hours=20)
        paid = request(4, "emergency", Stage.QUEUED, "срочно", paid=True, deadline_at=deadline)
        line = the_say(reply(client(requests=(paid,)), "/status"), "status-line-no-position")

        assert line.params["eta"] == Say("eta-deadline", {"deadline_at": deadline})

    @pytest.mark.parametrize(
        "requests",
        [
            (),
            (request(1, "planned_reading", Stage.DONE, "Старый вопрос"),),
            (request(5, "planned_reading", Stage.DRAFT, "Работа?"),),
        ],
    )
    def test_with_nothing_open_it_says_so_and_offers_the_menu(self, requests: tuple) -> None:
        outcome = reply(client(requests=requests), "где мой расклад?")

        assert text_ids(outcome) == ["status-none"]
        none = the_say(outcome, "status-none")
        assert none.params == {"name": "Анна"}
        assert payloads(none) == MENU_PAYLOADS


class TestAlwaysAvailable:
    @pytest.mark.parametrize(
        ("text", "payload"),
        [
            ("/human", None),
            ("позовите человека", None),
            ("", "human"),
            ("I want a real person", None),
        ],
    )
    def test_asking_for_the_practitioner_alerts_her(self, text: str, payload: str | None) -> None:
        outcome = reply(client(), text, payload=payload)

        assert outcome.effects[0] == Alert("human", excerpt=text)
        ack = the_say(outcome, "human-ack")
        assert ack.params == {"name": "Анна"} and ack.priority is Priority.URGENT

    def test_the_practitioner_can_be_reached_from_the_middle_of_a_question_list(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Работа?")
        outcome = reply(collecting(Step.QUESTIONS, draft), "/human")

        assert [a.kind for a in outcome.of(Alert)] == ["human"]
        assert outcome.of(AddQuestion) == []

    @pytest.mark.parametrize("text", ["а скидка есть?", "можно подешевле?", "any discount?"])
    def test_a_discount_request_gets_the_fixed_answer(self, text: str) -> None:
        assert reply(client(), text).effects == (Say("discount"),)

    def test_a_link_problem_is_flagged_with_the_delivered_request(self) -> None:
        delivered = request(3, "planned_reading", Stage.DONE, "Работа?")
        outcome = reply(client(requests=(delivered,)), "ссылка не открывается")

        assert outcome.effects[0] == Alert(
            "link_problem", excerpt="ссылка не открывается", request=3
        )
        ack = the_say(outcome, "link-problem-ack")
        assert ack.priority is Priority.URGENT and ack.params == {"name": "Анна"}

    def test_a_link_problem_before_any_link_was_sent_gets_the_status_not_an_alert(self) -> None:
        queued = request(3, "planned_reading", Stage.QUEUED, "Работа?", position=1)
        outcome = reply(client(requests=(queued,)), "ссылка не открывается")

        assert outcome.of(Alert) == []
        assert text_ids(outcome) == ["link-none-yet", "status-header", "status-line"]

    def test_a_link_problem_while_a_payment_link_may_be_out_is_flagged(self) -> None:
        unpaid = request(3, "planned_reading", Stage.SUBMITTED, "Работа?", position=1)
        outcome = reply(client(requests=(unpaid,)), "the link doesn't open")

        assert outcome.of(Alert) == [Alert("link_problem", excerpt="the link doesn't open")]

    def test_after_delivery_the_status_shows_the_results_and_their_links(self) -> None:
        done = request(
            3, "planned_reading", Stage.DONE, "Работа?", done_at=WORKING_TIME, result_link="https://disk/r3"
        )
        [answer] = reply(client(requests=(done,)), "где мой расклад?").says()

        assert answer.text_id == "status-results" and answer.buttons, "the menu to book again"
        [line] = answer.params["lines"]
        assert line == Say(
            "status-result-line",
            {"number": 3, "service": "Плановый расклад (видеозапись)", "done_date": WORKING_TIME, "link": "https://disk/r3"},
        )

    @pytest.mark.parametrize(
        "step_client",
        [
            collecting(Step.QUESTIONS, request(5, "planned_reading", Stage.DRAFT, "Работа?")),
            collecting(Step.ONE_QUESTION, request(8, "one_question", Stage.DRAFT)),
            collecting(Step.CALL_WISH, request(7, "planned_call", Stage.DRAFT)),
            client(step=Step.TERMS, step_service="planned_reading"),
        ],
    )
    def test_cancel_leaves_the_step_and_offers_the_menu(self, step_client: ClientView) -> None:
        outcome = reply(step_client, "отмена")

        assert outcome.effects[0] == SetStep(Step.IDLE)
        assert text_ids(outcome) == ["step-cancelled"]
        assert payloads(the_say(outcome, "step-cancelled")) == MENU_PAYLOADS
        assert outcome.of(AddQuestion) == []

    def test_cancel_with_nothing_to_cancel_says_so_and_shows_the_menu(self) -> None:
        outcome = reply(client(), "отмена")

        assert outcome.of(SetStep) == []
        assert text_ids(outcome) == ["cancel-nothing"]

    @pytest.mark.parametrize("text", ["меню", "/menu", "/start"])
    def test_the_menu_resets_the_step(self, text: str) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Работа?")
        outcome = reply(collecting(Step.QUESTIONS, draft), text)

        assert outcome.effects[0] == SetStep(Step.IDLE)
        menu = the_say(outcome, "menu-prompt-named")
        assert menu.params == {"name": "Анна"} and payloads(menu) == MENU_PAYLOADS

    def test_a_done_button_tapped_again_after_submitting_shows_the_menu(self) -> None:
        submitted = request(5, "planned_reading", Stage.SUBMITTED, "Работа?")
        outcome = reply(client(requests=(submitted,)), "Готово, это все вопросы", payload="done")

        assert text_ids(outcome) == ["menu-prompt-named"]
        assert outcome.of(ChangeStage) == []

    def test_the_menu_when_idle_changes_no_step(self) -> None:
        outcome = reply(client(), "меню")

        assert outcome.of(SetStep) == []
        assert text_ids(outcome) == ["menu-prompt-named"]

    @pytest.mark.parametrize("text", ["/help", "помощь", "how does it work?"])
    def test_help_explains_and_offers_the_menu(self, text: str) -> None:
        outcome = reply(client(), text)

        assert text_ids(outcome) == ["help"]
        assert payloads(the_say(outcome, "help")) == MENU_PAYLOADS


class TestRestrictedClient:
    @pytest.mark.parametrize(
        ("until", "text_id"),
        [(WORKING_TIME + timedelta(days=7), "restricted-until"), (None, "restricted-forever")],
    )
    def test_gets_the_notice_once_and_nothing_else(
        self, until: datetime | None, text_id: str
    ) -> None:
        restricted = client(restricted=True, restriction_until=until, restriction_announced=False)
        outcome = reply(restricted, "где мой расклад?")

        assert outcome.effects == (
            MarkNoticed("restriction"),
            Say(text_id, {"name": "Анна", "until_at": until}),
        )

    @pytest.mark.parametrize("text", ["где мой расклад?", "/human", "я оплатила", ""])
    def test_once_announced_gets_no_answer_at_all(self, text: str) -> None:
        restricted = client(restricted=True, restriction_announced=True)

        assert reply(restricted, text).effects == ()

    def test_something_truly_urgent_reaches_her_once_per_restriction(self) -> None:
        restricted = client(restricted=True, restriction_announced=True)

        assert reply(restricted, "СРОЧНО!!! муж ушёл").effects == (
            Alert("restricted_urgent", excerpt="СРОЧНО!!! муж ушёл"),
            Say("restricted-urgent-ack", {"name": "Анна"}),
        )
        already = client(restricted=True, restriction_announced=True, restriction_urgent_alerted=True)
        assert reply(already, "СРОЧНО!!!").effects == ()

    def test_off_hours_add_nothing_to_the_silence(self) -> None:
        restricted = client(restricted=True, restriction_announced=True)

        assert reply(restricted, "привет", now=SUNDAY_NOON).effects == ()


class TestFlood:
    LIMIT = CATALOGUE.flood_messages_per_minute

    def test_above_the_limit_the_practitioner_is_told_once_and_the_client_warned(self) -> None:
        flooding = client(messages_last_minute=self.LIMIT + 1)
        outcome = reply(flooding, "ну где???")

        assert outcome.effects == (
            MarkNoticed("flood"),
            Alert("flood", excerpt=str(self.LIMIT + 1)),
            Say("flood-notice", {"name": "Анна"}),
        )

    def test_an_already_reported_burst_gets_no_answer(self) -> None:
        flooding = client(messages_last_minute=self.LIMIT + 5, flood_reported=True)

        assert reply(flooding, "ну где???").effects == ()

    def test_at_the_limit_messages_are_still_answered(self) -> None:
        outcome = reply(client(messages_last_minute=self.LIMIT), "где мой расклад?")

        assert text_ids(outcome) == ["status-none"]


class TestOffHours:
    @pytest.mark.parametrize(
        ("now", "next_opening"),
        [
            # Sunday noon in Moscow: back on Monday at 10:00.
            (SUNDAY_NOON, datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),
            # Tuesday 23:00 in Moscow: back on Wednesday at 10:00.
            (TUESDAY_LATE, datetime(2026, 11, 25, 7, 0, tzinfo=UTC)),
            # Saturday 20:30 in Moscow: Sunday is off, back on Monday.
            (datetime(2026, 11, 28, 17, 30, tzinfo=UTC), datetime(2026, 11, 30, 7, 0, tzinfo=UTC)),
        ],
    )
    def test_the_answer_is_followed_by_the_hours_and_the_next_opening(
        self, now: datetime, next_opening: datetime
    ) -> None:
        outcome = reply(client(), "где мой расклад?", now=now)

        assert text_ids(outcome) == ["status-none", "offhours"]
        assert outcome.of(MarkNoticed) == [MarkNoticed("offhours")]
        notice = the_say(outcome, "offhours")
        assert notice.params == {"start": "10:00", "end": "20:00", "next_at": next_opening}

    def test_an_emergency_off_hours_is_still_alerted_at_once(self) -> None:
        outcome = reply(client(), "срочно!", now=SUNDAY_NOON)

        assert [a.kind for a in outcome.of(Alert)] == ["emergency"]
        assert text_ids(outcome)[0] == "emergency-ack"
        assert the_say(outcome, "emergency-ack").priority is Priority.URGENT

    @pytest.mark.parametrize("ago", [timedelta(minutes=5), timedelta(hours=11, minutes=59)])
    def test_is_not_repeated_within_the_notice_period(self, ago: timedelta) -> None:
        notified = client(offhours_notified_at=SUNDAY_NOON - ago)
        outcome = reply(notified, "где мой расклад?", now=SUNDAY_NOON)

        assert text_ids(outcome) == ["status-none"]
        assert outcome.of(MarkNoticed) == []

    def test_is_repeated_once_the_notice_period_has_passed(self) -> None:
        notified = client(offhours_notified_at=SUNDAY_NOON - timedelta(hours=12))
        outcome = reply(notified, "где мой расклад?", now=SUNDAY_NOON)

        assert text_ids(outcome) == ["status-none", "offhours"]

    @pytest.mark.parametrize("now", [WORKING_TIME, SATURDAY_NOON])
    def test_within_working_hours_there_is_no_notice(self, now: datetime) -> None:
        outcome = reply(client(), "где мой расклад?", now=now)

        assert "offhours" not in text_ids(outcome)
        assert outcome.of(MarkNoticed) == []

    def test_a_message_that_needs_no_answer_gets_no_notice(self) -> None:
        flooding = client(messages_last_minute=100, flood_reported=True)

        assert reply(flooding, "ну где", now=SUNDAY_NOON).effects == ()


BAD_INPUTS = [
    pytest.param("", Kind.TEXT, "empty-message", id="empty"),
    pytest.param("   \n\t ", Kind.TEXT, "empty-message", id="whitespace"),
    pytest.param("\u200b\u200d", Kind.TEXT, "empty-message", id="zero-width"),
    pytest.param("😀🙏✨🔥", Kind.TEXT, "empty-message", id="emoji-only"),
    pytest.param("а" * 10_000, Kind.TEXT, "out-of-scope", id="10k-characters"),
    pytest.param("ку " * 3_400, Kind.TEXT, "out-of-scope", id="10k-words"),
    pytest.param("\x00\xff\ufffd\ufffd\x07\x1b[31m", Kind.TEXT, "out-of-scope", id="binary"),
    pytest.param("\ud800", Kind.TEXT, "empty-message", id="lone-surrogate"),
    pytest.param("", Kind.STICKER, "non-text-received", id="sticker"),
    pytest.param("", Kind.PHOTO, "non-text-received", id="photo"),
    pytest.param("подпись к фото", Kind.PHOTO, "non-text-received", id="photo-with-caption"),
    pytest.param("", Kind.OTHER, "non-text-received", id="other"),
    pytest.param("", Kind.VOICE, "voice-outside-intake", id="voice-outside-intake"),
]


class TestBadInput:
    @pytest.mark.parametrize(("text", "kind", "text_id"), BAD_INPUTS)
    def test_is_answered_with_the_menu_and_never_raises(
        self, text: str, kind: Kind, text_id: str
    ) -> None:
        outcome = reply(client(), text, kind=kind)

        assert text_ids(outcome) == [text_id]
        assert payloads(the_say(outcome, text_id)) == MENU_PAYLOADS
        assert outcome.of(OpenRequest) == [] and outcome.of(Alert) == []

    @pytest.mark.parametrize(("text", "kind", "text_id"), BAD_INPUTS)
    def test_at_first_contact_still_gets_a_greeting(
        self, text: str, kind: Kind, text_id: str
    ) -> None:
        outcome = reply(client(first_contact=True), text, kind=kind)

        assert outcome.says(), "a first message must never go unanswered"
        assert text_ids(outcome)[0] in ("greeting-first", "greeting-first-with-text")

    @pytest.mark.parametrize(("text", "kind", "text_id"), BAD_INPUTS)
    @pytest.mark.parametrize(
        "who",
        [
            collecting(Step.QUESTIONS, request(5, "planned_reading", Stage.DRAFT, "Работа?")),
            collecting(Step.ONE_QUESTION, request(8, "one_question", Stage.DRAFT)),
            collecting(Step.SITUATION, request(4, "emergency", Stage.SUBMITTED, "срочно")),
            client(step=Step.TERMS, step_service="planned_reading"),
            client(step=Step.QUESTIONS, step_service="gone", step_request_id=99),
        ],
        ids=["questions", "one-question", "situation", "terms", "stale-step"],
    )
    def test_in_any_step_still_gets_an_answer(
        self, who: ClientView, text: str, kind: Kind, text_id: str
    ) -> None:
        assert reply(who, text, kind=kind).says()


class TestCancellingARequest:
    def test_an_unpaid_request_is_cancelled_after_one_confirmation(self) -> None:
        submitted = request(4, "planned_reading", Stage.SUBMITTED, "Работа?")
        asked = reply(client(requests=(submitted,)), "отмените мой расклад")
        assert asked.of(SetStep) == [SetStep(Step.CONFIRM_CANCEL, "planned_reading", 4)]
        assert payloads(the_say(asked, "cancel-confirm")) == ["cancel:yes", "cancel:no"]

        waiting = client(step=Step.CONFIRM_CANCEL, step_request_id=4, requests=(submitted,))
        done = reply(waiting, "", payload="cancel:yes")
        assert done.of(ChangeStage) == [ChangeStage(4, Stage.CANCELLED)]
        assert text_ids(done) == ["request-cancelled"]

    def test_no_keeps_the_request(self) -> None:
        submitted = request(4, "planned_reading", Stage.SUBMITTED, "Работа?")
        waiting = client(step=Step.CONFIRM_CANCEL, step_request_id=4, requests=(submitted,))
        kept = reply(waiting, "нет")
        assert kept.of(ChangeStage) == [] and text_ids(kept) == ["cancel-kept"]

    def test_something_else_drops_the_question_and_is_answered(self) -> None:
        submitted = request(4, "planned_reading", Stage.SUBMITTED, "Работа?")
        waiting = client(step=Step.CONFIRM_CANCEL, step_request_id=4, requests=(submitted,))
        other = reply(waiting, "где мой расклад?")
        assert other.of(ChangeStage) == []
        assert other.of(SetStep) == [SetStep(Step.IDLE)]
        assert "status-header" in text_ids(other)

    def test_paid_work_is_handed_to_the_practitioner(self) -> None:
        queued = request(4, "planned_reading", Stage.QUEUED, "Работа?")
        outcome = reply(client(requests=(queued,)), "отменить")
        assert outcome.of(ChangeStage) == []
        assert [a.kind for a in outcome.of(Alert)] == ["human"]
        assert text_ids(outcome) == ["cancel-needs-practitioner"]


class TestAQuestionListKeepsItsQuestions:
    @pytest.mark.parametrize(
        "text", ["Сколько ждать его возвращения?", "Стоит ли покупать акции?", "Будет ли звонок от него?"]
    )
    def test_keyword_lookalikes_are_questions(self, text: str) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Работа?")
        outcome = reply(collecting(Step.QUESTIONS, draft), text)
        assert outcome.of(AddQuestion) == [AddQuestion(5, text)]

    def test_commands_still_work(self) -> None:
        draft = request(5, "planned_reading", Stage.DRAFT, "Работа?")
        outcome = reply(collecting(Step.QUESTIONS, draft), "/status")
        assert outcome.of(AddQuestion) == [] and text_ids(outcome) == ["status-none", "resume-questions"]


class TestEmergenciesCutThrough:
    def test_a_first_emergency_is_heard_even_in_a_flood(self) -> None:
        outcome = reply(client(messages_last_minute=50, flood_reported=True), "срочно, помогите")
        assert [a.kind for a in outcome.of(Alert)] == ["emergency"]

    def test_repeated_emergencies_in_a_flood_stay_quiet(self) -> None:
        open_one = request(7, "emergency", Stage.SUBMITTED, "помогите")
        outcome = reply(
            client(messages_last_minute=50, flood_reported=True, requests=(open_one,)), "срочно!!!"
        )
        assert outcome.effects == ()

    def test_no_off_hours_notice_after_an_emergency_alert(self) -> None:
        sunday_night = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
        outcome = reply(client(), "СРОЧНО помогите", now=sunday_night)
        assert "emergency-ack" in text_ids(outcome) and "offhours" not in text_ids(outcome)

    def test_a_link_problem_points_at_the_latest_delivered_request(self) -> None:
        old = request(2, "planned_reading", Stage.DONE, "a")
        new = request(9, "planned_reading", Stage.DONE, "b")
        outcome = reply(client(requests=(old, new)), "ссылка не открывается")
        assert [a.request for a in outcome.of(Alert)] == [9]
