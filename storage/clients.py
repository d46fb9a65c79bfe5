"""Clients, their identities on each channel, terms they accepted, their restrictions."""

from datetime import datetime

from sqlalchemy import delete, func, select, update

from flows.model import PaymentEvent
from storage.models import (
    Base,
    Client,
    Identity,
    Message,
    PractitionerAlert,
    Request,
    Restriction,
    TermsAcceptance,
)
from storage.scoped import Scoped


class ClientRepo(Scoped):
    async def find_by_identity(self, channel: str, address: str) -> Client | None:
        return await self.session.scalar(
            select(Client)
            .join(Identity, Identity.client_id == Client.id)
            .where(
                Identity.practitioner_id == self.pid,
                Identity.channel == channel,
                Identity.address == address,
            )
        )

    async def create(
        self, *, name: str, language: str, timezone: str, channel: str, address: str, now: datetime
    ) -> Client:
        client = Client(
            practitioner_id=self.pid,
            display_name=name,
            language=language,
            timezone=timezone,
            step="idle",
            created_at=now,
        )
        self.session.add(client)
        await self.session.flush()
        self.session.add(
            Identity(practitioner_id=self.pid, client_id=client.id, channel=channel, address=address, created_at=now)
        )
        await self.session.flush()
        return client

    async def get(self, client_id: int) -> Client | None:
        return await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.id == client_id)
        )

    async def identities(self, client_id: int) -> list[Identity]:
        rows = await self.session.scalars(
            select(Identity)
            .where(Identity.practitioner_id == self.pid, Identity.client_id == client_id)
            .order_by(Identity.id)
        )
        return list(rows)

    async def reply_route(self, client_id: int) -> tuple[str, str] | None:
        """Where a message to the client goes: the channel they last wrote from, else the first
        identity they have. None for a client with no identity left (erased)."""
        last = await self.session.scalar(
            select(Message.channel)
            .where(
                Message.practitioner_id == self.pid,
                Message.client_id == client_id,
                Message.direction == "in",
            )
            .order_by(Message.id.desc())
            .limit(1)
        )
        identities = await self.identities(client_id)
        for identity in identities:
            if identity.channel == last:
                return identity.channel, identity.address
        return (identities[0].channel, identities[0].address) if identities else None

    async def accepted_terms(self, client_id: int) -> frozenset[str]:
        rows = await self.session.scalars(
            select(TermsAcceptance.service).where(
                TermsAcceptance.practitioner_id == self.pid, TermsAcceptance.client_id == client_id
            )
        )
        return frozenset(rows)

    async def accept_terms(self, client_id: int, service: str, now: datetime) -> None:
        if service not in await self.accepted_terms(client_id):
            self.session.add(
                TermsAcceptance(practitioner_id=self.pid, client_id=client_id, service=service, accepted_at=now)
            )

    async def active_restriction(self, client_id: int, now: datetime) -> Restriction | None:
        rows = await self.session.scalars(
            select(Restriction)
            .where(
                Restriction.practitioner_id == self.pid,
                Restriction.client_id == client_id,
                Restriction.lifted_at.is_(None),
            )
            .order_by(Restriction.id.desc())
        )
        return next((r for r in rows if r.until is None or r.until > now), None)

    async def restrict(
        self, client_id: int, *, until: datetime | None, reason: str, now: datetime, announced: bool = False
    ) -> Restriction:
        """`announced`: the client is told in the same transaction, so the flow stays quiet."""
        restriction = Restriction(
            practitioner_id=self.pid,
            client_id=client_id,
            until=until,
            reason=reason,
            created_at=now,
            announced_at=now if announced else None,
        )
        self.session.add(restriction)
        await self.session.flush()
        return restriction

    async def lift_restrictions(self, client_id: int, now: datetime) -> int:
        """Lift every active restriction of the client; how many there were."""
        result = await self.session.execute(
            update(Restriction)
            .where(
                Restriction.practitioner_id == self.pid,
                Restriction.client_id == client_id,
                Restriction.lifted_at.is_(None),
                (Restriction.until.is_(None)) | (Restriction.until > now),
            )
            .values(lifted_at=now)
        )
        return int(result.rowcount or 0)

    async def mark_restriction_announced(self, restriction_id: int, now: datetime) -> None:
        await self.session.execute(
            update(Restriction)
            .where(Restriction.practitioner_id == self.pid, Restriction.id == restriction_id)
            .values(announced_at=now)
        )

    async def urgent_alerted_since(self, client_id: int, since: datetime) -> bool:
        """A restricted client's urgent message already reached her since `since`."""
        found = await self.session.scalar(
            select(PractitionerAlert.id)
            .where(
                PractitionerAlert.practitioner_id == self.pid,
                PractitionerAlert.client_id == client_id,
                PractitionerAlert.kind == "restricted_urgent",
                PractitionerAlert.created_at >= since,
            )
            .limit(1)
        )
        return found is not None

    async def flag(self, client: Client, reason: str, now: datetime) -> None:
        if client.flagged_at is None:
            client.flagged_at, client.flag_reason = now, reason
            await self.session.flush()

    async def clear_flag(self, client_id: int, now: datetime) -> bool:
        """She cleared the flag: flips before now no longer count. The clearing is kept as a seen
        alert row (kind "flag_cleared"), so payment_events can start after it without a column."""
        result = await self.session.execute(
            update(Client)
            .where(Client.practitioner_id == self.pid, Client.id == client_id, Client.flagged_at.is_not(None))
            .values(flagged_at=None, flag_reason=None)
        )
        if not result.rowcount:
            return False
        self.session.add(
            PractitionerAlert(
                practitioner_id=self.pid,
                client_id=client_id,
                kind="flag_cleared",
                excerpt="",
                created_at=now,
                seen_at=now,
            )
        )
        await self.session.flush()
        return True

    async def _flag_cleared_at(self, client_id: int) -> datetime | None:
        return await self.session.scalar(
            select(func.max(PractitionerAlert.created_at)).where(
                PractitionerAlert.practitioner_id == self.pid,
                PractitionerAlert.client_id == client_id,
                PractitionerAlert.kind == "flag_cleared",
            )
        )

    async def payment_events(self, client_id: int, since: datetime) -> list[PaymentEvent]:
        """The client's confirms and cancels since `since`, oldest first, from stored facts: a
        request's submission and cancellation stamps, and «я оплатила» alerts. Nothing from before
        she last cleared the client's flag counts."""
        events: list[PaymentEvent] = []
        cleared = await self._flag_cleared_at(client_id)
        requests = await self.session.execute(
            select(Request.id, Request.submitted_at, Request.cancelled_at).where(
                Request.practitioner_id == self.pid,
                Request.client_id == client_id,
                Request.submitted_at.is_not(None),
                (Request.submitted_at >= since) | (Request.cancelled_at >= since),
            )
        )
        for request_id, submitted_at, cancelled_at in requests:
            events.append(PaymentEvent(submitted_at, "confirm", request_id))
            if cancelled_at is not None:
                events.append(PaymentEvent(cancelled_at, "cancel", request_id))
        claims = await self.session.execute(
            select(PractitionerAlert.request_id, PractitionerAlert.created_at).where(
                PractitionerAlert.practitioner_id == self.pid,
                PractitionerAlert.client_id == client_id,
                PractitionerAlert.kind == "paid_claim",
                PractitionerAlert.created_at >= since,
            )
        )
        events += [PaymentEvent(at, "claim", request_id) for request_id, at in claims]
        events = [e for e in events if e.at >= since and (cleared is None or e.at > cleared)]
        # Ties (one instant) in the order they must have happened: by request, confirm first.
        return sorted(events, key=lambda e: (e.at, e.request_id or 0, e.kind != "confirm"))

    # One person on two channels (flows/linking.py)

    async def find_by_phone(self, phone: str) -> Client | None:
        """The oldest client with exactly these digits as their number (a WhatsApp sender's, or
        one shared on Telegram)."""
        return await self.session.scalar(
            select(Client).where(Client.practitioner_id == self.pid, Client.phone == phone).order_by(Client.id).limit(1)
        )

    async def add_identity(self, client_id: int, channel: str, address: str, now: datetime) -> None:
        self.session.add(
            Identity(practitioner_id=self.pid, client_id=client_id, channel=channel, address=address, created_at=now)
        )
        await self.session.flush()

    async def merge(self, one: Client, other: Client) -> Client:
        """Make two clients one, in the caller's transaction; returns the survivor.

        The older client survives (their number is the one she knows); every row that names the
        newer one — identities, messages, requests, terms, restrictions, alerts, bookings, jobs,
        and any table added later with a foreign key to clients — moves over, and the newer row
        is deleted rather than kept as an empty tombstone: nothing can then still point at it,
        and her client lists show one person once.
        """
        if one.id == other.id:
            return one
        keep, gone = (one, other) if one.id < other.id else (other, one)
        await self.session.flush()
        # Terms both accepted: the survivor's acceptance stays (unique per client and service).
        await self.session.execute(
            delete(TermsAcceptance)
            .where(
                TermsAcceptance.practitioner_id == self.pid,
                TermsAcceptance.client_id == gone.id,
                TermsAcceptance.service.in_(
                    select(TermsAcceptance.service).where(TermsAcceptance.client_id == keep.id).scalar_subquery()
                ),
            )
            .execution_options(synchronize_session=False)
        )
        for mapper in Base.registry.mappers:
            model = mapper.class_
            for key, column in mapper.columns.items():
                names_client = any(fk.column.table.name == Client.__tablename__ for fk in column.foreign_keys)
                if model is Client or not names_client:
                    continue
                statement = update(model).where(getattr(model, key) == gone.id).values({key: keep.id})
                if "practitioner_id" in mapper.columns:
                    statement = statement.where(model.practitioner_id == self.pid)
                # "evaluate" also moves the rows already loaded in this session (the message
                # being handled), so a later flush cannot write the old client back.
                await self.session.execute(statement.execution_options(synchronize_session="evaluate"))
        keep.phone = keep.phone or gone.phone
        keep.username = keep.username or gone.username
        latest = [at for at in (keep.last_inbound_at, gone.last_inbound_at) if at is not None]
        keep.last_inbound_at = max(latest, default=None)
        if keep.step == "idle" and gone.step != "idle":
            # The conversation in progress (a question list) goes on where it was.
            keep.step, keep.step_service, keep.step_request_id = gone.step, gone.step_service, gone.step_request_id
        if keep.flagged_at is None and gone.flagged_at is not None:
            keep.flagged_at, keep.flag_reason = gone.flagged_at, gone.flag_reason
        await self.session.delete(gone)
        await self.session.flush()
        return keep
