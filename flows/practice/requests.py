"""/paid, /done, /reply, /history: acting on one request and telling its client."""

import re
from datetime import timedelta

from flows.effects import ChangeStage
from flows.model import Priority, Stage
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, MarkPaid, Notify, PracticeEffect, QueueChanged, ServiceName, SetResult
from flows.practice.views import HistoryLine, PracticeContext, RequestCard
from flows.queue import estimate
from flows.replies import eta_text

CLOSED = (Stage.DONE, Stage.CANCELLED, Stage.NO_SHOW)
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
HISTORY_LINES = 20
HISTORY_TEXT = 300


def paid(card: RequestCard, ctx: PracticeContext, queue_length: int) -> list[PracticeEffect]:
    if card.stage in CLOSED:
        raise BadArgument("cmd-error-closed", number=card.request_id, stage=Answer(f"stage-{card.stage.value}"))
    if card.paid:
        return [Answer("cmd-paid-already", {"number": card.request_id, "client": card.client_name})]
    service = ctx.catalogue.get(card.service)
    # The promise clock starts now (seed 000: an emergency is done within a day of the payment).
    deadline = ctx.now + timedelta(days=service.promise_max_days) if service and service.promise_max_days else None
    effects: list[PracticeEffect] = [MarkPaid(card.request_id, deadline)]
    if card.stage is Stage.SUBMITTED:
        effects.append(ChangeStage(card.request_id, Stage.QUEUED))
    position = card.position or queue_length or 1
    eta = estimate(service, position, ctx.now, ctx.stats, paid_at=ctx.now) if service else None
    effects += [
        Notify(
            card.client_id,
            "client-paid" if card.stage is not Stage.DRAFT else "client-paid-draft",
            key=f"paid:{card.request_id}",
            params={
                "number": card.request_id,
                "service": ServiceName(card.service),
                "position": position,
                "eta": eta_text(eta) if eta is not None and eta.known else Answer("eta-unknown"),
            },
            priority=Priority.URGENT if card.emergency else Priority.ACTION,
            request_id=card.request_id,
        ),
        Answer(
            "cmd-paid-ok" if deadline else "cmd-paid-ok-no-deadline",
            {"number": card.request_id, "client": card.client_name, "deadline_at": deadline},
        ),
        QueueChanged(),
    ]
    return effects


def done(card: RequestCard, words: list[str], ctx: PracticeContext) -> list[PracticeEffect]:
    if card.stage is Stage.DONE:
        return [Answer("cmd-done-already", {"number": card.request_id, "client": card.client_name})]
    if card.stage in CLOSED or card.stage is Stage.DRAFT:
        raise BadArgument("cmd-error-closed", number=card.request_id, stage=Answer(f"stage-{card.stage.value}"))
    link = words[0] if words else None
    if link is not None and not _URL.match(link):
        raise BadArgument("cmd-error-bad-link", given=link[:60])
    return [
        ChangeStage(card.request_id, Stage.DONE),
        SetResult(card.request_id, link),
        Notify(
            card.client_id,
            "client-result-link" if link else "client-result-done",
            key=f"done:{card.request_id}",
            params={"number": card.request_id, "service": ServiceName(card.service), "link": link or ""},
            priority=Priority.ACTION,
            request_id=card.request_id,
        ),
        Answer("cmd-done-ok", {"number": card.request_id, "client": card.client_name}),
        QueueChanged(),
    ]


def reply(client_id: int, client_name: str, text: str, key: str, request_id: int | None) -> list[PracticeEffect]:
    if not text.strip():
        raise BadArgument("cmd-error-reply-empty")
    return [
        Notify(
            client_id,
            "client-practitioner-says",
            key=key,
            params={"text": text.strip()},
            priority=Priority.ACTION,
            request_id=request_id,
        ),
        Answer("cmd-reply-ok", {"client": client_name}),
    ]


def history(client_name: str, lines: list[HistoryLine]) -> list[PracticeEffect]:
    if not lines:
        return [Answer("cmd-history-empty", {"client": client_name})]
    shown = lines[-HISTORY_LINES:]
    rendered = tuple(
        Answer(
            "cmd-history-in" if line.direction == "in" else "cmd-history-out",
            {"at": line.at, "text": _short(line.text) or f"[{line.kind}]"},
        )
        for line in shown
    )
    header = Answer("cmd-history-header", {"client": client_name, "shown": len(shown), "total": len(lines)})
    return [Answer("cmd-lines", {"lines": (header, *rendered)})]


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= HISTORY_TEXT else text[: HISTORY_TEXT - 1] + "…"
