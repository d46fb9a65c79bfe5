"""Tables. Every practitioner-owned row carries practitioner_id (one deployment may host many).

Timestamps are UTC `_at` columns; Telegram ids and other external ids are strings or BIGINT.
"""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """SQLite forgets the zone; give every datetime back as aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# BIGINT on PostgreSQL, INTEGER (the rowid alias) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Practitioner(Base):
    __tablename__ = "practitioners"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Her own configuration on a many-practitioner deployment (bot/platform/tenants.py). Unset on the
    # env-configured practitioner #1, whose settings stay in the environment.
    telegram_token: Mapped[str | None] = mapped_column(String(200))
    telegram_webhook_secret: Mapped[str | None] = mapped_column(String(256))
    whatsapp_from: Mapped[str | None] = mapped_column(String(64), unique=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str | None] = mapped_column(String(255))  # scrypt (storage/platform.py)
    # Her own catalogue.toml, as the text she gave (`practitioner add|set --catalogue`), checked by
    # bot/catalogue_file.py before it is stored; None: the deployment's catalogue.toml.
    catalogue: Mapped[str | None] = mapped_column(Text)
    # Her payments, like her bot token (bot/payments/setup.py practitioner_payments): a provider
    # token makes her Telegram invoices card payments; Stripe keys give her clients payment links.
    telegram_payment_token: Mapped[str | None] = mapped_column(String(200))
    stripe_api_key: Mapped[str | None] = mapped_column(String(255))
    stripe_webhook_secret: Mapped[str | None] = mapped_column(String(255))


class Client(Base):
    __tablename__ = "clients"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    display_name: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    step: Mapped[str] = mapped_column(String(32), default="idle")
    step_service: Mapped[str | None] = mapped_column(String(64))
    step_request_id: Mapped[int | None] = mapped_column(Id)
    flood_reported_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    offhours_notified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # How the practitioner may name the client in commands besides the number: @username, phone.
    username: Mapped[str | None] = mapped_column(String(64), index=True)
    phone: Mapped[str | None] = mapped_column(String(32), index=True)
    # Flagged (e.g. flips payment confirm/cancel): taken off auto-processing until she clears it.
    flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    flag_reason: Mapped[str | None] = mapped_column(Text)
    # Erased on the client's request (bot/privacy.py): personal fields are anonymised at once; the
    # identities' addresses once the farewell message is out (addresses_erased_at).
    forgotten_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    addresses_erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Identity(Base):
    """One way to reach a client: a Telegram chat, a WhatsApp number, a web-chat key."""

    __tablename__ = "client_identities"
    __table_args__ = (UniqueConstraint("practitioner_id", "channel", "address"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TermsAcceptance(Base):
    __tablename__ = "terms_acceptances"
    __table_args__ = (UniqueConstraint("client_id", "service"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    service: Mapped[str] = mapped_column(String(64))
    accepted_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Request(Base):
    __tablename__ = "requests"
    __table_args__ = (
        Index("ix_requests_queue", "practitioner_id", "service", "stage", "submitted_at"),
        # Revision 0008 (bench/bigqueue.py): queue lengths and /queue totals counted from the index
        # alone; one lane in submission order for /queue pages and the push sweep; the latest
        # completions of a service for the throughput estimate.
        Index("ix_requests_open", "practitioner_id", "stage", "service", "is_emergency"),
        Index("ix_requests_lane", "practitioner_id", "service", "is_emergency", "stage", "submitted_at", "id"),
        Index("ix_requests_done", "practitioner_id", "service", "done_at"),
        # Revision 0013: /next's pick (storage/practice.py `next_queued`), by deadline, else submission.
        Index("ix_requests_next", "practitioner_id", "stage", "is_emergency", "deadline_at", "submitted_at", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    service: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16))
    is_emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    payment_state: Mapped[str] = mapped_column(String(16), default="unpaid")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    submitted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    result_link: Mapped[str | None] = mapped_column(Text)
    # The last queue position pushed to the client: updates go out only when it changed.
    notified_position: Mapped[int | None] = mapped_column(Integer)


class QueueCount(Base):
    """How many open requests of a service were submitted in one day, hour or minute (`level`;
    `bucket` counts those units since 1970 UTC). Kept in step with `requests` by RequestRepo in
    the same transaction (storage/queue_counts.py): a position is a sum of a few rows plus a count
    within one minute, and queue lengths a sum of the day rows, whatever the queue's size.
    Revision 0013."""

    __tablename__ = "queue_counts"
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), primary_key=True)
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    service: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    n: Mapped[int] = mapped_column(Integer)


class Question(Base):
    __tablename__ = "request_questions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class StageChange(Base):
    """Every transition with its time: positions, promises and statistics derive from these."""

    __tablename__ = "request_events"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class Message(Base):
    """The full history, both directions. Nothing is sent that is not first a row here."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("practitioner_id", "channel", "direction", "external_id"),
        Index("ix_messages_client", "client_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    direction: Mapped[str] = mapped_column(String(3))  # "in" | "out"
    channel: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    media_ref: Mapped[str | None] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The text and media were erased (a forgotten client, or RETENTION_DAYS); the row stays for stats.
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Restriction(Base):
    __tablename__ = "restrictions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: for good
    lifted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    announced_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class PractitionerAlert(Base):
    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))  # None: about the practice (digest)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    kind: Mapped[str] = mapped_column(String(32))
    excerpt: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seen_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class OutboxItem(Base):
    """A message waiting to leave. The relay drains by priority, in order per destination."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "state", "priority", "next_attempt_at"),
        Index("ix_outbox_destination", "channel", "destination", "state"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    channel: Mapped[str] = mapped_column(String(16))
    destination: Mapped[str] = mapped_column(String(128))
    priority: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    # pending → sending → sent | failed | uncertain (sent maybe: never re-sent blindly)
    # | waiting_window (WhatsApp: outside the 24-hour window; pending again when the client writes)
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(128))
    # What the platform reported after accepting the send (Twilio StatusCallback: delivered, read,
    # failed, undelivered); None where the channel reports nothing.
    delivery_status: Mapped[str | None] = mapped_column(String(32))
    # Telegram Business: the connection of her account the message is sent through (tg_business rows).
    business_connection_id: Mapped[str | None] = mapped_column(String(128))


class InboxUpdate(Base):
    """A raw inbound update, stored before the webhook answers 2xx and processed afterwards.

    Telegram re-sends anything not answered 2xx and blocks the chat behind it; Twilio never
    re-sends after a 5xx: so the raw payload is made durable first (shared/RELIABILITY.md).
    """

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("practitioner_id", "channel", "external_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    processed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """An authentic inbound update that could not be used: kept, answered 2xx, looked at later."""

    __tablename__ = "dead_letters"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PractitionerAccount(Base):
    """Who may run practitioner commands: checked on every command, never cached at start-up."""

    __tablename__ = "practitioner_accounts"
    __table_args__ = (UniqueConstraint("channel", "address"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CommandLog(Base):
    """Every practitioner command, and every attempt by someone who is not her."""

    __tablename__ = "command_log"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    allowed: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Booking(Base):
    """A call slot held by a request. Only one `booked` row per start time: the database, not a
    check-then-insert, decides a race for the same slot."""

    __tablename__ = "bookings"
    __table_args__ = (
        Index(
            "uq_bookings_active_slot",
            "practitioner_id",
            "starts_at",
            unique=True,
            sqlite_where=text("state = 'booked'"),
            postgresql_where=text("state = 'booked'"),
        ),
        Index("ix_bookings_request", "request_id"),
        Index("ix_bookings_client", "client_id"),  # revision 0008: a client's calls, read on every message
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    minutes: Mapped[int] = mapped_column(Integer)
    # booked → released (moved or cancelled) | held | no_show
    state: Mapped[str] = mapped_column(String(16), default="booked")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    released_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Pause(Base):
    """A holiday or break (`/pause`): ETAs grow by it; clients in the queue are told once."""

    __tablename__ = "pauses"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None: until /resume
    note: Mapped[str] = mapped_column(Text, default="")
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ScheduledJob(Base):
    """Something due at a time (a reminder, a deadline warning, a no-show check).

    The key makes scheduling idempotent; a job is claimed atomically (pending → claimed with a
    lease) so two scheduler processes never run the same one.
    """

    __tablename__ = "scheduled_jobs"
    __table_args__ = (Index("ix_scheduled_jobs_due", "state", "due_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    due_at: Mapped[datetime] = mapped_column(UtcDateTime)
    client_id: Mapped[int | None] = mapped_column(ForeignKey("clients.id"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # pending → claimed → done | cancelled
    state: Mapped[str] = mapped_column(String(16), default="pending")
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Payment(Base):
    """One invoice or payment link for a request, and what became of it (bot/payments/).

    `event_id` is the provider's id for the money arriving (Telegram's charge id, Stripe's event
    id): unique per provider, so a payment delivered three times is recorded once.
    """

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_payments_request", "request_id"),
        Index("ix_payments_client", "client_id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"))
    provider: Mapped[str] = mapped_column(String(16))  # "telegram" | "stripe"
    currency: Mapped[str] = mapped_column(String(8))  # "XTR" for Telegram Stars
    amount: Mapped[int] = mapped_column(BigInteger)  # minor units (Stars are whole)
    # held (waits for her approval) → invoiced → paid → refunded
    state: Mapped[str] = mapped_column(String(16))
    check_token: Mapped[str] = mapped_column(String(32))  # in the invoice payload / link
    event_id: Mapped[str | None] = mapped_column(String(255))
    telegram_charge_id: Mapped[str | None] = mapped_column(String(255))
    provider_charge_id: Mapped[str | None] = mapped_column(String(255))
    checkout_session_id: Mapped[str | None] = mapped_column(String(255))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    checkout_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class DashboardSession(Base):
    """A dashboard login (handlers/dashboard/auth.py). The cookie holds a random token; only its
    SHA-256 is stored, so a copy of the database opens no dashboard. Every worker reads the same
    rows: a restart or a second worker keeps her logged in; logout deletes the row."""

    __tablename__ = "dashboard_sessions"
    # A practitioner's session names her; the platform admin's (handlers/platform_admin.py) names
    # no practitioner at all, and each login looks up only rows of its own role.
    __table_args__ = (
        CheckConstraint(
            "(role = 'practitioner' AND practitioner_id IS NOT NULL) OR (role = 'admin' AND practitioner_id IS NULL)",
            name="role_owner",
        ),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    role: Mapped[str] = mapped_column(String(16), default="practitioner", server_default="practitioner")
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf: Mapped[str] = mapped_column(String(64))  # the hidden token every form of this session posts
    # What the last action said, shown once on the next page: [{"text": …, "error": bool}].
    flash: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class PracticeSettings(Base):
    """Her own settings from the dashboard, over catalogue.toml's defaults: one validated JSON
    document per practitioner (bot/overrides/document.py). `version` grows with every save, so
    each worker's cache sees a change on its next unit of work (bot/overrides/source.py)."""

    __tablename__ = "practice_settings"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BusinessConnection(Base):
    """Her Telegram account connected to the bot (Telegram Business → Chatbots), as Telegram last
    reported it. Only connections of her own accounts (practitioner_accounts) are stored."""

    __tablename__ = "business_connections"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"), index=True)
    connection_id: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)  # her account
    user_chat_id: Mapped[int] = mapped_column(BigInteger)  # her own chat with the bot
    can_reply: Mapped[bool] = mapped_column(Boolean)
    rights: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the rights she granted, as Telegram names them
    is_enabled: Mapped[bool] = mapped_column(Boolean)
    # getChat → business_opening_hours: {"time_zone_name": …, "opening_hours": [[open, close], …]}
    opening_hours: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class BusinessChat(Base):
    """A client's chat with her account, as far as the flows need it: when the client last wrote
    (Telegram's 24-hour rule) and whether she has taken the chat over. No message text."""

    __tablename__ = "business_chats"
    __table_args__ = (UniqueConstraint("practitioner_id", "address"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    practitioner_id: Mapped[int] = mapped_column(ForeignKey("practitioners.id"))
    address: Mapped[str] = mapped_column(String(64))  # "<her user id>:<client chat id>", as the identity's
    connection_id: Mapped[str] = mapped_column(String(128))
    last_client_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    paused_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # she wrote in the chat herself
    paused_until: Mapped[datetime | None] = mapped_column(UtcDateTime)  # None while paused: until /resume
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
