"""Tenants with their switches, and the subjects (people) that belong to them.

An admin switch never counts as anyone's consent: the switches only gate whether a
tenant's data may be kept at all (rule 2). Every switch change is its own insert-only row,
so a decision can be replayed against the switches as they were.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, bindparam, insert, select, update

from minutekeeper.consent.audit import insert_audited
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.domain import Subject, SubjectKind, Tenant
from minutekeeper.consent.errors import InvalidValue, TenantMismatch, UnknownSubject, UnknownTenant
from minutekeeper.consent.store import SubjectRecord, TenantRecord, TenantSwitchChangeRecord
from minutekeeper.core.db import UTCDateTime, rows_after, rows_by_id_or_prefix, table_of

MAX_NAME = 200
SWITCHES = ("ai_features_enabled", "training_sharing_enabled", "vendor_sharing_enabled")


def clean_name(value: str, *, what: str) -> str:
    name = value.strip()
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise InvalidValue(f"{what} must be 1 to {MAX_NAME} printable characters")
    return name


def _tenant(row: Row[Any]) -> Tenant:
    return Tenant(
        id=row.id,
        name=row.name,
        ai_features_enabled=row.ai_features_enabled,
        training_sharing_enabled=row.training_sharing_enabled,
        vendor_sharing_enabled=row.vendor_sharing_enabled,
    )


def as_subject(row: Row[Any]) -> Subject:
    return Subject(
        id=row.id,
        tenant_id=row.tenant_id,
        kind=SubjectKind(row.kind),
        display_name=row.display_name,
        erased_at=row.erased_at,
    )


def create_tenant(
    conn: Connection,
    writer: ChainWriter,
    name: str,
    *,
    actor_id: str,
    ai_features_enabled: bool = True,
    training_sharing_enabled: bool = False,
    vendor_sharing_enabled: bool = False,
) -> Tenant:
    """A new tenant. AI features start on, sharing for training starts off (opt-in)."""
    name = clean_name(name, what="tenant name")
    if conn.execute(select(TenantRecord.id).where(TenantRecord.name == name)).first():
        raise InvalidValue(f"a tenant named {name!r} exists already")
    tenant_id = str(uuid.uuid4())
    switches = {
        "ai_features_enabled": ai_features_enabled,
        "training_sharing_enabled": training_sharing_enabled,
        "vendor_sharing_enabled": vendor_sharing_enabled,
    }
    conn.execute(
        insert(TenantRecord).values(id=tenant_id, name=name, created_at=writer.clock(), **switches)
    )
    _record_switches(conn, writer, tenant_id, switches, actor_id=actor_id, action="tenant.created")
    return get_tenant(conn, tenant_id)


def tenant_ids(conn: Connection) -> list[str]:
    return list(conn.execute(select(TenantRecord.id).order_by(TenantRecord.id)).scalars())


def get_tenant(conn: Connection, tenant_id: str) -> Tenant:
    row = conn.execute(select(TenantRecord).where(TenantRecord.id == tenant_id)).first()
    if row is None:
        raise UnknownTenant(f"no tenant {tenant_id}")
    return _tenant(row)


def find_tenant(conn: Connection, name: str) -> Tenant | None:
    row = conn.execute(select(TenantRecord).where(TenantRecord.name == name)).first()
    return _tenant(row) if row else None


def set_switches(
    conn: Connection,
    writer: ChainWriter,
    tenant_id: str,
    *,
    actor_id: str,
    ai_features_enabled: bool | None = None,
    training_sharing_enabled: bool | None = None,
    vendor_sharing_enabled: bool | None = None,
) -> Tenant:
    """Change some switches; a change to the values they already have records nothing."""
    current = get_tenant(conn, tenant_id)
    asked = {
        "ai_features_enabled": ai_features_enabled,
        "training_sharing_enabled": training_sharing_enabled,
        "vendor_sharing_enabled": vendor_sharing_enabled,
    }
    switches = {k: getattr(current, k) if v is None else v for k, v in asked.items()}
    if all(switches[k] == getattr(current, k) for k in SWITCHES):
        return current
    conn.execute(update(TenantRecord).where(TenantRecord.id == tenant_id).values(**switches))
    _record_switches(
        conn, writer, tenant_id, switches, actor_id=actor_id, action="tenant.switches_changed"
    )
    return get_tenant(conn, tenant_id)


def _record_switches(
    conn: Connection,
    writer: ChainWriter,
    tenant_id: str,
    switches: dict[str, bool],
    *,
    actor_id: str,
    action: str,
) -> None:
    values = {"id": str(uuid.uuid4()), "tenant_id": tenant_id, "actor_id": actor_id,
              "changed_at": writer.clock(), **switches}  # fmt: skip
    insert_audited(conn, writer, TenantSwitchChangeRecord, values, actor=actor_id,
                   action=action, object_type="tenant_switch_change")  # fmt: skip


_SWITCH_HISTORY = (
    select(TenantSwitchChangeRecord)
    .where(
        TenantSwitchChangeRecord.tenant_id == bindparam("tenant_id"),
        TenantSwitchChangeRecord.changed_at <= bindparam("until", type_=UTCDateTime()),
    )
    .order_by(TenantSwitchChangeRecord.changed_at)
)


def switch_history(
    conn: Connection, tenant_id: str, *, until: datetime
) -> list[tuple[datetime, dict[str, bool]]]:
    """Every switch setting of the tenant up to `until`, oldest first (switches change rarely)."""
    rows = conn.execute(_SWITCH_HISTORY, {"tenant_id": tenant_id, "until": until}).all()
    return [(row.changed_at, {k: bool(getattr(row, k)) for k in SWITCHES}) for row in rows]


def switches_as_of(
    history: list[tuple[datetime, dict[str, bool]]], at: datetime
) -> dict[str, bool]:
    """The switches standing at `at`; all off before the tenant existed."""
    standing = dict.fromkeys(SWITCHES, False)
    for changed_at, switches in history:
        if changed_at > at:
            break
        standing = switches
    return standing


def add_subject(
    conn: Connection,
    writer: ChainWriter,
    tenant_id: str,
    *,
    kind: SubjectKind,
    display_name: str | None,
    created_at: datetime,
) -> Subject:
    """A new person of the tenant. A second member makes the tenant multi-user for good."""
    get_tenant(conn, tenant_id)
    if kind is SubjectKind.MEMBER and has_member(conn, tenant_id):
        mark_multi_user(conn, writer, tenant_id, reason="second_member")
    name = clean_name(display_name, what="display name") if display_name is not None else None
    subject_id = str(uuid.uuid4())
    conn.execute(
        insert(SubjectRecord).values(
            id=subject_id,
            tenant_id=tenant_id,
            kind=kind.value,
            display_name=name,
            created_at=created_at,
        )
    )
    return get_subject(conn, subject_id)


def has_member(conn: Connection, tenant_id: str) -> bool:
    return (
        conn.execute(
            select(SubjectRecord.id)
            .where(
                SubjectRecord.tenant_id == tenant_id,
                SubjectRecord.kind == SubjectKind.MEMBER.value,
            )
            .limit(1)
        ).first()
        is not None
    )


# --- who may record consent without a token -------------------------------------------


def mark_multi_user(conn: Connection, writer: ChainWriter, tenant_id: str, *, reason: str) -> None:
    """Record, once and for good, that the tenant has more than one person who can act:
    from then on nobody records consent without their own token or session."""
    marked = conn.execute(
        update(TenantRecord)
        .where(TenantRecord.id == tenant_id, TenantRecord.multi_user_since.is_(None))
        .values(multi_user_since=writer.clock())
    )
    if marked.rowcount:
        writer.audit(
            conn,
            actor="system",
            action="tenant.multi_user",
            object_type="tenant",
            object_id=tenant_id,
            payload={"tenant_id": tenant_id, "reason": reason},
        )


def pin_owner(conn: Connection, writer: ChainWriter, tenant_id: str, subject_id: str) -> None:
    """Pin `subject_id` as the owner of a single-user install, if the tenant has no owner
    yet, is not multi-user and this is its only member."""
    row = conn.execute(
        select(TenantRecord.owner_id, TenantRecord.multi_user_since).where(
            TenantRecord.id == tenant_id
        )
    ).one()
    if row.owner_id is not None or row.multi_user_since is not None:
        return
    members = conn.execute(
        select(SubjectRecord.id).where(
            SubjectRecord.tenant_id == tenant_id, SubjectRecord.kind == SubjectKind.MEMBER.value
        )
    ).all()
    if [m.id for m in members] != [subject_id]:
        return
    conn.execute(
        update(TenantRecord).where(TenantRecord.id == tenant_id).values(owner_id=subject_id)
    )
    writer.audit(
        conn,
        actor=subject_id,
        action="tenant.owner_pinned",
        object_type="tenant",
        object_id=tenant_id,
        payload={"tenant_id": tenant_id, "owner_id": subject_id},
    )


def owner_problem(conn: Connection, tenant_id: str, subject_id: str) -> str | None:
    """Why `subject_id` may not record consent as the local install's owner, or None."""
    row = conn.execute(
        select(TenantRecord.owner_id, TenantRecord.multi_user_since).where(
            TenantRecord.id == tenant_id
        )
    ).one()
    if row.multi_user_since is not None:
        return (
            "this install has several people or API tokens, so each person records their "
            "own consent in their own session: the web page or the API with their own token"
        )
    if row.owner_id != subject_id:
        return "only the owner of this single-user install records consent from the command line"
    return None


def get_subject(conn: Connection, subject_id: str, *, tenant_id: str | None = None) -> Subject:
    """The subject; with `tenant_id`, one of another tenant is refused (rule 15)."""
    row = conn.execute(select(SubjectRecord).where(SubjectRecord.id == subject_id)).first()
    if row is None:
        raise UnknownSubject(f"no subject {subject_id}")
    if tenant_id is not None and row.tenant_id != tenant_id:
        raise TenantMismatch(f"subject {subject_id} belongs to another tenant")
    return as_subject(row)


def find_member(
    conn: Connection, tenant_id: str, display_name: str, kind: SubjectKind = SubjectKind.MEMBER
) -> Subject | None:
    """The tenant's oldest subject of `kind` (a member, unless said) with this name."""
    row = conn.execute(
        select(SubjectRecord)
        .where(
            SubjectRecord.tenant_id == tenant_id,
            SubjectRecord.display_name == display_name,
            SubjectRecord.kind == kind.value,
        )
        .order_by(SubjectRecord.created_at)
        .limit(1)
    ).first()
    return as_subject(row) if row else None


def find_subject(conn: Connection, tenant_id: str, ref: str) -> Subject:
    """The tenant's subject with id (or unique id prefix) `ref`, else the one member, or
    failing that the one guest, with that name."""
    table = table_of(SubjectRecord)
    query = select(table).where(table.c.tenant_id == tenant_id)
    rows = rows_by_id_or_prefix(conn, query, table.c.id, ref)
    if not rows:
        for kind in (SubjectKind.MEMBER, SubjectKind.GUEST):
            named = query.where(table.c.display_name == ref.strip(), table.c.kind == kind.value)
            rows = list(conn.execute(named.limit(2)).all())
            if rows:
                break
    if len(rows) != 1:
        what = "more than one person" if rows else "no person"
        raise UnknownSubject(f"{what} in this tenant matches {ref!r}; give the subject id")
    return as_subject(rows[0])


def list_subjects(
    conn: Connection, tenant_id: str, *, after: str | None = None, limit: int | None = None
) -> list[Subject]:
    """The tenant's subjects, oldest first (erased ones keep their id, without a name):
    those after the subject `after`, at most `limit` (all, without these)."""
    s = table_of(SubjectRecord).c
    rows = rows_after(
        conn,
        select(table_of(SubjectRecord)).where(s.tenant_id == tenant_id),
        order=[(s.created_at, False), (s.id, False)],
        id_column=s.id,
        after=after,
        limit=limit,
    )
    return [as_subject(row) for row in rows]
