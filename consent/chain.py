"""Hash chains and signed checkpoints.

Two chains live in the database: the consent ledger (`consent_events`) and the audit chain
(`audit_entries`: tenant switches, notice versions, served notices, gate decisions). Each
entry stores `entry_hash = SHA256(0x00 || canonical_json(entry) || prev_hash)` over every
column but `entry_hash` itself. Every `checkpoint_every` entries the writer signs
"chain X had hash H at seq N" with an Ed25519 key kept in a file outside the database, so a
chain rewritten consistently or cut short is still caught.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Connection, Insert, Select, Table, insert, select

from minutekeeper.consent.errors import AuditKeyError
from minutekeeper.consent.store import (
    AuditCheckpointRecord,
    AuditEntryRecord,
    ConsentEventRecord,
)
from minutekeeper.core.db import after_commit, before_commit, table_of, utcnow

GENESIS_HASH = "0" * 64
log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class Chain:
    """One chain's table, with its hot statements built once (appends are the hot path)."""

    name: str
    table: Table

    @cached_property
    def tail(self) -> Select[int, str]:
        return (
            select(self.table.c.seq, self.table.c.entry_hash)
            .order_by(self.table.c.seq.desc())
            .limit(1)
        )

    @cached_property
    def insert(self) -> Insert:
        return insert(self.table)

    @cached_property
    def newest_checkpoint(self) -> Select[Any]:
        """This chain's newest signed checkpoint."""
        c = table_of(AuditCheckpointRecord).c
        return (
            select(table_of(AuditCheckpointRecord))
            .where(c.chain == self.name)
            .order_by(c.seq.desc())
            .limit(1)
        )


LEDGER = Chain("ledger", table_of(ConsentEventRecord))
AUDIT = Chain("audit", table_of(AuditEntryRecord))
CHAINS = (LEDGER, AUDIT)
_CHECKPOINTS = table_of(AuditCheckpointRecord)
_SIGNED = insert(_CHECKPOINTS)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"cannot canonicalise {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, no spaces, UTF-8, UTC timestamps to the microsecond."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Columns added to a chained table after entries were written: hashed when set, so the
# entries written before they existed still verify.
LATER_COLUMNS = frozenset({"via", "recipients", "translation_id", "facts"})


def compute_entry_hash(entry: Mapping[str, Any], prev_hash: str) -> str:
    """The chain link of `entry` (every column but `entry_hash`) after `prev_hash`."""
    fields = {
        k: v
        for k, v in entry.items()
        if k != "entry_hash" and not (k in LATER_COLUMNS and v is None)
    }
    return sha256_hex(b"\x00" + canonical_json(fields) + bytes.fromhex(prev_hash))


def checkpoint_message(chain: str, seq: int, entry_hash: str, signed_at: datetime) -> bytes:
    return canonical_json(
        {"chain": chain, "seq": seq, "entry_hash": entry_hash, "signed_at": signed_at}
    )


class Signer:
    """The Ed25519 key that signs checkpoints, loaded from (or created in) a PEM file."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        raw = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.public_key_hex = raw.hex()

    @classmethod
    def load_or_create(cls, path: Path) -> Signer:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            # Exclusive create: two processes starting at once must not write two keys.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(pem)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as error:
            raise AuditKeyError(f"cannot read the audit signing key {path}: {error}") from error
        if not isinstance(key, Ed25519PrivateKey):
            raise AuditKeyError(f"the audit signing key {path} is not an Ed25519 key")
        return cls(key)

    def sign(self, message: bytes) -> str:
        return self._key.sign(message).hex()


def signature_is_valid(public_key_hex: str, signature_hex: str, message: bytes) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_key_hex))
        key.verify(bytes.fromhex(signature_hex), message)
    except (ValueError, InvalidSignature):
        return False
    return True


class Witness:
    """An append-only file outside the database that keeps a copy of every signed checkpoint
    (`MINUTEKEEPER_AUDIT_WITNESS`): whoever cuts a chain's tail and deletes its checkpoints
    from the database still leaves the witness holding an entry the chain no longer has.
    One JSON line per checkpoint; lines are independent, so writers may interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, checkpoint: Mapping[str, Any]) -> None:
        """Append one checkpoint. Its transaction has committed already: a witness that
        cannot be written is logged, not raised (the consent it signs stands), and `audit
        verify` then warns that the checkpoint is missing from the witness."""
        line = canonical_json(dict(checkpoint)) + b"\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line)  # one write of a short line with O_APPEND: never torn
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as error:
            log.error("audit witness %s not written: %s", self.path, error)

    def read(self) -> list[dict[str, Any]]:
        """Every checkpoint the witness holds (a line that is not one is reported as such)."""
        if not self.path.exists():
            return []
        found = []
        for number, line in enumerate(self.path.read_bytes().splitlines(), start=1):
            try:
                found.append({**json.loads(line), "line": number})
            except ValueError:
                found.append({"line": number, "unreadable": True})
        return found


# Events after which no quiet tail may remain: a person saying no, or consent running out.
OPT_OUT_STATES = frozenset({"refused", "withdrawn", "expired", "invalidated", "rejected"})


class ChainWriter:
    """Appends entries to the chains inside the caller's `write_transaction`.

    The caller holds the database's writer lock, so reading the tail and inserting the next
    entry cannot interleave with another writer, in this process or any other. Checkpoints
    are signed every `checkpoint_every` entries, at the commit of any transaction that records
    an opt-out (`OPT_OUT_STATES`) or calls `checkpoint_at_commit`, and whenever `checkpoint`
    is called (a timer does in long-running processes); each is copied to the witness, when
    one is set, once its transaction has committed.
    """

    def __init__(
        self,
        signer: Signer,
        *,
        checkpoint_every: int = 100,
        clock: Callable[[], datetime] = utcnow,
        witness: Witness | None = None,
    ) -> None:
        self.signer = signer
        self.checkpoint_every = checkpoint_every
        self.clock = clock
        self.witness = witness

    def append(self, conn: Connection, chain: Chain, entry: dict[str, Any]) -> dict[str, Any]:
        """Insert `entry` as the chain's next link; returns it with seq and hashes filled in."""
        tail = conn.execute(chain.tail).first()
        seq, prev_hash = (tail[0] + 1, tail[1]) if tail else (1, GENESIS_HASH)
        row = {**entry, "seq": seq, "prev_hash": prev_hash}
        row["entry_hash"] = compute_entry_hash(row, prev_hash)
        conn.execute(chain.insert, row)
        if seq % self.checkpoint_every == 0:
            self._sign(conn, chain, seq, row["entry_hash"])
        if chain is LEDGER and entry.get("state") in OPT_OUT_STATES:
            self.checkpoint_at_commit(conn)
        return row

    def checkpoint_at_commit(self, conn: Connection) -> None:
        """Sign every chain's tail at the end of this transaction, after whatever else it
        appends (at once, outside a `write_transaction`)."""

        def sign() -> None:
            self.checkpoint(conn)

        if not before_commit(conn, "checkpoint", sign):
            sign()

    def audit(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        object_type: str,
        object_id: str,
        payload: Mapping[str, Any],
        facts: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one audit entry; the chain keeps the payload's hash, never the payload.
        `facts` (ids, hashes, states: never personal data) are kept in the entry itself, for
        `audit verify` to hold the records they describe against."""
        entry = {
            "at": self.clock(),
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload_sha256": sha256_hex(canonical_json(dict(payload))),
        }
        if facts is not None:
            entry["facts"] = json.loads(canonical_json(dict(facts)))
        row = self.append(conn, AUDIT, entry)
        return int(row["seq"])

    def checkpoint(self, conn: Connection) -> int:
        """Sign the current tail of every chain not yet covered; returns how many were signed."""
        signed = 0
        for chain in CHAINS:
            tail = conn.execute(chain.tail).first()
            if tail is None:
                continue
            last = conn.execute(chain.newest_checkpoint).first()
            if last is None or last.seq < tail[0]:
                self._sign(conn, chain, tail[0], tail[1])
                signed += 1
        return signed

    def _sign(self, conn: Connection, chain: Chain, seq: int, entry_hash: str) -> None:
        signed_at = self.clock()
        checkpoint = {
            "chain": chain.name,
            "seq": seq,
            "entry_hash": entry_hash,
            "signed_at": signed_at,
            "public_key": self.signer.public_key_hex,
            "signature": self.signer.sign(
                checkpoint_message(chain.name, seq, entry_hash, signed_at)
            ),
        }
        conn.execute(_SIGNED, checkpoint)
        witness = self.witness
        if witness is not None and not after_commit(conn, lambda: witness.record(checkpoint)):
            witness.record(checkpoint)


def latest_checkpoints(conn: Connection) -> list[dict[str, Any]]:
    """The newest signed checkpoint of each chain, as a manifest or a receipt carries it."""
    found = []
    for chain in CHAINS:
        row = conn.execute(chain.newest_checkpoint).first()
        if row is not None:
            found.append(public_checkpoint(dict(row._mapping)))
    return found


def public_checkpoint(row: Mapping[str, Any]) -> dict[str, Any]:
    """A checkpoint as anyone holding the public key can check it (`checkpoint_message`)."""
    fields = ("chain", "seq", "entry_hash", "signed_at", "public_key", "signature")
    plain: dict[str, Any] = json.loads(canonical_json({f: row[f] for f in fields}))
    return plain


def covering_checkpoint(conn: Connection, chain: Chain, seq: int) -> dict[str, Any] | None:
    """The first signed checkpoint of `chain` at or after entry `seq` (a receipt's proof that
    its entry was in the chain when signed), or None."""
    row = conn.execute(
        select(_CHECKPOINTS)
        .where(_CHECKPOINTS.c.chain == chain.name, _CHECKPOINTS.c.seq >= seq)
        .order_by(_CHECKPOINTS.c.seq)
        .limit(1)
    ).first()
    return public_checkpoint(dict(row._mapping)) if row is not None else None
