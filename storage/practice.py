"""Reads and writes behind the practitioner's commands: her accounts, the command log, the
queue as rows, one request as a card, a client's history, finding a client by what she typed."""

from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.model import Stage
from flows.practice.args import ClientRef, RefKind
from flows.practice.views import HistoryLine, QueueRow, RequestCard
from storage.models import Client, CommandLog, Message, PractitionerAccount, Request, Restriction
from storage.requests import OPEN, RequestRepo
from storage.scoped import Scoped


class PracticeRepo(Scoped):
    def __init__(self, session: AsyncSession, practitioner_id: int, requests: RequestRepo) -> None:
        super().__init__(session, practitioner_id)
        self.requests = requests

    async def is_practitioner(self, channel: str, address: str) -> bool:
        found = await self.session.scalar(
            select(PractitionerAccount.id).where(
                PractitionerAccount.practitioner_id == self.pid,
                PractitionerAccount.channel == channel,
                PractitionerAccount.address == address,
            )
        )
        return found is not None

    async def set_accounts(self, accounts: list[tuple[str, str]], now: datetime) -> None:
        """Make the stored accounts exactly `accounts` (from settings, at start-up and on change)."""
        wanted = set(accounts)
        rows = list(
            await self.session.scalars(
                select(PractitionerAccount).where(PractitionerAccount.practitioner_id == self.pid)
            )
        )
        have = {(r.channel, r.address) for r in rows}
        for row in rows:
            if (row.channel, row.address) not in wanted:
                await self.session.execute(delete(PractitionerAccount).where(PractitionerAccount.id == row.id))
        for channel, address in sorted(wanted - have):
            self.session.add(
                PractitionerAccount(practitioner_id=self.pid, channel=channel, address=address, created_at=now)
            )
        await self.session.flush()

    async def log(self, channel: str, address: str, text: str, allowed: bool, now: datetime) -> CommandLog:
        row = CommandLog(
            practitioner_id=self.pid,
            channel=channel,
            address=address,
            text=text[:2000],
            allowed=allowed,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        return row

    async def refused_attempts(self) -> list[CommandLog]:
        rows = await self.session.scalars(
            select(CommandLog)
            .where(CommandLog.practitioner_id == self.pid, CommandLog.allowed.is_(False))
            .order_by(CommandLog.id)
        )
        return list(rows)

    async def queue_rows(self) -> list[QueueRow]:
        rows: list[QueueRow] = []
        positions: dict[str, int] = {}
        flagged = set(
            await self.session.scalars(
                select(Client.id).where(Client.practitioner_id == self.pid, Client.flagged_at.is_not(None))
            )
        )
        for request, name, channel, questions in await self.requests.board():
            positions[request.service] = positions.get(request.service, 0) + 1
            rows.append(
                QueueRow(
                    request_id=request.id,
                    client_id=request.client_id,
                    client_name=name,
                    service=request.service,
                    stage=Stage(request.stage),
                    paid=request.payment_state == "paid",
                    emergency=request.is_emergency,
                    created_at=request.created_at,
                    submitted_at=request.submitted_at,
                    deadline_at=request.deadline_at,
                    position=positions[request.service],
                    channel=channel,
                    questions=questions,
                    flagged=request.client_id in flagged,
                )
            )
        return rows

    async def card(self, request_id: int, now: datetime) -> RequestCard | None:
        found = await self.session.execute(
            select(Request, Client.display_name)
            .join(Client, Client.id == Request.client_id)
            .where(Request.practitioner_id == self.pid, Request.id == request_id)
        )
        row = found.first()
        if row is None:
            return None
        request, name = row
        questions = (await self.requests.questions([request.id]))[request.id]
        return RequestCard(
            request_id=request.id,
            client_id=request.client_id,
            client_name=name,
            client_restricted=await self.restricted(request.client_id, now),
            service=request.service,
            stage=Stage(request.stage),
            paid=request.payment_state == "paid",
            emergency=request.is_emergency,
            created_at=request.created_at,
            paid_at=request.paid_at,
            deadline_at=request.deadline_at,
            position=await self.requests.position(request),
            questions=tuple(questions),
            result_link=request.result_link,
        )

    async def restricted(self, client_id: int, now: datetime) -> bool:
        found = await self.session.scalar(
            select(Restriction.id).where(
                Restriction.practitioner_id == self.pid,
                Restriction.client_id == client_id,
                Restriction.lifted_at.is_(None),
                or_(Restriction.until.is_(None), Restriction.until > now),
            )
        )
        return found is not None

    async def history(self, client_id: int) -> list[HistoryLine]:
        rows = await self.session.execute(
            select(Message.created_at, Message.direction, Message.kind, Message.text)
            .where(Message.practitioner_id == self.pid, Message.client_id == client_id)
            .order_by(Message.id)
        )
        return [HistoryLine(at=at, direction=d, kind=k, text=t) for at, d, k, t in rows]

    async def find_clients(self, ref: ClientRef) -> list[Client]:
        """Every client `ref` may mean; the caller refuses an ambiguous name."""
        query = select(Client).where(Client.practitioner_id == self.pid)
        match ref.kind:
            case RefKind.REQUEST:
                query = query.join(Request, Request.client_id == Client.id).where(
                    Request.practitioner_id == self.pid, Request.id == int(ref.value)
                )
            case RefKind.USERNAME:
                query = query.where(func.lower(Client.username) == ref.value.lower())
            case RefKind.PHONE:
                # Stored phones are digits only; the tail match forgives a missing country code.
                query = query.where(Client.phone.is_not(None), Client.phone.like(f"%{ref.value[-10:]}"))
            case RefKind.NAME:
                exact = list(
                    await self.session.scalars(query.where(func.lower(Client.display_name) == ref.value.lower()))
                )
                if exact:
                    return exact
                # SQLite's lower() folds ASCII only, so the loose match is done here in Python.
                candidates = await self.session.scalars(query.order_by(Client.id))
                needle = ref.value.casefold()
                return [c for c in candidates if needle in c.display_name.casefold()]
        return list(await self.session.scalars(query.order_by(Client.id)))

    async def open_request_of(self, client_id: int) -> int | None:
        """The client's most recent open request: what /reply and /history attach to."""
        return await self.session.scalar(
            select(Request.id)
            .where(Request.practitioner_id == self.pid, Request.client_id == client_id, Request.stage.in_(OPEN))
            .order_by(Request.id.desc())
            .limit(1)
        )
