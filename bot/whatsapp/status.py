"""Twilio StatusCallback reports (sent, delivered, read, failed…) recorded on the outbox rows.

A report is stored in the inbox first, like a message: one that arrives before the relay has
recorded the MessageSid it reports on (the send and its first report can cross) is applied by
the replay worker instead of being lost.
"""

import json
from collections.abc import Mapping

from sqlalchemy.exc import IntegrityError

from bot.desk import Desk
from bot.whatsapp.sender import OUTSIDE_WINDOW, TERMINAL, WINDOW_ERROR
from storage.uow import UnitOfWork, dead_letter

CHANNEL = "whatsapp"
STATUS_CHANNEL = "whatsapp_status"
# Later statuses win; a report arriving out of order never overwrites a newer one.
STATUS_RANK = {
    "accepted": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 4,
    "failed": 4,
    "read": 5,
}


async def accept(desk: Desk, form: Mapping[str, str]) -> None:
    """Record a StatusCallback (delivered, read, failed…) on the outbox row it reports on."""
    sid = form.get("MessageSid", "").strip()
    status = form.get("MessageStatus", "").strip().lower()
    if not sid or len(sid) > 100:
        await dead_letter(
            desk.sessions,
            practitioner_id=desk.practitioner_id,
            channel=STATUS_CHANNEL,
            external_id=None,
            payload=json.dumps(dict(form)),
            reason="a signed status callback without a MessageSid",
            now=desk.clock(),
        )
        return
    if status not in STATUS_RANK:
        return  # receiving, scheduled, canceled…: nothing the practitioner needs
    # Only what is needed: the callback also carries both phone numbers.
    report = {
        "MessageSid": sid,
        "MessageStatus": status,
        "ErrorCode": form.get("ErrorCode", "")[:16],
    }
    now = desk.clock()
    try:
        async with desk.uow() as uow:
            row = await uow.inbox.store(
                channel=STATUS_CHANNEL,
                external_id=f"{sid}:{status}",
                payload=json.dumps(report),
                now=now,
            )
            if row is not None and await _apply_status(uow, report):
                await uow.inbox.processed(row, now)
            await uow.commit()
    except IntegrityError:
        pass  # the same report, delivered twice at once


async def _apply_status(uow: UnitOfWork, report: Mapping[str, str]) -> bool:
    """False when no row carries this MessageSid yet (the relay records it after the send)."""
    item = await uow.delivery.sent_row(CHANNEL, report["MessageSid"])
    if item is None:
        return False
    status, code = report["MessageStatus"], report.get("ErrorCode") or ""
    if STATUS_RANK[status] < STATUS_RANK.get(item.delivery_status or "", -1):
        return True
    error = None
    if code:
        error = f"twilio {code}" + (
            f": {TERMINAL[int(code)]}" if code.isdigit() and int(code) in TERMINAL else ""
        )
    await uow.delivery.record_delivery(item, status, error)
    if status in ("failed", "undelivered") and code == str(OUTSIDE_WINDOW):
        # Twilio accepts the request and WhatsApp refuses it afterwards: the same 24-hour rule.
        await uow.delivery.hold(item, WINDOW_ERROR)
    return True


async def replay(desk: Desk, max_attempts: int) -> None:
    now = desk.clock()
    async with desk.uow() as uow:
        for row in await uow.inbox.pending(STATUS_CHANNEL):
            if await _apply_status(uow, json.loads(row.payload)):
                await uow.inbox.processed(row, now)
                continue
            await uow.inbox.failed(row, "no outbox row carries this MessageSid")
            if row.attempts >= max_attempts:
                await uow.inbox.processed(row, now)  # not ours (another app on the account)
        await uow.commit()
