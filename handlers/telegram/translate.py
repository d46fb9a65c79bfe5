"""Telegram objects in, the flows' `Inbound` out: field mapping only, no decisions."""

from datetime import datetime

from aiogram.types import CallbackQuery, Message, User

from flows.model import Channel, Inbound, Kind


def content(message: Message) -> tuple[Kind, str, str | None]:
    """The kind, the text (or caption, or a sticker's emoji) and the media file_id."""
    if message.text is not None:
        return Kind.TEXT, message.text, None
    caption = message.caption or ""
    if message.voice is not None:
        return Kind.VOICE, caption, message.voice.file_id
    if message.photo:
        return Kind.PHOTO, caption, message.photo[-1].file_id  # the largest size comes last
    if message.sticker is not None:
        return Kind.STICKER, message.sticker.emoji or "", message.sticker.file_id
    media = (
        message.audio
        or message.video
        or message.video_note
        or message.document
        or message.animation
    )
    return Kind.OTHER, caption, getattr(media, "file_id", None)


def own_phone(message: Message, user: User) -> str | None:
    """The sender's number when they shared their own contact: Telegram fills the contact's
    user_id from the number's account, so a match means the number is the sender's; a forwarded
    or typed-in card of anyone else is never taken for it."""
    contact = message.contact
    if contact is None or contact.user_id != user.id or message.forward_origin is not None:
        return None
    return contact.phone_number


def message_id(message: Message) -> str:
    return f"{message.chat.id}:{message.message_id}"


def edit_id(message: Message) -> str:
    # An edit is a new message to the flow; each edit of the same message is its own event.
    return f"edit:{message.chat.id}:{message.message_id}:{message.edit_date or 0}"


def from_message(
    message: Message,
    user: User,
    *,
    external_id: str,
    now: datetime,
    payload: str | None = None,
    text: str | None = None,
) -> Inbound:
    kind, message_text, media_ref = content(message)
    return Inbound(
        channel=Channel.TELEGRAM,
        external_id=external_id,
        sender_ref=str(message.chat.id),
        sender_name=user.full_name,
        text=message_text if text is None else text,
        received_at=now,
        kind=kind,
        payload=payload,
        language_hint=user.language_code,
        media_ref=media_ref,
        username=user.username,
        contact_phone=own_phone(message, user),
    )


def from_callback(callback: CallbackQuery, chat_id: int, *, now: datetime) -> Inbound:
    """A button tap: the payload drives the flow; the label, as the web chat sends it, is the
    text kept in history (found on the message the button was under, when Telegram shows it)."""
    keyboard = getattr(callback.message, "reply_markup", None)
    labels = {
        b.callback_data: b.text
        for row in (keyboard.inline_keyboard if keyboard else [])
        for b in row
    }
    return Inbound(
        channel=Channel.TELEGRAM,
        external_id=f"cb:{callback.id}",
        sender_ref=str(chat_id),
        sender_name=callback.from_user.full_name,
        text=labels.get(callback.data, ""),
        received_at=now,
        payload=callback.data,
        language_hint=callback.from_user.language_code,
        username=callback.from_user.username,
    )
