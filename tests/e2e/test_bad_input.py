"""Bad input gets a clear answer and loses nothing; nothing crashes."""

import httpx
import pytest
from fastapi import FastAPI

from tests import database
from tests.e2e.chat_client import ChatClient

ODD_MESSAGES = {
    "empty": "",
    "spaces": "   \n\t ",
    "long": "Вопрос про работу. " * 527,  # ≈ 10,000 characters
    "emoji": "🙏🙏🔮✨😭",
    "binary": "\x00\x01\xff\ufffd\u202e\x7fPK\x03\x04",
    "markup": "<script>alert(1)</script> *bold* _it_ [a](javascript:x)",
}


@pytest.mark.parametrize("name", ODD_MESSAGES)
async def test_odd_messages_are_stored_and_answered(http: httpx.AsyncClient, app: FastAPI, name: str) -> None:
    anna = ChatClient(http, app, "Анна")
    text = ODD_MESSAGES[name]
    await anna.say(text)
    messages = (await http.get("/chat/api/messages", params={"client_key": anna.key})).json()["messages"]
    # PostgreSQL text cannot hold NUL: storage keeps it as U+FFFD there (storage/engine.py).
    stored = text.replace("\x00", "\ufffd") if database.on_postgres() else text
    assert messages[0]["direction"] == "in" and messages[0]["text"] == stored
    replies = [m for m in messages if m["direction"] == "out"]
    assert replies and all(m["text"].strip() for m in replies)
    assert len(replies[-1]["buttons"]) >= 5  # the menu: never a dead end


async def test_odd_messages_inside_a_question_list(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    await anna.ask("плановый расклад")
    await anna.ask("да")
    for text in ODD_MESSAGES.values():
        reply = await anna.ask(text)
        assert reply.strip()
    assert "Вопросов: 3" in await anna.ask("готово")  # long, binary-looking and markup count


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"client_key": "k", "name": "A", "text": "hi"},  # no message_id
        {"client_key": "bad key!", "name": "A", "text": "hi", "message_id": "1"},
        {"client_key": "k", "name": "", "text": "hi", "message_id": "1"},
        {"client_key": "k", "name": "A", "text": "x" * 20_001, "message_id": "1"},
        {"client_key": "k", "name": "A", "text": 5, "message_id": "1"},
        {"client_key": "k", "name": "A", "text": "hi", "message_id": "1", "payload": "p" * 65},
    ],
)
async def test_malformed_posts_get_422_and_store_nothing(http: httpx.AsyncClient, body: dict) -> None:
    response = await http.post("/chat/api/messages", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]
    state = (await http.get("/chat/api/messages", params={"client_key": "k"})).json()
    assert state == {"messages": []}


async def test_a_message_id_beyond_bigint_is_a_422_not_an_overflow(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    await anna.say("Здравствуйте")  # the query reaches the database only for a known client
    last = (await http.get("/chat/api/messages", params={"client_key": anna.key, "after": 2**63 - 1})).json()
    assert last == {"messages": []}
    response = await http.get("/chat/api/messages", params={"client_key": anna.key, "after": 2**63})
    assert response.status_code == 422


async def test_not_json_at_all_is_a_4xx(http: httpx.AsyncClient) -> None:
    response = await http.post("/chat/api/messages", content=b"\xff\xfe not json",
                               headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500


async def test_unknown_button_payload_is_understood_as_text(http: httpx.AsyncClient, app: FastAPI) -> None:
    anna = ChatClient(http, app, "Анна")
    reply = await anna.ask("где мой расклад?", payload="forged:payload")
    assert "открытых запросов у вас сейчас нет" in reply


async def test_pages_health_and_metrics(http: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await http.get("/")).status_code == 200
    assert "/desk" in (await http.get("/")).text
    assert (await http.get("/desk")).status_code == 303  # behind the login: tests/e2e/test_dashboard_access.py
    assert (await http.get("/static/chat.js")).status_code == 200
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    assert (await http.get("/metrics")).status_code == 200


async def test_ids_beyond_bigint_in_a_path_are_a_422_not_a_500(http: httpx.AsyncClient, app: FastAPI) -> None:
    """Issue 25, item 7: the driver overflowed on ids above 2^63−1 (a 500 on both backends)."""
    from tests.e2e.dashboard_login import log_in

    await log_in(http)
    huge = 2**63
    assert (await http.get(f"/desk/clients/{huge}")).status_code == 422
    assert (await http.get(f"/desk/clients/{huge}/export.json")).status_code == 422
    csrf = http.headers.get("X-CSRF-Token", "")
    acted = await http.post(f"/desk/clients/{huge}/act", data={"csrf_token": csrf, "action": "reply", "text": "x"})
    assert acted.status_code == 422
    assert (await http.get(f"/desk/clients/{2**63 - 1}")).status_code == 404, "the largest id is an id: not found"
    assert (await http.get(f"/pay/{huge}/check")).status_code in (404, 422)


async def test_message_ids_are_unique_per_web_client_not_across_clients(http: httpx.AsyncClient, app: FastAPI) -> None:
    """Issue 25, item 4: two browsers that both number their first message «m-1» are two messages,
    each answered; the same browser sending «m-1» again is one."""
    anna, boris = ChatClient(http, app, "Анна"), ChatClient(http, app, "Борис")
    await anna.say("Здравствуйте", message_id="m-1")
    await boris.say("Здравствуйте", message_id="m-1")
    await boris.say("Здравствуйте", message_id="m-1")

    assert len(await anna.replies()) == 1
    assert len(await boris.replies()) == 1, "answered once, not dropped as anna's repeat"


async def test_pages_carry_a_strict_content_security_policy(http: httpx.AsyncClient) -> None:
    """Issue 25, item 8: priem's pages load only their own scripts and styles and cannot be framed."""
    for path in ("/", "/login", "/healthz"):
        headers = (await http.get(path)).headers
        policy = headers["content-security-policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, path
        assert "unsafe-inline" not in policy
        assert headers["x-content-type-options"] == "nosniff" and headers["x-frame-options"] == "DENY"


async def test_a_browser_gets_an_error_page_in_her_language_with_a_way_back(http: httpx.AsyncClient) -> None:
    """Issue 24, item 4: `/desk/clients/999` and unknown paths answered raw English JSON."""
    from tests.e2e.dashboard_login import log_in

    await log_in(http)
    page = {"Accept": "text/html,application/xhtml+xml"}
    missing = await http.get("/desk/clients/999", headers=page)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "Такого клиента нет" in missing.text and 'href="/desk"' in missing.text
    lost = await http.get("/no/such/page", headers=page)
    assert lost.status_code == 404 and "Такой страницы нет" in lost.text and 'href="/"' in lost.text
    # Machines keep their JSON: an API, or a client that did not ask for a page.
    assert (await http.get("/no/such/page")).json() == {"detail": "Not Found"}
    assert (await http.get("/desk/api/nothing", headers=page)).headers["content-type"] == "application/json"
