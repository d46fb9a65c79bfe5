"""`python main.py practitioner add|set|list`: practitioners on a many-practitioner deployment.

Writes go to the database only; the running service picks a new practitioner up without a restart
(bot/platform/tenants.py reads her row on first use and on its periodic sync).

`--catalogue PATH` gives her a catalogue of her own, in catalogue.toml's format: the file is
checked by the service's own loader (bot/catalogue_file.py) and a bad one changes nothing.
"""

import argparse
import asyncio
import re
import secrets
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.exc import IntegrityError

from bot.catalogue_file import CatalogueError, parse_catalogue
from bot.settings import Settings
from storage.engine import make_engine, session_factory, upgrade
from storage.models import Practitioner
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
    _payment_options(add)
    add.add_argument("--catalogue", help="her own catalogue.toml (default: the deployment's CATALOGUE_PATH)")
    change = actions.add_parser("set", help="change her payment keys or catalogue ('' clears one; no restart needed)")
    change.add_argument("--slug", type=_slug, required=True)
    _payment_options(change)
    change.add_argument("--catalogue", help="her own catalogue.toml ('': the deployment's again)")
    actions.add_parser("list", help="every practitioner, without secrets")
    return root


def _payment_options(parser: argparse.ArgumentParser) -> None:
    # Her own keys, stored like her bot token and never printed (`list` says only whether set).
    parser.add_argument(
        "--telegram-payment-token", help="her payment provider token from @BotFather: card invoices instead of Stars"
    )
    parser.add_argument("--stripe-api-key", help="her Stripe secret key: payment links on WhatsApp")
    parser.add_argument(
        "--stripe-webhook-secret", help="the signing secret of her Stripe webhook at /webhook/payments/stripe/SLUG"
    )


def _payment_changes(args: argparse.Namespace) -> dict[str, str | None]:
    """The payment columns given on the command line: a value, or None for '' (cleared)."""
    given = {
        "telegram_payment_token": args.telegram_payment_token,
        "stripe_api_key": args.stripe_api_key,
        "stripe_webhook_secret": args.stripe_webhook_secret,
    }
    return {column: value.strip() or None for column, value in given.items() if value is not None}


def _stripe_half_set(row: Practitioner) -> bool:
    return bool(row.stripe_api_key) != bool(row.stripe_webhook_secret)


def _catalogue(path: str, timezone: str) -> str | None:
    """The file's text once the service's loader accepts it; None for '' (the deployment's)."""
    if not path.strip():
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{path}: {error}") from error
    parse_catalogue(text, timezone, path)
    return text


async def run(argv: Sequence[str], settings: Settings, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(list(argv))
    catalogue: str | None = None
    if args.action == "add" and args.catalogue is not None:
        try:  # before anything is written
            catalogue = _catalogue(args.catalogue, args.timezone or settings.timezone)
        except CatalogueError as error:
            print(f"refused: her catalogue: {error}", file=out)
            return 2
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
                        catalogue=catalogue,
                        **_payment_changes(args),
                    )
                    if _stripe_half_set(row):
                        print("refused: Stripe needs both --stripe-api-key and --stripe-webhook-secret", file=out)
                        return 2
                    await session.commit()
                except IntegrityError:
                    print("refused: the slug, WhatsApp sender or one of her accounts is already taken", file=out)
                    return 2
                print(f"added practitioner #{row.id} {row.slug}", file=out)
                return 0
            if args.action == "set":
                changed = await store.set_payments(args.slug, _payment_changes(args))
                if changed is None:
                    print(f"refused: no practitioner {args.slug}", file=out)
                    return 2
                if _stripe_half_set(changed):
                    print("refused: Stripe needs both --stripe-api-key and --stripe-webhook-secret", file=out)
                    return 2
                if args.catalogue is not None:
                    try:  # refused: nothing above is committed either
                        catalogue = _catalogue(args.catalogue, changed.timezone or settings.timezone)
                    except CatalogueError as error:
                        print(f"refused: her catalogue: {error}", file=out)
                        return 2
                    await store.set_catalogue(changed, catalogue)
                await session.commit()
                print(f"changed practitioner #{changed.id} {changed.slug}", file=out)
                return 0
            for row in await store.all():
                accounts = ", ".join(f"{c}:{a}" for c, a in await store.accounts(row.id))
                print(
                    f"#{row.id}\t{row.slug}\t{row.name}\ttelegram={'yes' if row.telegram_token else '-'}"
                    f"\twhatsapp={row.whatsapp_from or '-'}\ttz={row.timezone or settings.timezone}"
                    f"\tlogin={'yes' if row.password_hash else '-'}\taccounts={accounts or '-'}"
                    f"\tpayment-token={'yes' if row.telegram_payment_token else '-'}"
                    f"\tstripe={'yes' if row.stripe_api_key else '-'}"
                    f"\tcatalogue={'own' if row.catalogue else '-'}",
                    file=out,
                )
            return 0
    finally:
        await engine.dispose()


def main(argv: Sequence[str]) -> int:
    return asyncio.run(run(argv, Settings()))
