"""A client cancelling a request: free while unpaid, asked once, otherwise handed to her."""

from flows.context import Context
from flows.effects import Alert, Button, ChangeStage, Effect, Say, SetStep
from flows.model import ClientView, Inbound, Priority, Stage, Step
from flows.replies import menu

CONFIRM_PAYLOAD = "cancel:yes"
KEEP_PAYLOAD = "cancel:no"


def ask(client: ClientView, msg: Inbound, ctx: Context) -> list[Effect]:
    unpaid = [r for r in client.requests if r.stage is Stage.SUBMITTED]
    if unpaid:
        target = unpaid[-1]
        service = ctx.catalogue.get(target.service)
        return [
            SetStep(Step.CONFIRM_CANCEL, target.service, target.id),
            Say(
                "cancel-confirm",
                {"number": target.id, "service": service.name(client.language) if service else target.service},
                buttons=(
                    Button(CONFIRM_PAYLOAD, text_id="button-cancel-yes"),
                    Button(KEEP_PAYLOAD, text_id="button-cancel-no"),
                ),
            ),
        ]
    if any(r.stage in (Stage.QUEUED, Stage.IN_WORK) for r in client.requests):
        # Paid work is hers to cancel or refund; the bot only passes the wish on.
        return [
            Alert("human", excerpt=msg.text),
            Say("cancel-needs-practitioner", {"name": client.name}, priority=Priority.URGENT),
        ]
    return [menu(ctx.catalogue, client.language, "cancel-nothing")]


def confirm(client: ClientView, confirmed: bool, ctx: Context) -> list[Effect]:
    target = next((r for r in client.requests if r.id == client.step_request_id), None)
    if not confirmed or target is None or target.stage is not Stage.SUBMITTED:
        return [SetStep(Step.IDLE), Say("cancel-kept")]
    return [
        ChangeStage(target.id, Stage.CANCELLED),
        SetStep(Step.IDLE),
        menu(ctx.catalogue, client.language, "request-cancelled", number=target.id),
    ]
