"""/restrict CLIENT [duration] [reason] and /unrestrict CLIENT."""

from bot.commands.base import Env, Run, one_client
from flows.practice import clients as decide
from flows.practice.args import BadArgument, ClientRef, client_ref, duration
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command
from flows.practice.views import ClientCard
from storage.models import Client

LONGEST_NAME = 4  # words: «Анна Петрова», «+7 999 123-45-67»


async def restrict(env: Env, command: Command) -> list[PracticeEffect]:
    client, ref, rest = await named_client(env, command.words)
    until, rest = duration(rest, env.ctx.now, env.ctx.timezone)
    card = await client_card(env, client)
    return decide.restrict(card, until, " ".join(rest)[:500], ref.show(), f"restrict:{env.log_id}", env.ctx)


async def unrestrict(env: Env, command: Command) -> list[PracticeEffect]:
    client, ref = await one_client(env, command.args)
    return decide.unrestrict(await client_card(env, client), ref.show(), f"unrestrict:{env.log_id}")


async def named_client(env: Env, words: list[str]) -> tuple[Client, ClientRef, list[str]]:
    """The client named by the leading words (a name may take several, a phone too), and the
    words after it. The longest leading phrase naming exactly one client wins; the words never
    run into a duration («3d», «до», «навсегда»)."""
    if not words:
        raise BadArgument("cmd-error-need-client")
    limit = next((i for i in range(1, len(words)) if _starts_duration(env, words[i])), len(words))
    for size in range(min(LONGEST_NAME, limit), 0, -1):
        ref = client_ref(" ".join(words[:size]))
        found = await env.uow.practice.find_clients(ref)
        if len(found) == 1:
            return found[0], ref, words[size:]
    client, ref = await one_client(env, words[0])  # raises: no such client, or several
    return client, ref, words[1:]  # pragma: no cover (one match was found above)


def _starts_duration(env: Env, word: str) -> bool:
    try:
        found, _ = duration([word], env.ctx.now, env.ctx.timezone)
    except BadArgument:
        return True  # «до» without its date: still where the duration begins
    return found is not None


async def client_card(env: Env, client: Client) -> ClientCard:
    restriction = await env.uow.clients.active_restriction(client.id, env.ctx.now)
    return ClientCard(
        client_id=client.id,
        name=client.display_name,
        restricted_until=restriction.until if restriction else None,
        restricted=restriction is not None,
        restriction_reason=restriction.reason if restriction else "",
        restriction_announced=restriction is not None and restriction.announced_at is not None,
        flagged=client.flagged_at is not None,
    )


COMMANDS: dict[str, Run] = {"restrict": restrict, "unrestrict": unrestrict}
