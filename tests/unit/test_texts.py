"""Every text the flows can say exists in both catalogs, with the same placeholders, and renders.

The flows name texts by id (flows/*.py) and bot/texts.py renders them from locales/{ru,en}. The
ids are found by reading the flows' source: a plain regex over `Say("…")` would miss the ids
chosen by a conditional or a lookup table (`text_id = "a" if … else "b"`, the intake prompts), so
the source is read with `ast` and every `Say(…)` / `menu(…)` must resolve to literal ids, or the
scan itself fails.
"""

import ast
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from string import Formatter

import pytest

from bot.texts import Texts
from flows import business, linking
from flows.context import Context
from flows.conversation import GUESSABLE, handle
from flows.effects import Say
from flows.model import OPEN_STAGES, ClientView, Kind, PaymentEvent, QueueStats, RequestView, Stage, Step
from flows.queue import Days
from tests.factories import ROOT, WORKING_TIME, client, context, inbound

TEXTS = Texts(ROOT / "locales")
LANGUAGES = ("ru", "en")
FLOWS = sorted((ROOT / "flows").glob("*.py"))  # the client conversation
PRACTICE = sorted((ROOT / "flows" / "practice").glob("*.py"))  # the practitioner's commands


# --- reading the ids out of flows/*.py ------------------------------------------------------


def _literals(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _assigned(function: ast.AST) -> dict[str, list[str]]:
    """name -> every string literal assigned to it in this function (ifs, dict lookups…)."""
    found: dict[str, list[str]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).extend(_literals(node.value))
    return found


def _expand(node: ast.expr, names: dict[str, list[str]], where: str) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and names.get(node.id):
        return names[node.id]
    if isinstance(node, ast.IfExp):
        return _expand(node.body, names, where) + _expand(node.orelse, names, where)
    if isinstance(node, ast.JoinedStr) and _literals(node.values[0]) == ["stage-"]:
        return [f"stage-{stage.value}" for stage in Stage]
    if isinstance(node, ast.JoinedStr) and _literals(node.values[0]) == ["guess-"]:
        from flows.conversation import GUESSABLE  # «did you mean…» buttons, one text per guessable intent

        return [f"guess-{intent.value}" for intent in GUESSABLE]
    raise AssertionError(f"{where}: cannot tell which text {ast.unparse(node)!r} names")


def _is_name(node: ast.expr, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _called(node: ast.Call) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else None


def _scan(paths: list[Path]) -> tuple[set[str], set[str], set[str]]:
    """(ids passed to Say/menu/Answer/Notify/BadArgument, button ids, alert kinds) in `paths`."""
    says: set[str] = set()
    buttons: set[str] = set()
    alerts: set[str] = set()
    for path in paths:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
        for function in functions:
            names = _assigned(function)
            args = function.args
            with_defaults = args.args[len(args.args) - len(args.defaults) :]
            for arg, default in zip(with_defaults, args.defaults, strict=True):
                if arg.arg == "text_id":
                    says.update(_literals(default))
            for node in ast.walk(function):
                if not isinstance(node, ast.Call):
                    continue
                where = f"{path.name}:{node.lineno}"
                keywords = {k.arg: k.value for k in node.keywords}
                match _called(node):
                    case "Say" if function.name == "menu" and _is_name(node.args[0], "text_id"):
                        pass  # menu() passes its own text_id on: its callers are read below
                    case "Say":
                        says.update(_expand(node.args[0], names, where))
                    case "menu" | "offer" if len(node.args) > 2:
                        says.update(_expand(node.args[2], names, where))
                    case "menu" if "text_id" in keywords:
                        says.update(_expand(keywords["text_id"], names, where))
                    case "Button" if "text_id" in keywords:
                        buttons.update(_expand(keywords["text_id"], names, where))
                    case "Alert":
                        alerts.update(_expand(node.args[0], names, where))
                    case "Answer" | "BadArgument" if node.args:
                        says.update(_expand(node.args[0], names, where))
                    case "Notify" if len(node.args) > 1:
                        says.update(_expand(node.args[1], names, where))
    return says, buttons, alerts


SAYS, BUTTONS, ALERT_KINDS = _scan(FLOWS)
PRACTICE_SAYS, PRACTICE_BUTTONS, _ = _scan(PRACTICE)
EMITTED = sorted(
    SAYS | BUTTONS | PRACTICE_SAYS | PRACTICE_BUTTONS | {f"alert-{kind}" for kind in ALERT_KINDS}
)


def _placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(template) if field}


class TestTheScan:
    """The scan must see what is there, or the catalog checks below prove nothing."""

    @pytest.mark.parametrize(
        "text_id",
        [
            "greeting-first-with-text",  # menu(..., "id", ...)
            "menu-prompt",  # menu()'s default
            "questions-prompt",  # a lookup table in intake.start_intake
            "one-question-prompt",
            "call-pick-prompt",  # offer(client, ctx, "…", …) in flows/calls
            "call-no-later-slots",  # text_id = "…" if … else "…"
            "call-moved",  # Say("…" if … else "…")
            "confirm-queue",
            "restricted-forever",
            "add-question-too-late",
            "eta-range-estimate",
            "stage-no_show",  # f"stage-{…}"
            "emergency-ack",  # Say("…")
            "cmd-queue-lane-emergency",  # Answer("…" if … else "…") in flows/practice
            "cmd-paid-ok-no-deadline",
            "cmd-error-bad-duration",  # BadArgument("…")
            "client-result-link",  # Notify(client, "…")
        ],
    )
    def test_finds_ids_however_the_flows_choose_them(self, text_id: str) -> None:
        assert text_id in SAYS | PRACTICE_SAYS

    def test_finds_the_button_texts_and_alert_kinds(self) -> None:
        assert BUTTONS == {
            "button-status",
            "button-human",
            "button-accept",
            "button-decline",
            "button-done",
            "button-cancel-yes",
            "button-cancel-no",
            "call-slot-button",
            "button-later-dates",
            "button-menu",
            "button-urgent-yes",
            "button-urgent-no",
            *(f"guess-{intent.value}" for intent in GUESSABLE),
        }
        assert ALERT_KINDS >= {"emergency", "human", "link_problem", "flood", "handoff"}
        assert ALERT_KINDS >= {"restricted_urgent", "paid_claim", "flagged", "flagged_booking"}


class TestCatalogs:
    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("text_id", EMITTED)
    def test_every_text_the_flows_emit_exists(self, text_id: str, language: str) -> None:
        assert text_id in TEXTS.ids(language)

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("stage", list(Stage))
    def test_every_stage_has_a_name(self, stage: Stage, language: str) -> None:
        assert f"stage-{stage.value}" in TEXTS.ids(language)

    def test_both_languages_have_the_same_ids(self) -> None:
        assert TEXTS.ids("ru") == TEXTS.ids("en")

    @pytest.mark.parametrize("text_id", sorted(TEXTS.ids("ru") | TEXTS.ids("en")))
    def test_placeholders_match_between_languages(self, text_id: str) -> None:
        ru = _placeholders(TEXTS.lookup(text_id, "ru"))
        en = _placeholders(TEXTS.lookup(text_id, "en"))

        assert ru == en

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("text_id", sorted(TEXTS.ids("ru")))
    def test_no_text_is_empty(self, text_id: str, language: str) -> None:
        assert TEXTS.lookup(text_id, language).strip()


# --- rendering what the conversation actually says -------------------------------------------

ACCEPTED = frozenset({"planned_reading", "planned_call", "one_question", "ritual"})
SUNDAY = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def _r(id: int, service: str, stage: Stage, *questions: str, **more: object) -> RequestView:
    return RequestView(id=id, service=service, stage=stage, questions=questions, **more)  # type: ignore[arg-type]


def _in(step: Step, request: RequestView, **changes: object) -> ClientView:
    return client(
        step=step,
        step_service=request.service,
        step_request_id=request.id,
        requests=(request,),
        accepted_terms=ACCEPTED,
        **changes,
    )


DRAFT = _r(5, "planned_reading", Stage.DRAFT, "Работа?")
QUEUED = _r(3, "planned_reading", Stage.QUEUED, "Работа?", position=2)
MEASURED = replace(context(), stats=QueueStats(throughput={"planned_reading": 1.0}))
PAUSED = replace(context(), stats=QueueStats(paused_until=WORKING_TIME + timedelta(days=3)))
PAUSED_OPEN = replace(context(), stats=QueueStats(paused=True, pause_note="В отпуске до праздников"))
UNPAID = _r(4, "planned_reading", Stage.SUBMITTED, "Он?")
DONE_WITH_LINK = _r(6, "planned_reading", Stage.DONE, "Он?", done_at=WORKING_TIME, result_link="https://disk/r6")
DONE_NO_LINK = _r(2, "one_question", Stage.DONE, "Он?", done_at=WORKING_TIME - timedelta(days=3))
# (client, text, kind, payload, context): between them, every text the flows can say.
CONVERSATIONS = [
    (client(first_contact=True), "привет", Kind.TEXT, None, context()),
    (client(first_contact=True), "хочу узнать про мужа", Kind.TEXT, None, context()),
    (client(), "меню", Kind.TEXT, None, context()),
    (client(), "/help", Kind.TEXT, None, context()),
    (client(), "плановый расклад", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_reading"), "хм", Kind.TEXT, None, context()),
    # the language layer (flows/language/): digressions that resume, kept content, guesses
    (client(step=Step.TERMS, step_service="planned_reading"), "сколько стоит?", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_reading"), "А он вернётся?", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_reading"), "привет", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="ritual"), "сколько стоит?", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "где мой запрос?", Kind.TEXT, None, context()),
    (_in(Step.ONE_QUESTION, _r(8, "one_question", Stage.DRAFT)), "спасибо", Kind.TEXT, None, context()),
    (_in(Step.CALL_WISH, _r(7, "planned_call", Stage.DRAFT)), "где мой запрос?", Kind.TEXT, None, context()),
    (client(step=Step.SITUATION, step_service="emergency"), "сколько стоит?", Kind.TEXT, None, context()),
    (client(), "спасибо", Kind.TEXT, None, context()),
    (client(requests=(QUEUED,)), "ок, жду", Kind.TEXT, None, context()),
    (client(), "прайс", Kind.TEXT, None, context()),
    (client(), "скажите", Kind.TEXT, None, context()),
    (client(step=Step.SITUATION, step_service="emergency"), "спасибо", Kind.TEXT, None, context()),
    (client(), "мне кажется ссылочка", Kind.TEXT, None, context()),
    (client(), "это экстренная ситуация", Kind.TEXT, None, context()),
    (client(accepted_terms=ACCEPTED), "хочу плановый расклад. Вопрос: что с работой?", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_reading"), "нет", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_reading"), "да", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="one_question"), "да", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="planned_call"), "да", Kind.TEXT, None, context()),
    (client(step=Step.TERMS, step_service="gone"), "да", Kind.TEXT, None, context()),
    (client(accepted_terms=ACCEPTED), "ритуал", Kind.TEXT, None, context()),
    (client(requests=(QUEUED,)), "1", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "Что с домом?", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "🙏", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "готово", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "готово", Kind.TEXT, None, MEASURED),
    (_in(Step.QUESTIONS, replace(DRAFT, questions=("[voice] v1", "Работа?"))), "готово", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "готово", Kind.TEXT, None, PAUSED),
    (_in(Step.QUESTIONS, replace(DRAFT, questions=())), "готово", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, QUEUED), "готово", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT), "отмена", Kind.TEXT, None, context()),
    (
        _in(Step.ONE_QUESTION, _r(8, "one_question", Stage.DRAFT)),
        "Он? Когда?",
        Kind.TEXT,
        None,
        context(),
    ),
    (_in(Step.ONE_QUESTION, _r(8, "one_question", Stage.DRAFT)), "", Kind.TEXT, None, context()),
    (client(requests=(QUEUED,)), "ещё вопрос: а дом?", Kind.TEXT, None, context()),
    (client(requests=(QUEUED,)), "хочу добавить вопрос", Kind.TEXT, None, context()),
    (
        client(requests=(replace(QUEUED, stage=Stage.IN_WORK),)),
        "ещё вопрос: а дом?",
        Kind.TEXT,
        None,
        context(),
    ),
    (client(), "ещё вопрос: а дом?", Kind.TEXT, None, context()),
    (client(first_contact=True), "СРОЧНО!!! помогите", Kind.TEXT, None, context()),
    (client(), "СРОЧНО!!! помогите", Kind.TEXT, None, context()),  # a known client: not greeted
    (client(), "СРОЧНО!!! помогите", Kind.TEXT, None, context(SUNDAY)),  # at night: when she will see it
    (
        client(requests=(_r(4, "emergency", Stage.SUBMITTED, "срочно"),)),
        "срочно!",
        Kind.TEXT,
        None,
        context(),
    ),
    (
        _in(Step.SITUATION, _r(4, "emergency", Stage.SUBMITTED, "срочно")),
        "муж ушёл",
        Kind.TEXT,
        None,
        context(),
    ),
    (
        client(
            requests=(
                QUEUED,
                replace(QUEUED, id=9, stage=Stage.IN_WORK),
                _r(4, "emergency", Stage.SUBMITTED, "срочно"),
                _r(
                    6,
                    "emergency",
                    Stage.QUEUED,
                    "срочно",
                    deadline_at=WORKING_TIME + timedelta(hours=20),
                ),
                _r(7, "planned_call", Stage.SUBMITTED, "в среду"),
            )
        ),
        "/status",
        Kind.TEXT,
        None,
        MEASURED,
    ),
    (client(requests=(QUEUED,)), "/status", Kind.TEXT, None, context()),
    (client(), "/status", Kind.TEXT, None, context()),
    (client(), "/human", Kind.TEXT, None, context()),
    (client(), "удалите мои данные", Kind.TEXT, None, context()),  # flows/privacy.py
    (client(forget_asked_at=WORKING_TIME), "/forget", Kind.TEXT, None, context()),
    (client(), "скидка?", Kind.TEXT, None, context()),
    (client(), "ссылка не открывается", Kind.TEXT, None, context()),
    (client(requests=(UNPAID,)), "ссылка не открывается", Kind.TEXT, None, context()),
    (client(requests=(DONE_WITH_LINK, DONE_NO_LINK)), "где мой расклад?", Kind.TEXT, None, context()),
    (
        client(requests=(_r(8, "one_question", Stage.QUEUED, "Он?"),)),
        "а вы что думаете",
        Kind.TEXT,
        None,
        context(),
    ),
    (client(), "как погода", Kind.TEXT, None, context()),
    (client(), "", Kind.TEXT, None, context()),
    (client(), "", Kind.STICKER, None, context()),
    (client(), "", Kind.VOICE, None, context()),
    (
        client(
            restricted=True,
            restriction_announced=False,
            restriction_until=WORKING_TIME + timedelta(days=3),
        ),
        "hi",
        Kind.TEXT,
        None,
        context(),
    ),
    (client(restricted=True, restriction_announced=False), "hi", Kind.TEXT, None, context()),
    (client(messages_last_minute=50), "hi", Kind.TEXT, None, context()),
    (client(restricted=True), "срочно, помогите", Kind.TEXT, None, context()),
    (client(requests=(UNPAID,)), "я оплатила", Kind.TEXT, None, context()),
    (
        client(requests=(UNPAID,), payment_events=(PaymentEvent(WORKING_TIME, "claim", 4),)),
        "я оплатила",
        Kind.TEXT,
        None,
        context(),
    ),
    (client(requests=(replace(QUEUED, paid=True),)), "я оплатила", Kind.TEXT, None, context()),
    (client(), "я оплатила", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, DRAFT, flagged=True), "готово", Kind.TEXT, None, context()),
    (_in(Step.QUESTIONS, replace(DRAFT, questions=("?",) * 30)), "и ещё", Kind.TEXT, None, context()),  # full
    (client(first_contact=True), "привет", Kind.TEXT, None, PAUSED_OPEN),
    (client(), "где мой расклад?", Kind.TEXT, None, context(SUNDAY)),
    (client(), "2", Kind.TEXT, None, context()),
    (client(requests=(_r(4, "emergency", Stage.SUBMITTED, "срочно"),)), "", Kind.TEXT, "svc:emergency", context()),
    (client(), "отмена", Kind.TEXT, None, context()),
    (client(requests=(QUEUED,)), "отмените мой расклад", Kind.TEXT, None, context()),
    (
        client(requests=(_r(4, "one_question", Stage.SUBMITTED, "Он?"),)),
        "отменить",
        Kind.TEXT,
        None,
        context(),
    ),
    (
        client(
            step=Step.CONFIRM_CANCEL,
            step_request_id=4,
            requests=(_r(4, "one_question", Stage.SUBMITTED, "Он?"),),
        ),
        "да",
        Kind.TEXT,
        None,
        context(),
    ),
    (
        client(
            step=Step.CONFIRM_CANCEL,
            step_request_id=4,
            requests=(_r(4, "one_question", Stage.SUBMITTED, "Он?"),),
        ),
        "",
        Kind.TEXT,
        "cancel:no",
        context(),
    ),
]


def _call_conversations() -> list[tuple[ClientView, str, Kind, str | None, Context]]:
    """Picking, moving and being told a call slot (flows/calls.py)."""
    ctx = context()
    slot = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # Thursday 15:00 in Moscow, in the window
    picking = _in(Step.CALL_WISH, _r(7, "planned_call", Stage.DRAFT))
    booked = _r(7, "planned_call", Stage.SUBMITTED, call_at=slot)
    moving = _in(Step.CALL_WISH, booked)
    soon = _r(7, "planned_call", Stage.QUEUED, call_at=WORKING_TIME + timedelta(hours=20))
    taken = replace(ctx, free_slots=tuple(s for s in ctx.free_slots if s != slot))
    last = ctx.free_slots[-1].strftime("%Y%m%d%H%M")
    first = ctx.free_slots[0].strftime("%Y%m%d%H%M")
    text = Kind.TEXT
    return [
        (client(step=Step.TERMS, step_service="planned_call"), "да", text, None, replace(ctx, free_slots=())),
        (picking, "3 декабря 15:00", text, None, ctx),
        (picking, "3 декабря 15:00", text, None, taken),
        (picking, "1 марта 15:00", text, None, ctx),
        (picking, "1 марта", text, None, ctx),
        (picking, "5 декабря", text, None, ctx),
        (picking, "хм", text, None, ctx),
        (picking, "часовой пояс Тмутаракань", text, None, ctx),
        (picking, "UTC+5", text, None, ctx),
        (picking, "", text, f"slots:after:{first}", ctx),
        (picking, "", text, f"slots:after:{last}", ctx),
        (moving, "3 декабря 15:00", text, None, ctx),
        (moving, "4 декабря 15:00", text, None, ctx),
        (client(requests=(booked,)), "перенести", text, None, ctx),
        (client(requests=(soon,)), "хочу перенести созвон", text, None, ctx),
        (client(), "перенести", text, None, ctx),
        (client(), "мой часовой пояс Екатеринбург", text, None, ctx),
        (client(requests=(booked,)), "my time zone is UTC+1", text, None, ctx),
    ]


CONVERSATIONS += _call_conversations()


def _said() -> Iterator[Say]:
    for who, text, kind, payload, ctx in CONVERSATIONS:
        for language in LANGUAGES:
            msg = inbound(text, kind=kind, payload=payload, now=ctx.now)
            yield from handle(replace(who, language=language), msg, ctx).says()
    yield from _linking_said()


def _linking_said() -> Iterator[Say]:
    """flows/linking.py answers before the conversation (bot/desk.py): codes and shared numbers."""
    now, secret = WORKING_TIME, b"secret"
    someone = client()
    mine, theirs = linking.code_for(secret, someone.id, now), linking.code_for(secret, someone.id + 1, now)
    old = linking.code_for(secret, someone.id + 1, now - timedelta(hours=2))
    messages = [inbound(text, now=now) for text in ("код", mine, theirs, old, f"{someone.id + 1}-ABCDEFGH")]
    messages.append(replace(inbound(kind=Kind.OTHER, now=now), contact_phone="+79161234567"))
    # Telegram Business deep links (/start payloads): own, another client's, out of date, another chat's.
    chat = inbound(now=now).sender_ref
    starts = [(someone.id, chat, now), (someone.id + 1, chat, now), (someone.id + 1, chat, now - timedelta(days=8))]
    tokens = [linking.start_token(secret, who, at_chat, at) for who, at_chat, at in starts]
    tokens.append(linking.start_token(secret, someone.id + 1, "another chat", now))
    messages += [inbound("/start", payload=token, now=now) for token in tokens]
    yield business.link_offer("https://t.me/priem_bot?start=b1-ABCDEFGH")  # bot/telegram/business.py, after intake
    for msg in messages:
        for effect in linking.decide(someone, msg, now, secret) or ():
            if isinstance(effect, Say):
                yield effect
            else:
                yield from (value for value in vars(effect).values() if isinstance(value, Say))


def _with_nested(say: Say) -> Iterator[Say]:
    yield say
    for value in say.params.values():
        if isinstance(value, tuple):  # the lines of a list (price-list)
            for line in value:
                yield from _with_nested(line)
        if isinstance(value, Say):
            yield from _with_nested(value)


SAID = list({repr(n): n for say in _said() for n in _with_nested(say)}.values())


class TestWhatTheConversationSays:
    def test_the_conversations_here_reach_every_text_a_client_message_can_get(self) -> None:
        # A status lists open requests only: the other stage names are for pushes. "eta-range"
        # needs a measured ETA whose two ends differ, which estimate() never produces today.
        not_from_a_message = {f"stage-{s.value}" for s in Stage if s not in OPEN_STAGES}
        assert SAYS - not_from_a_message - {"eta-range"} == {s.text_id for s in SAID}

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("say", SAID, ids=lambda s: s.text_id)
    def test_every_placeholder_gets_a_param(self, say: Say, language: str) -> None:
        missing = _placeholders(TEXTS.lookup(say.text_id, language)) - set(say.params)

        assert missing == set()

    @pytest.mark.parametrize("language", LANGUAGES)
    @pytest.mark.parametrize("say", SAID, ids=lambda s: s.text_id)
    def test_renders_in_both_languages(self, say: Say, language: str) -> None:
        rendered = TEXTS.render(say, language, "Europe/Moscow")

        assert rendered.strip()
        assert "{" not in rendered and "}" not in rendered


class TestRendering:
    EARLIEST = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    LATEST = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)

    def status_line(self) -> Say:
        return Say(
            "status-line",
            {
                "number": 12,
                "service": "Плановый расклад (видеозапись)",
                "stage": Say("stage-queued"),
                "position": 3,
                "eta": Say(
                    "eta-range", {"earliest_date": self.EARLIEST, "latest_date": self.LATEST}
                ),
            },
        )

    def test_nested_texts_and_dates_render_in_russian(self) -> None:
        assert TEXTS.render(self.status_line(), "ru", "Europe/Moscow") == (
            "№12 · Плановый расклад (видеозапись)\n"
            "Этап: оплачен, в очереди. Место в очереди: 3.\n"
            "Ориентировочно: с 28 ноября по 8 декабря."
        )

    def test_nested_texts_and_dates_render_in_english(self) -> None:
        assert TEXTS.render(self.status_line(), "en", "Europe/Moscow") == (
            "#12 · Плановый расклад (видеозапись)\n"
            "Stage: paid, in the queue. Place in the queue: 3.\n"
            "Expected between 28 November and 8 December."
        )

    @pytest.mark.parametrize(
        ("language", "timezone", "expected"),
        [
            ("ru", "Europe/Moscow", "Срок: до 25 ноября, 00:30 (Москва)."),
            ("ru", "UTC", "Срок: до 24 ноября, 21:30 (UTC)."),
            ("ru", "Asia/Vladivostok", "Срок: до 25 ноября, 07:30 (Владивосток)."),
            ("en", "Europe/Moscow", "Due by 25 November, 00:30 (Moscow)."),
            ("en", "America/New_York", "Due by 24 November, 16:30 (New York)."),
            ("ru", "Etc/GMT-5", "Срок: до 25 ноября, 02:30 (GMT+05:00)."),  # a client who said «UTC+5»
        ],
    )
    def test_a_moment_renders_with_its_time_in_the_given_zone(
        self, language: str, timezone: str, expected: str
    ) -> None:
        deadline = datetime(2026, 11, 24, 21, 30, tzinfo=UTC)

        assert (
            TEXTS.render(Say("eta-deadline", {"deadline_at": deadline}), language, timezone)
            == expected
        )

    @pytest.mark.parametrize(
        ("timezone", "expected"),
        [
            ("UTC", "Ориентировочно: около 30 ноября."),
            ("Asia/Tokyo", "Ориентировочно: около 1 декабря."),
        ],
    )
    def test_a_date_is_the_calendar_day_in_the_given_zone(
        self, timezone: str, expected: str
    ) -> None:
        late_evening_utc = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)

        assert (
            TEXTS.render(Say("eta-around", {"eta_date": late_evening_utc}), "ru", timezone)
            == expected
        )

    def test_the_offhours_notice_names_the_hours_and_the_next_opening(self) -> None:
        say = Say(
            "offhours",
            {
                "start": "10:00",
                "end": "20:00",
                "next_at": datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
            },
        )

        assert TEXTS.render(say, "ru", "Europe/Moscow").endswith("начиная с 30 ноября, 10:00 (Москва).")
        assert TEXTS.render(say, "en", "Europe/Moscow").endswith("from 30 November, 10:00 (Moscow).")

    def test_an_absent_optional_value_renders_empty(self) -> None:
        say = Say("restricted-forever", {"name": "Анна", "until_at": None})

        assert TEXTS.render(say, "ru", "Europe/Moscow").startswith("Анна, доступ")

    def test_a_confirmation_renders_with_its_nested_eta(self) -> None:
        say = Say(
            "confirm-queue",
            {
                "name": "Анна",
                "service": "Плановый расклад (видеозапись)",
                "number": 5,
                "count": 2,
                "position": 4,
                "price": "",
                "eta": Say(
                    "eta-range-estimate",
                    {"earliest_date": self.EARLIEST, "latest_date": self.LATEST},
                ),
            },
        )

        rendered = TEXTS.render(say, "ru", "Europe/Moscow")

        assert "№5 · Плановый расклад (видеозапись)" in rendered
        assert "Место в очереди: 4." in rendered
        assert "с 28 ноября по 8 декабря (оценка" in rendered


class TestWhatWasOrdered:
    @pytest.mark.parametrize(
        ("days", "language", "shown"),
        [
            (Days(4, 14), "ru", "4–14 дней"),
            (Days(1, 3), "ru", "1–3 дня"),
            (Days(21, 21), "ru", "21 день"),
            (Days(2, 22), "ru", "2–22 дня"),
            (Days(4, 14), "en", "4–14 days"),
            (Days(1, 1), "en", "1 day"),
        ],
    )
    def test_days_agree_with_their_number(self, days: Days, language: str, shown: str) -> None:
        assert TEXTS.text("eta-days", {"days": days}, language, "Europe/Moscow").split(": ")[1].startswith(shown)

    def test_the_confirmation_lists_each_question_and_counts_the_wait_from_payment(self) -> None:
        long = "Что будет, если я " + "очень " * 40 + "долго буду ждать?"
        questions = ("Работа?", long, "[voice] v1")
        draft = RequestView(id=5, service="planned_reading", stage=Stage.DRAFT, questions=questions)
        who = client(step=Step.QUESTIONS, step_service="planned_reading", step_request_id=5, requests=(draft,))
        [confirmation] = handle(who, inbound("готово"), context()).says()

        text = TEXTS.render(confirmation, "ru", "Europe/Moscow")

        assert "Вопросов: 3.\n1. «Работа?»\n2. «Что будет, если я очень" in text
        assert "…»\n3. 🎤 голосовое сообщение\n" in text and "долго буду ждать" not in text
        assert "Ориентировочно: 4–14 дней после оплаты" in text
