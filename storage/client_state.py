"""Reads everything a flow needs about one client into the flows' ClientView."""

from datetime import datetime, timedelta

from flows.model import ClientView, RequestView, Stage, Step
from storage.models import Client
from storage.uow import UnitOfWork

# A flood is reported once; a new report only after this much calm.
FLOOD_MEMORY = timedelta(hours=1)


async def load_client_view(uow: UnitOfWork, client: Client, now: datetime, first_contact: bool) -> ClientView:
    requests = await uow.requests.for_client(client.id)
    questions = await uow.requests.questions([r.id for r in requests])
    views = []
    for request in requests:
        views.append(
            RequestView(
                id=request.id,
                service=request.service,
                stage=Stage(request.stage),
                questions=tuple(questions.get(request.id, ())),
                paid=request.payment_state == "paid",
                created_at=request.created_at,
                submitted_at=request.submitted_at,
                position=await uow.requests.position(request),
                deadline_at=request.deadline_at,
            )
        )
    restriction = await uow.clients.active_restriction(client.id, now)
    return ClientView(
        id=client.id,
        name=client.display_name,
        language=client.language,
        first_contact=first_contact,
        step=Step(client.step),
        step_service=client.step_service,
        step_request_id=client.step_request_id,
        accepted_terms=await uow.clients.accepted_terms(client.id),
        restricted=restriction is not None,
        restriction_until=restriction.until if restriction else None,
        restriction_announced=restriction is None or restriction.announced_at is not None,
        messages_last_minute=await uow.messages.inbound_since(client.id, now - timedelta(minutes=1)),
        flood_reported=client.flood_reported_at is not None and now - client.flood_reported_at < FLOOD_MEMORY,
        offhours_notified_at=client.offhours_notified_at,
        requests=tuple(views),
    )
