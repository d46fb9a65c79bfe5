"""Call bookings. The partial unique index on (practitioner_id, starts_at) where state='booked'
decides every race for a slot; nothing here checks-then-inserts.

States: booked → released (moved or cancelled) | held (the call took place, /done) | no_show
(seed 002: counted as held). `starts_at` is UTC; `minutes` the length booked.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from storage.models import Booking, Client, Request
from storage.scoped import Scoped

# What a request's final stage makes of its booking (see RequestRepo.change_stage).
SETTLED_BY_STAGE = {"done": "held", "no_show": "no_show", "cancelled": "released"}
LONGEST_CALL = timedelta(days=1)


@dataclass(frozen=True)
class BookedCall:
    booking_id: int
    request_id: int
    client_id: int
    client_name: str
    starts_at: datetime
    minutes: int
    stage: str
    paid: bool


class BookingRepo(Scoped):
    async def held_between(self, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
        """(start, minutes) of every booked call that may overlap [start, end)."""
        rows = await self.session.execute(
            select(Booking.starts_at, Booking.minutes).where(
                Booking.practitioner_id == self.pid,
                Booking.state == "booked",
                Booking.starts_at < end,
                # A call may start a little before the window and still overlap its first slot.
                Booking.starts_at >= start - LONGEST_CALL,
            )
        )
        return [(at, minutes) for at, minutes in rows]

    async def booked_for_client(self, client_id: int) -> dict[int, datetime]:
        """request id → booked start, for one client's open calls."""
        rows = await self.session.execute(
            select(Booking.request_id, Booking.starts_at).where(
                Booking.practitioner_id == self.pid, Booking.client_id == client_id, Booking.state == "booked"
            )
        )
        return {request_id: at for request_id, at in rows}

    async def booked_of(self, request_id: int) -> Booking | None:
        return await self.session.scalar(
            select(Booking).where(
                Booking.practitioner_id == self.pid, Booking.request_id == request_id, Booking.state == "booked"
            )
        )

    async def book(self, *, request_id: int, client_id: int, starts_at: datetime, minutes: int, now: datetime) -> None:
        """Move the request's call to `starts_at` (releasing its current booking, if any).

        Runs in a SAVEPOINT: IntegrityError (the slot is held by someone else) leaves the
        outer transaction as it was, the old booking still booked.
        """
        async with self.session.begin_nested():
            await self.release(request_id, now)
            self.session.add(
                Booking(
                    practitioner_id=self.pid,
                    request_id=request_id,
                    client_id=client_id,
                    starts_at=starts_at,
                    minutes=minutes,
                    state="booked",
                    created_at=now,
                )
            )
            await self.session.flush()

    async def release(self, request_id: int, now: datetime) -> None:
        await self.settle(request_id, "released", now)

    async def settle(self, request_id: int, state: str, now: datetime) -> None:
        """The request's booked call ends as `state` (released | held | no_show)."""
        await self.session.execute(
            update(Booking)
            .where(Booking.practitioner_id == self.pid, Booking.request_id == request_id, Booking.state == "booked")
            .values(state=state, released_at=now)
            .execution_options(synchronize_session=False)
        )

    async def calls_between(self, start: datetime, end: datetime) -> list[BookedCall]:
        """Booked calls starting in [start, end), with their clients, in time order (/slots)."""
        rows = await self.session.execute(
            select(Booking, Client.display_name, Request.stage, Request.payment_state)
            .join(Client, Client.id == Booking.client_id)
            .join(Request, Request.id == Booking.request_id)
            .where(
                Booking.practitioner_id == self.pid,
                Booking.state == "booked",
                Booking.starts_at >= start,
                Booking.starts_at < end,
            )
            .order_by(Booking.starts_at)
        )
        return [
            BookedCall(
                booking_id=b.id,
                request_id=b.request_id,
                client_id=b.client_id,
                client_name=name,
                starts_at=b.starts_at,
                minutes=b.minutes,
                stage=stage,
                paid=payment == "paid",
            )
            for b, name, stage, payment in rows
        ]
