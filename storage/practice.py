"""Reads and writes behind the practitioner's commands: her accounts, the command log, the
queue as rows, one request as a card, a client's history, finding a client by what she typed."""

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import delete, func, or_, select, true
from sqlalchemy.ext.asyncio import AsyncSession

from flows.model import Stage
from flows.practice.args import ClientRef, RefKind
from flows.practice.views import HistoryLine, QueuePage, QueueRow, RequestCard
from storage.models import Client, CommandLog, Identity, Message, PractitionerAccount, Question, Request, Restriction
from storage.requests import OPEN, RequestRepo
from storage.scoped import Scoped

# /queue's lanes other than a catalogue service (service keys never start with a colon).
_URGENT, _GONE = ":emergencies", ":gone"


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
                _queue_row(
                    request, name, channel, questions, position=positions[request.service],
                    flagged=request.client_id in flagged,
                )
            )
        return rows

    async def queue_page(self, order: Sequence[str], service: str | None, offset: int, limit: int) -> QueuePage:
        """`limit` rows of /queue from `offset`, in the order /queue shows them: the emergency lane
        (the whole queue only), then each service's planned requests in catalogue order (`order`;
        services no longer in it last, by position), each by submission. A position counts
        within the service, its emergencies first, as in `board`. Totals come from counts over
        the queue lengths (storage/queue_counts.py) less the emergencies, counted per service on
        ix_requests_lane; each lane is read with LIMIT/OFFSET (ix_requests_lane), so a page
        costs its rows, not the queue."""
        lengths = await self.requests.queue_lengths()
        counted = await self.session.execute(
            select(Request.service, func.count())
            .where(
                Request.practitioner_id == self.pid,
                Request.service.in_(sorted(lengths)),
                Request.is_emergency == true(),  # not IS TRUE: that PostgreSQL cannot look up in an index
                Request.stage.in_(OPEN),
            )
            .group_by(Request.service)
        )
        urgent = {key: int(count) for key, count in counted}
        planned = {key: n - urgent.get(key, 0) for key, n in lengths.items()}
        lanes: list[tuple[str, int]] = []  # (lane, size): a service key, or one of the two below
        if service is None:
            lanes.append((_URGENT, sum(urgent.values())))
            lanes += [(key, planned[key]) for key in order if planned.get(key)]
            lanes.append((_GONE, sum(n for key, n in planned.items() if key not in order)))
        else:
            lanes.append((service, planned.get(service, 0)))
        rows: list[QueueRow] = []
        start = 0
        for lane, size in lanes:
            skip, end = max(offset - start, 0), min(offset + limit - start, size)
            if skip < end:
                rows += await self._lane(lane, skip, end - skip, urgent, order)
            start += size
        return QueuePage(total=start, rows=tuple(rows))

    async def next_queued(self) -> int | None:
        """The request /next takes: a queued (paid) one, emergencies first, then by deadline, else
        submission, else creation, then number — what it took when it sorted the whole queue.
        One ordering over those three times cannot follow an index, so each is asked for its
        first request on ix_requests_next (a few rows each, not the queue), and the first of
        those wins."""
        queued = (Request.practitioner_id == self.pid, Request.stage == Stage.QUEUED.value)
        for emergency in (True, False):
            # `=`, not IS: PostgreSQL's B-tree serves `is_emergency = false`, never `IS false`.
            lane = (*queued, Request.is_emergency == emergency)
            # (time, which requests, order). The leading NULL columns in the orders change nothing
            # but let PostgreSQL see the index's order (it does not take IS NULL for equality).
            firsts = [
                (Request.deadline_at, (Request.deadline_at.is_not(None),), (Request.deadline_at, Request.id)),
                (
                    Request.submitted_at,
                    (Request.deadline_at.is_(None), Request.submitted_at.is_not(None)),
                    (Request.deadline_at, Request.submitted_at, Request.id),
                ),
                (
                    Request.created_at,
                    (Request.deadline_at.is_(None), Request.submitted_at.is_(None)),
                    (Request.created_at, Request.id),
                ),
            ]
            found = []
            for at, which, order in firsts:
                row = (
                    await self.session.execute(select(at, Request.id).where(*lane, *which).order_by(*order).limit(1))
                ).first()
                if row is not None:
                    found.append((row[0], row[1]))
            if found:
                return min(found)[1]
        return None

    async def open_by_stage(self) -> dict[str, int]:
        """Open requests per stage (what /next says when nothing is queued)."""
        rows = await self.session.execute(
            select(Request.stage, func.count())
            .where(Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
            .group_by(Request.stage)
        )
        return {stage: int(count) for stage, count in rows}

    async def clients_with_open_requests(self) -> list[int]:
        """Every client with an open request, once each, by number (whom /pause tells)."""
        rows = await self.session.scalars(
            select(Request.client_id)
            .where(Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
            .distinct()
            .order_by(Request.client_id)
        )
        return list(rows)

    async def _lane(
        self, lane: str, skip: int, take: int, urgent: dict[str, int], order: Sequence[str]
    ) -> list[QueueRow]:
        open_ = (Request.practitioner_id == self.pid, Request.stage.in_(OPEN))
        if lane in (_URGENT, _GONE):
            # Few rows (emergencies, services gone from the catalogue): numbered by a window.
            ranked = (
                select(
                    Request.id,
                    Request.service,
                    Request.is_emergency,
                    Request.submitted_at,
                    func.row_number()
                    .over(
                        partition_by=Request.service,
                        order_by=(Request.is_emergency.desc(), Request.submitted_at, Request.id),
                    )
                    .label("position"),
                )
                .where(*open_)
                .where(Request.is_emergency.is_(True) if lane == _URGENT else Request.service.not_in(order))
                .subquery()
            )
            page = select(ranked.c.id, ranked.c.position).where(ranked.c.is_emergency.is_(lane == _URGENT))
            if lane == _URGENT:
                page = page.order_by(ranked.c.service, ranked.c.submitted_at, ranked.c.id)
            else:
                page = page.order_by(ranked.c.position, ranked.c.service)
            found = list(await self.session.execute(page.offset(skip).limit(take)))
        else:
            ids = await self.session.scalars(
                select(Request.id)
                .where(*open_, Request.service == lane, Request.is_emergency.is_(False))
                .order_by(Request.submitted_at, Request.id)
                .offset(skip)
                .limit(take)
            )
            first = urgent.get(lane, 0) + skip + 1
            found = [(rid, first + n) for n, rid in enumerate(ids)]
        details = await self._rows([rid for rid, _ in found])
        return [replace(details[rid], position=int(position)) for rid, position in found]

    async def _rows(self, request_ids: list[int]) -> dict[int, QueueRow]:
        """The queue rows of these requests, position left at 0 for the caller to set."""
        if not request_ids:
            return {}
        questions = select(func.count()).where(Question.request_id == Request.id).correlate(Request).scalar_subquery()
        channel = (
            select(Identity.channel)
            .where(Identity.client_id == Request.client_id)
            .order_by(Identity.id)
            .limit(1)
            .correlate(Request)
            .scalar_subquery()
        )
        found = await self.session.execute(
            select(Request, Client.display_name, Client.flagged_at, channel, questions)
            .join(Client, Client.id == Request.client_id)
            .where(Request.practitioner_id == self.pid, Request.id.in_(request_ids))
        )
        return {
            request.id: _queue_row(request, name, ch or "", int(count), position=0, flagged=flagged_at is not None)
            for request, name, flagged_at, ch, count in found
        }

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


def _queue_row(request: Request, name: str, channel: str, questions: int, *, position: int, flagged: bool) -> QueueRow:
    return QueueRow(
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
        position=position,
        channel=channel,
        questions=questions,
        flagged=flagged,
    )
