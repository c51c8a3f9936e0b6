"""Attribution: whose words are whose is a claim until the named person says so.

A speaker label named after a member (by the uploader, a rename, a VTT voice tag, a track
name, `speaker=S1=Name`) or a thread message whose typed author is a member is only a
claim. The named member gets a request listing just the items attributed to them (the
label's segments, or the author's messages) and answers "that's me" or "not me" for each.
Their answer is a chained ledger event (purpose `attribution`) bound to (source, label,
hash of the items): `confirmed` when every item is theirs, else `rejected`; a rename away
from them, or new items under the label, `voided`. The gate reads these events at its
pinned ledger position, as it reads consent (`gate.Reason.UNVERIFIED` until confirmed).

A person can only answer for themselves. Naming a label as yourself (the uploader, the
author of a draft) is your own claim and confirms at once: self-attestation, bounded by
the gate (a person holding two labels of one source is unverified for it) and said in the
dataset card.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from minutekeeper.consent.chain import LEDGER, ChainWriter, canonical_json, sha256_hex
from minutekeeper.consent.domain import (
    AttributionRequest,
    Claim,
    ConsentState,
    Item,
    Principal,
    SubjectKind,
)
from minutekeeper.consent.errors import (
    AttributionClosed,
    InvalidValue,
    UnknownAttributionRequest,
)
from minutekeeper.consent.ledger import project, tail_seq
from minutekeeper.consent.purposes import ATTRIBUTION
from minutekeeper.consent.store import (
    AttributionRequestRecord,
    ConsentEventRecord,
    SubjectRecord,
)
from minutekeeper.core.db import rows_after, table_of

REQUEST_DAYS = 30
SOURCE_KINDS = ("meeting", "draft", "transcript")


def binding(claim: Claim) -> str:
    """What an attribution event is bound to: the source, the label and every item's text.
    New or changed words under the label make a new binding, which needs a new answer."""
    return sha256_hex(
        canonical_json(
            {
                "source": [claim.source_kind, claim.source_id],
                "label": claim.label,
                "items": [[i.id, sha256_hex(i.text.encode("utf-8"))] for i in claim.items],
            }
        )
    )


def _as_json(item: Item) -> dict[str, Any]:
    return {"id": item.id, "text": item.text, "start": item.start, "end": item.end}


def _request(row: Any) -> AttributionRequest:
    return AttributionRequest(
        id=row.id,
        tenant_id=row.tenant_id,
        subject_id=row.subject_id,
        source_kind=row.source_kind,
        source_id=row.source_id,
        label=row.label,
        binding=row.binding,
        items=tuple(Item(i["id"], i["text"], i.get("start"), i.get("end")) for i in row.items),
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        answers=dict(row.answers or {}),
    )


def _append(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    subject_id: str,
    actor_id: str,
    actor_role: str,
    state: ConsentState,
    method: str,
    scope: str,
    via: str,
) -> int:
    row = writer.append(
        conn,
        LEDGER,
        {
            "id": str(uuid.uuid4()),
            "tenant_id": tenant_id,
            "subject_id": subject_id,
            "actor_id": actor_id,
            "actor_role": actor_role,
            "purpose": ATTRIBUTION,
            "scope": scope,
            "state": state.value,
            "method": method,
            "notice_version_id": None,
            "served_notice_id": None,
            "recorded_at": writer.clock(),
            "valid_until": None,
            "gpc": False,
            "idempotency_key": None,
            "via": via,
        },
    )
    project(conn, row)
    return int(row["seq"])


_LATEST = (
    select(ConsentEventRecord.subject_id, ConsentEventRecord.scope, ConsentEventRecord.state)
    .where(
        ConsentEventRecord.purpose == ATTRIBUTION,
        ConsentEventRecord.subject_id.in_(bindparam("subjects", expanding=True)),
        ConsentEventRecord.seq <= bindparam("up_to"),
    )
    .order_by(ConsentEventRecord.seq)
)


def states(
    conn: Connection, subjects: Iterable[str], *, up_to: int
) -> dict[tuple[str, str], ConsentState]:
    """The newest attribution state per (subject, binding) at ledger position `up_to`."""
    latest: dict[tuple[str, str], ConsentState] = {}
    for row in conn.execute(_LATEST, {"subjects": sorted(set(subjects)), "up_to": up_to}):
        latest[row.subject_id, row.scope] = ConsentState(row.state)
    return latest


def tenant_states(
    conn: Connection, tenant_id: str, *, up_to: int
) -> dict[tuple[str, str], ConsentState]:
    """`states` for every subject of the tenant (an export reads them once)."""
    e = ConsentEventRecord
    rows = conn.execute(
        select(e.subject_id, e.scope, e.state)
        .where(e.tenant_id == tenant_id, e.purpose == ATTRIBUTION, e.seq <= up_to)
        .order_by(e.seq)
    )
    return {(r.subject_id, r.scope): ConsentState(r.state) for r in rows}


def claim(
    conn: Connection,
    writer: ChainWriter,
    claim: Claim,
    *,
    tenant_id: str,
    claimed_by: Principal,
    via: str,
    now: datetime,
    speaks_for_self: bool = True,
) -> str | None:
    """Make sure `claim` gets its answer: a claim about yourself confirms at once; a claim
    about another member opens a request to them (once per binding). Returns the binding,
    or None for a claim about someone who is no member (a guest never confirms)."""
    kind = conn.execute(
        select(SubjectRecord.kind).where(
            SubjectRecord.id == claim.subject_id, SubjectRecord.tenant_id == tenant_id
        )
    ).scalar()
    if kind != SubjectKind.MEMBER.value:
        return None
    key = binding(claim)
    if claim.subject_id == claimed_by.subject_id and speaks_for_self:
        known = states(conn, [claim.subject_id], up_to=tail_seq(conn)).get((claim.subject_id, key))
        if known is not ConsentState.CONFIRMED:
            _append(conn, writer, tenant_id=tenant_id, subject_id=claim.subject_id,
                    actor_id=claimed_by.subject_id, actor_role=claimed_by.role.value,
                    state=ConsentState.CONFIRMED, method="self", scope=key,
                    via=via)  # fmt: skip
        return key
    r = AttributionRequestRecord
    asked = conn.execute(
        select(r.id, r.status).where(r.subject_id == claim.subject_id, r.binding == key)
    ).first()
    if asked is not None and asked.status in ("voided", "confirmed"):
        # Named again after a rename away: unless their confirmation still stands, they
        # are asked again (a voided confirmation or request is no answer; a "not me"
        # stands until they change it).
        held = states(conn, [claim.subject_id], up_to=tail_seq(conn)).get((claim.subject_id, key))
        if held is not ConsentState.CONFIRMED:
            conn.execute(
                update(r)
                .where(r.id == asked.id)
                .values(status="pending", created_at=now, answered_at=None, answers=None,
                        expires_at=now + timedelta(days=REQUEST_DAYS))
            )  # fmt: skip
    if asked is None:
        conn.execute(
            insert(r).values(
                id=str(uuid.uuid4()),
                tenant_id=tenant_id,
                subject_id=claim.subject_id,
                source_kind=claim.source_kind,
                source_id=claim.source_id,
                label=claim.label,
                binding=key,
                items=[_as_json(i) for i in claim.items],
                requested_by=claimed_by.subject_id,
                status="pending",
                created_at=now,
                expires_at=now + timedelta(days=REQUEST_DAYS),
                answered_at=None,
                answers=None,
            )
        )
    return key


def void(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    key: str,
    keep: str | None,
    actor: Principal,
    via: str,
) -> list[str]:
    """The words bound by `key` are now attributed to `keep` (or nobody): every other
    person's confirmation of them is voided and their open requests closed, the confirmed
    ones too (an answer about words no longer attributed to them is no longer theirs to
    give; named again, they are asked again). Returns the subjects whose confirmation was
    voided."""
    r = AttributionRequestRecord
    conn.execute(
        update(r)
        .where(r.tenant_id == tenant_id, r.binding == key, r.status == "pending",
               r.subject_id != (keep or ""))
        .values(status="voided")
    )  # fmt: skip
    e = ConsentEventRecord
    held = conn.execute(
        select(e.subject_id)
        .where(e.tenant_id == tenant_id, e.purpose == ATTRIBUTION, e.scope == key)
        .distinct()
    ).scalars()
    subjects = sorted(s for s in held if s != keep)
    now_states = states(conn, subjects, up_to=tail_seq(conn))
    voided = []
    for subject_id in subjects:
        if now_states.get((subject_id, key)) is not ConsentState.CONFIRMED:
            continue
        _append(conn, writer, tenant_id=tenant_id, subject_id=subject_id,
                actor_id=actor.subject_id, actor_role=actor.role.value,
                state=ConsentState.VOIDED, method="system", scope=key, via=via)  # fmt: skip
        voided.append(subject_id)
    if voided:
        conn.execute(
            update(r)
            .where(r.tenant_id == tenant_id, r.binding == key, r.subject_id.in_(voided),
                   r.status == "confirmed")
            .values(status="voided")
        )  # fmt: skip
    return voided


def answer(
    conn: Connection,
    writer: ChainWriter,
    person: Principal,
    request_id: str,
    answers: Mapping[str, bool],
    *,
    via: str,
) -> AttributionRequest:
    """Record the person's answer to their request: `confirmed` when every item is theirs,
    `rejected` otherwise. Only the named person answers, once, before it expires."""
    row = conn.execute(
        select(AttributionRequestRecord).where(AttributionRequestRecord.id == request_id)
    ).first()
    # Someone else's request is unknown to you: only the person named sees or answers it.
    if row is None or row.subject_id != person.subject_id:
        raise UnknownAttributionRequest(f"no attribution request {request_id}")
    request = _request(row)
    now = writer.clock()
    # An answer may be changed (a confirmation taken back is a "not me"), but a request
    # voided by a rename, or left unanswered past its expiry, is closed.
    if request.status == "voided" or (request.status == "pending" and request.expires_at <= now):
        state = "voided" if request.status == "voided" else "expired"
        raise AttributionClosed(f"this request is closed ({state}); nothing was recorded")
    ids = [i.id for i in request.items]
    if sorted(answers) != sorted(ids):
        raise InvalidValue("answer every item of the request, and only those: " + ", ".join(ids))
    state = ConsentState.CONFIRMED if all(answers[i] for i in ids) else ConsentState.REJECTED
    _append(conn, writer, tenant_id=person.tenant_id, subject_id=person.subject_id,
            actor_id=person.subject_id, actor_role=person.role.value, state=state,
            method="explicit", scope=request.binding, via=via)  # fmt: skip
    conn.execute(
        update(AttributionRequestRecord)
        .where(AttributionRequestRecord.id == request_id)
        .values(status=state.value, answered_at=now, answers=dict(answers))
    )
    return _request(
        conn.execute(
            select(AttributionRequestRecord).where(AttributionRequestRecord.id == request_id)
        ).one()
    )


def open_claims(
    conn: Connection, tenant_id: str, source_kind: str, source_id: str, *, now: datetime
) -> int:
    """Requests about the source that are unanswered (and live) or answered "not me"."""
    r = AttributionRequestRecord
    rows = conn.execute(
        select(r.status, r.expires_at).where(
            r.tenant_id == tenant_id, r.source_kind == source_kind, r.source_id == source_id
        )
    ).all()
    return sum(
        1
        for row in rows
        if row.status == "rejected" or (row.status == "pending" and row.expires_at > now)
    )


def bindings(
    conn: Connection, tenant_id: str, claims: Iterable[Claim]
) -> dict[str, tuple[tuple[str, str], ...]]:
    """The (label, binding) pairs of claims already made, read only: offering a saved
    source again claims nothing anew. Claims about non-members are left out."""
    claims = list(claims)
    members = set(
        conn.execute(
            select(SubjectRecord.id).where(
                SubjectRecord.tenant_id == tenant_id,
                SubjectRecord.kind == SubjectKind.MEMBER.value,
                SubjectRecord.id.in_([c.subject_id for c in claims]),
            )
        ).scalars()
    )
    found: dict[str, list[tuple[str, str]]] = {}
    for claim in claims:
        if claim.subject_id in members:
            found.setdefault(claim.subject_id, []).append((claim.label, binding(claim)))
    return {subject: tuple(pairs) for subject, pairs in found.items()}


def requests_of(
    conn: Connection, person: Principal, *, after: str | None = None, limit: int | None = None
) -> list[AttributionRequest]:
    """The person's requests, newest first (after the request `after`, at most `limit`)."""
    table = table_of(AttributionRequestRecord)
    r = table.c
    rows = rows_after(
        conn,
        select(table).where(r.tenant_id == person.tenant_id, r.subject_id == person.subject_id),
        order=[(r.created_at, True), (r.id, False)],
        id_column=r.id,
        after=after,
        limit=limit,
    )
    return [_request(row) for row in rows]


def standing_confirmations(
    conn: Connection, person: Principal, source_kind: str
) -> list[AttributionRequest]:
    """The person's requests about sources of `source_kind` that they answered "that's
    me" and whose confirmation still stands: the ledger's newest answer on the binding is
    theirs and `confirmed` (a rename away voids it, a "not me" replaces it)."""
    r = AttributionRequestRecord
    rows = conn.execute(
        select(r).where(
            r.tenant_id == person.tenant_id,
            r.subject_id == person.subject_id,
            r.source_kind == source_kind,
            r.status == "confirmed",
        )
    ).all()
    if not rows:
        return []
    held = states(conn, [person.subject_id], up_to=tail_seq(conn))
    return [
        _request(row)
        for row in rows
        if held.get((person.subject_id, row.binding)) is ConsentState.CONFIRMED
    ]


def get_request(conn: Connection, person: Principal, request_id: str) -> AttributionRequest:
    """One of the person's requests; anyone else's is unknown to them."""
    row = conn.execute(
        select(AttributionRequestRecord).where(AttributionRequestRecord.id == request_id)
    ).first()
    if row is None or row.subject_id != person.subject_id:
        raise UnknownAttributionRequest(f"no attribution request {request_id}")
    return _request(row)
