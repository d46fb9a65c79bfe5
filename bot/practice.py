"""The practitioner's shell: a command from her chat or her page, run in one transaction.

Who may run commands is read from `practitioner_accounts` on every command (never cached), and
every attempt is logged, allowed or not. The decision is pure (flows/practice/); this shell
loads, applies the effects, renders the answer and queues the messages to clients.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from babel.dates import format_timedelta
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands import REGISTRY, Env
from bot.money import format_money
from bot.notify import Notice, notify_client
from bot.outbox import outgoing
from bot.outbox.outgoing import Rendered
from bot.overrides.source import SettingsSource
from bot.texts import Texts
from flows.catalogue import Catalogue
from flows.effects import Button, ChangeStage, Say
from flows.model import Priority, QueueStats
from flows.payments import Price
from flows.practice.args import BadArgument
from flows.practice.effects import (
    Answer,
    EndPause,
    Forget,
    MarkPaid,
    Notify,
    PracticeEffect,
    QueueChanged,
    Restrict,
    ServiceName,
    SetResult,
    StartPause,
    Unrestrict,
)
from flows.practice.parse import Command, parse
from flows.practice.views import PracticeContext
from storage.client_state import queue_stats
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CommandInput:
    channel: str  # "telegram" | "whatsapp" | "web" (her local page)
    address: str  # her chat id or number; the page passes "page"
    text: str
    trusted: bool = False  # the page: authenticated by its own login, not by an account row


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[dict[str, str], ...] = ()


# A command's decision with its arguments already read: bot/commands/pause.start, for one.
Decision = Callable[[Env], Awaitable[list[PracticeEffect]]]


@dataclass(frozen=True)
class CommandResult:
    allowed: bool
    replies: tuple[Reply, ...] = ()
    error: bool = False


class Practice:
    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        practitioner_id: int,
        catalogue: Catalogue,
        texts: Texts,
        timezone: str,
        language: str = "ru",
        clock: Callable[[], datetime],
        on_enqueued: Callable[[], None] = lambda: None,
        on_queue_changed: Callable[[], None] = lambda: None,
        overrides: SettingsSource | None = None,
    ) -> None:
        self.sessions = sessions
        self.practitioner_id = practitioner_id
        # Her dashboard settings over catalogue.toml, looked at again at every command.
        self.overrides = overrides or SettingsSource(catalogue, texts)
        self.texts = texts
        self.timezone = timezone
        self.language = language
        self.clock = clock
        self.on_enqueued = on_enqueued
        self.on_queue_changed = on_queue_changed
        self.payments: Any = None  # bot/payments.Payments when payments are on (set by main.build)
        self.desk_url = "/desk"  # her page's public address, for links in answers (set by main.build)

    @property
    def catalogue(self) -> Catalogue:
        return self.overrides.current(self.practitioner_id).catalogue

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.practitioner_id)

    async def is_practitioner(self, channel: str, address: str) -> bool:
        async with self.uow() as uow:
            return await uow.practice.is_practitioner(channel, address)

    async def set_accounts(self, accounts: Sequence[tuple[str, str]]) -> None:
        async with self.uow() as uow:
            await uow.practice.set_accounts(list(accounts), self.clock())
            await uow.commit()

    async def log_refused(self, channel: str, address: str, text: str) -> None:
        """Someone who is not her typed one of her commands: logged; they get the client path."""
        log.warning("practitioner command from a non-practitioner %s account refused", channel)
        async with self.uow() as uow:
            await uow.practice.log(channel, address, text, allowed=False, now=self.clock())
            await uow.commit()

    async def run(self, command_input: CommandInput, decision: Decision | None = None) -> CommandResult:
        """`decision` stands in for parsing the text when the caller already holds the command's
        arguments as values (the dashboard's pause form); the text is still what the log shows."""
        now = self.clock()
        queue_changed = False
        async with self.uow() as uow:
            await self.overrides.refresh(uow.session, uow.practitioner_id)
            allowed = command_input.trusted or await uow.practice.is_practitioner(
                command_input.channel, command_input.address
            )
            entry = await uow.practice.log(
                command_input.channel, command_input.address, command_input.text, allowed, now
            )
            if not allowed:
                log.warning("practitioner command from a non-practitioner %s account refused", command_input.channel)
                await uow.commit()
                return CommandResult(allowed=False)
            command = parse(command_input.text)
            error = False
            try:
                effects = await self._decide(uow, command, now, entry.id, decision)
            except BadArgument as bad:
                error = True
                effects = [Answer(bad.text_id, bad.params), Answer("cmd-error-help-hint")]
            if error:
                # Nothing the command did half-way may stay: only the log row and the answer.
                await uow.rollback()
                entry = await uow.practice.log(
                    command_input.channel, command_input.address, command_input.text, True, now
                )
            replies = await self._apply(uow, effects, now)
            queue_changed = any(isinstance(e, QueueChanged) for e in effects)
            if not command_input.trusted:
                # Kept apart, not composed: each answer (a /queue row) carries its own buttons.
                for index, reply in enumerate(replies):
                    await outgoing.post(
                        uow,
                        channel=command_input.channel,
                        destination=command_input.address,
                        message=Rendered(reply.text, list(reply.buttons) or None, Priority.URGENT),
                        key=f"cmd:{entry.id}:{index}",
                        now=now,
                    )
            await uow.commit()
        self.on_enqueued()
        if queue_changed:
            self.on_queue_changed()
        return CommandResult(allowed=True, replies=tuple(replies), error=error)

    async def _decide(
        self, uow: UnitOfWork, command: Command | None, now: datetime, log_id: int, decision: Decision | None = None
    ) -> list[PracticeEffect]:
        if decision is not None:
            return await decision(Env(uow=uow, ctx=await self.context(uow, now), log_id=log_id, payments=self.payments))
        if command is None:
            return [Answer("cmd-not-a-command")]
        run = REGISTRY.get(command.name)
        if run is None:
            return [Answer("cmd-error-unknown", {"given": command.name[:40]}), Answer("cmd-error-help-hint")]
        ctx = PracticeContext(
            now=now,
            catalogue=self.catalogue,
            timezone=self.timezone,
            language=self.language,
            stats=await self._stats(uow, now),
            desk_url=self.desk_url,
        )
        return await run(Env(uow=uow, ctx=ctx, log_id=log_id, payments=self.payments), command)

    async def context(self, uow: UnitOfWork, now: datetime) -> PracticeContext:
        """What a decision made outside a command sees (a payment arriving: bot/payments/settle.py)."""
        await self.overrides.refresh(uow.session, uow.practitioner_id)
        return PracticeContext(
            now=now, catalogue=self.catalogue, timezone=self.timezone, language=self.language,
            stats=await self._stats(uow, now),
        )

    async def apply(self, uow: UnitOfWork, effects: list[PracticeEffect], now: datetime) -> list[Reply]:
        """Apply such a decision exactly as a command's; the caller commits."""
        return await self._apply(uow, effects, now)

    async def _stats(self, uow: UnitOfWork, now: datetime) -> QueueStats:
        return await queue_stats(uow, (s.key for s in self.catalogue.services), now)

    async def _apply(self, uow: UnitOfWork, effects: list[PracticeEffect], now: datetime) -> list[Reply]:
        replies: list[Reply] = []
        for effect in effects:
            match effect:
                case Answer():
                    replies.append(
                        Reply(
                            self.render(effect, self.language, self.timezone, zone=False),  # her own clock
                            self._buttons(effect.buttons),
                        )
                    )
                case Notify():
                    await self._notify(uow, effect, now)
                case ChangeStage(request=request_id, stage=stage):
                    request = await uow.requests.get(request_id)
                    if request is not None:
                        await uow.requests.change_stage(request, stage, now)
                case MarkPaid(request_id=request_id, deadline_at=deadline_at):
                    request = await uow.requests.get(request_id)
                    if request is not None:
                        await uow.requests.mark_paid(request, deadline_at, now)
                case SetResult(request_id=request_id, link=link):
                    request = await uow.requests.get(request_id)
                    if request is not None:
                        await uow.requests.set_result(request, link)
                case Restrict(client_id=client_id, until=until, reason=reason, announced=announced):
                    await uow.clients.lift_restrictions(client_id, now)  # a new end replaces the old one
                    await uow.clients.restrict(client_id, until=until, reason=reason, now=now, announced=announced)
                case Unrestrict(client_id=client_id):
                    await uow.clients.lift_restrictions(client_id, now)
                    await uow.clients.clear_flag(client_id, now)
                case StartPause(until=until, note=note):
                    await uow.pauses.start(until=until, note=note, now=now)
                case EndPause():
                    active = await uow.pauses.active(now)
                    if active is not None:
                        await uow.pauses.end(active, now)
                case Forget(client_id=client_id, spare_key=spare_key):
                    await uow.privacy.forget(client_id, now, timezone=self.timezone, spare_key=spare_key)
                case QueueChanged():
                    pass
        return [Reply(text=r.text, buttons=r.buttons) for r in replies]

    async def _notify(self, uow: UnitOfWork, notify: Notify, now: datetime) -> None:
        client = await uow.clients.get(notify.client_id)
        if client is None:
            return
        text = self.render(Answer(notify.text_id, notify.params), client.language, client.timezone)
        await notify_client(
            uow,
            self.texts,
            client,
            Notice(
                text_id=notify.text_id,
                params={},
                priority=notify.priority,
                key=notify.key,
                buttons=notify.buttons,
                request_id=notify.request_id,
                text=text,
            ),
            now,
        )

    def _buttons(self, buttons: tuple[Button, ...]) -> tuple[dict[str, str], ...]:
        return tuple({"label": self.texts.button(b, self.language), "payload": b.payload} for b in buttons)

    def render(self, answer: Answer, language: str, timezone: str, zone: bool = True) -> str:
        """`zone`: times name their zone, as for a client; her own answers are on her clock."""
        params = {key: self._value(value, language, timezone, zone) for key, value in answer.params.items()}
        return self.texts.text(answer.text_id, params, language, timezone, zone=zone)

    def _value(self, value: Any, language: str, timezone: str, zone: bool = True) -> Any:
        if isinstance(value, Answer):
            return self.render(value, language, timezone, zone)
        if isinstance(value, Say):
            return self.texts.render(
                Say(value.text_id, self._params(value.params, language, timezone, zone)), language, timezone, zone=zone
            )
        if isinstance(value, ServiceName):
            service = self.catalogue.get(value.key)
            return service.name(language) if service else value.key
        if isinstance(value, timedelta):
            return format_timedelta(value, format="short", threshold=1.5, locale=language)
        if isinstance(value, Price):
            return format_money(value, language)
        if isinstance(value, tuple) and all(isinstance(v, (Answer, Say)) for v in value):
            return "\n".join(self._value(v, language, timezone, zone) for v in value)
        return value

    def _params(self, params: Mapping[str, Any], language: str, timezone: str, zone: bool = True) -> dict[str, Any]:
        return {k: self._value(v, language, timezone, zone) for k, v in params.items()}
