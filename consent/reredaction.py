"""One step from an older redaction profile to the current one.

Candidates kept under an older profile (`presidio-offline-v1`: a blank spaCy pipeline and a
deny-list of the other speakers alone) can still hold names the current redaction hides.
`reredact_candidates` runs the current redaction over each such kept candidate's stored
example, with the tenant's members and the names of its artifact's contributors (guests
included) on the deny-list:

- the text comes back the same: only its profile changes;
- it changes: the messages are rewritten and the profile updated, and its records in
  published exports, which hold the old text, are tombstoned (reason `redaction`, their
  exports revoked), as a withdrawal does;
- redaction fails: the candidate is `excluded` (its example deleted) and its published
  records are tombstoned too.

The model runs outside any database transaction; each result is then written only if the
candidate is still kept under the old profile, so a withdrawal in between wins. Running it
again does nothing more: it is the upgrade step, `minutekeeper candidates reredact`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.capture import deny_list, redact_messages
from minutekeeper.consent.errors import RedactionFailed
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.redaction import PROFILE, Person, Redactor
from minutekeeper.consent.service import ConsentService
from minutekeeper.consent.store import ArtifactRecord, SubjectRecord, TrainingCandidateRecord
from minutekeeper.core.db import read_transaction, write_transaction

REASON = "redaction"
EXCLUDED = "excluded"
OUTCOMES = ("rewritten", "unchanged", "excluded")


@dataclass(frozen=True)
class Reredacted:
    """What the upgrade did: candidates rewritten, unchanged, excluded; the exports that
    got tombstones."""

    rewritten: int = 0
    unchanged: int = 0
    excluded: int = 0
    exports: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Redone:
    id: str
    tenant_id: str
    old: list[dict[str, str]]
    new: list[dict[str, str]] | None  # None: redaction failed


def reredact_candidates(
    service: ConsentService, redactor: Redactor, *, actor_id: str = "redaction", batch: int = 200
) -> Reredacted:
    """Bring every kept candidate of every tenant to the current profile (see above)."""
    total = Reredacted()
    after = ""
    while rows := _outdated(service, after=after, limit=batch):
        after = rows[-1].id
        redone = [_redo(service, redactor, row) for row in rows]
        total = _merge(total, _write(service, redone, actor_id=actor_id))
    tombstones.sync_files(service.engine, total.exports)
    return total


def _outdated(service: ConsentService, *, after: str, limit: int) -> list[Any]:
    tc, art = TrainingCandidateRecord, ArtifactRecord
    with read_transaction(service.engine) as conn:
        return list(
            conn.execute(
                select(tc.id, tc.tenant_id, tc.messages, art.contributors)
                .join(art, art.id == tc.artifact_id)
                .where(tc.status == "eligible", tc.redaction_profile != PROFILE, tc.id > after)
                .order_by(tc.id)
                .limit(limit)
            ).all()
        )


def _redo(service: ConsentService, redactor: Redactor, row: Any) -> _Redone:
    try:
        people = deny_list(service, row.tenant_id, _named(service, row.contributors))
        new = redact_messages(row.messages, people, redactor)
    except RedactionFailed:
        new = None
    return _Redone(row.id, row.tenant_id, list(row.messages), new)


def _named(service: ConsentService, subject_ids: Sequence[str]) -> list[Person]:
    """The contributors that have a name (members and guests)."""
    subject = SubjectRecord
    with read_transaction(service.engine) as conn:
        names = conn.execute(
            select(subject.display_name).where(
                subject.id.in_(list(subject_ids)), subject.display_name.is_not(None)
            )
        ).scalars()
        return [Person(name) for name in names if name and name.strip()]


def _write(service: ConsentService, redone: Sequence[_Redone], *, actor_id: str) -> Reredacted:
    done: dict[str, dict[str, list[str]]] = {}
    redone_messages: dict[str, list[dict[str, str]]] = {}
    exports: set[str] = set()
    with write_transaction(service.engine) as conn:
        at = service.clock()
        for item in redone:
            outcome = "excluded" if item.new is None else (
                "unchanged" if item.new == item.old else "rewritten"
            )  # fmt: skip
            if not set_candidate(conn, item.id, outcome=outcome, messages=item.new):
                continue  # withdrawn, purged or upgraded meanwhile
            outcomes = done.setdefault(item.tenant_id, {k: [] for k in OUTCOMES})
            outcomes[outcome].append(item.id)
            if item.new is not None:
                redone_messages[item.id] = item.new
        for tenant_id, outcomes in done.items():
            stale = [*outcomes["rewritten"], *outcomes["excluded"]]
            exports.update(tombstones.tombstone_candidates(
                conn, service.writer, tenant_id=tenant_id, candidate_ids=stale,
                reason=REASON, at=at, actor_id=actor_id,
            ))  # fmt: skip
            service.writer.audit(
                conn,
                actor=actor_id,
                action="candidates.reredacted",
                object_type="tenant",
                object_id=tenant_id,
                payload={"tenant_id": tenant_id, "profile": PROFILE,
                         **{k: sorted(v) for k, v in outcomes.items()}},
                facts=facts.reredacted(
                    PROFILE,
                    {cid: redone_messages[cid]
                     for cid in (*outcomes["rewritten"], *outcomes["unchanged"])},
                    outcomes["excluded"],
                ),
            )  # fmt: skip
    return Reredacted(
        rewritten=sum(len(o["rewritten"]) for o in done.values()),
        unchanged=sum(len(o["unchanged"]) for o in done.values()),
        excluded=sum(len(o["excluded"]) for o in done.values()),
        exports=tuple(sorted(exports)),
    )


def set_candidate(
    conn: Connection, candidate_id: str, *, outcome: str, messages: list[dict[str, str]] | None
) -> bool:
    """The one place the upgrade changes a candidate: re-redacted (`messages`, current
    profile) or excluded (example deleted). Only a candidate still kept under an older
    profile changes; returns whether this one did."""
    tc = TrainingCandidateRecord
    values: dict[str, Any] = (
        {"status": EXCLUDED, "messages": []}
        if outcome == "excluded"
        else {"messages": messages, "redaction_profile": PROFILE}
    )
    changed = conn.execute(
        update(tc)
        .where(tc.id == candidate_id, tc.status == "eligible", tc.redaction_profile != PROFILE)
        .values(**values)
    ).rowcount
    return bool(changed)


def _merge(a: Reredacted, b: Reredacted) -> Reredacted:
    return Reredacted(
        a.rewritten + b.rewritten,
        a.unchanged + b.unchanged,
        a.excluded + b.excluded,
        tuple(sorted({*a.exports, *b.exports})),
    )
