"""Who belongs to a tenant: adding a member, making a guest a member, renaming someone.

A guest is a name heard in a meeting or seen in a thread: nobody vouched that it is a
person of the tenant, and a guest never consents. Making someone a member is an admin's
act that vouches for who they are, as issuing a token does. It records no consent, serves
no notice, and confirms none of the words typed under their name while they were a guest:
the gate keeps those a guest's (`gate.guest_then`). They read the notice and decide
themselves, in their own session.

A typed name must never land on a member by collision, so a name belongs to one person of
the tenant: adding a member under a guest's name is refused (promote that guest if it is
them, or choose another name), and so is renaming anyone to a name in use.

Each change is one audit entry holding ids and the action, never a name: the chain holds
no personal data (rule 13), and a hashed name is easily guessed. A promotion is also a row
of its own (`SubjectPromotionRecord`, when it took effect) that `audit verify` holds to the
hash the chain recorded: the gate reads its time.
"""

from __future__ import annotations

import shlex
import uuid
from datetime import datetime

from sqlalchemy import Connection, select, update

from minutekeeper.consent.audit import insert_audited
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.domain import Subject, SubjectKind
from minutekeeper.consent.errors import (
    AmbiguousSubject,
    InvalidValue,
    NameTaken,
    NotAGuest,
    UnknownSubject,
)
from minutekeeper.consent.store import SubjectPromotionRecord, SubjectRecord
from minutekeeper.consent.tenants import (
    add_subject,
    as_subject,
    clean_name,
    get_subject,
    has_member,
    mark_multi_user,
)
from minutekeeper.core.db import rows_by_id_or_prefix, table_of


def shell_word(text: str) -> str:
    """`text` as one word of a command line to paste into a shell: in double quotes, or
    single ones where double quotes would let the shell read something into it."""
    return f'"{text}"' if not set(text) & set('"$`\\!') else shlex.quote(text)


def promote_command(name: str, *, tenant: str | None = None) -> str:
    """The command that makes the guest `name` a member, ready to paste into a shell."""
    where = f" --tenant {shell_word(tenant)}" if tenant else ""
    return f"minutekeeper members promote {shell_word(name)}{where}"


def named(conn: Connection, tenant_id: str, name: str) -> list[Subject]:
    """The tenant's people (not erased) called exactly `name`, oldest first."""
    s = table_of(SubjectRecord).c
    rows = conn.execute(
        select(table_of(SubjectRecord))
        .where(s.tenant_id == tenant_id, s.display_name == name.strip(), s.erased_at.is_(None))
        .order_by(s.created_at, s.id)
    )
    return [as_subject(row) for row in rows]


def resolve(conn: Connection, tenant_id: str, ref: str) -> Subject:
    """The person `ref` names: the one person of that name, else the one whose id (or
    unique id prefix) it is. A name several people have is refused with their ids."""
    people = named(conn, tenant_id, ref)
    if len(people) > 1:
        ids = ", ".join(f"{p.id} ({p.kind.value})" for p in people)
        raise AmbiguousSubject(f"{len(people)} people are named {ref.strip()!r}: give the id "
                               f"of the one you mean ({ids})")  # fmt: skip
    if people:
        return people[0]
    table = table_of(SubjectRecord)
    rows = rows_by_id_or_prefix(
        conn, select(table.c.id).where(table.c.tenant_id == tenant_id), table.c.id, ref
    )
    if len(rows) != 1:
        raise UnknownSubject(f"no one in this tenant is named {ref.strip()!r}, nor has that "
                             "id (minutekeeper members list)")  # fmt: skip
    return get_subject(conn, rows[0].id)


def _refuse_taken(conn: Connection, tenant_id: str, name: str, *, by: str | None = None) -> None:
    """Refuse `name` when someone other than `by` has it."""
    for person in named(conn, tenant_id, name):
        if person.id == by:
            continue
        if person.kind is SubjectKind.MEMBER:
            raise NameTaken(f"{name!r} is a member already (minutekeeper members list)")
        raise NameTaken(
            f"a guest named {name!r} exists (a name heard in a meeting): if that is this "
            f"person, make the guest a member: {promote_command(name)}; if it is someone "
            "else, give one of them another name (minutekeeper members rename)"
        )


def _audit(
    conn: Connection, writer: ChainWriter, action: str, subject: Subject, *, actor_id: str
) -> None:
    payload = {"tenant_id": subject.tenant_id, "subject_id": subject.id,
               "kind": subject.kind.value}  # fmt: skip
    writer.audit(conn, actor=actor_id, action=action, object_type="subject",
                 object_id=subject.id, payload=payload)  # fmt: skip


def add_member(
    conn: Connection, writer: ChainWriter, tenant_id: str, name: str, *, actor_id: str,
    at: datetime,
) -> Subject:  # fmt: skip
    """A new member called `name`, refused if anyone of the tenant has that name."""
    name = clean_name(name, what="a member's name")
    _refuse_taken(conn, tenant_id, name)
    member = add_subject(conn, writer, tenant_id, kind=SubjectKind.MEMBER, display_name=name,
                         created_at=at)  # fmt: skip
    _audit(conn, writer, "subject.added", member, actor_id=actor_id)
    return member


def promote(
    conn: Connection, writer: ChainWriter, tenant_id: str, ref: str, *, actor_id: str,
    at: datetime,
) -> Subject:  # fmt: skip
    """Make the guest `ref` (a name, or an id where several guests share it) a member, from
    `at` on. A second member makes the tenant multi-user for good, as adding one does."""
    people = named(conn, tenant_id, ref)
    if any(p.kind is SubjectKind.MEMBER for p in people):
        also = any(p.kind is SubjectKind.GUEST for p in people)
        raise NotAGuest(f"{ref.strip()!r} is a member already" + (
            "; a guest of that name stays a guest: to make it a member, rename it first by "
            "its id (minutekeeper members list --ids)" if also else ""))  # fmt: skip
    if len(people) > 1:
        ids = ", ".join(p.id for p in people)
        raise AmbiguousSubject(f"{len(people)} guests are named {ref.strip()!r}, perhaps "
                               f"different people: give the id of the one to make a member "
                               f"({ids})")  # fmt: skip
    guest = people[0] if people else resolve(conn, tenant_id, ref)
    if guest.erased_at is not None:
        raise NotAGuest(f"subject {guest.id} was erased: it cannot become a member")
    if guest.kind is not SubjectKind.GUEST:
        raise NotAGuest(f"{guest.display_name or guest.id!r} is a {guest.kind.value} already")
    if guest.display_name is not None:
        for person in named(conn, tenant_id, guest.display_name):
            if person.kind is SubjectKind.MEMBER:  # reached by id: two members of one name
                raise NameTaken(f"{guest.display_name!r} is a member already: rename this "
                                "guest first (minutekeeper members rename ID NEW)")  # fmt: skip
    if has_member(conn, tenant_id):
        mark_multi_user(conn, writer, tenant_id, reason="second_member")
    s = SubjectRecord
    changed = conn.execute(
        update(s)
        .where(s.id == guest.id, s.kind == SubjectKind.GUEST.value, s.erased_at.is_(None))
        .values(kind=SubjectKind.MEMBER.value)
    )
    if changed.rowcount != 1:
        raise NotAGuest(f"subject {guest.id} is no longer a guest")
    values = {"id": str(uuid.uuid4()), "tenant_id": tenant_id, "subject_id": guest.id,
              "actor_id": actor_id, "promoted_at": at}  # fmt: skip
    insert_audited(conn, writer, SubjectPromotionRecord, values, actor=actor_id,
                   action="subject.promoted", object_type="subject_promotion")  # fmt: skip
    return get_subject(conn, guest.id)


def rename(
    conn: Connection, writer: ChainWriter, tenant_id: str, ref: str, new_name: str, *,
    actor_id: str,
) -> tuple[Subject, str]:  # fmt: skip
    """Give the person `ref` the name `new_name`, refused if anyone else has it; returns
    them renamed and their old name."""
    person = resolve(conn, tenant_id, ref)
    if person.erased_at is not None or person.display_name is None:
        raise InvalidValue(f"subject {person.id} was erased: it has no name to change")
    name = clean_name(new_name, what="the new name")
    if name == person.display_name:
        raise InvalidValue(f"{name!r} has that name already")
    _refuse_taken(conn, tenant_id, name, by=person.id)
    conn.execute(
        update(SubjectRecord).where(SubjectRecord.id == person.id).values(display_name=name)
    )
    renamed = get_subject(conn, person.id)
    _audit(conn, writer, "subject.renamed", renamed, actor_id=actor_id)
    return renamed, person.display_name
