"""The composition root: settings in, a wired FastAPI app out. `python main.py` serves it."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.engine import make_url
from twilio.http import AsyncHttpClient

from bot.catalogue_file import load_catalogue
from bot.delivery import Sender, WebSender
from bot.desk import Desk, Destination, utc_now
from bot.metrics import Metrics
from bot.relay import OutboxRelay
from bot.settings import Settings
from bot.telegram_app import TelegramChannel
from bot.texts import Texts
from bot.whatsapp_app import WhatsApp
from handlers import desk_page, health, webchat
from handlers import whatsapp as whatsapp_webhook
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


def build(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = utc_now,
    senders: Mapping[str, Sender] | None = None,
    run_background: bool = True,
    twilio_http_client: AsyncHttpClient | None = None,
) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await upgrade(engine)
        sessions = session_factory(engine)
        practitioner_id = await ensure_practitioner(sessions, "default", settings.practitioner_name, clock())
        telegram = TelegramChannel(settings) if settings.telegram_enabled else None
        channel_senders: dict[str, Sender] = {"telegram": telegram.sender} if telegram else {}
        whatsapp = WhatsApp.open(settings, sessions, clock, twilio_http_client) if settings.whatsapp_enabled else None
        if whatsapp is not None:
            channel_senders["whatsapp"] = whatsapp.sender
        relay = OutboxRelay(sessions, {"web": WebSender(), **channel_senders, **(senders or {})}, clock)
        app.state.metrics = Metrics()
        app.state.relay = relay
        app.state.desk = Desk(
            sessions=sessions,
            practitioner_id=practitioner_id,
            catalogue=load_catalogue(settings.catalogue_path, settings.timezone),
            texts=Texts(ROOT / "locales"),
            timezone=settings.timezone,
            practitioner_destinations=practitioner_destinations(settings),
            desk_url=f"{(settings.public_base_url or f'http://{settings.host}:{settings.port}').rstrip('/')}/desk",
            clock=clock,
            on_enqueued=relay.wake,
        )
        if telegram is not None:
            app.state.telegram = telegram
            await telegram.start(app.state.desk, run_background=run_background)
        if whatsapp is not None:
            app.state.whatsapp = whatsapp
            whatsapp.start(app.state.desk, run_background=run_background)
        tasks: list[asyncio.Task[None]] = []
        scheduler = build_scheduler(relay)
        if run_background:
            tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
            scheduler.start()
        announce(settings)
        try:
            yield
        finally:
            if scheduler.running:
                scheduler.shutdown(wait=False)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if telegram is not None:
                await telegram.stop()
            if whatsapp is not None:
                await whatsapp.stop()
            await engine.dispose()

    app = FastAPI(title="priem", lifespan=lifespan)
    app.state.templates = Jinja2Templates(directory=ROOT / "web" / "templates")
    app.mount("/static", StaticFiles(directory=ROOT / "web" / "static"), name="static")
    app.include_router(health.router)
    app.include_router(webchat.router)
    app.include_router(desk_page.router)
    if settings.telegram_enabled and settings.telegram_mode == "webhook":
        app.include_router(telegram_webhook.router)
    if settings.whatsapp_enabled:
        app.include_router(whatsapp_webhook.router)
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


def main() -> None:
    settings = Settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs full URLs at INFO, and a Bot API URL carries the token (shared/RELIABILITY.md).
    logging.getLogger("httpx").setLevel(logging.WARNING)
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level=settings.log_level.lower())


if __name__ == "__main__":
    main()
