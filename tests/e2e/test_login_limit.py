"""The login limit cannot be dodged with X-Forwarded-For (issue 25, item 1).

The real service (`python main.py`, uvicorn) with no FORWARDED_ALLOW_IPS: wrong passwords with a
new X-Forwarded-For each time are still one address's tries, so the sixth is refused (429). With
FORWARDED_ALLOW_IPS=127.0.0.1 (nginx on this machine setting the header) each forwarded address
is counted on its own, and her right password from her own address still logs her in.
"""

from pathlib import Path

import httpx
import pytest

from handlers.dashboard.auth import LOGIN_FAILURES
from tests.e2e.dashboard_login import PASSWORD, csrf_of
from tests.e2e.service import Service


async def try_password(http: httpx.AsyncClient, password: str, forwarded_for: str) -> int:
    headers = {"X-Forwarded-For": forwarded_for}
    form = await http.get("/login", headers=headers)
    response = await http.post(
        "/login",
        data={"csrf_token": csrf_of(form.text), "password": password, "next": "/desk"},
        headers=headers,
    )
    return response.status_code


@pytest.mark.slow
@pytest.mark.parametrize("trusted", [None, "127.0.0.1"], ids=["no proxy believed", "nginx on this machine"])
async def test_a_new_forwarded_address_per_try_does_not_reset_the_limit(tmp_path: Path, trusted: str | None) -> None:
    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'priem.db'}", "DASHBOARD_PASSWORD": PASSWORD}
    if trusted:
        env["FORWARDED_ALLOW_IPS"] = trusted
    service = Service(tmp_path, env)
    await service.start()
    try:
        async with httpx.AsyncClient(base_url=service.base_url) as http:
            tries = [await try_password(http, "wrong", f"198.51.100.{n}") for n in range(LOGIN_FAILURES + 1)]
            if trusted is None:  # every try is 127.0.0.1's: the limit holds
                assert tries == [401] * LOGIN_FAILURES + [429]
            else:  # the proxy's word is believed: each address has tries of its own
                assert tries == [401] * (LOGIN_FAILURES + 1)
                assert await try_password(http, "wrong", "198.51.100.0") == 401  # its second
            if trusted:  # she, from her own address, is not locked out by someone else's guesses
                assert await try_password(http, PASSWORD, "203.0.113.7") == 303
    finally:
        service.stop()
