"""Property tests of the pure conversation: any Unicode, any payload, any kind, any client state.

`flows.conversation.handle` must never raise, and everything it says must be a text that exists
in both catalogs (ru, en) and renders there, buttons included — whatever the client sent and
whatever state the stored client is in (a step pointing at a request that is gone, a service
the catalogue no longer has, a half-built question list, a restriction without an end…).
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.texts import Texts
from flows.context import Context
from flows.conversation import PAYLOAD_INTENTS, handle
from flows.effects import AddQuestion, ChangeStage, NewRequest, OpenRequest, Outcome, Say, SetStep
from flows.model import Channel, ClientView, Inbound, Kind, QueueStats, RequestView, Stage, Step
from flows.replies import SERVICE_PREFIX
from tests.factories import ROOT, catalogue, understander

TEXTS = Texts(ROOT / "locales")
CATALOGUE = catalogue()
KEYS = [s.key for s in CATALOGUE.services]
IDS = {language: TEXTS.ids(language) for language in ("ru", "en")}

# Words that move the conversation, so that arbitrary text also walks through real states.
PHRASES = [
    "да", "нет", "готово", "меню", "отмена", "где мой расклад?", "срочно", "SOS помогите", "1", "2", "5",
    "99", "/start", "/help", "/human", "/cancel", "/status", "хочу плановый расклад", "ещё вопрос: а он?",
    "ссылка не открывается", "скидка", "yes", "done", "menu", "hello", "Привет", "", " ", "?", "??",
]
PAYLOADS = [*PAYLOAD_INTENTS, *(SERVICE_PREFIX + k for k in KEYS), SERVICE_PREFIX + "gone", SERVICE_PREFIX]

texts = st.one_of(
    st.text(),
    st.sampled_from(PHRASES),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(PHRASES), st.text(max_size=40)),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=5000),
)
payloads = st.one_of(st.none(), st.sampled_from(PAYLOADS), st.text(max_size=64))
# Naive bounds are how hypothesis takes them; the values themselves are aware (UTC).
moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)  # noqa: DTZ001
)
services = st.one_of(st.sampled_from(KEYS), st.just("retired_service"))


@st.composite
def requests(draw: st.DrawFn) -> tuple[RequestView, ...]:
    ids = draw(st.lists(st.integers(1, 10_000), unique=True, max_size=5))
    return tuple(
        RequestView(
            id=request_id,
            service=draw(services),
            stage=draw(st.sampled_from(Stage)),
            questions=tuple(draw(st.lists(st.text(max_size=50), max_size=4))),
            paid=draw(st.booleans()),
            created_at=draw(st.none() | moments),
            submitted_at=draw(st.none() | moments),
            position=draw(st.none() | st.integers(1, 500)),
            deadline_at=draw(st.none() | moments),
        )
        for request_id in ids
    )


@st.composite
def clients(draw: st.DrawFn) -> ClientView:
    owned = draw(requests())
    request_ids = [r.id for r in owned]
    step_request = st.none() | st.integers(1, 10_000)
    if request_ids:
        step_request = step_request | st.sampled_from(request_ids)
    return ClientView(
        id=1,
        name=draw(st.text(max_size=100)),
        language=draw(st.sampled_from(["ru", "en"])),
        first_contact=draw(st.booleans()),
        step=draw(st.sampled_from(Step)),
        step_service=draw(st.none() | services),
        step_request_id=draw(step_request),
        accepted_terms=frozenset(draw(st.lists(services, max_size=5))),
        restricted=draw(st.booleans()),
        restriction_until=draw(st.none() | moments),
        restriction_announced=draw(st.booleans()),
        messages_last_minute=draw(st.integers(0, 40)),
        flood_reported=draw(st.booleans()),
        offhours_notified_at=draw(st.none() | moments),
        requests=owned,
    )


@st.composite
def contexts(draw: st.DrawFn) -> Context:
    return Context(
        now=draw(moments),
        catalogue=CATALOGUE,
        understander=understander(),
        queue_lengths=draw(st.dictionaries(services, st.integers(0, 1_000), max_size=4)),
        stats=QueueStats(throughput=draw(st.dictionaries(services, st.floats(0.01, 60), max_size=4))),
    )


@st.composite
def inbounds(draw: st.DrawFn) -> Inbound:
    return Inbound(
        channel=draw(st.sampled_from(Channel)),
        external_id=draw(st.text(min_size=1, max_size=64)),
        sender_ref="client-1",
        sender_name=draw(st.text(max_size=100)),
        text=draw(texts),
        received_at=draw(moments),
        kind=draw(st.sampled_from(Kind)),
        payload=draw(payloads),
        language_hint=draw(st.none() | st.sampled_from(["ru", "en", "de", "ru-RU", ""]) | st.text(max_size=10)),
        media_ref=draw(st.none() | st.text(max_size=100)),
    )


def says(outcome: Outcome) -> Iterator[Say]:
    """Every Say, nested ones (an ETA inside a confirmation) included."""
    pending: list[Any] = list(outcome.says())
    while pending:
        say = pending.pop()
        yield say
        pending += [value for value in say.params.values() if isinstance(value, Say)]


def resolved(params: dict[str, Any]) -> dict[str, Any]:
    """What bot/desk.py does before rendering: the new request's id replaces NEW."""
    return {key: 42 if isinstance(value, NewRequest) else value for key, value in params.items()}


# Found by this test: terms shown for a format that a catalogue edit later made the emergency
# one, then accepted — flows/intake.py raised KeyError, and the web chat answered 500.
STALE_TERMS = ClientView(id=1, name="Анна", language="ru", step=Step.TERMS, step_service="emergency")
ACCEPT = Inbound(Channel.WEB, "m1", "client-1", "Анна", "да", datetime(2026, 11, 24, 9, tzinfo=UTC))


@given(client=clients(), msg=inbounds(), ctx=contexts())
@example(client=STALE_TERMS, msg=ACCEPT, ctx=Context(now=ACCEPT.received_at, catalogue=CATALOGUE, understander=understander()))
def test_handle_never_raises_and_every_text_exists_and_renders(
    client: ClientView, msg: Inbound, ctx: Context
) -> None:
    outcome = handle(client, msg, ctx)
    for say in says(outcome):
        for language in ("ru", "en"):
            assert say.text_id in IDS[language], f"{say.text_id!r} missing from {language}"
            rendered = TEXTS.text(say.text_id, resolved(dict(say.params)), language, "Europe/Moscow")
            assert rendered.strip(), say.text_id
            for button in say.buttons:
                assert button.label is not None or button.text_id in IDS[language]
                assert TEXTS.button(button, language).strip()


@given(client=clients(), msg=inbounds(), ctx=contexts())
def test_effects_name_requests_the_shell_can_resolve(client: ClientView, msg: Inbound, ctx: Context) -> None:
    """A NEW reference only after the OpenRequest that creates it; steps are real steps."""
    effects = handle(client, msg, ctx).effects
    opened = False
    for effect in effects:
        if isinstance(effect, OpenRequest):
            assert not opened, "two new requests in one outcome: NEW would be ambiguous"
            assert effect.service in KEYS
            opened = True
        if isinstance(effect, AddQuestion | ChangeStage | SetStep):
            assert not isinstance(effect.request, NewRequest) or opened, effect
        if isinstance(effect, SetStep):
            assert isinstance(effect.step, Step)
        if isinstance(effect, AddQuestion):
            assert isinstance(effect.text, str)


@given(msg=inbounds(), ctx=contexts())
def test_a_first_contact_is_always_answered(msg: Inbound, ctx: Context) -> None:
    """A new client who is neither restricted nor flooding always hears something back."""
    client = ClientView(id=1, name="Анна", language="ru", first_contact=True, messages_last_minute=1)
    assert handle(client, msg, ctx).says()

