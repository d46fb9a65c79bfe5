"""`python main.py practitioner add|list`: practitioners on a many-practitioner deployment.

Writes go to the database only; the running service picks a new practitioner up without a restart
(bot/platform.py reads her row on first use and on its periodic sync).
"""

import argparse
import asyncio
import re
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from bot.settings import Settings
from storage.engine import make_engine, session_factory, upgrade
from storage.platform import PractitionerStore
from storage.uow import ensure_practitioner

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _slug(value: str) -> str:
    if not SLUG.match(value) or value == "default":
        raise argparse.ArgumentTypeError("a slug is lowercase letters, digits and '-', up to 64 ('default' is #1's)")
    return value


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise argparse.ArgumentTypeError(f"unknown time zone {value!r}") from error
    return value


def _whatsapp(value: str) -> str:
    digits = "".join(ch for ch in value if ch.isdigit())
    if not digits:
        raise argparse.ArgumentTypeError("a WhatsApp number such as whatsapp:+79990000001")
    return f"whatsapp:+{digits}"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="main.py", description="priem: without arguments, serve")
    top = root.add_subparsers(dest="area", required=True)
    practitioner = top.add_parser("practitioner", help="practitioners hosted on this deployment")
    actions = practitioner.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add a practitioner (takes effect without a restart)")
    add.add_argument("--slug", type=_slug, required=True, help="her login and webhook path: /webhook/telegram/SLUG")
    add.add_argument("--name", help="her name (default: the slug)")
    add.add_argument("--telegram-token", help="her bot's token from @BotFather")
    add.add_argument("--telegram-secret", help="the webhook secret (default: a random one)")
    add.add_argument("--whatsapp-from", type=_whatsapp, help="her Twilio WhatsApp sender, whatsapp:+…")
    add.add_argument("--telegram-id", type=int, action="append", default=[], help="her own Telegram id (alerts)")
    add.add_argument("--whatsapp-number", type=_whatsapp, action="append", default=[], help="her own number")
    add.add_argument("--timezone", type=_zone, help="her time zone (default: TIMEZONE)")
    add.add_argument("--password", help="her dashboard password (she logs in with slug + password)")
    actions.add_parser("list", help="every practitioner, without secrets")
    return root


async def run(argv: Sequence[str], settings: Settings, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(list(argv))
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime.now(UTC)
        # #1 is the env-configured practitioner, whatever is added first.
        await ensure_practitioner(sessions, "default", settings.practitioner_name, now)
        async with sessions() as session:
            store = PractitionerStore(session)
            if args.action == "add":
                accounts = [("telegram", str(i)) for i in args.telegram_id] + [
                    ("whatsapp", n) for n in args.whatsapp_number
                ]
                try:
                    row = await store.add(
                        slug=args.slug,
                        name=args.name or args.slug,
                        now=now,
                        telegram_token=args.telegram_token,
                        telegram_webhook_secret=(args.telegram_secret or secrets.token_urlsafe(32))
                        if args.telegram_token
                        else None,
                        whatsapp_from=args.whatsapp_from,
                        timezone=args.timezone,
                        password=args.password,
                        accounts=accounts,
                    )
                    await session.commit()
                except IntegrityError:
                    print("refused: the slug, WhatsApp sender or one of her accounts is already taken", file=out)
                    return 2
                print(f"added practitioner #{row.id} {row.slug}", file=out)
                return 0
            for row in await store.all():
                accounts = ", ".join(f"{c}:{a}" for c, a in await store.accounts(row.id))
                print(
                    f"#{row.id}\t{row.slug}\t{row.name}\ttelegram={'yes' if row.telegram_token else '-'}"
                    f"\twhatsapp={row.whatsapp_from or '-'}\ttz={row.timezone or settings.timezone}"
                    f"\tlogin={'yes' if row.password_hash else '-'}\taccounts={accounts or '-'}",
                    file=out,
                )
            return 0
    finally:
        await engine.dispose()


def main(argv: Sequence[str]) -> int:
    return asyncio.run(run(argv, Settings()))
