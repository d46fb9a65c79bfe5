"""What clients really write, through the conversation (flows/conversation.handle with the trained
language layer): the defects of issue 21, and every global intent in every step."""

import pytest

from flows.conversation import handle
from flows.effects import AcceptTerms, AddQuestion, Alert, ChangeStage, OpenRequest, Outcome, UpdateClient
from flows.model import ClientView, RequestView, Stage, Step
from tests.factories import catalogue, client, context, inbound

ACCEPTED = frozenset(s.key for s in catalogue().services)


def reply(who: ClientView, text: str = "", payload: str | None = None) -> Outcome:
    return handle(who, inbound(text, payload=payload), context())


def ids(outcome: Outcome) -> list[str]:
    return [say.text_id for say in outcome.says()]


def request(id: int, service: str, stage: Stage, *questions: str) -> RequestView:
    return RequestView(id=id, service=service, stage=stage, questions=questions)


EMERGENCY = request(4, "emergency", Stage.SUBMITTED, "Муж ушёл")
QUEUED = request(2, "planned_reading", Stage.QUEUED, "Работа?")
DONE = request(1, "planned_reading", Stage.DONE, "Работа?")
STEPS = {
    "start": client(first_contact=True),
    "choosing": client(),
    "terms pending": client(step=Step.TERMS, step_service="planned_reading"),
    "collecting questions": client(
        step=Step.QUESTIONS, step_service="planned_reading", step_request_id=5,
        requests=(request(5, "planned_reading", Stage.DRAFT, "Работа?"),), accepted_terms=ACCEPTED,
    ),
    "booked": client(requests=(QUEUED,), accepted_terms=ACCEPTED),
    "after an emergency": client(step=Step.SITUATION, step_service="emergency", step_request_id=4, requests=(EMERGENCY,)),
    "after delivery": client(requests=(DONE,), accepted_terms=ACCEPTED),
}


class TestEverydayMessages:
    @pytest.mark.parametrize(
        "text", ["Где мой запрос?", "какой я по счёту?", "долго ещё?", "есть новости по моему запросу?", "gde moi rasklad"]
    )
    def test_where_is_my_request_is_a_status_question(self, text: str) -> None:
        outcome = reply(client(requests=(QUEUED,)), text)

        assert ids(outcome)[0] == "status-header"
        assert "out-of-scope" not in ids(outcome)

    @pytest.mark.parametrize("text", ["спасибо", "благодарю", "ок, жду"])
    def test_thanks_get_a_short_warm_answer_never_the_fallback(self, text: str) -> None:
        outcome = reply(client(requests=(QUEUED,)), text)

        assert ids(outcome) == ["thanks-waiting"]

    @pytest.mark.parametrize("text", ["ПОМОГИТЕ СРОЧНО", "помогите срочно пожалуйста", "СРОЧНО помогите"])
    def test_a_plea_with_the_word_opens_the_emergency_at_once(self, text: str) -> None:
        outcome = reply(client(), text)

        assert [a.kind for a in outcome.of(Alert)] == ["emergency"]
        assert ids(outcome) == ["emergency-ack"]

    def test_the_word_later_in_the_message_asks_once_with_two_buttons_and_keeps_the_text(self) -> None:
        outcome = reply(client(), "это экстренная ситуация")

        assert outcome.of(Alert) == []
        assert outcome.of(AddQuestion)[0].text == "это экстренная ситуация"
        asked = outcome.says()[0]
        assert asked.text_id == "urgent-ask" and [b.payload for b in asked.buttons] == ["urgent:yes", "urgent:no"]

    def test_yes_to_the_question_alerts_her_with_what_was_written(self) -> None:
        held = request(9, "emergency", Stage.DRAFT, "это экстренная ситуация")
        asked = client(step=Step.CONFIRM_URGENT, step_service="emergency", step_request_id=9, requests=(held,))

        outcome = reply(asked, "", payload="urgent:yes")

        assert outcome.of(ChangeStage) == [ChangeStage(9, Stage.SUBMITTED)]
        assert [(a.kind, a.excerpt) for a in outcome.of(Alert)] == [("emergency", "это экстренная ситуация")]

    def test_no_to_the_question_lets_the_kept_message_go_the_planned_way(self) -> None:
        held = request(9, "emergency", Stage.DRAFT, "хочу плановый расклад, это срочно")
        asked = client(step=Step.CONFIRM_URGENT, step_service="emergency", step_request_id=9, requests=(held,))

        outcome = reply(asked, "", payload="urgent:no")

        assert outcome.of(Alert) == []
        assert ChangeStage(9, Stage.CANCELLED) in outcome.effects
        assert "terms-intro" in ids(outcome)  # the planned reading it asked for

    @pytest.mark.parametrize("text", ["не срочно", "это не срочно, просто вопрос", "ничего срочного"])
    def test_a_negation_never_triggers_either(self, text: str) -> None:
        outcome = reply(client(), text)

        assert outcome.of(Alert) == [] and "urgent-ask" not in ids(outcome)

    def test_after_an_emergency_the_client_can_still_ask_and_book(self) -> None:
        after = STEPS["after an emergency"]

        assert ids(reply(after, "где мой расклад?"))[0] == "status-header"
        assert ids(reply(after, "статус"))[0] == "status-header"
        assert "terms-intro" in ids(reply(after, "хочу плановый расклад"))
        detail = reply(after, "он забрал вещи и не отвечает")
        assert detail.of(AddQuestion) == [AddQuestion(4, "он забрал вещи и не отвечает")]

    def test_the_one_question_comes_with_the_choice_and_is_not_asked_again(self) -> None:
        chosen = reply(client(), "Хочу задать один вопрос: вернётся ли он?")

        assert AddQuestion(chosen.of(OpenRequest)[0] and chosen.of(AddQuestion)[0].request, "вернётся ли он?") in chosen.effects
        assert ids(chosen) == ["terms-intro"]
        kept = request(8, "one_question", Stage.DRAFT, "вернётся ли он?")
        accepted = reply(client(step=Step.TERMS, step_service="one_question", step_request_id=8, requests=(kept,)), "да")
        assert AcceptTerms("one_question") in accepted.effects
        assert "one-question-prompt" not in ids(accepted)
        assert ids(accepted)[0] == "confirm-queue"  # straight to the queue with the question

    def test_a_question_typed_while_the_terms_wait_is_kept(self) -> None:
        outcome = reply(STEPS["terms pending"], "А он вернётся ко мне?")

        assert outcome.of(AddQuestion)[0].text == "А он вернётся ко мне?"
        assert ids(outcome) == ["terms-kept-question"]

    def test_sos_from_a_russian_profile_is_answered_in_russian(self) -> None:
        newcomer = client(first_contact=True, language="ru")

        outcome = handle(newcomer, inbound("sos"), context())

        assert UpdateClient(language="en") not in outcome.effects
        assert outcome.of(Alert)[0].kind == "emergency"

    @pytest.mark.parametrize("text", ["сколько стоит?", "какая цена?", "прайс"])
    def test_price_is_answered_from_the_catalogue(self, text: str) -> None:
        outcome = reply(client(), text)

        answer = outcome.says()[0]
        assert answer.text_id == "price-list"
        assert len(answer.params["lines"]) == len(catalogue().services)

    def test_the_price_of_a_named_format(self) -> None:
        answer = reply(client(), "сколько стоит плановый расклад?").says()[0]

        assert [line.params["service"] for line in answer.params["lines"]] == ["Плановый расклад (видеозапись)"]

    def test_when_unsure_the_two_best_guesses_are_offered(self) -> None:
        asked = reply(client(), "скажите").says()[0]

        assert asked.text_id == "did-you-mean"
        assert [b.payload for b in asked.buttons][-1] == "menu"
        assert all(b.payload.startswith("intent:") for b in asked.buttons[:-1]) and len(asked.buttons) == 3


GLOBAL = {
    "emergency": ("срочно помогите, он ушёл", "emergency"),
    "status": ("где мой запрос?", "status"),
    "price": ("сколько стоит?", "price-list"),
    "human": ("позовите человека", "human-ack"),
    "cancel": ("отмена", None),
    "forget": ("удалите мои данные", None),
    "thanks": ("спасибо", None),
    "greeting": ("здравствуйте", None),
    "help": ("/help", "help"),
}


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("intent", list(GLOBAL))
def test_every_global_intent_is_answered_in_every_step(intent: str, step: str) -> None:
    text, expected = GLOBAL[intent]
    who = STEPS[step]

    outcome = reply(who, text)
    said = ids(outcome)

    assert said, "never silence"
    assert "out-of-scope" not in said and "questions-need-text" not in said
    assert outcome.of(AddQuestion) == [] or intent == "emergency", "a global intent is not content"
    if intent == "emergency":
        assert [a.kind for a in outcome.of(Alert)] == ["emergency"]
    elif expected == "status":
        assert {"status-header", "status-none"} & set(said)
    elif expected is not None:
        assert expected in said or (step == "start" and said == ["greeting-first"])  # a newcomer's help is the menu
    if intent == "forget":
        assert said[0].startswith("forget")
    if intent in ("status", "price", "thanks") and step in ("terms pending", "collecting questions"):
        assert said[-1].startswith("resume-"), "the step resumes where it was"
    if intent == "thanks":
        assert said[0].startswith("thanks") or said[0].startswith("greeting")


@pytest.mark.parametrize("text", ["𗀀A", "я𗀀", "\U000d02ce\U000bc0cf\x11", "p0C\x1bG\x8f\U000cbbb9ç"])
def test_unassigned_code_points_are_read_not_raised(text: str) -> None:
    """pymorphy3 raises ValueError on letters unicodedata cannot name; found by the webhook fuzzer."""
    from flows.language.understanding import trained

    assert trained().understand(text).intent is not None
    assert trained().lemmatizer.gender(text) is None
    assert ids(reply(client(first_contact=True), text)), "never silence"
