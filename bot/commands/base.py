"""What every command gets: the unit of work, the moment, the practice context, the account."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from flows.practice.args import BadArgument, ClientRef, client_ref, request_number
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command
from flows.practice.views import PracticeContext, RequestCard
from storage.models import Client
from storage.uow import UnitOfWork


@dataclass(frozen=True)
class Env:
    uow: UnitOfWork
    ctx: PracticeContext
    log_id: int  # this command's row in command_log: a unique seed for idempotency keys
    payments: Any = None  # bot/payments.Payments when payments are on: /refund, /invoice


Run = Callable[[Env, Command], Awaitable[list[PracticeEffect]]]


async def card_for(env: Env, token: str | None) -> RequestCard:
    number = request_number(token)
    card = await env.uow.practice.card(number, env.ctx.now)
    if card is None:
        raise BadArgument("cmd-error-no-request", number=number)
    return card


async def one_client(env: Env, text: str) -> tuple[Client, ClientRef]:
    """The one client `text` names, or a BadArgument saying none or several match."""
    ref = client_ref(text)
    found = await env.uow.practice.find_clients(ref)
    if not found:
        raise BadArgument("cmd-error-no-client", given=ref.show())
    if len(found) > 1:
        names = ", ".join(f"{c.display_name} (#{c.id})" for c in found[:5])
        raise BadArgument("cmd-error-many-clients", given=ref.show(), names=names)
    return found[0], ref
