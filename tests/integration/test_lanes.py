"""The outbox's lanes on a real database: what the relay takes first when everything is due.

Alerts, then what she did for a client (/done, /reply, /paid), then answers to what clients
wrote, then reminders, then bulk updates; within a lane, first come first served. One chat's
messages stay in their order whatever their lanes (storage/outbox.OutboxRelayStore.due).
"""

from flows.model import Priority
from flows.practice.requests import reply
from storage.outbox import OutboxRelayStore
from storage.uow import UnitOfWork
from tests.factories import WORKING_TIME


async def queue(sessions, practitioner: int, destination: str, priority: int, key: str) -> None:  # noqa: ANN001
    async with UnitOfWork(sessions, practitioner) as uow:
        await uow.outbox.enqueue(
            channel="whatsapp", destination=destination, priority=priority, text=key, key=key, now=WORKING_TIME
        )
        await uow.commit()


async def test_her_action_goes_before_a_backlog_of_other_clients_replies(sessions, practitioner: int) -> None:  # noqa: ANN001
    for n in range(40):  # forty newcomers' answers, queued first
        await queue(sessions, practitioner, f"whatsapp:+7999000{n:04d}", Priority.REPLY, f"reply-{n}")
    await queue(sessions, practitioner, "whatsapp:+79990009999", Priority.BULK, "position")
    [notify, _] = reply(7, "Анна", "Ваш расклад готов", "reply:1", 1)  # /reply from her, for Anna
    await queue(sessions, practitioner, "whatsapp:+79991112233", notify.priority, "her-reply")
    await queue(sessions, practitioner, "whatsapp:+79160000001", Priority.URGENT, "alert")  # to her

    async with sessions() as session:
        due = await OutboxRelayStore(session).due(WORKING_TIME, limit=3, channel="whatsapp")

    assert [row.text for row in due] == ["alert", "her-reply", "reply-0"]


async def test_one_chats_messages_keep_their_order_across_lanes(sessions, practitioner: int) -> None:  # noqa: ANN001
    anna = "whatsapp:+79991112233"
    await queue(sessions, practitioner, anna, Priority.REPLY, "her answer to «где мой расклад?»")
    await queue(sessions, practitioner, anna, Priority.ACTION, "the result link")

    async with sessions() as session:
        due = await OutboxRelayStore(session).due(WORKING_TIME, limit=10, channel="whatsapp")

    assert [row.text for row in due] == ["her answer to «где мой расклад?»"], "the chat's first unsent row only"
