"""/stats: requests by service, waits, promises kept, revenue, load by hour and weekday.

Pure: the facts come from storage/stats.py, the numbers (`aggregate`) are kept apart from the
text (`render`) so the dashboard can show the same numbers its own way.
"""

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from zoneinfo import ZoneInfo

from flows.catalogue import Catalogue, Intake
from flows.payments import Price
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, PracticeEffect, ServiceName
from flows.practice.views import PracticeContext

DEFAULT_PERIOD = timedelta(days=30)
MAX_DAYS = 366
_PERIOD = re.compile(r"^(\d{1,3})\s*(d|д|дн|дней|days?|w|н|нед|weeks?)?$", re.IGNORECASE)
SPARK = "▁▂▃▄▅▆▇█"
PEAKS = 3


@dataclass(frozen=True)
class RequestFact:
    service: str
    emergency: bool
    submitted_at: datetime | None
    paid_at: datetime | None
    done_at: datetime | None
    cancelled_at: datetime | None
    paid_by_hand: bool = False  # /paid (cash, a bank transfer): no amount recorded


@dataclass(frozen=True)
class PaymentFact:
    """Money through the chat (Telegram or Stripe), in the currency's minor units (Stars whole)."""

    service: str
    currency: str
    amount: int
    paid_at: datetime
    refunded_at: datetime | None


@dataclass(frozen=True)
class Revenue:
    """One service in one currency over the period, counted when the money moved: a payment in
    the period adds, a refund in the period subtracts (even of a payment made before it).
    `service` is "" for the total of a currency over all services."""

    service: str
    currency: str
    received: int
    payments: int
    refunded: int
    refunds: int

    @property
    def net(self) -> int:
        return self.received - self.refunded


@dataclass(frozen=True)
class ServiceStats:
    service: str
    requests: int  # submitted in the period
    done: int  # completed in the period
    median_wait: timedelta | None  # submitted → done, of those completed in the period
    p90_wait: timedelta | None


@dataclass(frozen=True)
class PromiseStats:
    service: str
    limit: timedelta  # from payment: 24 h for an emergency, 14 days for a planned reading
    kept: int
    broken: int  # done late, or still open past the limit
    running: int  # open and still inside the limit


@dataclass(frozen=True)
class Stats:
    since: datetime
    until: datetime
    services: tuple[ServiceStats, ...]
    promises: tuple[PromiseStats, ...]
    inbound: int
    by_hour: tuple[int, ...]  # 24, in her time zone
    by_weekday: tuple[int, ...]  # 7, Monday first
    revenue: tuple[Revenue, ...] = ()  # per service and currency, catalogue order
    paid_by_hand: tuple[tuple[str, int], ...] = ()  # (service, requests marked paid by /paid)

    @property
    def revenue_totals(self) -> tuple[Revenue, ...]:
        """Per currency over all services (Stars first, then by currency code)."""
        totals: dict[str, Revenue] = {}
        for line in self.revenue:
            was = totals.get(line.currency, Revenue("", line.currency, 0, 0, 0, 0))
            totals[line.currency] = Revenue(
                "",
                line.currency,
                was.received + line.received,
                was.payments + line.payments,
                was.refunded + line.refunded,
                was.refunds + line.refunds,
            )
        return tuple(sorted(totals.values(), key=lambda r: (r.currency != "XTR", r.currency)))


def period(words: list[str]) -> timedelta:
    """`7d`, `30d`, `2w`, a bare `14` (days); 30 days when nothing is given."""
    if not words:
        return DEFAULT_PERIOD
    match = _PERIOD.match(words[0].strip())
    if match is None:
        raise BadArgument("cmd-error-bad-period", given=words[0][:40])
    amount = int(match[1])
    days = amount * 7 if (match[2] or "d").lower()[0] in "wн" else amount
    if not 1 <= days <= MAX_DAYS:
        raise BadArgument("cmd-error-bad-period", given=words[0][:40])
    return timedelta(days=days)


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least `share` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def revenue(
    payments: Sequence[PaymentFact], *, since: datetime, now: datetime, keys: Sequence[str]
) -> tuple[Revenue, ...]:
    """Money moved in [since, now] per service and currency, in the order of `keys`."""
    lines: dict[tuple[str, str], list[int]] = {}  # received, payments, refunded, refunds
    for p in payments:
        line = lines.setdefault((p.service, p.currency), [0, 0, 0, 0])
        if since <= p.paid_at <= now:
            line[0] += p.amount
            line[1] += 1
        if p.refunded_at is not None and since <= p.refunded_at <= now:
            line[2] += p.amount
            line[3] += 1
    order = {key: index for index, key in enumerate(keys)}
    ranked = sorted(
        lines.items(), key=lambda kv: (order.get(kv[0][0], len(order)), kv[0][0], kv[0][1] != "XTR", kv[0][1])
    )
    # A payment made before the period and not refunded in it leaves an empty line: dropped.
    return tuple(Revenue(service, currency, *n) for (service, currency), n in ranked if n[1] or n[3])


def aggregate(
    requests: Sequence[RequestFact],
    inbound: Sequence[datetime],
    *,
    since: datetime,
    now: datetime,
    catalogue: Catalogue,
    timezone: str,
    payments: Sequence[PaymentFact] = (),
) -> Stats:
    known = [s.key for s in catalogue.services]
    keys = known + sorted(({r.service for r in requests} | {p.service for p in payments}) - set(known))
    services: list[ServiceStats] = []
    for key in keys:
        mine = [r for r in requests if r.service == key]
        submitted = [r for r in mine if r.submitted_at is not None and since <= r.submitted_at <= now]
        done = [r for r in mine if r.done_at is not None and r.submitted_at is not None and since <= r.done_at <= now]
        if not submitted and not done:
            continue
        waits = [(r.done_at - r.submitted_at).total_seconds() for r in done]  # type: ignore[operator]
        services.append(
            ServiceStats(
                service=key,
                requests=len(submitted),
                done=len(done),
                median_wait=timedelta(seconds=median(waits)) if waits else None,
                p90_wait=timedelta(seconds=percentile(waits, 0.9)) if waits else None,
            )
        )
    promises: list[PromiseStats] = []
    for service in catalogue.services:
        if service.intake not in (Intake.SITUATION, Intake.QUESTIONS) or service.promise_max_days <= 0:
            continue
        limit = timedelta(days=service.promise_max_days)
        kept = broken = running = 0
        for r in requests:
            if r.service != service.key or r.paid_at is None or not since <= r.paid_at <= now:
                continue
            if r.done_at is not None:
                kept, broken = (kept + 1, broken) if r.done_at - r.paid_at <= limit else (kept, broken + 1)
            elif r.cancelled_at is not None:
                continue  # cancelled or refunded: no promise left to keep
            elif now - r.paid_at > limit:
                broken += 1
            else:
                running += 1
        if kept or broken or running:
            promises.append(PromiseStats(service.key, limit, kept, broken, running))
    by_hand = Counter(
        r.service for r in requests if r.paid_by_hand and r.paid_at is not None and since <= r.paid_at <= now
    )
    zone = ZoneInfo(timezone)
    hours, days = [0] * 24, [0] * 7
    for at in inbound:
        local = at.astimezone(zone)
        hours[local.hour] += 1
        days[local.weekday()] += 1
    return Stats(
        since=since,
        until=now,
        services=tuple(services),
        promises=tuple(promises),
        inbound=len(inbound),
        by_hour=tuple(hours),
        by_weekday=tuple(days),
        revenue=revenue(payments, since=since, now=now, keys=keys),
        paid_by_hand=tuple((key, by_hand[key]) for key in keys if by_hand[key]),
    )


def sparkline(values: Sequence[int]) -> str:
    top = max(values, default=0)
    if top == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(len(SPARK) - 1, round(v / top * (len(SPARK) - 1)))] for v in values)


def render(stats: Stats, ctx: PracticeContext) -> list[PracticeEffect]:
    """A phone screen: one line per service and promise, two for the load."""
    days = round((stats.until - stats.since) / timedelta(days=1))
    lines: list[Answer] = [Answer("stats-header", {"days": days, "since_date": stats.since})]
    if not stats.services:
        lines.append(Answer("stats-no-requests"))
    for row in stats.services:
        params = {"service": ServiceName(row.service), "count": row.requests, "done": row.done}
        if row.median_wait is None:
            lines.append(Answer("stats-service-no-wait", params))
        else:
            lines.append(Answer("stats-service", {**params, "median": row.median_wait, "p90": row.p90_wait}))
    if stats.promises:
        lines.append(Answer("stats-promises-header"))
    for promise in stats.promises:
        lines.append(
            Answer(
                "stats-promise",
                {
                    "service": ServiceName(promise.service),
                    "limit": promise.limit,
                    "kept": promise.kept,
                    "total": promise.kept + promise.broken,
                    "running": promise.running,
                },
            )
        )
    lines += render_revenue(stats)
    if stats.inbound == 0:
        lines.append(Answer("stats-no-messages"))
    else:
        peaks = sorted(range(24), key=lambda h: (-stats.by_hour[h], h))[:PEAKS]
        peak_text = ", ".join(f"{h:02d}:00 ({stats.by_hour[h]})" for h in peaks if stats.by_hour[h])
        lines.append(
            Answer(
                "stats-hours",
                {"count": stats.inbound, "bars": sparkline(stats.by_hour), "peaks": peak_text, "zone": ctx.timezone},
            )
        )
        lines.append(Answer("stats-weekdays", {f"d{i}": n for i, n in enumerate(stats.by_weekday)}))
    return [Answer("cmd-lines", {"lines": tuple(lines)})]


def render_revenue(stats: Stats) -> list[Answer]:
    """Per service and currency what came in, refunds shown and subtracted; totals when there is
    more than one line; requests marked paid by hand, whose amount priem never saw."""
    if not stats.revenue and not stats.paid_by_hand:
        return []
    lines = [Answer("stats-revenue-header")]
    for line in stats.revenue:
        params = {
            "service": ServiceName(line.service),
            "net": Price(line.currency, line.net),
            "received": Price(line.currency, line.received),
            "payments": line.payments,
            "refunded": Price(line.currency, line.refunded),
            "refunds": line.refunds,
        }
        lines.append(Answer("stats-revenue-refunds" if line.refunds else "stats-revenue", params))
    if len(stats.revenue) > 1:
        for total in stats.revenue_totals:
            lines.append(Answer("stats-revenue-total", {"net": Price(total.currency, total.net)}))
    for service, count in stats.paid_by_hand:
        lines.append(Answer("stats-revenue-by-hand", {"service": ServiceName(service), "count": count}))
    return lines
