"""Applies flows/linking.py's decisions: one client across Telegram and WhatsApp.

Everything happens in the desk's unit of work, so a merge and the answer about it commit
together or not at all: the desk composes the answers returned here into its reply.
"""

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

from flows.effects import Say
from flows.linking import LinkEffect, LinkPhone, MergeWith, digits
from flows.model import Channel, Inbound
from storage.models import Client
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from datetime import datetime

    from bot.settings import Settings


def link_secret(settings: "Settings") -> bytes:
    """LINK_SECRET, else derived from the channels' own secrets (stable across restarts, never
    shown), else random: with no messenger configured there is nothing to link."""
    if settings.link_secret is not None:
        return settings.link_secret.get_secret_value().encode()
    material = [
        secret.get_secret_value()
        for secret in (settings.telegram_bot_token, settings.twilio_auth_token)
        if secret is not None
    ]
    if material:
        return hmac.new(b"priem link codes", "\n".join(material).encode(), hashlib.sha256).digest()
    return secrets.token_bytes(32)


async def joined_by_phone(uow: UnitOfWork, inbound: Inbound, now: "datetime") -> Client | None:
    """A first message from a WhatsApp number someone shared on Telegram: that client, with this
    number added as their WhatsApp identity."""
    phone = digits(inbound.sender_ref)
    client = await uow.clients.find_by_phone(phone) if phone else None
    if client is not None:
        await uow.clients.add_identity(client.id, inbound.channel, inbound.sender_ref, now)
    return client


async def apply(
    uow: UnitOfWork, effects: tuple[LinkEffect, ...], client: Client, now: "datetime"
) -> tuple[Client, list[Say]]:
    """The client the conversation continues with (the survivor of a merge), and what to tell them."""
    said: list[Say] = []
    say = said.append

    for effect in effects:
        match effect:
            case LinkPhone(phone=phone):
                other = await uow.clients.find_by_phone(phone)
                if other is not None and other.id != client.id:
                    client = await uow.clients.merge(client, other)
                    client.phone = phone
                    say(effect.joined)
                    continue
                client.phone = phone
                channels = {identity.channel for identity in await uow.clients.identities(client.id)}
                say(effect.already if Channel.WHATSAPP.value in channels else effect.kept)
            case MergeWith(client_id=other_id):
                other = await uow.clients.get(other_id)
                if other is None or other.forgotten_at is not None:  # erased on request: no one to join
                    say(effect.gone)
                    continue
                client = await uow.clients.merge(client, other)
                # Rows held for a closed Telegram Business window may go to the bot chat now.
                await uow.business.release_client(client.id, now)
                say(effect.merged)
            case Say():
                say(effect)
    return client, said
