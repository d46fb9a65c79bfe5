"""Liveness and Prometheus metrics.

/metrics tells how busy she is and how many clients write: behind METRICS_TOKEN (a bearer token)
when one is set, else answered only to this machine (a scraper next to the service).
"""

import hmac
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from flows.model import Priority
from handlers.deps import DeskDep
from storage.outbox import OutboxRelayStore

router = APIRouter(tags=["ops"])
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


@router.get("/healthz")
async def healthz(desk: DeskDep) -> dict[str, str]:
    async with desk.uow() as uow:
        await uow.session.connection()  # proves the database answers
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, desk: DeskDep, authorization: Annotated[str | None, Header()] = None) -> Response:
    token = getattr(request.app.state, "metrics_token", None)
    if token is not None:
        expected = f"Bearer {token.get_secret_value()}"
        if not hmac.compare_digest((authorization or "").encode(), expected.encode()):
            raise HTTPException(status_code=401, detail="a bearer token is needed (METRICS_TOKEN)")
    elif request.client is None or request.client.host not in LOOPBACK:
        raise HTTPException(status_code=403, detail="metrics are served to this machine only (or set METRICS_TOKEN)")
    registry = request.app.state.metrics
    async with desk.sessions() as session:
        lanes, oldest = await OutboxRelayStore(session).backlog()
    for lane in Priority:
        registry.outbox_pending.labels(lane.name.lower()).set(lanes.get(lane, 0))
    registry.outbox_oldest.set((desk.clock() - oldest).total_seconds() if oldest is not None else 0)
    return Response(generate_latest(registry.registry), media_type=CONTENT_TYPE_LATEST)
