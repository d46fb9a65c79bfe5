"""/pause [until] [note] and /resume: a break. ETAs grow by it (flows/queue.estimate reads
QueueStats.paused_until), every client with an open request is told once, and those told hear
when she is back."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from flows.model import Priority
from flows.practice.args import BadArgument
from flows.practice.effects import Answer, EndPause, Notify, PracticeEffect, StartPause
from flows.practice.views import PracticeContext


@dataclass(frozen=True)
class PauseView:
    starts_at: datetime
    until: datetime | None
    note: str


def notice_prefix(starts_at: datetime) -> str:
    """The outbox key prefix of one pause's notices: `<prefix><client id>`, once per client."""
    return f"pause:{starts_at:%Y%m%dT%H%M%S}:"


def resume_prefix(starts_at: datetime) -> str:
    return f"resume:{starts_at:%Y%m%dT%H%M%S}:"


def pause(
    active: PauseView | None, until: datetime | None, note: str, clients: Sequence[int], ctx: PracticeContext
) -> list[PracticeEffect]:
    """`clients`: those with an open request, each told once."""
    if active is not None:
        raise BadArgument(
            "cmd-error-pause-on",
            since_at=active.starts_at,
            till=Answer("cmd-until", {"until_at": active.until}) if active.until else Answer("cmd-until-resume"),
        )
    if until is not None and until <= ctx.now:
        raise BadArgument("cmd-error-in-past", given=until.strftime("%Y-%m-%d %H:%M"))
    note_line = Answer("client-pause-note", {"note": note}) if note else ""
    prefix = notice_prefix(ctx.now)
    told = sorted(set(clients))
    effects: list[PracticeEffect] = [StartPause(until, note)]
    for client_id in told:
        effects.append(
            Notify(
                client_id,
                "client-pause-until" if until is not None else "client-pause-open",
                key=f"{prefix}{client_id}",
                params={"until_at": until, "note": note_line},
                priority=Priority.BULK,
            )
        )
    effects.append(
        Answer(
            "cmd-pause-ok-until" if until is not None else "cmd-pause-ok-open",
            {"until_at": until, "told": len(told)},
        )
    )
    return effects


def resume(active: PauseView | None, told: list[int], ctx: PracticeContext) -> list[PracticeEffect]:
    if active is None:
        raise BadArgument("cmd-error-no-pause")
    prefix = resume_prefix(active.starts_at)
    effects: list[PracticeEffect] = [EndPause()]
    effects += [
        Notify(client_id, "client-pause-over", key=f"{prefix}{client_id}", priority=Priority.BULK)
        for client_id in told
    ]
    effects.append(Answer("cmd-resume-ok", {"since_at": active.starts_at, "told": len(told)}))
    return effects
