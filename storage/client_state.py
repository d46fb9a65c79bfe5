"""Reads everything a flow needs about one client into the flows' ClientView."""

from collections.abc import Iterable
from datetime import datetime, timedelta

from flows.boundaries import FLIP_WINDOW
from flows.model import ClientView, QueueStats, RequestView, Stage, Step
from storage.models import Client
from storage.uow import UnitOfWork

# A flood is reported once; a new report only after this much calm.
FLOOD_MEMORY = timedelta(hours=1)


async def load_client_view(
    uow: UnitOfWork,
    client: Client,
    now: datetime,
    first_contact: bool,
    flood_window: timedelta = timedelta(minutes=1),
) -> ClientView:
    if first_contact:
        # Created in this very transaction: no requests, terms, restriction, alerts or earlier
        # messages to read (eleven statements saved on every newcomer's first message).
        return ClientView(
            id=client.id,
            name=client.display_name,
            language=client.language,
            first_contact=True,
            timezone=client.timezone,
            step=Step(client.step),
            step_service=client.step_service,
            step_request_id=client.step_request_id,
            messages_last_minute=1,  # this one
        )
    requests = await uow.requests.for_client(client.id)
    calls = await uow.bookings.booked_for_client(client.id)
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
                call_at=calls.get(request.id),
                done_at=request.done_at,
                result_link=request.result_link,
            )
        )
    restriction = await uow.clients.active_restriction(client.id, now)
    return ClientView(
        id=client.id,
        name=client.display_name,
        language=client.language,
        first_contact=first_contact,
        timezone=client.timezone,
        step=Step(client.step),
        step_service=client.step_service,
        step_request_id=client.step_request_id,
        accepted_terms=await uow.clients.accepted_terms(client.id),
        restricted=restriction is not None,
        restriction_until=restriction.until if restriction else None,
        restriction_announced=restriction is None or restriction.announced_at is not None,
        messages_last_minute=await uow.messages.inbound_since(client.id, now - flood_window),
        flood_reported=client.flood_reported_at is not None and now - client.flood_reported_at < FLOOD_MEMORY,
        offhours_notified_at=client.offhours_notified_at,
        requests=tuple(views),
        restriction_urgent_alerted=restriction is not None
        and await uow.clients.urgent_alerted_since(client.id, restriction.created_at),
        flagged=client.flagged_at is not None,
        payment_events=tuple(await uow.clients.payment_events(client.id, now - FLIP_WINDOW)),
        forget_asked_at=await uow.privacy.asked_at(client.id),
    )


async def queue_stats(uow: UnitOfWork, services: Iterable[str], now: datetime) -> QueueStats:
    """What ETAs are computed from: measured throughput per service and any pause in force."""
    throughput = await uow.requests.throughput(services)
    pause = await uow.pauses.active(now)
    return QueueStats(
        throughput=throughput,
        paused_until=pause.until if pause else None,
        paused=pause is not None,
        pause_note=pause.note if pause else "",
    )
