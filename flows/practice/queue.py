"""/queue [service] [page] and /next: the queue as she reads it on a phone."""

from datetime import timedelta

from flows.effects import Button, ChangeStage
from flows.model import Stage
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, Notify, PracticeEffect, ServiceName
from flows.practice.views import PracticeContext, QueuePage, QueueRow, RequestCard

PAGE_SIZE = 12  # a phone screen, and far below Telegram's 4096 characters


def queue(found: QueuePage, service_key: str | None, page: int, ctx: PracticeContext) -> list[PracticeEffect]:
    """One page, cut by the database (storage/practice.py `queue_page`) in the order she reads
    it: emergencies in their own lane on top, then by service in catalogue order and position."""
    if not found.total:
        return [Answer("cmd-queue-empty")]
    pages = (found.total + PAGE_SIZE - 1) // PAGE_SIZE
    if page > pages:
        raise BadArgument("cmd-error-no-page", page=page, pages=pages)
    chunk = found.rows
    lines: list[Answer] = []
    current: str | None = None
    for row in chunk:
        lane = "emergency" if row.emergency else row.service
        if lane != current:
            current = lane
            service = ctx.catalogue.get(row.service)
            lines.append(
                Answer(
                    "cmd-queue-lane-emergency" if row.emergency else "cmd-queue-lane",
                    {"service": service.name(ctx.language) if service else row.service},
                )
            )
        lines.append(_line(row, ctx))
    buttons: tuple[Button, ...] = ()
    if page < pages:
        target = f"/queue {service_key} {page + 1}" if service_key else f"/queue {page + 1}"
        buttons = (Button(target, text_id="button-next-page"),)
    header = Answer("cmd-queue-header", {"count": found.total, "page": page, "pages": pages})
    return [Answer("cmd-lines", {"lines": (header, *lines)}, buttons=buttons)]


def queue_args(args: list[str], ctx: PracticeContext) -> tuple[str | None, int]:
    """The service (None: the whole queue) and the 1-based page /queue asks for."""
    service_key: str | None = None
    page = 1
    for word in args:
        if word.isdigit():
            page = int(word)
            if page < 1:
                raise BadArgument("cmd-error-no-page", page=page, pages=1)
            continue
        service = _find_service(word, ctx)
        if service is None:
            raise BadArgument(
                "cmd-error-unknown-service",
                given=word[:40],
                services=", ".join(s.key for s in ctx.catalogue.services),
            )
        service_key = service
    return service_key, page


def _find_service(word: str, ctx: PracticeContext) -> str | None:
    """A service by key, by number in the menu, or by the start of its key or name."""
    word = word.lower().strip()
    if word.isdigit():
        found = ctx.catalogue.by_index(int(word))
        return found.key if found else None
    for service in ctx.catalogue.services:
        names = [service.key, *(n.lower() for n in service.names.values())]
        if any(name.startswith(word) for name in names):
            return service.key
    return None


def _line(row: QueueRow, ctx: PracticeContext) -> Answer:
    age = ctx.now - (row.submitted_at or row.created_at)
    params = {
        "position": row.position,
        "number": row.request_id,
        "client": Answer("cmd-client-flagged", {"client": row.client_name}) if row.flagged else row.client_name,
        "age": age,
        "stage": Answer(f"stage-{row.stage.value}"),
        "payment": Answer("cmd-paid-yes" if row.paid else "cmd-paid-no"),
    }
    if row.emergency:
        if row.deadline_at is None:
            return Answer("cmd-queue-line-emergency-unpaid", params)
        left = row.deadline_at - ctx.now
        if left <= timedelta(0):
            return Answer("cmd-queue-line-emergency-late", {**params, "late": -left})
        return Answer("cmd-queue-line-emergency", {**params, "left": left})
    return Answer("cmd-queue-line", params)


def next_request(card: RequestCard | None, unpaid: int, in_work: int, ctx: PracticeContext) -> list[PracticeEffect]:
    """Take the next paid request into work: `card`, the first queued one — emergencies first,
    then by deadline (else submission) across services (storage/practice.py `next_queued`). The
    client is told work has started (forgotten questions now close). None queued: say how many
    wait for payment (`unpaid`) and are in work."""
    if card is None:
        return [Answer("cmd-next-empty", {"unpaid": unpaid, "in_work": in_work})]
    service = ctx.catalogue.get(card.service)
    name = service.name(ctx.language) if service else card.service
    questions = tuple(Answer("cmd-question-line", {"n": i, "text": q}) for i, q in enumerate(card.questions, 1))
    return [
        ChangeStage(card.request_id, Stage.IN_WORK),
        Notify(
            card.client_id,
            "client-work-started",
            key=f"started:{card.request_id}",
            params={"number": card.request_id, "service": ServiceName(card.service)},
            request_id=card.request_id,
        ),
        Answer(
            "cmd-next",
            {
                "number": card.request_id,
                "client": card.client_name,
                "service": name,
                "questions": Answer("cmd-lines", {"lines": questions}) if questions else Answer("cmd-no-questions"),
            },
        ),
    ]
