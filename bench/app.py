"""The service under test, as uvicorn builds it in every worker: `uvicorn bench.app:create --factory`.

Settings come from the environment (bench/ingest.py sets them). BENCH_BACKGROUND=0 (the default)
measures ingest alone: both webhooks store the update and answer, nothing drains the inbox or
the outbox meanwhile.
"""

import os

from fastapi import FastAPI

from bot.settings import Settings
from main import build


def create() -> FastAPI:
    # freeze_heap as main.py's entry points: start-up's objects out of the collector's full passes.
    return build(Settings(), run_background=os.environ.get("BENCH_BACKGROUND", "0") == "1", freeze_heap=True)
