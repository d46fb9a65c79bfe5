"""Liveness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from handlers.deps import DeskDep

router = APIRouter(tags=["ops"])


@router.get("/healthz")
async def healthz(desk: DeskDep) -> dict[str, str]:
    async with desk.uow() as uow:
        await uow.session.connection()  # proves the database answers
    return {"status": "ok"}


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
