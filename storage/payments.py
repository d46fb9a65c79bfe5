"""Invoices, payment links and the payments that settle them (bot/payments/ decides)."""

from datetime import datetime

from sqlalchemy import and_, func, or_, select

from storage.models import Payment, Request
from storage.scoped import Scoped


class PaymentRepo(Scoped):
    async def add(
        self,
        *,
        request_id: int,
        client_id: int,
        provider: str,
        currency: str,
        amount: int,
        state: str,
        check_token: str,
        now: datetime,
    ) -> Payment:
        payment = Payment(
            practitioner_id=self.pid,
            request_id=request_id,
            client_id=client_id,
            provider=provider,
            currency=currency,
            amount=amount,
            state=state,
            check_token=check_token,
            created_at=now,
        )
        self.session.add(payment)
        await self.session.flush()
        return payment

    async def get(self, payment_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(Payment.practitioner_id == self.pid, Payment.id == payment_id)
        )

    async def by_event(self, provider: str, event_id: str) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(
                Payment.practitioner_id == self.pid, Payment.provider == provider, Payment.event_id == event_id
            )
        )

    async def for_request(self, request_id: int) -> list[Payment]:
        rows = await self.session.scalars(
            select(Payment)
            .where(Payment.practitioner_id == self.pid, Payment.request_id == request_id)
            .order_by(Payment.id)
        )
        return list(rows)

    async def flips(self, client_id: int) -> int:
        """How often the client backed out of paying: refunded payments, and invoices left unpaid
        on a request that was then cancelled (seed 000: confirming and cancelling again and again)."""
        count = await self.session.scalar(
            select(func.count())
            .select_from(Payment)
            .join(Request, Request.id == Payment.request_id)
            .where(
                Payment.practitioner_id == self.pid,
                Payment.client_id == client_id,
                or_(
                    Payment.state == "refunded",
                    and_(Payment.state.in_(("invoiced", "held")), Request.stage == "cancelled"),
                ),
            )
        )
        return int(count or 0)

    async def by_provider_charge(self, provider: str, charge_id: str) -> Payment | None:
        """The payment a provider's charge id belongs to (Stripe: its PaymentIntent)."""
        return await self.session.scalar(
            select(Payment).where(
                Payment.practitioner_id == self.pid,
                Payment.provider == provider,
                Payment.provider_charge_id == charge_id,
            )
        )
