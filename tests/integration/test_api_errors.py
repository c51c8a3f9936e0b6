"""Every error is one envelope {"error": {"code", "message"}}, with the status a client can
act on."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from minutekeeper.api.tokens import ApiTokenRecord, create_token, revoke_token
from minutekeeper.core.db import table_of, utcnow
from tests.integration.api_support import Api


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """SQLite only: error envelopes do not depend on the database (a NUL on PostgreSQL is
    test_api_schema's); the suite must stay inside CI's time."""
    return f"sqlite:///{tmp_path / 'minutekeeper.db'}"


def error_of(reply: object) -> dict[str, str]:
    body = reply.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    error: dict[str, str] = body["error"]
    return error


def test_malformed_json_is_a_422_envelope(api: Api) -> None:
    reply = api.client.post("/v1/consent", content=b'{"decision": "given",',
                            headers={**api.auth(), "Content-Type": "application/json"})  # fmt: skip
    assert reply.status_code == 422
    assert error_of(reply)["code"] == "invalid_request"


def test_an_unknown_route_and_a_wrong_method_are_envelopes(api: Api) -> None:
    missing = api.client.get("/v1/nothing-here", headers=api.auth())
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    wrong = api.client.delete("/v1/consent/me", headers=api.auth())
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"


def test_a_json_body_over_a_mebibyte_is_refused_with_413(api: Api) -> None:
    big = b'{"decision": "given", "purpose": "' + b"x" * (2 << 20) + b'"}'
    reply = api.client.post("/v1/consent", content=big,
                            headers={**api.auth(), "Content-Type": "application/json"})  # fmt: skip
    assert reply.status_code == 413 and error_of(reply)["code"] == "payload_too_large"


@pytest.mark.parametrize("token", ["", "Bearer", "Bearer nonsense", "Basic abc",
                                   "Bearer mk_000000000000_wrongsecret"])  # fmt: skip
def test_a_missing_or_made_up_token_is_401(api: Api, token: str) -> None:
    reply = api.client.get("/v1/consent/me", headers={"Authorization": token} if token else {})
    assert reply.status_code == 401 and error_of(reply)["code"] == "unauthenticated"
    assert reply.headers["www-authenticate"] == "Bearer"


def test_expired_and_revoked_tokens_are_401(api: Api) -> None:
    person = api.people["acme", "member"]
    expired, info = create_token(api.runtime.service, person, name="short",
                                 valid_for=timedelta(hours=1))  # fmt: skip
    tokens = table_of(ApiTokenRecord)
    with api.runtime.engine.begin() as conn:
        conn.execute(update(tokens).where(tokens.c.id == info.id).values(
            expires_at=utcnow() - timedelta(seconds=1)))  # fmt: skip
    reply = api.client.get("/v1/consent/me", headers={"Authorization": f"Bearer {expired}"})
    assert reply.status_code == 401 and "expired" in error_of(reply)["message"]
    live = api.auth("acme", "member")
    assert api.client.get("/v1/consent/me", headers=live).status_code == 200
    token_id = api.tokens["acme", "member"].split("_")[1]
    revoke_token(api.runtime.engine, person.tenant_id, token_id)
    reply = api.client.get("/v1/consent/me", headers=live)
    assert reply.status_code == 401 and "revoked" in error_of(reply)["message"]
