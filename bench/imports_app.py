"""Baseline for idle RSS: the bare app plus the heavy imports priem cannot do without."""

import aiogram  # noqa: F401
import aiosqlite  # noqa: F401
import sqlalchemy.ext.asyncio  # noqa: F401
import twilio.rest  # noqa: F401

from bench.bare import app  # noqa: F401
