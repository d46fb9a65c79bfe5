"""The platform's own table: practitioners with their configuration, and the load per practitioner.

Not a Scoped repository: it is the one place that reads across practitioners, and it reads only
configuration and counts, never a client's name or message (the platform admin's view).
"""

import functools
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Client, Message, OutboxItem, Practitioner, PractitionerAccount, Request

OPEN_STAGES = ("submitted", "queued", "in_work")
BACKLOG_STATES = ("pending", "sending")
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
PAYMENT_COLUMNS = ("telegram_payment_token", "stripe_api_key", "stripe_webhook_secret")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


@functools.cache
def dummy_hash() -> str:
    """A hash no password matches, checked for a name that does not exist (same work, same time)."""
    return hash_password(secrets.token_urlsafe(32))


def password_matches(stored: str | None, given: str) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, salt, digest = stored.split("$", 2)
    found = hashlib.scrypt(given.encode(), salt=bytes.fromhex(salt), **_SCRYPT)
    return hmac.compare_digest(found.hex(), digest)


@dataclass(frozen=True)
class Load:
    practitioner_id: int
    slug: str
    clients: int
    open_requests: int
    messages_today: int  # in the last 24 hours
    outbox_backlog: int
    last_activity: datetime | None  # her latest message, either way


class PractitionerStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        slug: str,
        name: str,
        now: datetime,
        telegram_token: str | None = None,
        telegram_webhook_secret: str | None = None,
        whatsapp_from: str | None = None,
        timezone: str | None = None,
        password: str | None = None,
        accounts: list[tuple[str, str]] = (),  # type: ignore[assignment]
        telegram_payment_token: str | None = None,
        stripe_api_key: str | None = None,
        stripe_webhook_secret: str | None = None,
        catalogue: str | None = None,
    ) -> Practitioner:
        row = Practitioner(
            slug=slug,
            name=name,
            created_at=now,
            telegram_token=telegram_token,
            telegram_webhook_secret=telegram_webhook_secret,
            whatsapp_from=whatsapp_from,
            timezone=timezone,
            password_hash=hash_password(password) if password else None,
            telegram_payment_token=telegram_payment_token,
            stripe_api_key=stripe_api_key,
            stripe_webhook_secret=stripe_webhook_secret,
            catalogue=catalogue,
        )
        self.session.add(row)
        await self.session.flush()
        for channel, address in accounts:
            self.session.add(
                PractitionerAccount(practitioner_id=row.id, channel=channel, address=address, created_at=now)
            )
        await self.session.flush()
        return row

    async def set_payments(self, slug: str, changes: dict[str, str | None]) -> Practitioner | None:
        """Her payment keys changed (`practitioner set`): each named column to its value, None clears
        it; the running service takes them at its next sync (bot/platform/tenants.py)."""
        row = await self.by_slug(slug)
        if row is None:
            return None
        for column, value in changes.items():
            if column not in PAYMENT_COLUMNS:
                raise ValueError(f"not a payment setting: {column}")
            setattr(row, column, value)
        await self.session.flush()
        return row

    async def set_catalogue(self, row: Practitioner, catalogue: str | None) -> None:
        """Her own catalogue.toml text (None: the deployment's), already checked by the caller;
        the running service takes it at its next sync (bot/platform/tenants.py)."""
        row.catalogue = catalogue
        await self.session.flush()

    async def all(self) -> list[Practitioner]:
        return list(await self.session.scalars(select(Practitioner).order_by(Practitioner.id)))

    async def get(self, practitioner_id: int) -> Practitioner | None:
        return await self.session.get(Practitioner, practitioner_id)

    async def by_slug(self, slug: str) -> Practitioner | None:
        return await self.session.scalar(select(Practitioner).where(Practitioner.slug == slug))

    async def by_whatsapp_from(self, sender: str) -> Practitioner | None:
        return await self.session.scalar(select(Practitioner).where(Practitioner.whatsapp_from == sender))

    async def ids_by_whatsapp_from(self, senders: Sequence[str]) -> dict[str, int]:
        """by_whatsapp_from for a whole webhook batch in one query: sender number → practitioner id,
        for the numbers a practitioner row claims."""
        if not senders:
            return {}
        rows = await self.session.execute(
            select(Practitioner.whatsapp_from, Practitioner.id).where(Practitioner.whatsapp_from.in_(set(senders)))
        )
        return {number: practitioner_id for number, practitioner_id in rows if number is not None}

    async def accounts(self, practitioner_id: int) -> list[tuple[str, str]]:
        rows = await self.session.execute(
            select(PractitionerAccount.channel, PractitionerAccount.address)
            .where(PractitionerAccount.practitioner_id == practitioner_id)
            .order_by(PractitionerAccount.id)
        )
        return [(channel, address) for channel, address in rows]

    async def load(self, now: datetime) -> list[Load]:
        """Counts per practitioner; one grouped query per measure, whatever their number."""
        since = now - timedelta(hours=24)

        async def counts(query) -> dict[int, int]:  # type: ignore[no-untyped-def]
            return {int(pid): int(n) for pid, n in await self.session.execute(query)}

        clients = await counts(select(Client.practitioner_id, func.count()).group_by(Client.practitioner_id))
        open_requests = await counts(
            select(Request.practitioner_id, func.count())
            .where(Request.stage.in_(OPEN_STAGES))
            .group_by(Request.practitioner_id)
        )
        messages = await counts(
            select(Message.practitioner_id, func.count())
            .where(Message.created_at >= since)
            .group_by(Message.practitioner_id)
        )
        backlog = await counts(
            select(OutboxItem.practitioner_id, func.count())
            .where(OutboxItem.state.in_(BACKLOG_STATES))
            .group_by(OutboxItem.practitioner_id)
        )
        latest = {
            int(pid): at
            for pid, at in await self.session.execute(
                select(Message.practitioner_id, func.max(Message.created_at)).group_by(Message.practitioner_id)
            )
        }
        return [
            Load(
                practitioner_id=p.id,
                slug=p.slug,
                clients=clients.get(p.id, 0),
                open_requests=open_requests.get(p.id, 0),
                messages_today=messages.get(p.id, 0),
                outbox_backlog=backlog.get(p.id, 0),
                last_activity=latest.get(p.id),
            )
            for p in await self.all()
        ]
