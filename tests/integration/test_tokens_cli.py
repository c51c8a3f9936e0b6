"""`minutekeeper tokens ...` through the installed console script: a token is printed
once, stored as a hash, listed without its secret, and revoked at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from minutekeeper.api.tokens import Unauthenticated, authenticate
from minutekeeper.consent.domain import Role
from minutekeeper.core.db import create_db_engine
from minutekeeper.core.settings import Settings
from tests.integration.test_cli import mk


def test_a_token_is_printed_once_listed_without_its_secret_and_revoked(tmp_path: Path) -> None:
    made = mk(tmp_path, "tokens", "create", "--role", "ml_exporter", "--subject", "ml-team",
              "--days", "7")  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("mk_") and "\n" not in token
    engine = create_db_engine(Settings(data_dir=tmp_path))
    info = authenticate(engine, token)
    assert info.role is Role.ML_EXPORTER
    db = (tmp_path / "minutekeeper.db").read_bytes()
    assert token.split("_", 2)[2].encode() not in db  # only the hash is kept
    listed = mk(tmp_path, "tokens", "list")
    assert info.id in listed.stdout and token not in listed.stdout
    revoked = mk(tmp_path, "tokens", "revoke", info.id)
    assert revoked.returncode == 0, revoked.stderr
    with pytest.raises(Unauthenticated, match="revoked"):
        authenticate(engine, token)
    engine.dispose()


def test_a_second_token_for_the_same_name_is_the_same_person(tmp_path: Path) -> None:
    first = mk(tmp_path, "tokens", "create", "--subject", "Dana").stdout.strip()
    second = mk(tmp_path, "tokens", "create", "--subject", "Dana", "--role", "admin").stdout.strip()
    engine = create_db_engine(Settings(data_dir=tmp_path))
    one, two = authenticate(engine, first), authenticate(engine, second)
    assert one.subject_id == two.subject_id and (one.role, two.role) == (Role.MEMBER, Role.ADMIN)
    engine.dispose()


def test_bad_token_commands_are_one_line_errors(tmp_path: Path) -> None:
    unknown = mk(tmp_path, "tokens", "revoke", "000000000000")
    assert unknown.returncode == 1 and unknown.stderr.startswith("error: no token")
    role = mk(tmp_path, "tokens", "create", "--subject", "x", "--role", "owner")
    assert role.returncode == 2 and "owner" in role.stderr
