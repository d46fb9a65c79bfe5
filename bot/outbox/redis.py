"""The shared Redis client, when REDIS_URL is set (several worker processes).

Without REDIS_URL one process is assumed and nothing here is used. With it, every worker opens
one client at start-up (a bad URL or an unreachable server stops the start-up with a clear
error, rather than surfacing at the first send) and closes it on shutdown. What lives in Redis
is what the processes must share and the database does not already coordinate: the send-rate
buckets of the outbox relay (bot/outbox/ratelimit.py, through the `limits` package and its own
connection). Row claims (outbox, jobs) and the Telegram inbox's single consumer are
coordinated by PostgreSQL itself (FOR UPDATE SKIP LOCKED, advisory locks).
"""

import logging

from bot.settings import Settings

log = logging.getLogger(__name__)


class RedisUnavailable(RuntimeError):
    pass


async def open_redis(settings: Settings):  # noqa: ANN201 (redis is an optional dependency)
    """A connected redis.asyncio client, or None when REDIS_URL is unset."""
    if not settings.redis_url:
        return None
    try:
        from redis import asyncio as aioredis
    except ImportError as error:  # the `redis` extra
        raise RedisUnavailable("REDIS_URL is set but the redis package is missing: pip install 'priem[redis]'") \
            from error
    client = aioredis.Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=5,
        socket_timeout=5,
        health_check_interval=30,
        decode_responses=True,
    )
    try:
        await client.ping()
    except Exception as error:
        await client.aclose()
        # The type only: a Redis URL may carry a password.
        raise RedisUnavailable(f"REDIS_URL is set but Redis does not answer ({type(error).__name__})") from error
    log.info("Redis connected: several workers share the send-rate buckets")
    return client


async def close_redis(client) -> None:  # noqa: ANN001
    if client is not None:
        await client.aclose()
