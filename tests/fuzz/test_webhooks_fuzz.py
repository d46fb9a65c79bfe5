"""Hostile bodies at the three inbound doors, through the running app.

Telegram's webhook (with the right secret), Twilio's (with a valid signature) and the web chat's
JSON API get malformed JSON, truncated bodies, wrongly-typed fields, deep nesting, arbitrary form
fields and oversized bodies. Whatever comes: never a 5xx, never an exception out of the workers
that process what was stored, and never a half-stored message — counted in the SQLite file
itself before and after every request: a refused request leaves no row, an accepted one leaves
one raw row (or one dead letter), and an inbound history row never exists without its answer.
"""

import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import Settings
from handlers.limits import MAX_BODY_BYTES
from main import build
from tests.e2e.whatsapp_client import PUBLIC, WEBHOOK, sign
from tests.factories import FakeClock
from tests.fakes.telegram_api import TOKEN, TelegramBotAPI
from tests.fakes.twilio_api import ACCOUNT_SID, FROM

pytestmark = pytest.mark.sqlite_only  # rows are counted in the SQLite file itself

SECRET = "fuzz-Webhook_secret"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ONE_MB = 1024 * 1024


class Rows:
    """Row counts read straight from the SQLite file the app writes."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path

    def count(self, sql: str) -> int:
        with sqlite3.connect(self.db_path) as db:
            return db.execute(sql).fetchone()[0]

    def snapshot(self, channel: str) -> dict[str, int]:
        return {
            "inbox": self.count(f"SELECT count(*) FROM inbox WHERE channel = '{channel}'"),
            "dead": self.count(f"SELECT count(*) FROM dead_letters WHERE channel = '{channel}'"),
            "in": self.count(f"SELECT count(*) FROM messages WHERE direction = 'in' AND channel = '{channel}'"),
            "out": self.count(f"SELECT count(*) FROM messages WHERE direction = 'out' AND channel = '{channel}'"),
        }

    def unanswered(self) -> int:
        """Inbound history rows with no reply in the same commit (none may exist: the desk stores a
        message and its answer together, and the clock moves on so no one is flooding)."""
        return self.count(
            "SELECT count(*) FROM messages i WHERE i.direction = 'in' AND NOT EXISTS "
            "(SELECT 1 FROM messages o WHERE o.direction = 'out' AND o.client_id = i.client_id AND o.id > i.id)"
        )


# --- strategies ---------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
wrong_values = json_values | st.integers(2**63, 2**80) | st.just("") | st.text(min_size=5000, max_size=6000)


def telegram_update(update_id: int, text: str) -> dict[str, Any]:
    user = {"id": 4242, "is_bot": False, "first_name": "Анна", "language_code": "ru"}
    message = {
        "message_id": update_id % 2**31,  # the history dedups on chat:message_id
        "date": 1_790_000_000,
        "chat": {"id": 4242, "type": "private", "first_name": "Анна"},
        "from": user,
        "text": text,
    }
    return {"update_id": update_id, "message": message}


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += paths(child, (*prefix, key))
    return found


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    return {**value, path[0]: replaced(value[path[0]], path[1:], new)}


@st.composite
def telegram_bodies(draw: st.DrawFn) -> bytes:
    update = telegram_update(draw(st.integers(1, 2**40)), draw(st.text(max_size=300)))
    kind = draw(st.sampled_from(["wrong-type", "truncated", "any-json", "bytes", "deep", "extra-field"]))
    if kind == "wrong-type":  # one field anywhere in the update gets a value of the wrong type
        path = draw(st.sampled_from(paths(update)))
        return json.dumps(replaced(update, path, draw(wrong_values))).encode()
    if kind == "truncated":
        raw = json.dumps(update, ensure_ascii=False).encode()
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "any-json":
        return json.dumps(draw(json_values)).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=500))
    if kind == "deep":  # json.loads raises RecursionError (not a ValueError) past ~1000 levels
        depth = draw(st.integers(500, 100_000))
        inner = "[" * depth + "]" * depth
        return f'{{"update_id": {update["update_id"]}, "message": {inner}}}'.encode()
    return json.dumps({**update, draw(st.text(max_size=10)): draw(json_values)}).encode()


def twilio_form(sid: str, body: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": "whatsapp:+79990001122",
        "To": FROM,
        "Body": body,
        "NumMedia": "0",
        "ProfileName": "Анна",
        "WaId": "79990001122",
    }


@st.composite
def twilio_forms(draw: st.DrawFn) -> dict[str, str]:
    form = twilio_form(f"SM{draw(st.integers(0, 2**64)):032x}", draw(st.text(max_size=300)))
    kind = draw(st.sampled_from(["arbitrary", "wrong-values", "missing", "merged"]))
    fields = st.dictionaries(st.text(min_size=1, max_size=20), st.text(max_size=200), max_size=8)
    if kind == "arbitrary":  # nothing Twilio would send, but correctly signed
        return draw(fields)
    if kind == "wrong-values":  # numbers that are not numbers, media that is not media…
        keys = draw(st.lists(st.sampled_from([*form, "MediaUrl0", "MediaContentType0", "ButtonPayload"])))
        return {**form, **{key: draw(st.text(max_size=2000)) for key in keys}}
    if kind == "missing":
        drop = draw(st.lists(st.sampled_from(list(form)), unique=True))
        return {k: v for k, v in form.items() if k not in drop}
    return {**form, **draw(fields)}


# --- the apps -----------------------------------------------------------------------------


@pytest.fixture
async def tg(db_path: Path, telegram_api: TelegramBotAPI, clock: FakeClock) -> AsyncIterator[FastAPI]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        database_url=f"sqlite+aiosqlite:///{db_path}",
        telegram_bot_token=TOKEN,
        telegram_api_server=telegram_api.base_url,
        telegram_mode="webhook",
        telegram_webhook_secret=SECRET,
        public_base_url=PUBLIC,
    )
    application = build(settings, clock=clock, run_background=False)
    async with application.router.lifespan_context(application):
        yield application


async def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000")


# --- Telegram -----------------------------------------------------------------------------


async def post_telegram(app: FastAPI, body: bytes, rows: Rows, clock: FakeClock) -> httpx.Response:
    clock.advance(minutes=2)  # no flood: every accepted message must be answered
    before = rows.snapshot("telegram")
    async with await client_of(app) as http:
        response = await http.post(
            "/webhook/telegram", content=body, headers={SECRET_HEADER: SECRET, "content-type": "application/json"}
        )
    assert response.status_code < 500, response.text
    after_store = rows.snapshot("telegram")
    stored = after_store["inbox"] - before["inbox"]
    assert stored in (0, 1)
    assert response.status_code == 200 or stored == 0, "a refused update left a row"
    await app.state.telegram.inbox.process_pending()  # never raises, whatever was stored
    after = rows.snapshot("telegram")
    assert after["in"] - before["in"] <= stored
    assert rows.unanswered() == 0
    return response


@given(body=telegram_bodies())
async def test_telegram_webhook_survives_any_body(tg: FastAPI, db_path: Path, clock: FakeClock, body: bytes) -> None:
    await post_telegram(tg, body, Rows(db_path), clock)


@given(text=st.text(min_size=1, max_size=4096))
async def test_telegram_any_text_is_stored_and_answered_once(
    tg: FastAPI, db_path: Path, clock: FakeClock, text: str
) -> None:
    rows = Rows(db_path)
    update_id = tg.state.telegram_fuzz_ids = getattr(tg.state, "telegram_fuzz_ids", 0) + 1
    body = json.dumps(telegram_update(update_id, text)).encode()
    before = rows.snapshot("telegram")
    assert (await post_telegram(tg, body, rows, clock)).status_code == 200
    await post_telegram(tg, body, rows, clock)  # Telegram retrying: one effect
    after = rows.snapshot("telegram")
    assert after["inbox"] - before["inbox"] == 1
    assert after["in"] - before["in"] == 1 and after["out"] > before["out"]


async def test_telegram_deeply_nested_json_is_a_400(tg: FastAPI, db_path: Path, clock: FakeClock) -> None:
    body = b'{"update_id": 1, "message": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
    assert (await post_telegram(tg, body, Rows(db_path), clock)).status_code == 400


# --- Twilio -------------------------------------------------------------------------------


async def post_twilio(app: FastAPI, form: dict[str, str], rows: Rows, clock: FakeClock, *, signed: bool = True):
    clock.advance(minutes=2)
    before = rows.snapshot("whatsapp")
    signature = sign(PUBLIC + WEBHOOK, form) if signed else "bm90IGEgc2lnbmF0dXJl"
    async with await client_of(app) as http:
        response = await http.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": signature})
    await app.state.whatsapp.process_pending()  # the inbox worker's pass: the webhook only stores
    after = rows.snapshot("whatsapp")
    assert response.status_code < 500, response.text
    if not signed:
        assert response.status_code == 403 and after == before
        return response
    # A genuine request is never refused: a false reject is a silent loss (RELIABILITY.md).
    assert response.status_code == 200, (response.status_code, form)
    kept = (after["inbox"] - before["inbox"]) + (after["dead"] - before["dead"])
    assert kept <= 1
    assert after["in"] - before["in"] <= 1
    assert rows.unanswered() == 0
    assert await app.state.whatsapp.inbox(app.state.desk).replay() >= 0  # never raises
    return response


@given(form=twilio_forms())
async def test_twilio_webhook_survives_any_signed_form(
    wa_app: FastAPI, db_path: Path, clock: FakeClock, form: dict[str, str]
) -> None:
    rows = Rows(db_path)
    before = rows.snapshot("whatsapp")
    await post_twilio(wa_app, form, rows, clock)
    after = rows.snapshot("whatsapp")
    usable = form.get("MessageSid", "").strip() and form.get("From", "").strip()
    if not usable:  # kept for a person to look at, never handled
        assert after["dead"] - before["dead"] == 1 and after["in"] == before["in"]


@given(form=twilio_forms())
async def test_twilio_webhook_refuses_unsigned_forms_and_stores_nothing(
    wa_app: FastAPI, db_path: Path, clock: FakeClock, form: dict[str, str]
) -> None:
    await post_twilio(wa_app, form, Rows(db_path), clock, signed=False)


@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(
        ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz", "multipart/form-data",
         "application/json", "text/plain", "", "application/x-www-form-urlencoded; charset=koi8-r"]
    ),
)
async def test_twilio_webhook_survives_raw_bodies(
    wa_app: FastAPI, db_path: Path, body: bytes, content_type: str
) -> None:
    rows = Rows(db_path)
    before = rows.snapshot("whatsapp")
    async with await client_of(wa_app) as http:
        response = await http.post(
            WEBHOOK, content=body, headers={"X-Twilio-Signature": "x", "content-type": content_type}
        )
    assert response.status_code in (400, 403), response.text
    assert rows.snapshot("whatsapp") == before


# --- the web chat -------------------------------------------------------------------------


@st.composite
def chat_bodies(draw: st.DrawFn) -> bytes:
    good = {"client_key": "fuzz", "name": "Анна", "text": draw(st.text(max_size=200)), "message_id": "m1"}
    kind = draw(st.sampled_from(["wrong-type", "truncated", "any-json", "bytes"]))
    if kind == "wrong-type":
        return json.dumps({**good, draw(st.sampled_from([*good, "payload"])): draw(wrong_values)}).encode()
    if kind == "truncated":
        raw = json.dumps(good).encode()
        return raw[: draw(st.integers(0, len(raw) - 1))]
    if kind == "any-json":
        return json.dumps(draw(json_values)).encode()
    return draw(st.binary(max_size=500))


@given(body=chat_bodies())
async def test_web_chat_survives_any_body(app: FastAPI, db_path: Path, clock: FakeClock, body: bytes) -> None:
    clock.advance(minutes=2)
    rows = Rows(db_path)
    before = rows.snapshot("web")
    async with await client_of(app) as http:
        response = await http.post("/chat/api/messages", content=body, headers={"content-type": "application/json"})
    after = rows.snapshot("web")
    assert response.status_code in (200, 422, 400), response.text
    assert after["in"] - before["in"] <= (1 if response.status_code == 200 else 0)
    assert rows.unanswered() == 0


# --- oversized bodies ---------------------------------------------------------------------

BIG: dict[str, Callable[[], bytes]] = {
    "telegram update with 1 MB of text": lambda: json.dumps(telegram_update(99, "я" * ONE_MB)).encode(),
    "1 MB of garbage": lambda: b"\xff" * ONE_MB,
    "1 MB of JSON nesting": lambda: b"[" * ONE_MB,
}


@pytest.mark.parametrize("name", BIG)
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_oversized_bodies_get_413_and_store_nothing(
    tg: FastAPI, db_path: Path, name: str, chunked: bool
) -> None:
    rows = Rows(db_path)
    before = rows.snapshot("telegram"), rows.snapshot("web")
    body = BIG[name]()
    assert len(body) >= ONE_MB > MAX_BODY_BYTES

    async def stream() -> AsyncIterator[bytes]:  # no Content-Length: the cap counts what arrives
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    async with await client_of(tg) as http:
        for path in ("/webhook/telegram", "/chat/api/messages"):
            response = await http.post(
                path,
                content=stream() if chunked else body,
                headers={SECRET_HEADER: SECRET, "content-type": "application/json"},
            )
            assert response.status_code == 413, (path, response.status_code)
            assert response.json() == {"detail": "request body too large"}
    assert (rows.snapshot("telegram"), rows.snapshot("web")) == before


async def test_oversized_twilio_form_gets_413(wa_app: FastAPI, db_path: Path) -> None:
    rows = Rows(db_path)
    before = rows.snapshot("whatsapp")
    form = twilio_form("SM" + "1" * 32, "a" * ONE_MB)
    async with await client_of(wa_app) as http:
        response = await http.post(WEBHOOK, data=form, headers={"X-Twilio-Signature": sign(PUBLIC + WEBHOOK, form)})
    assert response.status_code == 413
    assert rows.snapshot("whatsapp") == before


async def test_a_body_just_under_the_cap_is_still_read(tg: FastAPI, db_path: Path, clock: FakeClock) -> None:
    """The cap refuses only what is too large: a long but legal update passes (and is answered)."""
    body = json.dumps(telegram_update(7, "ы" * 4096), ensure_ascii=True).encode()
    padding = MAX_BODY_BYTES - len(body) - 20
    body = body[:-1] + b', "pad": "' + b"x" * padding + b'"}'
    assert len(body) <= MAX_BODY_BYTES
    assert (await post_telegram(tg, body, Rows(db_path), clock)).status_code == 200


@pytest.mark.parametrize("body", [b"Infinity", b"-Infinity", b"NaN", b'{"client_key": NaN, "text": Infinity}'])
async def test_non_finite_json_is_a_422_not_a_500(http: httpx.AsyncClient, body: bytes) -> None:
    """Found by the fuzzer: Python's JSON reads `Infinity`, and FastAPI's 422 echoed it back, which
    cannot be rendered as JSON — a 500. The 422 no longer echoes the input."""
    response = await http.post("/chat/api/messages", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert all("input" not in error for error in response.json()["detail"])
