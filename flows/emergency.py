"""The emergency path: alert the practitioner at once, tell the client the 24 h rule (seed 000)."""

from flows.catalogue import Service
from flows.context import Context
from flows.effects import NEW, AddQuestion, Alert, Button, ChangeStage, Effect, OpenRequest, Say, SetStep
from flows.intake import question_text
from flows.model import OPEN_STAGES, ClientView, Inbound, Priority, RequestView, Stage, Step
from flows.replies import HUMAN_PAYLOAD, STATUS_PAYLOAD, URGENT_NO_PAYLOAD, URGENT_YES_PAYLOAD


def open_emergency(client: ClientView) -> int | None:
    held = client.step_request_id if client.step is Step.CONFIRM_URGENT else None
    return next(
        (
            r.id
            for r in client.requests
            if r.service == "emergency" and r.stage in (Stage.DRAFT, *OPEN_STAGES) and r.id != held
        ),
        None,
    )


def ask_if_urgent(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    """«Это срочно» later in a message: ask once, with buttons; the message waits in a draft so
    that neither answer loses it (yes: it is the situation; no: it goes the planned way)."""
    service = ctx.catalogue.emergency()
    key = service.key if service else "emergency"
    return [
        OpenRequest(key, Stage.DRAFT, emergency=True),
        AddQuestion(NEW, question_text(msg)),
        SetStep(Step.CONFIRM_URGENT, key, NEW),
        Say(
            "urgent-ask",
            {"name": client.name},
            priority=Priority.URGENT,
            buttons=(
                Button(URGENT_YES_PAYLOAD, text_id="button-urgent-yes"),
                Button(URGENT_NO_PAYLOAD, text_id="button-urgent-no"),
            ),
        ),
    ]


def confirm_urgent(client: ClientView, held: RequestView, ctx: Context) -> list[Effect]:
    """«Да, срочно»: the kept message is the situation; the emergency path as for «срочно…»."""
    return [
        ChangeStage(held.id, Stage.SUBMITTED),
        SetStep(Step.SITUATION, held.service, held.id),
        Alert("emergency", excerpt="\n".join(held.questions), request=held.id),
        *_acknowledged(client, ctx, greeted=False),
    ]


def awaiting_situation(client: ClientView) -> bool:
    """Emergency chosen from the menu: the next message is the situation."""
    return client.step is Step.SITUATION and client.step_request_id is None


def describe(client: ClientView, service: Service) -> list[Effect]:
    """Chosen by button or number: ask for the situation before alerting anyone, so the
    practitioner's alert says what happened rather than «2»."""
    existing = open_emergency(client)
    if existing is not None:
        return [SetStep(Step.SITUATION, service.key, existing), Say("emergency-detail-prompt", {"number": existing})]
    return [SetStep(Step.SITUATION, service.key, None), Say("emergency-describe", {"name": client.name})]


def emergency(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    service = ctx.catalogue.emergency()
    key = service.key if service else "emergency"
    text = question_text(msg)
    existing = open_emergency(client)
    if existing is not None:
        return [
            AddQuestion(existing, text),
            SetStep(Step.SITUATION, key, existing),
            Alert("emergency", excerpt=text, request=existing),
            Say("emergency-again", {"name": client.name, "number": existing}, priority=Priority.URGENT),
            *_at_night(ctx),
        ]
    return [
        OpenRequest(key, Stage.SUBMITTED, emergency=True),
        AddQuestion(NEW, text),
        SetStep(Step.SITUATION, key, NEW),
        Alert("emergency", excerpt=text, request=NEW),
        *_acknowledged(client, ctx, greeted=client.first_contact),
    ]


def _acknowledged(client: ClientView, ctx: Context, greeted: bool) -> list[Say]:
    """The emergency answer: the alert is out, the hours from payment, the price; at night also
    when she is likely to answer. `greeted`: a newcomer's first message, the greeting in it (not
    a message before it)."""
    service = ctx.catalogue.emergency()
    hours = int(service.promise_max_days * 24) if service else 24
    ack = Say(
        "emergency-ack-first" if greeted else "emergency-ack",
        {"name": client.name, "hours": hours, "price": service.price if service else ""},
        priority=Priority.URGENT,
        buttons=(Button(STATUS_PAYLOAD, text_id="button-status"), Button(HUMAN_PAYLOAD, text_id="button-human")),
    )
    return [ack, *_at_night(ctx)]


def _at_night(ctx: Context) -> list[Say]:
    """Outside her hours the emergency answer says when she is likely to read the alert and that
    the 24 h still run from payment: the general off-hours notice would contradict «she is alerted»."""
    hours = ctx.catalogue.hours
    if hours.is_open(ctx.now):
        return []
    return [Say("emergency-night", {"next_at": hours.next_opening(ctx.now)}, priority=Priority.URGENT)]
