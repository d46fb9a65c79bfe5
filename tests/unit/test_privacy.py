"""Erasure on request and retention, the pure parts: the intent, the client's answer and her alert,
/forget's decision, when a forgotten client's addresses may go, the retention cutoff."""

from dataclasses import replace
from datetime import timedelta

import pytest
from pydantic import ValidationError

from bot.settings import Settings
from flows.conversation import handle
from flows.effects import Alert
from flows.intents import Intent, recognise
from flows.model import RequestView, Stage, Step
from flows.practice.effects import Answer, Forget, Notify
from flows.practice.parse import looks_like_practitioner_command
from flows.practice.privacy import ForgetCard, export, export_link, forget, split_confirmation
from flows.privacy import (
    ALERT_AGAIN_AFTER,
    FAREWELL_GIVE_UP,
    FAREWELL_GRACE,
    addresses_due,
    farewell_key,
    retention_cutoff,
)
from tests.factories import WORKING_TIME, client, context, inbound

ASKS = [
    "удалите мои данные",
    "Удали мои данные",
    "удалить мои данные",
    "Здравствуйте, удалите пожалуйста все мои данные!",
    "Можете удалить мои данные?",
    "удалите мою переписку",
    "удалите все мои сообщения",
    "сотрите мои персональные данные",
    "удалите меня из базы",
    "забудьте меня",
    "/forget",
    "/forget@PriemBot",
    "forget me",
    "Forget me please",
    "please delete my data",
    "Erase all my personal information",
    "I want my right to be forgotten",
    "usuńcie moje dane",
    "zapomnij mnie",
    "удалите мои д\u0061нные",  # a Latin «a» inside the word
]
NOT_ASKS = [
    "не удаляйте мои данные",
    "don't delete my data",
    "Как удалить мои данные из тиндера?",
    "how do i delete my data from instagram",
    "стоит ли мне удалить его номер?",
    "я удалила свои фото, он вернётся?",
    "удалите",
    "мои данные",
    "forget it",
    # A long story that happens to say it is a story, not a request.
    "Здравствуйте, у меня такая ситуация: муж сказал удалите мои данные из своего телефона и ушёл к другой, "
    "теперь не знаю что делать, вернётся ли он ко мне или нет",
]


@pytest.mark.parametrize("text", ASKS)
def test_a_request_to_be_forgotten_is_recognised(text: str) -> None:
    assert recognise(text).intent is Intent.FORGET


@pytest.mark.parametrize("text", NOT_ASKS)
def test_mentions_negations_and_advice_questions_are_not_requests(text: str) -> None:
    assert recognise(text).intent is not Intent.FORGET


class TestTheClientAsks:
    def test_she_is_alerted_and_the_client_told_what_will_happen(self) -> None:
        request = RequestView(id=7, service="planned_reading", stage=Stage.QUEUED)
        outcome = handle(client(requests=(request,)), inbound("удалите мои данные"), context())

        [alert] = outcome.of(Alert)
        assert alert.kind == "forget" and alert.request == 7 and alert.excerpt == "удалите мои данные"
        assert [s.text_id for s in outcome.says()] == ["forget-asked"]

    def test_a_repeat_within_a_day_is_answered_without_a_second_alert(self) -> None:
        asked = client(forget_asked_at=WORKING_TIME - timedelta(hours=3))
        outcome = handle(asked, inbound("/forget"), context())
        assert outcome.of(Alert) == [] and [s.text_id for s in outcome.says()] == ["forget-already-asked"]

        later = replace(asked, forget_asked_at=WORKING_TIME - ALERT_AGAIN_AFTER)
        assert [a.kind for a in handle(later, inbound("/forget"), context()).of(Alert)] == ["forget"]

    def test_a_restricted_client_is_still_heard(self) -> None:
        restricted = client(restricted=True, restriction_announced=True)
        outcome = handle(restricted, inbound("forget me"), context())
        assert [a.kind for a in outcome.of(Alert)] == ["forget"]

    def test_a_first_message_asking_it_is_taken_as_asked(self) -> None:
        outcome = handle(client(first_contact=True), inbound("удалите мои данные"), context())
        assert [a.kind for a in outcome.of(Alert)] == ["forget"]
        assert [s.text_id for s in outcome.says()] == ["forget-asked"]

    def test_inside_a_question_list_words_are_a_question_and_the_command_still_works(self) -> None:
        draft = RequestView(id=5, service="planned_reading", stage=Stage.DRAFT)
        listing = client(step=Step.QUESTIONS, step_service="planned_reading", step_request_id=5, requests=(draft,))

        # A global intent cuts through the list when it is short and plain (issue 21)…
        asked = handle(listing, inbound("удалите мои данные"), context())
        assert [a.kind for a in asked.of(Alert)] == ["forget"]
        # …a longer message inside the list is a question for the reading.
        as_question = handle(listing, inbound("стоит ли мне удалить мои данные из его телефона и забыть его?"), context())
        assert as_question.of(Alert) == []
        as_command = handle(listing, inbound("/forget"), context())
        assert [a.kind for a in as_command.of(Alert)] == ["forget"]

    def test_a_flood_of_repeats_is_throttled_like_any_flood(self) -> None:
        flooding = client(forget_asked_at=WORKING_TIME - timedelta(minutes=1), messages_last_minute=50)
        outcome = handle(flooding, inbound("/forget"), context())
        assert "forget-already-asked" not in [s.text_id for s in outcome.says()]
        assert [a.kind for a in outcome.of(Alert)] == ["flood"]

    def test_a_client_typing_forget_is_not_logged_as_trying_her_command(self) -> None:
        assert not looks_like_practitioner_command("/forget")
        assert looks_like_practitioner_command("/forget #12")
        assert looks_like_practitioner_command("/export 12")


class TestHerConfirmation:
    ASKED = ForgetCard(client_id=3, name="Анна", asked_at=WORKING_TIME, open_requests=())

    def test_the_farewell_is_queued_first_and_spared_by_the_erasure(self) -> None:
        effects = forget(self.ASKED, "#12", confirmed=False)

        notify, erase, answer = effects
        assert isinstance(notify, Notify) and notify.text_id == "client-forgotten" and notify.params == {}
        assert isinstance(erase, Forget) and erase.client_id == 3
        assert notify.key == erase.spare_key == farewell_key(3)
        assert answer == Answer("cmd-forget-ok")  # names no one: it outlives the erasure

    def test_a_client_who_never_asked_needs_her_explicit_word(self) -> None:
        never = replace(self.ASKED, asked_at=None)
        assert forget(never, "#12", confirmed=False) == [
            Answer("cmd-forget-not-asked", {"client": "Анна", "ref": "#12"})
        ]
        assert any(isinstance(e, Forget) for e in forget(never, "#12", confirmed=True))

    def test_a_forgotten_client_is_not_erased_twice(self) -> None:
        gone = replace(self.ASKED, forgotten=True)
        assert [e.text_id for e in forget(gone, "#12", confirmed=True)] == ["cmd-forget-already"]

    def test_open_requests_are_named_not_closed(self) -> None:
        effects = forget(replace(self.ASKED, open_requests=(12, 14)), "#12", confirmed=False)
        assert effects[-1] == Answer("cmd-forget-open-requests", {"numbers": "№12, №14"})

    @pytest.mark.parametrize(
        ("words", "expected"),
        [
            (["#12", "да"], (["#12"], True)),
            (["Анна", "Петрова", "yes"], (["Анна", "Петрова"], True)),
            (["#12"], (["#12"], False)),
            ([], ([], False)),
        ],
    )
    def test_the_confirming_word_comes_last(self, words: list[str], expected: tuple[list[str], bool]) -> None:
        assert split_confirmation(words) == expected

    def test_export_answers_with_the_link_to_her_page(self) -> None:
        assert export_link("https://desk.example.com/desk/", 3) == "https://desk.example.com/desk/clients/3/export.json"
        [answer] = export(3, "Анна", "https://desk.example.com/desk")
        assert answer.params["url"].endswith("/desk/clients/3/export.json")


class TestTheClock:
    @pytest.mark.parametrize(
        ("after", "state", "due"),
        [
            (timedelta(minutes=1), "sent", False),  # the web page has not fetched it yet
            (FAREWELL_GRACE, "sent", True),
            (FAREWELL_GRACE, "failed", True),
            (FAREWELL_GRACE, "uncertain", True),
            (FAREWELL_GRACE, None, True),  # no way to reach them: nothing to wait for
            (FAREWELL_GRACE, "pending", False),
            (timedelta(days=6), "waiting_window", False),
            (FAREWELL_GIVE_UP, "waiting_window", True),
            (FAREWELL_GIVE_UP, "pending", True),
        ],
    )
    def test_addresses_go_once_the_farewell_is_out(self, after: timedelta, state: str | None, due: bool) -> None:
        assert addresses_due(WORKING_TIME, state, WORKING_TIME + after) is due

    def test_retention_is_off_unless_set(self) -> None:
        assert retention_cutoff(WORKING_TIME, None) is None
        assert retention_cutoff(WORKING_TIME, 0) is None
        assert retention_cutoff(WORKING_TIME, 90) == WORKING_TIME - timedelta(days=90)

    def test_the_setting_is_days_and_zero_means_keep(self) -> None:
        assert Settings(_env_file=None).retention_days is None  # type: ignore[call-arg]
        assert Settings(_env_file=None, retention_days=0).retention_days is None  # type: ignore[call-arg]
        assert Settings(_env_file=None, retention_days="30").retention_days == 30  # type: ignore[call-arg]
        with pytest.raises(ValidationError):
            Settings(_env_file=None, retention_days=-1)  # type: ignore[call-arg]


async def test_the_scheduler_runs_the_address_sweep_always_and_retention_only_when_set() -> None:
    from bot.outbox.relay import OutboxRelay
    from bot.privacy import Privacy
    from scheduler import build_scheduler
    from tests.factories import FakeClock

    def jobs(days: int | None) -> set[str]:
        clock = FakeClock()
        privacy = Privacy(sessions=None, practitioner_id=1, clock=clock, retention_days=days)  # type: ignore[arg-type]
        scheduler = build_scheduler(OutboxRelay(None, {}, clock), privacy=privacy)  # type: ignore[arg-type]
        return {job.id for job in scheduler.get_jobs()}

    assert {"privacy-sweep", "retention-sweep"} <= jobs(30)
    assert "privacy-sweep" in jobs(None) and "retention-sweep" not in jobs(None)
