"""The consent ledger: insert-only events ordered by a server sequence (rules 3, 4, 7, 14, 19).

Every event is appended to the `ledger` hash chain while the caller holds the writer lock,
and the current-consent projection is updated in the same transaction, so a read after the
write returns never sees an older state. The projection can always be rebuilt from the ledger.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, delete, func, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased

from minutekeeper.consent.chain import LEDGER, ChainWriter
from minutekeeper.consent.domain import (
    POSITIVE_STATES,
    ConsentEvent,
    ConsentState,
    CurrentConsent,
    Principal,
    SubjectKind,
)
from minutekeeper.consent.errors import (
    ConsentAlreadyExpired,
    ConsentForOtherSubject,
    GpcSignalled,
    IdempotencyConflict,
    InvalidNotice,
    InvalidValue,
    NoticeNotServed,
    NoticeSuperseded,
    SubjectCannotConsent,
    TenantMismatch,
    UnknownNoticeVersion,
    UnknownSubject,
)
from minutekeeper.consent.notices import last_served
from minutekeeper.consent.purposes import (
    CONSENT_PURPOSES,
    TRAIN_AI_SYSTEM,
    covers,
    validate_purpose,
)
from minutekeeper.consent.store import (
    ConsentEventRecord,
    CurrentConsentRecord,
    NoticeRecord,
    NoticeServedRecord,
    NoticeTranslationRecord,
    NoticeVersionRecord,
    SubjectRecord,
)

SCOPE_ALL = "all"
# How an event came: the person's own click or command, the browser's GPC signal, a give
# the person confirmed although their browser sent GPC, or the system (expiry).
METHODS = ("explicit", "gpc", "gpc_override", "system")
MAX_VALIDITY = timedelta(days=3650)
MAX_IDEMPOTENCY_KEY = 200


def _event(row: Mapping[Any, Any]) -> ConsentEvent:
    return ConsentEvent(
        seq=row["seq"],
        id=row["id"],
        tenant_id=row["tenant_id"],
        subject_id=row["subject_id"],
        actor_id=row["actor_id"],
        actor_role=row["actor_role"],
        purpose=row["purpose"],
        scope=row["scope"],
        state=ConsentState(row["state"]),
        method=row["method"],
        notice_version_id=row["notice_version_id"],
        served_notice_id=row["served_notice_id"],
        recorded_at=row["recorded_at"],
        valid_until=row["valid_until"],
        gpc=row["gpc"],
        idempotency_key=row["idempotency_key"],
        entry_hash=row["entry_hash"],
        via=row.get("via"),
    )


def record(
    conn: Connection,
    writer: ChainWriter,
    actor: Principal,
    *,
    purpose: str,
    state: ConsentState,
    subject_id: str | None = None,
    notice_version_id: str | None = None,
    valid_until: datetime | None = None,
    validity: timedelta = timedelta(days=365),
    method: str = "explicit",
    gpc: bool = False,
    override_gpc: bool = False,
    idempotency_key: str | None = None,
    via: str,
) -> ConsentEvent:
    """Append one decision of `actor` about their own consent, after checking all of it.

    Nothing is written when any check fails. Naming another subject is refused whatever
    the actor's role: an admin or a host never consents for someone else. A give that
    came with GPC (`gpc`) is refused unless the person overrode the signal explicitly
    (`override_gpc`); the override is recorded as the event's method. `via` names what
    the decision came through (a token, a session, the local owner's command).
    """
    now = writer.clock()
    purpose, valid_until = check_request(
        actor,
        purpose=purpose,
        state=state,
        subject_id=subject_id,
        valid_until=valid_until,
        validity=validity,
        now=now,
    )
    if method not in METHODS:
        raise InvalidValue(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    if gpc and state in POSITIVE_STATES:
        if not override_gpc:
            raise GpcSignalled(
                "your browser sends Global Privacy Control (Sec-GPC: 1), which opts you out "
                "of training; to give consent anyway, confirm that you override it "
                "(override_gpc: true)"
            )
        method = "gpc_override"
    _check_can_consent(conn, actor)
    if idempotency_key is not None:
        replayed = _replay_idempotent(
            conn, actor, idempotency_key, purpose=purpose, state=state, notice=notice_version_id
        )
        if replayed is not None:
            return replayed
    served_id = None
    if notice_version_id is not None or state in POSITIVE_STATES:
        served_id = _check_notice(
            conn, actor, purpose, notice_version_id, giving=state in POSITIVE_STATES
        )
    row = writer.append(
        conn,
        LEDGER,
        {
            "id": str(uuid.uuid4()),
            "tenant_id": actor.tenant_id,
            "subject_id": actor.subject_id,
            "actor_id": actor.subject_id,
            "actor_role": actor.role.value,
            "purpose": purpose,
            "scope": SCOPE_ALL,
            "state": state.value,
            "method": method,
            "notice_version_id": notice_version_id,
            "served_notice_id": served_id,
            "recorded_at": now,
            "valid_until": valid_until,
            "gpc": gpc,
            "idempotency_key": idempotency_key,
            "via": via,
        },
    )
    project(conn, row)
    return _event(row)


def check_request(
    actor: Principal,
    *,
    purpose: str,
    state: ConsentState,
    subject_id: str | None,
    valid_until: datetime | None,
    validity: timedelta,
    now: datetime,
) -> tuple[str, datetime | None]:
    """The checks that need no database: purpose, whose consent, validity period.

    Returns the purpose and the consent's end (None for an opt-out). Callers that show a
    notice before recording run this first, so bad input is refused before anything is shown.
    """
    purpose = validate_purpose(purpose)
    if subject_id is not None and subject_id != actor.subject_id:
        raise ConsentForOtherSubject("only the person themself can record their consent")
    if state not in POSITIVE_STATES:
        return purpose, None
    valid_until = valid_until or now + validity
    if valid_until <= now:
        raise ConsentAlreadyExpired("valid_until lies in the past: that consent would be expired")
    if valid_until - now > MAX_VALIDITY:
        raise InvalidValue("consent can be valid for at most ten years")
    return purpose, valid_until


# Built once: every append runs these checks.
_SUBJECT = select(SubjectRecord.tenant_id, SubjectRecord.kind, SubjectRecord.erased_at).where(
    SubjectRecord.id == bindparam("subject_id")
)
_NOTICE = (
    select(
        NoticeVersionRecord.notice_id,
        NoticeVersionRecord.version,
        NoticeVersionRecord.purposes,
        NoticeRecord.tenant_id,
    )
    .join(NoticeRecord, NoticeRecord.id == NoticeVersionRecord.notice_id)
    .where(NoticeVersionRecord.id == bindparam("version_id"))
)
_NEWEST_VERSION = select(func.max(NoticeVersionRecord.version)).where(
    NoticeVersionRecord.notice_id == bindparam("notice_id")
)
_LAST_OPT_OUT = (
    select(ConsentEventRecord.recorded_at)
    .where(
        ConsentEventRecord.subject_id == bindparam("subject_id"),
        ConsentEventRecord.purpose == bindparam("purpose"),
        ConsentEventRecord.state.not_in([s.value for s in POSITIVE_STATES]),
    )
    .order_by(ConsentEventRecord.seq.desc())
    .limit(1)
)


def _check_can_consent(conn: Connection, actor: Principal) -> None:
    subject = conn.execute(_SUBJECT, {"subject_id": actor.subject_id}).first()
    if subject is None:
        raise UnknownSubject(f"no subject {actor.subject_id}")
    if subject.tenant_id != actor.tenant_id:
        raise TenantMismatch(f"subject {actor.subject_id} belongs to another tenant")
    if subject.erased_at is not None:
        raise SubjectCannotConsent("an erased person cannot record consent")
    if subject.kind == SubjectKind.GUEST.value:
        raise SubjectCannotConsent(
            "a guest (a name heard in a meeting) cannot record consent, only a member can: "
            "an admin makes a guest a member (minutekeeper members promote NAME)"
        )
    if subject.kind != SubjectKind.MEMBER.value:
        raise SubjectCannotConsent(f"a {subject.kind} subject cannot record consent")


def _check_notice(
    conn: Connection,
    actor: Principal,
    purpose: str,
    notice_version_id: str | None,
    *,
    giving: bool,
) -> str:
    """The serving a decision rests on. A give must name the notice's current version,
    shown to this person after their last opt-out: an older serving was read before they
    changed their mind, an older version may not state the terms in force."""
    if notice_version_id is None:
        raise InvalidNotice("giving consent needs the notice version the person was shown")
    version = conn.execute(_NOTICE, {"version_id": notice_version_id}).first()
    if version is None or version.tenant_id != actor.tenant_id:  # another's: unknown here
        raise UnknownNoticeVersion(f"no notice version {notice_version_id}")
    if not any(covers(granted, purpose) for granted in version.purposes):
        raise InvalidNotice(f"notice version {version.version} does not cover {purpose!r}")
    served = last_served(conn, subject_id=actor.subject_id, version_id=notice_version_id)
    if not giving:
        return served.id
    newest = conn.execute(_NEWEST_VERSION, {"notice_id": version.notice_id}).scalar_one()
    if version.version != newest:
        raise NoticeSuperseded(
            f"notice version {version.version} was replaced by version {newest}; "
            "read the current version and decide on it"
        )
    opted_out = conn.execute(
        _LAST_OPT_OUT, {"subject_id": actor.subject_id, "purpose": purpose}
    ).scalar()
    if opted_out is not None and served.served_at <= opted_out:
        raise NoticeNotServed(
            "you opted out after this notice was last shown to you; read it again "
            "before giving consent"
        )
    return served.id


def _replay_idempotent(
    conn: Connection,
    actor: Principal,
    key: str,
    *,
    purpose: str,
    state: ConsentState,
    notice: str | None,
) -> ConsentEvent | None:
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidValue(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} printable characters"
        )
    row = conn.execute(
        select(ConsentEventRecord).where(
            ConsentEventRecord.subject_id == actor.subject_id,
            ConsentEventRecord.idempotency_key == key,
        )
    ).first()
    if row is None:
        return None
    if (row.purpose, row.state, row.notice_version_id) != (purpose, state.value, notice):
        raise IdempotencyConflict("this Idempotency-Key was already used for a different request")
    return _event(row._mapping)


_PROJECTED = (
    "tenant_id", "subject_id", "purpose", "scope", "state", "notice_version_id",
    "recorded_at", "valid_until",
)  # fmt: skip
_PROJECTION_KEY = ("subject_id", "purpose", "scope")


@lru_cache(maxsize=2)
def _upsert(dialect_name: str) -> Any:
    """The projection upsert for one dialect, built once: it runs on every append."""
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    statement = dialect.insert(CurrentConsentRecord)
    updated = [c for c in (*_PROJECTED, "last_seq") if c not in _PROJECTION_KEY]
    return statement.on_conflict_do_update(
        index_elements=list(_PROJECTION_KEY),
        set_={c: statement.excluded[c] for c in updated},
    )


def project(conn: Connection, row: Mapping[str, Any]) -> None:
    """Bring the current-consent projection up to the appended event `row`."""
    values = {c: row[c] for c in _PROJECTED}
    values["last_seq"] = row["seq"]
    conn.execute(_upsert(conn.dialect.name), values)


def honour_gpc(
    conn: Connection, writer: ChainWriter, actor: Principal, *, via: str
) -> ConsentEvent | None:
    """A request with `Sec-GPC: 1` opts its subject out of training (rule 14).

    Writes nothing when the subject is already opted out, so the header on every request
    does not grow the ledger, nor when their newest decision is a give they made while
    overriding the signal: GPC never undoes a newer explicit choice.
    """
    if not gpc_would_change(conn, actor.subject_id):
        return None
    state = current_state(conn, actor.subject_id, TRAIN_AI_SYSTEM)
    return record(
        conn,
        writer,
        actor,
        purpose=TRAIN_AI_SYSTEM,
        state=ConsentState.REFUSED if state is None else ConsentState.WITHDRAWN,
        method="gpc",
        gpc=True,
        via=via,
    )


# What a decision or a status reads of a consent event.
_FACT_COLUMNS = (
    "seq", "subject_id", "purpose", "state", "method", "notice_version_id", "recorded_at",
    "valid_until",
)  # fmt: skip


# Past any sequence number: "now" for a query that always takes a ledger position.
NOW_SEQ = 2**62


class Newest(NamedTuple):
    """What a decision or a status reads of a consent event (`_FACT_COLUMNS`)."""

    seq: int
    subject_id: str
    purpose: str
    state: str
    method: str
    notice_version_id: str | None
    recorded_at: datetime
    valid_until: datetime | None


@lru_cache(maxsize=32)
def _newest_query(query: Any, purposes: tuple[str, ...], lateral: bool) -> Any:
    """`query` (over subjects) with the columns of the subject's newest consent event per
    purpose at `:newest_up_to`, in one statement; built once per query (building it costs
    more than running it). SQLite joins the events whose sequence number a correlated
    subquery names (a row per subject and event); PostgreSQL, whose planner cannot join on
    a correlated subquery by index, reads each purpose's event through a LATERAL join (a
    row per subject, each purpose's columns side by side)."""
    newest_at: Any = bindparam("newest_up_to")
    if lateral:
        for i, purpose in enumerate(purposes):
            e = aliased(ConsentEventRecord)
            per_purpose = (
                select(*(getattr(e, c) for c in _FACT_COLUMNS))
                .where(e.subject_id == SubjectRecord.id, e.purpose == purpose, e.seq <= newest_at)
                .order_by(e.seq.desc())
                .limit(1)
                .lateral(f"newest_{i}")
            )
            query = query.add_columns(*per_purpose.c).join_from(
                SubjectRecord, per_purpose, true(), isouter=True
            )
        return query
    seqs = []
    for purpose in purposes:
        inner = aliased(ConsentEventRecord)
        latest = (
            select(inner.seq)
            .where(inner.subject_id == SubjectRecord.id, inner.purpose == purpose,
                   inner.seq <= newest_at)
            .order_by(inner.seq.desc())
            .limit(1)
        )  # fmt: skip
        seqs.append(latest.scalar_subquery())
    newest = aliased(ConsentEventRecord, name="newest")
    columns = [getattr(newest, c).label(f"newest_{c}") for c in _FACT_COLUMNS]
    return query.add_columns(*columns).outerjoin(newest, newest.seq.in_(seqs))


def with_newest(
    conn: Connection,
    query: Any,
    purposes: Sequence[str],
    params: Mapping[str, Any],
    *,
    up_to: int | None = None,
) -> tuple[list[Any], list[Newest]]:
    """The rows of `query`, a select over subjects (each subject once, with more columns
    that are the caller's to ignore), and their newest consent event per purpose at ledger
    position `up_to` (default: now), read from the ledger itself in one statement: one
    index seek per subject and purpose through (subject, purpose, seq). The gate, a
    person's status and the counts rest on this, never on the current-consent projection,
    which `audit verify` checks against it. Consent purposes are recorded with scope 'all'
    only (an attribution's scope is its binding, under its own purpose)."""
    bound = {**params, "newest_up_to": NOW_SEQ if up_to is None else up_to}
    width = len(query.selected_columns)
    subjects: dict[Any, Any] = {}
    events = []
    if conn.dialect.name == "sqlite":
        for row in conn.execute(_newest_query(query, tuple(purposes), False), bound):
            subjects.setdefault(row[0], row)
            if row.newest_seq is not None:
                events.append(Newest(*row[width:]))
        return list(subjects.values()), events
    step = len(_FACT_COLUMNS)
    for row in conn.execute(_newest_query(query, tuple(purposes), True), bound):
        if row[0] in subjects:  # a subject `query` yields twice is read once
            continue
        subjects[row[0]] = row
        for start in range(width, len(row), step):
            if row[start] is not None:
                events.append(Newest(*row[start : start + step]))
    return list(subjects.values()), events


_BY_SUBJECTS = select(SubjectRecord.id).where(
    SubjectRecord.id.in_(bindparam("subject_ids", expanding=True))
)
_BY_TENANT = select(SubjectRecord.id).where(SubjectRecord.tenant_id == bindparam("tenant_id"))


def newest_events(
    conn: Connection,
    purposes: Sequence[str],
    *,
    subject_ids: Sequence[str] | None = None,
    tenant_id: str | None = None,
    up_to: int | None = None,
) -> list[Newest]:
    """The newest consent event per (subject, purpose) of `subject_ids` (or of every subject
    of `tenant_id`) at ledger position `up_to` (default: now), from the ledger."""
    if subject_ids == [] or not purposes:
        return []
    params: dict[str, Any]
    if subject_ids is not None:
        base, params = _BY_SUBJECTS, {"subject_ids": sorted(set(subject_ids))}
    else:
        base, params = _BY_TENANT, {"tenant_id": tenant_id}
    return with_newest(conn, base, purposes, params, up_to=up_to)[1]


def gpc_would_change(conn: Connection, subject_id: str) -> bool:
    """Whether the GPC signal opts this subject out now: not when they are opted out
    already, nor when their newest decision is a give that overrode the signal."""
    newest = newest_events(conn, [TRAIN_AI_SYSTEM], subject_ids=[subject_id])
    if not newest:
        return True
    (row,) = newest
    return ConsentState(row.state) in POSITIVE_STATES and row.method != "gpc_override"


def current_state(conn: Connection, subject_id: str, purpose: str) -> ConsentState | None:
    newest = newest_events(conn, [purpose], subject_ids=[subject_id])
    return ConsentState(newest[0].state) if newest else None


def current(conn: Connection, subject_id: str) -> list[CurrentConsent]:
    """The subject's newest decision per purpose, from the ledger."""
    rows = newest_events(conn, CONSENT_PURPOSES, subject_ids=[subject_id])
    return [
        CurrentConsent(
            purpose=row.purpose,
            state=ConsentState(row.state),
            last_seq=row.seq,
            notice_version_id=row.notice_version_id,
            recorded_at=row.recorded_at,
            valid_until=row.valid_until,
        )
        for row in sorted(rows, key=lambda r: r.purpose)
    ]


def state_counts(conn: Connection, tenant_id: str, purpose: str) -> dict[str, int]:
    """How many of the tenant's members are in each state for `purpose` ("undecided" for
    those with no decision), from the ledger: numbers only, never who."""
    members = set(
        conn.execute(
            select(SubjectRecord.id).where(
                SubjectRecord.tenant_id == tenant_id,
                SubjectRecord.kind == SubjectKind.MEMBER.value,
                SubjectRecord.erased_at.is_(None),
            )
        ).scalars()
    )
    counts: dict[str, int] = {}
    for row in newest_events(conn, [purpose], tenant_id=tenant_id):
        if row.subject_id in members:
            counts[row.state] = counts.get(row.state, 0) + 1
    counts["undecided"] = len(members) - sum(counts.values())
    return counts


def history(conn: Connection, subject_id: str) -> list[ConsentEvent]:
    """Every event of the subject, oldest first: the person's receipt, each give with the
    language its notice was read in."""
    e, served = ConsentEventRecord, NoticeServedRecord
    version, translation = NoticeVersionRecord, NoticeTranslationRecord
    rows = conn.execute(
        select(e, func.coalesce(translation.language, version.language).label("read_in"))
        .outerjoin(served, served.id == e.served_notice_id)
        .outerjoin(version, version.id == served.notice_version_id)
        .outerjoin(translation, translation.id == served.translation_id)
        .where(e.subject_id == subject_id)
        .order_by(e.seq)
    ).all()
    return [replace(_event(row._mapping), served_language=row.read_in) for row in rows]


_TAIL_SEQ = select(func.coalesce(func.max(ConsentEventRecord.seq), 0))


def tail_seq(conn: Connection) -> int:
    """The ledger position now: the highest sequence number written."""
    return int(conn.execute(_TAIL_SEQ).scalar_one())


def _projected_from_ledger(conn: Connection) -> list[dict[str, Any]]:
    """What the current-consent projection must hold: the newest event per (subject,
    purpose, scope), from the ledger."""
    e = ConsentEventRecord
    latest = (
        select(func.max(e.seq).label("seq")).group_by(e.subject_id, e.purpose, e.scope).subquery()
    )
    rows = conn.execute(
        select(*(getattr(e, c) for c in _PROJECTED), e.seq).join(latest, latest.c.seq == e.seq)
    ).all()
    return [{**{c: getattr(r, c) for c in _PROJECTED}, "last_seq": r.seq} for r in rows]


def rebuild_projection(conn: Connection) -> int:
    """Recompute the current-consent projection from the ledger; returns its row count."""
    conn.execute(delete(CurrentConsentRecord))
    rows = _projected_from_ledger(conn)
    for row in rows:
        project(conn, {**row, "seq": row["last_seq"]})
    return len(rows)


def projection_size(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(CurrentConsentRecord)).scalar_one())


def projection_differences(conn: Connection) -> list[str]:
    """Where the current-consent projection differs from the ledger it copies (a row
    edited, added, removed or rolled back to an older genuine event): one line each, none
    when they agree. Nothing reads the projection to decide, but a copy that lies is found."""
    expected = {tuple(r[k] for k in _PROJECTION_KEY): r for r in _projected_from_ledger(conn)}
    found = {
        tuple(getattr(r, k) for k in _PROJECTION_KEY): {
            c: getattr(r, c) for c in (*_PROJECTED, "last_seq")
        }
        for r in conn.execute(select(CurrentConsentRecord)).all()
    }
    problems = []
    for key in sorted(set(expected) | set(found)):
        want, have = expected.get(key), found.get(key)
        if want != have:
            what = "missing" if have is None else "not in the ledger" if want is None else "differs"
            problems.append(f"current_consent {'/'.join(key)}: {what}")
    return problems


def expire_due(conn: Connection, writer: ChainWriter, *, now: datetime) -> list[ConsentEvent]:
    """Write an `expired` event for every consent whose valid_until has passed (rule 12)."""
    due = conn.execute(
        select(CurrentConsentRecord).where(
            CurrentConsentRecord.state.in_([s.value for s in POSITIVE_STATES]),
            CurrentConsentRecord.valid_until <= now,
        )
    ).all()
    expired = []
    for row in due:
        appended = writer.append(
            conn,
            LEDGER,
            {
                "id": str(uuid.uuid4()),
                "tenant_id": row.tenant_id,
                "subject_id": row.subject_id,
                "actor_id": "system",
                "actor_role": "system",
                "purpose": row.purpose,
                "scope": row.scope,
                "state": ConsentState.EXPIRED.value,
                "method": "system",
                "notice_version_id": row.notice_version_id,
                "served_notice_id": None,
                "recorded_at": now,
                "valid_until": None,
                "gpc": False,
                "idempotency_key": None,
                "via": "system",
            },
        )
        project(conn, appended)
        expired.append(_event(appended))
    return expired
