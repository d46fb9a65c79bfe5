"""Crash safety: SIGKILL in the middle of a burst of 1,000 inbound messages loses nothing.

The real service runs as a child process on a SQLite file. 200 web chat clients write 5 messages
each, one after another as a person does, all clients at once. When 600 messages have been
acknowledged the process is killed with SIGKILL; it is started again on the same file, and
every client re-sends whatever it had not had acknowledged (as chat.js does), with the same
message ids. Then:

- every message that got a 2xx before the kill is in the client's history, once;
- every message is in history exactly once after the retries (no duplicates);
- every inbound message has its answer, written once: in the history, each client message is
  followed by its replies (1–2: the answer, and at most one off-hours notice) and nothing else.
"""

import asyncio
import shutil
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bot.outbox.relay import LEASE
from storage.uow import RelayUnitOfWork
from tests.e2e.chat_client import ChatClient
from tests.e2e.service import Service
from tests.factories import FakeClock

CLIENTS = 200
PER_CLIENT = 5
KILL_AFTER = 600  # acknowledgements: mid-burst, while ~200 more are in flight
DRAIN_TIMEOUT = 60.0



@dataclass
class Burst:
    acked: set[str] = field(default_factory=set)
    started: int = 0
    killed: bool = False


def message_id(client: int, n: int) -> str:
    return f"c{client}-m{n}"


async def chat(http: httpx.AsyncClient, client: int, burst: Burst, service: Service | None) -> None:
    """One client writing its messages in order; stops at the first failure (the server died)."""
    for n in range(PER_CLIENT):
        mid = message_id(client, n)
        if mid in burst.acked:
            continue
        body = {"client_key": f"client{client}", "name": f"Клиент {client}", "text": f"вопрос {n}", "message_id": mid}
        burst.started += 1
        try:
            response = await http.post("/chat/api/messages", json=body)
        except httpx.TransportError:
            return
        if response.status_code // 100 != 2:
            return
        burst.acked.add(mid)
        if service is not None and len(burst.acked) >= KILL_AFTER and not burst.killed:
            burst.killed = True
            service.kill()


async def send_all(base_url: str, burst: Burst, service: Service | None) -> None:
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as http:
        await asyncio.gather(*(chat(http, c, burst, service) for c in range(CLIENTS)))


def history(db: Path) -> list[tuple[str, str, str | None, str]]:
    """(client key, direction, the browser's message id, text) in commit order (the web chat
    stores a message's id under its client's key: handlers/webchat.py)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT i.address, m.direction, m.external_id, m.text FROM messages m "
            "JOIN client_identities i ON i.client_id = m.client_id ORDER BY m.id"
        ).fetchall()
    return [
        (key, direction, external.removeprefix(f"{key}:") if external else None, text)
        for key, direction, external, text in rows
    ]


def undelivered(db: Path) -> dict[str, int]:
    """Replies not yet shown, by outbox state. After the restart the relay delivers every pending
    one; only a row the killed relay held (`sending`) waits for its lease to end (60 s) and then
    goes back to pending (storage/outbox.expire_leases) — never `uncertain` on the web chat."""
    with sqlite3.connect(db) as conn:
        return dict(
            conn.execute(
                "SELECT o.state, count(*) FROM messages m JOIN outbox o ON o.message_id = m.id "
                "WHERE m.direction = 'out' AND m.delivered_at IS NULL GROUP BY o.state"
            ).fetchall()
        )


async def wait_delivered(db: Path) -> dict[str, int]:
    deadline = asyncio.get_running_loop().time() + DRAIN_TIMEOUT
    while set(left := undelivered(db)) - {"sending"} and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.2)
    return left


@pytest.fixture
def fast_dir(tmp_path: Path) -> Iterator[Path]:
    """The database on tmpfs when there is one. SIGKILL ends the process, not the machine: what
    was committed is in the page cache either way, so fsync's cost (synchronous=FULL) only slows
    the test down without making it any truer."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="priem-crash-", dir=shm))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.sqlite_only  # reads the SQLite file the killed service wrote
async def test_sigkill_mid_burst_loses_nothing_and_answers_once(tmp_path: Path, fast_dir: Path) -> None:
    db = fast_dir / "priem.db"
    service = Service(tmp_path, {"DATABASE_URL": f"sqlite+aiosqlite:///{db}", "LOG_LEVEL": "WARNING"})
    try:
        await service.start()
        burst = Burst()
        clock = asyncio.get_running_loop().time
        timings, started = [], clock()
        await send_all(service.base_url, burst, service)
        timings.append(clock() - started)
        assert burst.killed, "the burst ended before the kill"
        acked_before_kill = set(burst.acked)

        started = clock()
        await service.start()  # same file: the migrations and the relay resume
        timings.append(clock() - started)
        visible: dict[str, list[dict]] = {}
        async with httpx.AsyncClient(base_url=service.base_url) as http:
            for c in range(CLIENTS):
                response = await http.get("/chat/api/messages", params={"client_key": f"client{c}"})
                assert response.status_code == 200
                visible[f"client{c}"] = response.json()["messages"]
        in_history = {
            message_id(c, int(m["text"].split()[-1]))
            for c in range(CLIENTS)
            for m in visible[f"client{c}"]
            if m["direction"] == "in"
        }
        lost = acked_before_kill - in_history
        assert not lost, f"acknowledged but lost: {sorted(lost)[:10]}"

        retry = Burst(acked=set(acked_before_kill))
        started = clock()
        await send_all(service.base_url, retry, None)  # the clients re-send what was not acknowledged
        timings.append(clock() - started)
        assert len(retry.acked) == CLIENTS * PER_CLIENT
        left = await wait_delivered(db)
        rows = history(db)
    finally:
        service.kill()

    assert set(left) <= {"sending"} and left.get("sending", 0) <= CLIENTS, left
    inbound = Counter(external_id for _, direction, external_id, _ in rows if direction == "in")
    duplicates = {k: n for k, n in inbound.items() if n > 1}
    assert not duplicates
    assert set(inbound) == {message_id(c, n) for c in range(CLIENTS) for n in range(PER_CLIENT)}

    # Per client, in commit order: each message, then its replies — none missing, none twice.
    per_client: dict[str, list[tuple[str, str | None]]] = {}
    for address, direction, external_id, _ in rows:
        per_client.setdefault(address, []).append((direction, external_id))
    for address, sequence in per_client.items():
        replies_after: list[int] = []
        for direction, _ in sequence:
            if direction == "in":
                replies_after.append(0)
            else:
                assert replies_after, f"{address}: a reply before any message"
                replies_after[-1] += 1
        assert all(1 <= n <= 2 for n in replies_after), (address, replies_after)

    print(
        f"\ncrash test: {burst.started} sent before the kill, {len(acked_before_kill)} acknowledged, "
        f"{len(acked_before_kill & in_history)} of them in history after restart, "
        f"{len(in_history) - len(acked_before_kill)} more stored but unacknowledged, "
        f"{len(inbound)} in history after retries, duplicates {len(duplicates)}, "
        f"replies held by the killed relay {left.get('sending', 0)}; "
        f"burst {timings[0]:.1f} s, restart {timings[1]:.1f} s, retries {timings[2]:.1f} s"
    )


async def test_a_web_reply_held_by_a_killed_relay_is_shown_after_its_lease(
    http: httpx.AsyncClient, app: FastAPI, clock: FakeClock
) -> None:
    """What the kill test found: a web reply claimed by a relay that was then killed was marked
    `uncertain` when its lease ran out, so the client never saw it. A web "send" only marks the
    history row delivered, which is safe to repeat: it goes back to pending instead."""
    anna = ChatClient(http, app, "Анна")
    await anna.http.post(
        "/chat/api/messages",
        json={"client_key": anna.key, "name": "Анна", "text": "Здравствуйте", "message_id": "crash-1"},
    )
    async with RelayUnitOfWork(app.state.desk.sessions) as uow:  # claimed, then the process "dies"
        claimed = await uow.outbox.due(clock(), 10, "web")
        await uow.outbox.take(claimed, clock(), LEASE)
        await uow.commit()
    assert claimed
    await app.state.relay.drain()
    assert await anna.replies() == []  # still leased: nobody else may send it yet
    clock.advance(seconds=LEASE.total_seconds() + 1)
    await app.state.relay.drain()  # the lease ends: back to pending, then delivered
    await app.state.relay.drain()
    replies = await anna.replies()
    assert replies and "Анна" in replies[0]["text"]
