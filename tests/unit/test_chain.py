"""The chain link formula, canonical JSON and checkpoint signatures, without a database."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from minutekeeper.consent.chain import (
    GENESIS_HASH,
    Signer,
    canonical_json,
    checkpoint_message,
    compute_entry_hash,
    signature_is_valid,
)
from minutekeeper.consent.errors import AuditKeyError
from minutekeeper.consent.purposes import covers, validate_purpose


def test_entry_hash_is_sha256_of_zero_byte_canonical_json_and_previous_hash() -> None:
    entry = {"seq": 2, "state": "given", "at": datetime(2026, 1, 1, 12, tzinfo=UTC), "n": None}
    prev = hashlib.sha256(b"previous").hexdigest()
    expected = hashlib.sha256(
        b"\x00"
        + b'{"at":"2026-01-01T12:00:00.000000Z","n":null,"seq":2,"state":"given"}'
        + bytes.fromhex(prev)
    ).hexdigest()
    assert compute_entry_hash({**entry, "entry_hash": "ignored"}, prev) == expected


def test_canonical_json_is_order_independent_and_keeps_unicode() -> None:
    assert canonical_json({"b": 1, "a": "ü"}) == canonical_json({"a": "ü", "b": 1})
    assert canonical_json({"a": "ü"}) == '{"a":"ü"}'.encode()


def test_checkpoint_signature_verifies_only_for_the_signed_statement(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path / "keys" / "k.pem")
    at = datetime(2026, 1, 1, tzinfo=UTC)
    message = checkpoint_message("ledger", 10, GENESIS_HASH, at)
    signature = signer.sign(message)
    assert signature_is_valid(signer.public_key_hex, signature, message)
    assert not signature_is_valid(
        signer.public_key_hex, signature, checkpoint_message("ledger", 11, GENESIS_HASH, at)
    )
    assert (
        Signer.load_or_create(tmp_path / "keys" / "k.pem").public_key_hex == signer.public_key_hex
    )
    assert (tmp_path / "keys" / "k.pem").stat().st_mode & 0o777 == 0o600


def test_unreadable_signing_key_is_a_clear_error(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_text("not a key")
    with pytest.raises(AuditKeyError, match="cannot read the audit signing key"):
        Signer.load_or_create(key)


def test_purpose_matches_itself_and_dotted_children_only() -> None:
    assert covers("train_ai_system", "train_ai_system")
    assert covers("essential", "essential.service")
    assert not covers("train_ai", "train_ai_system")
    assert not covers("essential.service", "essential")
    assert validate_purpose("third_party_sharing") == "third_party_sharing"
