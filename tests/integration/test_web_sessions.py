"""Signing in to the web pages starts a server-side session (SQLite and PostgreSQL): the
forms are refused from another site or from nowhere, the cookie holds a random session id
that is stored only as a hash, never the token, and the session ends at sign-out, when
its token is revoked (through the API's function and through the CLI), when it expires,
and when the browser signs in again. A cookie from before sessions signs nobody in."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from minutekeeper.api import create_app
from minutekeeper.api.authn import SESSION_COOKIE
from minutekeeper.api.tokens import WebSessionRecord, revoke_token
from minutekeeper.core.db import read_transaction, row_transaction, utcnow
from minutekeeper.core.settings import Settings
from tests.integration.api_support import Api, running_api
from tests.integration.test_cli import mk

SAME_ORIGIN = {"Origin": "http://testserver"}


def sign_in(client: TestClient, token: str, **headers: str) -> Any:
    return client.post(
        "/signin",
        data={"token": token},
        headers=headers or SAME_ORIGIN,
        follow_redirects=False,
    )


def signed_in_as(api: Api, who: str = "member") -> str:
    """Sign the client in as (acme, who); returns the session id its cookie holds."""
    api.client.cookies.clear()
    response = sign_in(api.client, api.tokens["acme", who])
    assert response.status_code == 303, response.text
    return str(api.client.cookies[SESSION_COOKIE])


def with_cookie(api: Api, value: str) -> tuple[int, str, int]:
    """(page status, where it sends, /v1 status) for a browser holding this cookie."""
    api.client.cookies.clear()
    api.client.cookies.set(SESSION_COOKIE, value)
    page = api.client.get("/consent", follow_redirects=False)
    me = api.client.get("/v1/consent/me")
    return page.status_code, page.headers.get("location", ""), me.status_code


SIGNED_OUT = (303, "/signin", 401)
SIGNED_IN = (200, "", 200)


def session_rows(api: Api) -> list[Any]:
    with read_transaction(api.runtime.engine) as conn:
        return list(conn.execute(select(WebSessionRecord.__table__)).all())


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Referer": "http://evil.example/signin"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
    ],
)
def test_signing_in_from_another_site_is_refused_and_sets_no_cookie(
    api: Api, headers: dict[str, str]
) -> None:
    response = sign_in(api.client, api.tokens["acme", "member"], **headers)
    assert response.status_code == 403
    assert "set-cookie" not in response.headers and SESSION_COOKIE not in api.client.cookies
    assert "did not come from minutekeeper's own page" in response.text
    assert session_rows(api) == []


def test_signing_in_with_neither_origin_nor_referer_is_refused(api: Api) -> None:
    response = api.client.post(
        "/signin", data={"token": api.tokens["acme", "member"]}, follow_redirects=False
    )
    assert response.status_code == 403 and "set-cookie" not in response.headers
    assert session_rows(api) == []


def test_the_cookie_holds_a_session_id_never_the_token_and_only_its_hash_is_stored(
    api: Api,
) -> None:
    token = api.tokens["acme", "member"]
    response = sign_in(api.client, token, Referer="http://testserver/signin")
    assert response.status_code == 303 and response.headers["location"] == "/meetings"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    session_id = api.client.cookies[SESSION_COOKIE]
    assert session_id != token and token not in session_id
    # No piece of the token's secret either (urlsafe base64 has "_" in it, so a piece can be
    # a letter or two, which a random id holds by chance: pieces of 8 or more only).
    assert not any(part in session_id for part in token.split("_")[1:] if len(part) >= 8)
    assert len(session_id) >= 43  # 32 random bytes
    (row,) = session_rows(api)
    assert row.id_sha256 == hashlib.sha256(session_id.encode()).hexdigest()
    assert session_id not in [str(value) for value in row]
    assert row.token_id == token.split("_")[1] and row.ended_at is None
    assert row.expires_at - row.created_at == timedelta(days=7)
    assert with_cookie(api, session_id) == SIGNED_IN


def test_signing_out_ends_the_session_on_the_server(api: Api) -> None:
    session_id = signed_in_as(api)
    refused = api.client.post("/signout", headers={"Origin": "http://evil.example"})
    assert refused.status_code == 403 and with_cookie(api, session_id) == SIGNED_IN
    out = api.client.post("/signout", headers=SAME_ORIGIN, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]  # the browser forgets it
    assert with_cookie(api, session_id) == SIGNED_OUT  # the old cookie, presented again
    (row,) = session_rows(api)
    assert row.ended_at is not None


def test_revoking_the_token_ends_its_sessions(api: Api) -> None:
    first, second = signed_in_as(api), signed_in_as(api)
    other = signed_in_as(api, "member2")
    person = api.people["acme", "member"]
    token_id = api.tokens["acme", "member"].split("_")[1]
    revoke_token(api.runtime.engine, person.tenant_id, token_id)
    assert with_cookie(api, first) == SIGNED_OUT and with_cookie(api, second) == SIGNED_OUT
    assert with_cookie(api, other) == SIGNED_IN
    ended = {row.token_id: row.ended_at is not None for row in session_rows(api)}
    assert ended == {token_id: True, api.tokens["acme", "member2"].split("_")[1]: False}


@pytest.mark.parametrize(
    ("column", "ago"),
    [("last_seen_at", timedelta(hours=12, minutes=1)), ("expires_at", timedelta(seconds=1))],
    ids=["idle", "too_old"],
)
def test_an_expired_session_is_refused(api: Api, column: str, ago: timedelta) -> None:
    session_id = signed_in_as(api)
    assert with_cookie(api, session_id) == SIGNED_IN
    table = WebSessionRecord.__table__
    with row_transaction(api.runtime.engine) as conn:
        conn.execute(update(table).values({column: utcnow() - ago}))
    assert with_cookie(api, session_id) == SIGNED_OUT


def test_a_session_in_use_is_kept_alive_and_records_when_it_was_last_seen(api: Api) -> None:
    session_id = signed_in_as(api)
    table = WebSessionRecord.__table__
    earlier = utcnow() - timedelta(hours=11)
    with row_transaction(api.runtime.engine) as conn:
        conn.execute(update(table).values(last_seen_at=earlier))
    assert with_cookie(api, session_id) == SIGNED_IN
    (row,) = session_rows(api)
    assert row.last_seen_at > earlier + timedelta(hours=10)


def test_a_cookie_holding_a_token_itself_no_longer_signs_in(api: Api) -> None:
    token = api.tokens["acme", "member"]
    assert with_cookie(api, token) == SIGNED_OUT
    api.client.cookies.set(SESSION_COOKIE, token)
    page = api.client.get("/meetings", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in page.headers["set-cookie"]  # the stale cookie is cleared
    signin = api.client.get("/signin")
    assert signin.status_code == 200 and "Sign out" not in signin.text


def test_signing_in_again_gives_a_new_id_and_ends_the_one_the_browser_held(api: Api) -> None:
    old = signed_in_as(api)
    again = sign_in(api.client, api.tokens["acme", "admin"])  # the cookie is still sent
    assert again.status_code == 303
    new = api.client.cookies[SESSION_COOKIE]
    assert new != old
    assert with_cookie(api, old) == SIGNED_OUT and with_cookie(api, new) == SIGNED_IN
    assert sorted(row.ended_at is None for row in session_rows(api)) == [False, True]


def test_behind_a_proxy_the_public_url_is_the_only_origin_and_makes_the_cookie_secure(
    settings: Settings,
) -> None:
    proxied = settings.model_copy(update={"public_url": "https://meet.example.com"})
    with running_api(proxied) as api:
        token = api.tokens["acme", "member"]
        assert sign_in(api.client, token).status_code == 403  # the Host it was sent to
        assert sign_in(api.client, token, Origin="http://meet.example.com").status_code == 403
        done = sign_in(api.client, token, Origin="https://meet.example.com:443")
        assert done.status_code == 303
        assert "secure" in done.headers["set-cookie"].lower()


def test_revoking_a_token_with_the_cli_ends_its_sessions(tmp_path: Path) -> None:
    made = mk(tmp_path, "tokens", "create", "--subject", "Dana")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    with TestClient(create_app(Settings(data_dir=tmp_path))) as client:
        assert sign_in(client, token).status_code == 303
        assert client.get("/consent", follow_redirects=False).status_code == 200
        revoked = mk(tmp_path, "tokens", "revoke", token.split("_")[1])
        assert revoked.returncode == 0, revoked.stderr
        after = client.get("/consent", follow_redirects=False)
        assert after.status_code == 303 and after.headers["location"] == "/signin"
        assert client.get("/v1/consent/me").status_code == 401
