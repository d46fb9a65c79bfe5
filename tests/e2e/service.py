"""The real service as a child process (`python main.py`), for the crash and log tests.

Nothing of the developer's environment leaks in: the contract's variables are removed, the
working directory is a temporary one (so no `.env` is read), and settings come only from `env`.
Output goes to a file, read back by the tests that grep it.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import CONTRACT

ROOT = Path(__file__).resolve().parent.parent.parent
START_TIMEOUT = 60.0  # seconds for migrations and start-up on a slow CI machine


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Service:
    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if k not in CONTRACT and k != "LOG_LEVEL"}
        self.env.update({"HOST": "127.0.0.1", "PORT": str(self.port), "PYTHONUNBUFFERED": "1", **env})
        self.log = workdir / "service.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.base_url = f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "main.py")], cwd=self.workdir, env=self.env, stdout=out, stderr=out
            )
        await self.wait_ready()

    async def wait_ready(self) -> None:
        assert self.process is not None
        async with httpx.AsyncClient(base_url=self.base_url) as http:
            deadline = asyncio.get_running_loop().time() + START_TIMEOUT
            while True:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the service exited with {self.process.returncode}:\n{self.output()}")
                try:
                    if (await http.get("/healthz")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"the service did not start in {START_TIMEOUT} s:\n{self.output()}")
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye — as a crash or the OOM killer."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        """A normal stop (SIGTERM), so that the shutdown path is logged too."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
