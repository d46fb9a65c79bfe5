"""/forget CLIENT [да]: erase a client who asked (flows/practice/privacy.py); /export CLIENT: the link
to their data as JSON on her page."""

from bot.commands.base import Env, Run, one_client
from flows.practice import privacy as decide
from flows.practice.effects import PracticeEffect
from flows.practice.parse import Command
from storage.requests import OPEN


async def forget(env: Env, command: Command) -> list[PracticeEffect]:
    words, confirmed = decide.split_confirmation(command.words)
    client, ref = await one_client(env, " ".join(words))
    requests = await env.uow.requests.for_client(client.id)
    card = decide.ForgetCard(
        client_id=client.id,
        name=client.display_name,
        asked_at=await env.uow.privacy.asked_at(client.id),
        forgotten=client.forgotten_at is not None,
        open_requests=tuple(r.id for r in requests if r.stage in OPEN),
    )
    return decide.forget(card, ref.show(), confirmed)


async def export(env: Env, command: Command) -> list[PracticeEffect]:
    client, _ = await one_client(env, command.args)
    return decide.export(client.id, client.display_name, env.ctx.desk_url)


COMMANDS: dict[str, Run] = {"forget": forget, "export": export}
