"""Choosing a format, accepting its terms, and collecting what the practitioner needs."""

from flows import calls
from flows.catalogue import Intake, Service
from flows.context import Context
from flows.effects import (
    NEW,
    AcceptTerms,
    AddQuestion,
    Alert,
    Button,
    ChangeStage,
    Effect,
    OpenRequest,
    RequestRef,
    Say,
    SetStep,
)
from flows.model import EDITABLE_STAGES, ClientView, Inbound, Kind, Stage, Step
from flows.queue import estimate
from flows.replies import (
    ACCEPT_PAYLOAD,
    DECLINE_PAYLOAD,
    DONE_PAYLOAD,
    eta_before_payment,
    menu,
    price_of,
    question_lines,
)

INTAKE_STEP = {
    Intake.QUESTIONS: Step.QUESTIONS,
    Intake.ONE_QUESTION: Step.ONE_QUESTION,
    Intake.CALL: Step.CALL_WISH,
}
# Long enough for any real question; the full text is stored, only the quote is cut.
QUOTE_LIMIT = 200
# Questions in one list: far above any real reading (3–10), low enough that a runaway paste or a
# bot cannot grow one request without bound. The client is told, and the list is kept as it is.
MAX_QUESTIONS = 30
# Formats whose intake keeps text the client gave early (a call keeps it as what to talk about).
KEEPS = (Intake.QUESTIONS, Intake.ONE_QUESTION, Intake.CALL)


def quote(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= QUOTE_LIMIT else text[: QUOTE_LIMIT - 1] + "…"


def question_text(msg: Inbound) -> str:
    """What goes into the question list: the text, or a marker for a voice note."""
    if msg.kind is Kind.VOICE:
        return f"[voice] {msg.media_ref or msg.external_id}"
    return msg.text.strip()


def terms_buttons() -> tuple[Button, ...]:
    return (Button(ACCEPT_PAYLOAD, text_id="button-accept"), Button(DECLINE_PAYLOAD, text_id="button-decline"))


def terms(client: ClientView, service: Service) -> Say:
    return Say(
        "terms-intro",
        {
            "service": service.name(client.language),
            "terms": service.terms_text(client.language),
            "price": Say("terms-price", {"price": price_of(service)}),
        },
        buttons=terms_buttons(),
    )


def choose(client: ClientView, service: Service, ctx: Context, keep: str = "") -> list[Effect]:
    """A format chosen; `keep` is what the client already said for it («один вопрос: вернётся ли
    он?»): it goes into the request now and is never asked for again."""
    existing = client.open_request(service.key)
    if existing is not None and existing.stage is not Stage.DRAFT:
        return [
            Say(
                "already-open",
                {"service": service.name(client.language), "number": existing.id},
                buttons=(Button("status", text_id="button-status"),),
            )
        ]
    effects: list[Effect] = []
    ref: RequestRef | None = existing.id if existing is not None else None
    held = existing.questions if existing is not None else ()
    if keep and service.intake in KEEPS:
        if ref is None:
            effects.append(OpenRequest(service.key, Stage.DRAFT))
            ref = NEW
        effects.append(AddQuestion(ref, keep))
        held = (*held, keep)
    if service.key not in client.accepted_terms:
        return [*effects, SetStep(Step.TERMS, service.key, ref), terms(client, service)]
    return effects + start_intake(client, service, ctx, ref=ref, kept=held)


def keep_for_later(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """Something typed while the terms wait (a question, the situation): kept in the draft, added
    to the list once the terms are accepted."""
    service = ctx.catalogue.get(client.step_service)
    if service is None or service.intake not in KEEPS:
        return on_terms(client, None, ctx)
    draft = client.open_request(service.key)
    effects: list[Effect] = []
    ref: RequestRef
    if draft is not None and draft.stage is Stage.DRAFT:
        ref = draft.id
    else:
        ref = NEW
        effects += [OpenRequest(service.key, Stage.DRAFT), SetStep(Step.TERMS, service.key, NEW)]
    return [
        *effects,
        AddQuestion(ref, question_text(msg)),
        Say("terms-kept-question", {"service": service.name(client.language)}, buttons=terms_buttons()),
    ]


def start_intake(
    client: ClientView, service: Service, ctx: Context, ref: RequestRef | None = None, kept: tuple[str, ...] = ()
) -> list[Effect]:
    """Terms accepted: the step that collects what she needs. `ref` and `kept` are the draft and
    its questions when the client already gave some (with the choice, or while the terms waited)."""
    name = service.name(client.language)
    if service.intake is Intake.HANDOFF:
        return [
            OpenRequest(service.key, Stage.SUBMITTED),
            Alert("handoff", excerpt=name, request=NEW),
            SetStep(Step.IDLE),
            Say("handoff-ack", {"service": name, "name": client.name}),
        ]
    draft = client.open_request(service.key)
    effects: list[Effect] = []
    if ref is None:
        ref = draft.id if draft is not None else NEW
        if draft is None:
            effects.append(OpenRequest(service.key, Stage.DRAFT))
        kept = draft.questions if draft is not None else ()
    if service.intake is Intake.ONE_QUESTION and kept:
        # The question came with the choice (or while the terms waited): straight to the queue.
        return effects + confirm(client, service, ref, kept, ctx)
    if service.intake is Intake.CALL:
        return effects + calls.start(client, service, ref, ctx)  # a real slot, picked from the free ones
    effects.append(SetStep(INTAKE_STEP[service.intake], service.key, ref))
    prompt = {
        Intake.QUESTIONS: "questions-prompt",
        Intake.ONE_QUESTION: "one-question-prompt",
    }[service.intake]
    buttons = (Button(DONE_PAYLOAD, text_id="button-done"),) if service.intake is Intake.QUESTIONS else ()
    if service.intake is Intake.QUESTIONS and kept:
        prompt = "questions-prompt-kept"
    effects.append(Say(prompt, {"service": name, "name": client.name, "count": len(kept)}, buttons=buttons))
    return effects


def on_terms(client: ClientView, accepted: bool | None, ctx: Context) -> list[Effect]:
    service = ctx.catalogue.get(client.step_service)
    if service is None or service.intake is Intake.SITUATION:
        # Gone from the catalogue, or made the emergency format since its terms were shown (a
        # catalogue edit): nothing to start from here, so offer the menu again (found by fuzzing).
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language)]
    if accepted is None:
        return [Say("terms-repeat", {"service": service.name(client.language)}, buttons=terms_buttons())]
    if not accepted:
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language, "terms-declined")]
    return [AcceptTerms(service.key), *start_intake(client, service, ctx)]


def collect(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """A message while a question list is open: one more question."""
    ref = client.step_request_id
    if ref is None:
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language)]
    draft = next((r for r in client.requests if r.id == ref), None)
    count = (len(draft.questions) if draft else 0) + 1
    if count > MAX_QUESTIONS:
        return [list_full()]
    return [
        AddQuestion(ref, question_text(msg)),
        Say("question-added", {"count": count}, buttons=(Button(DONE_PAYLOAD, text_id="button-done"),)),
    ]


def submit(client: ClientView, ctx: Context) -> list[Effect]:
    """The client said the list is complete: it joins the queue and gets a confirmation."""
    service = ctx.catalogue.get(client.step_service)
    draft = next((r for r in client.requests if r.id == client.step_request_id), None)
    if service is None or draft is None:
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language)]
    if not draft.questions:
        return [Say("questions-empty", buttons=(Button(DONE_PAYLOAD, text_id="button-done"),))]
    if draft.stage is not Stage.DRAFT:  # forgotten questions added to a list already queued
        return [SetStep(Step.IDLE), Say("questions-updated", {"count": len(draft.questions)})]
    return confirm(client, service, draft.id, draft.questions, ctx)


def confirm(
    client: ClientView, service: Service, ref: RequestRef, questions: tuple[str, ...], ctx: Context
) -> list[Effect]:
    """What was ordered, read back: the format, each question, the place and the wait (in days
    from payment: the request is not paid yet)."""
    position = ctx.queue_lengths.get(service.key, 0) + 1
    eta = estimate(service, position, ctx.now, ctx.stats)
    return [
        ChangeStage(ref, Stage.SUBMITTED),
        SetStep(Step.IDLE),
        Say(
            "confirm-queue",
            {
                "name": client.name,
                "service": service.name(client.language),
                "number": ref,
                "count": len(questions),
                "questions": question_lines(questions),
                "position": position,
                "eta": eta_before_payment(eta, ctx.now),
                "price": service.price,
            },
            buttons=(Button("status", text_id="button-status"),),
        ),
    ]


def single(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """`one_question` takes exactly one message, then goes straight to the queue."""
    service = ctx.catalogue.get(client.step_service)
    ref = client.step_request_id
    if service is None or ref is None:
        return [SetStep(Step.IDLE), menu(ctx.catalogue, client.language)]
    effects: list[Effect] = [AddQuestion(ref, question_text(msg))]
    if service.intake is Intake.ONE_QUESTION and msg.text.count("?") > 1:
        effects.append(Say("one-question-many", {"service": service.name(client.language)}))
    return effects + confirm(client, service, ref, (question_text(msg),), ctx)


def add_later(client: ClientView, text: str, ctx: Context) -> list[Effect]:
    """A forgotten question, while work on the list has not started (seed 000)."""
    target = next(
        (
            r
            for r in client.requests
            if r.stage in EDITABLE_STAGES
            and (s := ctx.catalogue.get(r.service)) is not None
            and s.intake is Intake.QUESTIONS
        ),
        None,
    )
    if target is None:
        started = any(r.stage is Stage.IN_WORK for r in client.requests)
        text_id = "add-question-too-late" if started else "add-question-nothing-open"
        return [menu(ctx.catalogue, client.language, text_id)]
    if not text.strip():
        return [
            SetStep(Step.QUESTIONS, target.service, target.id),
            Say("add-question-prompt", buttons=(Button(DONE_PAYLOAD, text_id="button-done"),)),
        ]
    if len(target.questions) >= MAX_QUESTIONS:
        return [list_full()]
    return [
        AddQuestion(target.id, text.strip()),
        Say("add-question-added", {"count": len(target.questions) + 1, "number": target.id}),
    ]


def list_full() -> Say:
    return Say("questions-limit", {"limit": MAX_QUESTIONS}, buttons=(Button(DONE_PAYLOAD, text_id="button-done"),))
