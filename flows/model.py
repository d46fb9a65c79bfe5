"""The values a flow reads and writes: plain, frozen, channel-agnostic."""

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum


class Channel(StrEnum):
    TELEGRAM = "telegram"
    # Her own Telegram account, the bot answering inside it (Telegram Business: bot/telegram/business.py).
    TELEGRAM_BUSINESS = "tg_business"
    WHATSAPP = "whatsapp"
    WEB = "web"


class Kind(StrEnum):
    TEXT = "text"
    VOICE = "voice"
    PHOTO = "photo"
    STICKER = "sticker"
    OTHER = "other"


class Stage(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    QUEUED = "queued"
    IN_WORK = "in_work"
    DONE = "done"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


OPEN_STAGES = (Stage.SUBMITTED, Stage.QUEUED, Stage.IN_WORK)
EDITABLE_STAGES = (Stage.DRAFT, Stage.SUBMITTED, Stage.QUEUED)


class Priority(IntEnum):
    """Lower goes first: an emergency alert never waits behind a bulk queue update."""

    URGENT = 0  # practitioner alerts, emergency replies
    # What she does for a client (/done with the link, /reply, /paid): never behind other
    # clients' replies, so a burst of newcomers does not delay the result someone waits for.
    ACTION = 1
    REPLY = 2  # direct answers to what the client just wrote
    REMINDER = 3
    BULK = 4  # queue-position updates


class Step(StrEnum):
    """Where the client is in the one-level conversation; stored on the client."""

    IDLE = "idle"
    TERMS = "terms"  # terms of `service` shown, waiting for acceptance
    QUESTIONS = "questions"  # collecting a question list into `request_id`
    ONE_QUESTION = "one_question"  # waiting for the single question
    CALL_WISH = "call_wish"  # picking a call slot (a button or a typed date) for `request_id`
    SITUATION = "situation"  # emergency: waiting for the situation
    CONFIRM_CANCEL = "confirm_cancel"  # asked «cancel request N?»
    CONFIRM_URGENT = "confirm_urgent"  # «срочно» mid-message: asked «is it an emergency?», text kept in a draft


@dataclass(frozen=True)
class Inbound:
    """One message from a client, as every channel adapter normalises it."""

    channel: Channel
    external_id: str  # unique per channel: update/message id, MessageSid, browser uuid
    sender_ref: str  # the sender's id on the channel: chat id, WhatsApp number, web key
    sender_name: str
    text: str
    received_at: datetime
    kind: Kind = Kind.TEXT
    payload: str | None = None  # button data, when a button was tapped
    language_hint: str | None = None
    media_ref: str | None = None
    username: str | None = None  # Telegram @username: how the practitioner may name the client
    contact_phone: str | None = None  # Telegram: the sender shared their own number (a contact)


@dataclass(frozen=True)
class RequestView:
    id: int
    service: str
    stage: Stage
    questions: tuple[str, ...] = ()
    paid: bool = False
    created_at: datetime | None = None
    submitted_at: datetime | None = None
    position: int | None = None  # 1-based place among open requests of the service
    deadline_at: datetime | None = None
    call_at: datetime | None = None  # the booked call slot (UTC), for a call request
    done_at: datetime | None = None
    result_link: str | None = None  # what /done sent the client


@dataclass(frozen=True)
class ClientView:
    id: int
    name: str
    language: str
    first_contact: bool = False
    timezone: str = "Europe/Moscow"  # IANA; the practitioner's unless the client's is known
    step: Step = Step.IDLE
    step_service: str | None = None
    step_request_id: int | None = None
    accepted_terms: frozenset[str] = frozenset()
    restricted: bool = False
    restriction_until: datetime | None = None
    restriction_announced: bool = True
    # Inbound in the flood window (catalogue [limits] flood_minutes, one minute by default),
    # including this one; the name predates the configurable window.
    messages_last_minute: int = 0
    flood_reported: bool = False  # already reported for the current burst
    offhours_notified_at: datetime | None = None
    requests: tuple[RequestView, ...] = ()
    restriction_urgent_alerted: bool = False  # an urgent message already reached her this restriction
    flagged: bool = False  # off auto-processing (payment flip-flops) until she clears it
    payment_events: tuple["PaymentEvent", ...] = ()  # recent, oldest first (flows/boundaries.payment_flips)
    forget_asked_at: datetime | None = None  # last asked to have their data erased (flows/privacy.py)

    def open_request(self, service: str) -> RequestView | None:
        for request in self.requests:
            if request.service == service and request.stage in (*OPEN_STAGES, Stage.DRAFT):
                return request
        return None


@dataclass(frozen=True)
class PaymentEvent:
    """A stored fact of a client confirming or cancelling: a booking submitted, «я оплатила», a cancel."""

    at: datetime
    kind: str  # "confirm" (a booking submitted) | "claim" (said they paid) | "cancel"
    request_id: int | None = None


@dataclass(frozen=True)
class QueueStats:
    """What the ETA is computed from, per service: recent median time between completions."""

    throughput: dict[str, float] = field(default_factory=dict)  # service -> days per request
    paused_until: datetime | None = None
    paused: bool = False  # a /pause is on (paused_until None: until she resumes)
    pause_note: str = ""
