"""Repositories on a real SQLite file, through migrations, as the service uses them."""

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.client_state import load_client_view
from storage.engine import make_engine, upgrade
from storage.uow import UnitOfWork, ensure_practitioner
from tests import database
from tests.factories import WORKING_TIME

NOW = WORKING_TIME


async def new_client(uow: UnitOfWork, address: str, name: str = "Анна"):
    return await uow.clients.create(
        name=name, language="ru", timezone="Europe/Moscow", channel="web", address=address, now=NOW
    )


async def test_migrations_create_every_table_on_a_file(engine: AsyncEngine, tmp_path: Path) -> None:
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert {
        "practitioners", "clients", "client_identities", "terms_acceptances", "requests",
        "request_questions", "request_events", "messages", "restrictions", "alerts", "outbox",
        "dead_letters", "alembic_version",
    } <= tables
    if not database.on_postgres():
        assert (tmp_path / "store.db").stat().st_size > 0


async def test_upgrade_twice_is_harmless(engine: AsyncEngine) -> None:
    await upgrade(engine)


@pytest.mark.sqlite_only
async def test_sqlite_runs_in_wal_with_full_sync(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        assert (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await connection.exec_driver_sql("PRAGMA synchronous")).scalar() == 2  # FULL


async def test_client_found_by_identity_and_history_kept(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "key-1")
        await uow.messages.add(client_id=client.id, direction="in", channel="web", kind="text",
                               text="привет", external_id="e1", now=NOW)
        await uow.messages.add(client_id=client.id, direction="out", channel="web", kind="text",
                               text="ответ", now=NOW)
        await uow.commit()
    async with UnitOfWork(sessions, practitioner) as uow:
        found = await uow.clients.find_by_identity("web", "key-1")
        assert found is not None and found.display_name == "Анна"
        assert await uow.clients.find_by_identity("telegram", "key-1") is None
        history = await uow.messages.history(found.id)
        assert [(m.direction, m.text) for m in history] == [("in", "привет"), ("out", "ответ")]
        # Not yet delivered replies are not shown in the chat window.
        assert [m.text for m in await uow.messages.visible(found.id, 0)] == ["привет"]
        assert await uow.messages.seen("web", "e1")


async def test_same_external_id_twice_is_refused_by_the_database(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "key-1")
        await uow.messages.add(client_id=client.id, direction="in", channel="web", kind="text",
                               text="a", external_id="dup", now=NOW)
        await uow.commit()
    with pytest.raises(IntegrityError):
        async with UnitOfWork(sessions, practitioner) as uow:
            await uow.messages.add(client_id=client.id, direction="in", channel="web", kind="text",
                                   text="a", external_id="dup", now=NOW)
            await uow.commit()


async def test_positions_follow_submission_order_per_service(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        requests = []
        for i in range(3):
            client = await new_client(uow, f"k{i}", f"Клиент {i}")
            request = await uow.requests.open(client_id=client.id, service="planned_reading",
                                              stage="draft", emergency=False, now=NOW)
            await uow.requests.change_stage(request, "submitted", NOW + timedelta(minutes=i))
            requests.append(request)
        other = await uow.requests.open(client_id=client.id, service="one_question", stage="submitted",
                                        emergency=False, now=NOW)
        assert [await uow.requests.position(r) for r in requests] == [1, 2, 3]
        assert await uow.requests.position(other) == 1
        await uow.requests.change_stage(requests[0], "done", NOW + timedelta(days=1))
        assert await uow.requests.position(requests[0]) is None
        assert [await uow.requests.position(r) for r in requests[1:]] == [1, 2]
        assert await uow.requests.queue_lengths() == {"planned_reading": 2, "one_question": 1}


async def test_requests_submitted_at_the_same_instant_queue_in_id_order(sessions, practitioner: int) -> None:
    """The position is two counts (before the instant, then the same instant with a lower id)."""
    async with UnitOfWork(sessions, practitioner) as uow:
        requests = []
        for i, minutes in enumerate((0, 5, 5, 5, 9)):
            client = await new_client(uow, f"t{i}", f"Клиент {i}")
            request = await uow.requests.open(client_id=client.id, service="planned_reading",
                                              stage="draft", emergency=False, now=NOW)
            await uow.requests.change_stage(request, "submitted", NOW + timedelta(minutes=minutes))
            requests.append(request)
        assert [await uow.requests.position(r) for r in requests] == [1, 2, 3, 4, 5]
        await uow.requests.change_stage(requests[2], "cancelled", NOW + timedelta(hours=1))
        assert [await uow.requests.position(r) for r in requests] == [1, 2, None, 3, 4]
        await uow.commit()


async def test_stage_changes_are_stamped_and_logged(sessions, practitioner: int) -> None:
    from sqlalchemy import select

    from storage.models import StageChange

    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "k")
        request = await uow.requests.open(client_id=client.id, service="planned_reading", stage="submitted",
                                          emergency=False, now=NOW)
        await uow.requests.change_stage(request, "queued", NOW + timedelta(hours=1))
        await uow.requests.change_stage(request, "in_work", NOW + timedelta(hours=2))
        await uow.commit()
        stages = list(await uow.session.scalars(
            select(StageChange.stage).where(StageChange.request_id == request.id).order_by(StageChange.id)))
    assert stages == ["draft", "submitted", "queued", "in_work"]
    assert request.submitted_at == NOW
    assert request.paid_at == NOW + timedelta(hours=1)
    assert request.started_at == NOW + timedelta(hours=2)


async def test_throughput_is_the_median_gap_between_completions(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "k")
        assert await uow.requests.days_per_completion("planned_reading") is None
        for day in (0, 2, 4, 10):
            request = await uow.requests.open(client_id=client.id, service="planned_reading",
                                              stage="submitted", emergency=False, now=NOW)
            await uow.requests.change_stage(request, "done", NOW + timedelta(days=day))
        assert await uow.requests.days_per_completion("planned_reading") == 2.0
        # Every service in one statement: a service with no history has no figure.
        assert await uow.requests.throughput(["planned_reading", "one_question"]) == {"planned_reading": 2.0}


async def test_client_view_carries_requests_terms_and_restriction(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "k")
        request = await uow.requests.open(client_id=client.id, service="planned_reading", stage="submitted",
                                          emergency=False, now=NOW)
        await uow.requests.add_question(request.id, "Вопрос 1", NOW)
        await uow.requests.add_question(request.id, "Вопрос 2", NOW)
        await uow.clients.accept_terms(client.id, "planned_reading", NOW)
        await uow.clients.accept_terms(client.id, "planned_reading", NOW)  # idempotent
        await uow.clients.restrict(client.id, until=NOW + timedelta(days=3), reason="флуд", now=NOW)
        await uow.messages.add(client_id=client.id, direction="in", channel="web", kind="text",
                               text="x", external_id="1", now=NOW)
        view = await load_client_view(uow, client, NOW, first_contact=False)
    assert view.accepted_terms == frozenset({"planned_reading"})
    assert view.requests[0].questions == ("Вопрос 1", "Вопрос 2")
    assert view.requests[0].position == 1
    assert view.restricted and view.restriction_until == NOW + timedelta(days=3)
    assert not view.restriction_announced
    assert view.messages_last_minute == 1
    async with UnitOfWork(sessions, practitioner) as uow:
        later = await load_client_view(uow, client, NOW + timedelta(days=4), first_contact=False)
    assert not later.restricted


async def test_repositories_refuse_to_work_without_a_practitioner(sessions) -> None:
    for bad in (0, None, -1):
        with pytest.raises(ValueError):
            async with UnitOfWork(sessions, bad):  # type: ignore[arg-type]
                pass


async def test_one_practitioner_never_sees_anothers_clients(sessions, practitioner: int) -> None:
    other = await ensure_practitioner(sessions, "other", "Другая", NOW)
    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "same-key")
        await uow.requests.open(client_id=client.id, service="planned_reading", stage="submitted",
                                emergency=False, now=NOW)
        await uow.commit()
    async with UnitOfWork(sessions, other) as uow:
        assert await uow.clients.find_by_identity("web", "same-key") is None
        assert await uow.clients.get(client.id) is None
        assert await uow.requests.for_client(client.id) == []
        assert await uow.requests.board() == []
        assert await uow.alerts.recent() == []


async def test_engine_creates_the_data_folder(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "data" / "priem.db"
    engine = make_engine(f"sqlite+aiosqlite:///{target}")
    await upgrade(engine)
    await engine.dispose()
    assert target.exists()


async def test_inbox_keeps_one_copy_per_update_and_hands_them_out_in_order(sessions, practitioner: int) -> None:
    async with UnitOfWork(sessions, practitioner) as uow:
        first = await uow.inbox.store(channel="telegram", external_id="100", payload="{}", now=NOW)
        again = await uow.inbox.store(channel="telegram", external_id="100", payload="{}", now=NOW)
        second = await uow.inbox.store(channel="telegram", external_id="101", payload="{}", now=NOW)
        await uow.commit()
    assert first is not None and again is None and second is not None
    async with UnitOfWork(sessions, practitioner) as uow:
        pending = await uow.inbox.pending("telegram")
        assert [u.external_id for u in pending] == ["100", "101"]
        await uow.inbox.processed(pending[0], NOW)
        await uow.inbox.failed(pending[1], "boom")
        await uow.commit()
    async with UnitOfWork(sessions, practitioner) as uow:
        left = await uow.inbox.pending("telegram")
        assert [(u.external_id, u.attempts, u.last_error) for u in left] == [("101", 1, "boom")]


async def test_a_batch_of_updates_is_stored_once_each_in_arrival_order(sessions, practitioner: int) -> None:
    """The webhook's group commit: repeats, stored before or inside the batch, add nothing."""
    async with UnitOfWork(sessions, practitioner) as uow:
        await uow.inbox.store(channel="telegram", external_id="200", payload="{}", now=NOW)
        await uow.commit()
    batch = [("201", '{"a": 1}', False), ("200", "{}", False), ("202", "{}", True), ("201", '{"a": 2}', False)]
    async with UnitOfWork(sessions, practitioner) as uow:
        new = await uow.inbox.store_batch(channel="telegram", updates=batch, now=NOW)
        await uow.commit()
    assert new == ["201", "202"]
    async with UnitOfWork(sessions, practitioner) as uow:
        pending = await uow.inbox.pending("telegram")  # 202 came settled (a pre-checkout, answered at once)
        assert [(u.external_id, u.payload, u.attempts) for u in pending] == [("200", "{}", 0), ("201", '{"a": 1}', 0)]


async def test_a_newcomers_view_read_in_short_is_the_full_read(sessions, practitioner: int) -> None:
    """The first message's shortcut (nothing to read for a client created in the same transaction)
    gives the view the full read would."""
    from dataclasses import replace

    async with UnitOfWork(sessions, practitioner) as uow:
        client = await new_client(uow, "k")
        await uow.messages.add(
            client_id=client.id, direction="in", channel="web", kind="text", text="Привет", external_id="m1", now=NOW
        )
        full = await load_client_view(uow, client, NOW, first_contact=False)
        short = await load_client_view(uow, client, NOW, first_contact=True)
    assert short == replace(full, first_contact=True)
