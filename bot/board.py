"""The practitioner's view of the practice: alerts and the queue, as plain JSON-ready rows."""

from datetime import datetime
from typing import Any

from bot.texts import Texts
from flows.catalogue import Catalogue
from storage.uow import UnitOfWork


async def desk_state(uow: UnitOfWork, catalogue: Catalogue, texts: Texts, now: datetime) -> dict[str, Any]:
    alerts = [
        {
            "id": alert.id,
            "kind": alert.kind,
            "client_name": name,
            "channel": channel,
            "request_id": alert.request_id,
            "text": alert.excerpt,
            "created_at": alert.created_at.isoformat(),
        }
        for alert, name, channel in await uow.alerts.recent()
    ]
    queue = []
    positions: dict[str, int] = {}
    for request, name, channel, questions in await uow.requests.board():
        service = catalogue.get(request.service)
        positions[request.service] = positions.get(request.service, 0) + 1
        since = request.submitted_at or request.created_at
        queue.append(
            {
                "request_id": request.id,
                "service": request.service,
                "service_name": service.name("ru") if service else request.service,
                "client_name": name,
                "channel": channel,
                "stage": request.stage,
                "stage_name": texts.lookup(f"stage-{request.stage}", "ru"),
                "payment": request.payment_state,
                "position": positions[request.service],
                "age_seconds": int((now - since).total_seconds()),
                "deadline": request.deadline_at.isoformat() if request.deadline_at else None,
                "is_emergency": request.is_emergency,
                "questions": questions,
            }
        )
    # What could not go out (or waits for the client's WhatsApp window): the practitioner's to act on.
    undelivered = [
        {
            "id": item.id,
            "client_name": name,
            "channel": item.channel,
            "state": item.state,
            "delivery_status": item.delivery_status,
            "error": item.last_error,
            "text": item.text[:300],
            "created_at": item.created_at.isoformat(),
        }
        for item, name in await uow.delivery.undelivered()
    ]
    return {"alerts": alerts, "queue": queue, "undelivered": undelivered, "generated_at": now.isoformat()}
