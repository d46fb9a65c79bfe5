"""Statistics (/desk/stats): load by hour × weekday, requests, waits (median, p90) and promises
kept per service, revenue per service and currency (refunds subtracted), new vs returning
clients; CSV export.

The numbers are /stats's own (storage/stats.py + flows/practice/stats.aggregate), so the page and
her chat never disagree; only the hour-by-weekday grid and the request rows are the dashboard's.
"""

import csv
import io
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.money import format_money, major_units
from bot.practice import Practice
from flows.payments import Price
from flows.practice.stats import Revenue, Stats, aggregate
from handlers.dashboard.auth import PageSession
from handlers.dashboard.payment_view import status_of
from handlers.dashboard.render import PRIVATE_HEADERS, Words, page
from handlers.deps import PracticeDep
from storage.dashboard import DashboardRepo, RequestFacts, load_grid, new_and_returning

router = APIRouter(tags=["dashboard"], include_in_schema=False)

Days = Annotated[int, Query(ge=1, le=366)]


async def _read(practice: Practice, days: int) -> tuple[Stats, dict[tuple[int, int], int], list[RequestFacts]]:
    now = practice.clock()
    since = now - timedelta(days=days)
    async with practice.uow() as uow:
        facts = await uow.stats.requests(since)
        inbound = await uow.stats.inbound_times(since)
        payments = await uow.stats.payments(since)
        rows = await DashboardRepo(uow.session, uow.practitioner_id).request_facts()
    stats = aggregate(
        facts,
        inbound,
        since=since,
        now=now,
        catalogue=practice.catalogue,
        timezone=practice.timezone,
        payments=payments,
    )
    return stats, load_grid(inbound, practice.timezone), rows


def money_cells(line: Revenue, language: str) -> dict[str, str]:
    """Received, refunded and net of one revenue line, as she reads money."""
    return {
        name: format_money(Price(line.currency, amount), language)
        for name, amount in (("received", line.received), ("refunded", line.refunded), ("net", line.net))
    }


def major(currency: str, amount: int) -> str:
    """An amount for a spreadsheet: major units with a dot (Stars whole), no symbol."""
    return str(major_units(Price(currency, amount)))


def hours(value: timedelta | float | None) -> str:
    if value is None:
        return ""
    return f"{(value.total_seconds() / 3600 if isinstance(value, timedelta) else value):.1f}"


def stamp(value: datetime | None) -> str:
    return value.isoformat() if value else ""


@router.get("/desk/stats", response_class=HTMLResponse)
async def stats_page(request: Request, session: PageSession, practice: PracticeDep, days: Days = 30) -> Response:
    stats, grid, rows = await _read(practice, days)
    top = max(grid.values(), default=0)
    # Shade 0..4 per cell: a heatmap without a chart library.
    shade = {key: (1 + (3 * n) // top if n else 0) for key, n in grid.items()}
    new, returning = new_and_returning(rows, stats.since)
    return page(
        request,
        "dashboard/stats.html",
        session,
        {
            "stats": stats,
            "weekdays": [Words(practice)(f"dash-weekday-{day}") for day in range(7)],
            "grid": grid,
            "shade": shade,
            "promises": {p.service: p for p in stats.promises},
            "money": lambda line: money_cells(line, practice.language),
            "new_clients": new,
            "returning_clients": returning,
            "hours": hours,
            "days": days,
            "nav": "stats",
        },
    )


@router.get("/desk/stats.csv")
async def stats_csv(
    session: PageSession,
    practice: PracticeDep,
    table: Literal["services", "requests", "load", "revenue"] = "services",
    days: Days = 30,
) -> Response:
    stats, grid, rows = await _read(practice, days)
    out = io.StringIO()
    writer = csv.writer(out)
    if table == "services":
        promises = {p.service: p for p in stats.promises}
        by_hand = dict(stats.paid_by_hand)
        writer.writerow(
            [
                "service",
                "requests",
                "done",
                "wait_median_hours",
                "wait_p90_hours",
                "promises_kept",
                "promises_broken",
                "promises_running",
                "paid_by_hand",
            ]
        )
        for line in stats.services:
            promise = promises.get(line.service)
            writer.writerow(
                [
                    line.service,
                    line.requests,
                    line.done,
                    hours(line.median_wait),
                    hours(line.p90_wait),
                    promise.kept if promise else "",
                    promise.broken if promise else "",
                    promise.running if promise else "",
                    by_hand.get(line.service, 0),
                ]
            )
    elif table == "revenue":
        # Per service and currency, then one total per currency (service empty); major units.
        writer.writerow(["service", "currency", "payments", "received", "refunds", "refunded", "net"])
        for line in (*stats.revenue, *stats.revenue_totals):
            writer.writerow(
                [
                    line.service,
                    line.currency,
                    line.payments,
                    major(line.currency, line.received),
                    line.refunds,
                    major(line.currency, line.refunded),
                    major(line.currency, line.net),
                ]
            )
    elif table == "requests":
        async with practice.uow() as uow:
            payments = await DashboardRepo(uow.session, uow.practitioner_id).all_payments()
        writer.writerow(
            [
                "request",
                "client",
                "service",
                "emergency",
                "stage",
                "payment",
                "created_at",
                "submitted_at",
                "paid_at",
                "done_at",
                "deadline_at",
                "wait_hours",
                "payment_status",
            ]
        )
        for r in rows:
            if r.created_at < stats.since:
                continue
            writer.writerow(
                [
                    r.id,
                    r.client_id,
                    r.service,
                    int(r.is_emergency),
                    r.stage,
                    r.payment_state,
                    stamp(r.created_at),
                    stamp(r.submitted_at),
                    stamp(r.paid_at),
                    stamp(r.done_at),
                    stamp(r.deadline_at),
                    hours(r.wait_hours),
                    status_of(r.payment_state, payments.get(r.id, [])),
                ]
            )
    else:
        writer.writerow(["weekday", "hour", "inbound_messages"])  # weekday 0 = Monday, in her time zone
        for (day, hour), count in sorted(grid.items()):
            writer.writerow([day, hour, count])
    headers = {**PRIVATE_HEADERS, "Content-Disposition": f'attachment; filename="priem-{table}-{days}d.csv"'}
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)
