"""The composition root: settings in, a wired FastAPI app out. `python main.py` serves it."""

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import make_url
from starlette.exceptions import HTTPException as StarletteHTTPException
from twilio.http import AsyncHttpClient

from bot import redact
from bot.catalogue_file import load_catalogue
from bot.desk import Desk, Destination, utc_now
from bot.linking import link_secret
from bot.metrics import Metrics
from bot.outbox.delivery import Sender, WebSender
from bot.outbox.ratelimit import ChannelRate, RateLimits
from bot.outbox.redis import close_redis, open_redis
from bot.outbox.relay import OutboxRelay
from bot.overrides.source import SettingsSource
from bot.payments import Destination as PayTo
from bot.payments import open_payments
from bot.platform import cli as platform_cli
from bot.platform.tenants import Platform, Shared, Tenant
from bot.practice import Practice
from bot.privacy import Privacy
from bot.pushes import Pushes
from bot.settings import Settings
from bot.telegram.ingest import TelegramIngest
from bot.texts import Texts
from bot.whatsapp.app import WhatsApp
from flows.language.understanding import trained
from handlers import dashboard, health, platform_admin, webchat
from handlers import payments as payment_routes
from handlers import whatsapp as whatsapp_webhook
from handlers.errors import page_or_json
from handlers.limits import BODY_ERRORS, BodyLimit, validation_error
from handlers.security_headers import SecurityHeaders
from handlers.telegram import webhook as telegram_webhook
from scheduler import build_scheduler
from storage.engine import make_engine, session_factory, upgrade
from storage.uow import ensure_practitioner

ROOT = Path(__file__).resolve().parent
log = logging.getLogger("priem")


def practitioner_destinations(settings: Settings) -> tuple[Destination, ...]:
    """Where alerts go besides the local page: only channels that are switched on."""
    found: list[Destination] = []
    if settings.telegram_enabled:
        found += [Destination("telegram", str(i)) for i in settings.practitioner_telegram_ids]
    if settings.whatsapp_enabled:
        found += [Destination("whatsapp", n) for n in settings.practitioner_whatsapp_numbers]
    return tuple(found)


def practitioner_accounts(settings: Settings) -> list[tuple[str, str]]:
    """Her accounts as the channels address them: a Telegram private chat id, `whatsapp:+digits`."""
    accounts = [("telegram", str(i)) for i in settings.practitioner_telegram_ids]
    for number in settings.practitioner_whatsapp_numbers:
        digits = "".join(ch for ch in number if ch.isdigit())
        if digits:
            accounts.append(("whatsapp", f"whatsapp:+{digits}"))
    return accounts


def send_rates(settings: Settings) -> RateLimits:
    rates = {
        "telegram": ChannelRate(settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second),
        # Her Telegram Business chats: the same bot's limits, kept in a bucket of their own.
        "tg_business": ChannelRate(settings.telegram_rate_per_second, settings.telegram_chat_rate_per_second),
        "whatsapp": ChannelRate(settings.twilio_mps),
    }
    return RateLimits(rates, settings.redis_url)


def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    senders: Mapping[str, Sender] | None = None,
    run_background: bool = True,
    twilio_http_client: AsyncHttpClient | None = None,
    freeze_heap: bool = False,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        app.state.redis = await open_redis(settings)  # None without REDIS_URL (one process)
        await upgrade(engine)
        sessions = session_factory(engine)
        practitioner_id = await ensure_practitioner(sessions, "default", settings.practitioner_name, clock())
        ingest = TelegramIngest(sessions)  # every practitioner's Telegram webhook: one group commit
        telegram = None
        if settings.telegram_enabled:
            from bot.telegram.app import TelegramChannel  # aiogram (~130 MB) only with a bot

            telegram = TelegramChannel(settings)
        channel_senders: dict[str, Sender] = telegram.senders(sessions, clock) if telegram else {}
        whatsapp = WhatsApp.open(settings, sessions, clock, twilio_http_client) if settings.whatsapp_enabled else None
        if whatsapp is not None:
            channel_senders["whatsapp"] = whatsapp.sender
        metrics = app.state.metrics = Metrics()
        relay = OutboxRelay(
            sessions,
            {"web": WebSender(), **channel_senders, **(senders or {})},
            clock,
            limits=send_rates(settings),
            metrics=metrics,
        )
        platform = Platform(settings, sessions, clock, run_background=run_background)  # other practitioners
        relay.senders = platform.route(dict(relay.senders))
        app.state.relay = relay
        catalogue = load_catalogue(settings.catalogue_path, settings.timezone)
        texts = Texts(ROOT / "locales")
        understander = trained().with_labels(texts.typed_labels())  # ~0.6 s: pymorphy3, the examples
        # Her dashboard settings over the file, one cache shared by the desk and her shell.
        overrides = SettingsSource(catalogue, texts)
        practice = Practice(
            sessions=sessions,
            practitioner_id=practitioner_id,
            catalogue=catalogue,
            texts=texts,
            timezone=settings.timezone,
            language=settings.practitioner_language,
            clock=clock,
            on_enqueued=relay.wake,
            overrides=overrides,
        )
        await practice.set_accounts(practitioner_accounts(settings))
        app.state.practice = practice
        payments = open_payments(
            settings,
            sessions=sessions,
            practitioner_id=practitioner_id,
            texts=texts,
            practice=practice,
            clock=clock,
            destinations=[PayTo(d.channel, d.address) for d in practitioner_destinations(settings)],
            on_enqueued=relay.wake,
        )
        practice.payments = app.state.payments = payments
        app.state.desk = Desk(
            sessions=sessions,
            practitioner_id=practitioner_id,
            catalogue=catalogue,
            texts=texts,
            timezone=settings.timezone,
            practitioner_destinations=practitioner_destinations(settings),
            desk_url=f"{(settings.public_base_url or f'http://{settings.host}:{settings.port}').rstrip('/')}/desk",
            clock=clock,
            on_enqueued=relay.wake,
            practice=practice,
            payments=payments,
            link_secret=link_secret(settings),
            overrides=overrides,
            understander=understander,
            metrics=metrics,
        )
        practice.desk_url = app.state.desk.desk_url  # /export answers with a link to her page
        if telegram is not None:
            app.state.telegram = telegram
            await telegram.start(app.state.desk, run_background=run_background, payments=payments, ingest=ingest)
        if whatsapp is not None:
            app.state.whatsapp = whatsapp
            whatsapp.start(app.state.desk, run_background=run_background, platform=platform)
        tasks: list[asyncio.Task[None]] = []
        pushes = Pushes(
            sessions=sessions,
            practitioner_id=practitioner_id,
            catalogue=catalogue,
            texts=texts,
            timezone=settings.timezone,
            clock=clock,
            practitioner_destinations=practitioner_destinations(settings),
            language=settings.practitioner_language,
            queue_updates_per_day=settings.queue_updates_per_day,
            nudge_after=timedelta(hours=settings.nudge_after_hours),
            digest_hour=settings.digest_hour,
            on_enqueued=relay.wake,
        )
        app.state.pushes = pushes
        await platform.open(
            Tenant(practitioner_id, "default", app.state.desk, practice, telegram),
            Shared(catalogue, texts, overrides, relay, whatsapp, ingest, understander, metrics),
        )
        app.state.platform = platform
        app.state.privacy = Privacy(
            sessions=sessions, practitioner_id=practitioner_id, clock=clock, retention_days=settings.retention_days
        )
        scheduler = build_scheduler(
            relay,
            pushes=pushes,
            privacy=app.state.privacy,
            platform=platform.jobs,  # the same sweeps for every other practitioner
            retention_days=settings.retention_days,
        )
        # /done, /paid, /next move the queue: positions are pushed now, not at the next tick.
        practice.on_queue_changed = pushes.wake
        if run_background:
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            scheduler.start()
        announce(settings)
        if freeze_heap:
            settle_heap()  # after start-up: aiogram, imported only with a bot, is imported by now
        try:
            yield
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await platform.close()
            if telegram is not None:
                await telegram.stop()
            if whatsapp is not None:
                await whatsapp.stop()
            await relay.limits.close()
            if payments is not None:
                await payments.close()
            await close_redis(app.state.redis)
            await engine.dispose()

    app = FastAPI(title="priem", lifespan=lifespan, responses=BODY_ERRORS)
    app.add_middleware(BodyLimit)  # a clear 413 before any handler reads a huge body
    app.add_middleware(SecurityHeaders)  # CSP and friends on every page (handlers/security_headers.py)
    app.add_exception_handler(RequestValidationError, validation_error)  # a 422 that always renders
    app.add_exception_handler(StarletteHTTPException, page_or_json)  # a page in her language for a browser
    app.state.templates = Jinja2Templates(directory=ROOT / "web" / "templates")
    app.state.metrics_token = settings.metrics_token  # handlers/health.py
    app.mount("/static", StaticFiles(directory=ROOT / "web" / "static"), name="static")
    # Webhooks first: Starlette tries the routes in order, and they carry nearly all the traffic
    # (matching past ~25 dashboard routes cost a third of the Telegram route's CPU, bench/README.md).
    if settings.telegram_enabled and settings.telegram_mode == "webhook":
        app.include_router(telegram_webhook.router)
    app.include_router(telegram_webhook.practitioner_router)  # /webhook/telegram/{slug}: bot/platform/tenants.py
    if settings.whatsapp_enabled:
        app.include_router(whatsapp_webhook.router)
    app.include_router(health.router)
    app.include_router(webchat.router)
    dashboard.install(app, settings, clock)  # login, sessions, the /desk pages
    platform_admin.install(app, settings, clock)  # /platform: load per practitioner (PLATFORM_ADMIN_PASSWORD)
    if settings.stripe_enabled:
        app.include_router(payment_routes.router)
    app.include_router(payment_routes.practitioner_router)  # her own Stripe keys: /webhook/payments/stripe/{slug}
    return app


def announce(settings: Settings) -> None:
    base = f"http://{settings.host}:{settings.port}"
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    log.info("priem is up. Database: %s", database)
    log.info("Talk to the bot as a client: %s/   Practitioner page: %s/desk", base, base)
    log.info(
        "Telegram: %s. WhatsApp: %s.",
        f"on ({settings.telegram_mode})" if settings.telegram_enabled else "off (set TELEGRAM_BOT_TOKEN)",
        "on" if settings.whatsapp_enabled else "off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM)",
    )


def settle_heap() -> None:
    """What start-up built (the modules, the app) lives as long as the process: out of the
    collector's full passes, which otherwise stop the event loop for ~0.2 s now and then
    (measured in the outbox relay during a fan-out; a send due in the pause goes out late,
    bot/ratelimit.Pacer). At the end of start-up when build(freeze_heap=True), which the service's
    entry points ask for; the tests build many apps in one process and do not."""
    gc.collect()
    gc.freeze()


def build_from_env() -> FastAPI:
    """For several workers: `uvicorn main:build_from_env --factory --workers N` (README)."""
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    redact.install(settings)
    return build(settings, freeze_heap=True)


def main() -> None:
    if len(sys.argv) > 1:  # `python main.py practitioner add|list` (bot/platform/cli.py)
        raise SystemExit(platform_cli.main(sys.argv[1:]))
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # No secret, message text or phone number in the logs, whatever LOG_LEVEL (bot/redact.py).
    redact.install(settings)
    app = build(settings, freeze_heap=True)
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # uvicorn's records go through the root handlers, and their filter
        # The login limit counts per client address: X-Forwarded-For is believed only from the
        # proxies she names (uvicorn would believe it from 127.0.0.1 by default, so anyone on the
        # machine, or behind a proxy that passes the header on, could claim a new address per try).
        proxy_headers=settings.forwarded_allow_ips is not None,
        forwarded_allow_ips=settings.forwarded_allow_ips or "",
    )


if __name__ == "__main__":
    main()
