"""Webhook ingest: priem's Telegram and Twilio routes against a bare FastAPI endpoint, same server.

    /tmp/v/bin/python -m bench.ingest [--seconds 10] [--databases sqlite,postgres] [--workers 1,2]

For every configuration it starts uvicorn (uvloop + httptools, no access log), warms up, then
measures: saturation with 16 connections (closed loop), fixed offered loads of 200 and
1,000 req/s (open loop, 32 connections; latency from the scheduled send time), then saturation
with 64 connections (shared/PERF.md's targets: ≥ 35% of bare at c=16, ≥ 50% at c=64). With one worker
the server is pinned to CPU 0 and this client to CPU 1 (as in shared/PERF.md); with two workers
nothing is pinned (on a 2-vCPU machine the client then competes with the workers).

Ingest only: the service runs with run_background=False, so nothing drains the inbox or the
outbox during the run. Both routes store the raw update (the Twilio one the signed form, routed
by `To`) through a group commit and answer; the desk runs later in the inbox workers. Ratios are
priem ÷ bare of the same path and worker count, in this run.
"""

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench.load import Result, closed_loop, open_loop, telegram_request, twilio_request
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret"
PUBLIC = "https://desk.example.com"
AUTH_TOKEN = "bench-twilio-auth-token"
ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    process: subprocess.Popen
    base: str

    def pids(self) -> list[int]:
        out = subprocess.run(["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(p) for p in out.split()]

    def stop(self) -> None:
        with contextlib_suppress():
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


class contextlib_suppress:  # noqa: N801 (a tiny local suppress(ProcessLookupError))
    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type, exc, tb) -> bool:  # noqa: ANN001
        return exc_type is ProcessLookupError


async def start(target: str, env: dict[str, str], workers: int, pin: bool) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(workers), "--loop", "uvloop", "--http", "httptools", "--no-access-log",
               "--log-level", "warning"]
    if target.endswith(":create"):
        command.append("--factory")
    if pin:
        command = ["taskset", "-c", "0", *command]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env}, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"{target} exited with {process.returncode}")
            try:
                async with session.get(base + "/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.2)
        else:
            raise RuntimeError(f"{target} did not start")
    await asyncio.sleep(0.5 * workers)  # every worker up, not just the first
    return Server(process, base)


async def new_postgres_database(name: str) -> str:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return ADMIN_URL.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0] + "/" + name


async def drop_postgres_database(name: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(ADMIN_URL)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@dataclass
class Row:
    label: str
    path: str
    database: str
    workers: int
    saturation: Result
    at200: Result
    at1000: Result
    saturation64: Result


async def measure(base: str, path: str, seconds: float) -> tuple[Result, Result, Result, Result]:
    make = telegram_request(SECRET) if path == "telegram" else twilio_request(AUTH_TOKEN, PUBLIC)
    await closed_loop(base, make, 16, 1.5)  # warm-up: connections, caches, first WAL pages
    saturation = await closed_loop(base, make, 16, seconds / 2)
    await asyncio.sleep(1)
    at200 = await open_loop(base, make, 200, seconds)
    await asyncio.sleep(1)
    at1000 = await open_loop(base, make, 1000, seconds / 2)
    await asyncio.sleep(1)
    # shared/PERF.md's second point: with 64 connections more requests share each commit.
    saturation64 = await closed_loop(base, make, 64, seconds / 2)
    return saturation, at200, at1000, saturation64


def fmt(row: Row, bare: Row | None) -> str:
    s, a, b, s64 = row.saturation, row.at200, row.at1000, row.saturation64
    ratio = f"{100 * s.rate / bare.saturation.rate:5.1f}%" if bare else "  100%"
    ratio64 = f"{100 * s64.rate / bare.saturation64.rate:5.1f}%" if bare else "  100%"
    return (f"| {row.label:5} | {row.path:8} | {row.database:8} | {row.workers} | {s.rate:7.0f} | {ratio} | "
            f"{s.pct(50):6.1f} / {s.pct(99):6.1f} | {a.rate:5.0f} | {a.pct(50):6.1f} / {a.pct(99):7.1f} | "
            f"{b.rate:5.0f} | {b.pct(50):7.1f} / {b.pct(99):7.1f} | {s64.rate:7.0f} | {ratio64} | "
            f"{s64.pct(50):6.1f} / {s64.pct(99):6.1f} | {s.errors + a.errors + b.errors + s64.errors} |")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--paths", default="telegram,twilio")
    args = parser.parse_args()
    api = TelegramBotAPI()
    await api.start()
    env = {
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": api.base_url, "TELEGRAM_MODE": "webhook",
        "TELEGRAM_WEBHOOK_SECRET": SECRET, "PUBLIC_BASE_URL": PUBLIC, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_WHATSAPP_FROM": "whatsapp:+14155238886",
        "TWILIO_API_BASE_URL": "http://127.0.0.1:9", "DASHBOARD_PASSWORD": "bench-password", "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }
    rows: list[Row] = []
    print("| what | path | database | workers | sat. req/s (c=16) | ÷ bare | sat. p50 / p99 ms | @200 req/s "
          "| p50 / p99 ms | @1000 req/s | p50 / p99 ms | sat. req/s (c=64) | ÷ bare | p50 / p99 ms | errors |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for workers in [int(w) for w in args.workers.split(",")]:
        pin = workers == 1
        if pin:
            os.sched_setaffinity(0, {1})
        else:
            os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        for path in args.paths.split(","):
            server = await start("bench.bare:app", env, workers, pin)
            try:
                bare = Row("bare", path, "-", workers, *await measure(server.base, path, args.seconds))
            finally:
                server.stop()
            rows.append(bare)
            print(fmt(bare, None), flush=True)
            for database in args.databases.split(","):
                with tempfile.TemporaryDirectory() as tmp:
                    name = f"priem_bench_{os.getpid()}"
                    url = (await new_postgres_database(name) if database == "postgres"
                           else f"sqlite+aiosqlite:///{tmp}/bench.db")
                    server = await start("bench.app:create", {**env, "DATABASE_URL": url}, workers, pin)
                    try:
                        row = Row("priem", path, database, workers, *await measure(server.base, path, args.seconds))
                    finally:
                        server.stop()
                        if database == "postgres":
                            await drop_postgres_database(name)
                rows.append(row)
                print(fmt(row, bare), flush=True)
    await api.stop()


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
