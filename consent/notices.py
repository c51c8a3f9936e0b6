"""Notices: immutable, versioned texts a person is shown before deciding (rule 6).

Publishing the same content again creates no version. A version that widens the terms (a
purpose, an artifact kind or a recipient more, or a longer retention) is always a material
change, and the gate judges that against the version each person agreed to, whatever the
stored flag says; an admin may mark any other edit material too. A material change means
consent given to an older version no longer covers new artifacts.

A version may be read in other languages: a translation has its own title and body and the
version's terms (it cannot change what is agreed to), is never changed once published,
and a serving records which translation the person read.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from minutekeeper.consent import facts
from minutekeeper.consent.audit import insert_audited
from minutekeeper.consent.chain import ChainWriter, sha256_hex
from minutekeeper.consent.domain import (
    DEFAULT_NOTICE_KEY,
    ArtifactKind,
    NoticeVersion,
    ServedNotice,
)
from minutekeeper.consent.errors import (
    InvalidNotice,
    NoticeNotServed,
    TranslationExists,
    UnknownNoticeVersion,
)
from minutekeeper.consent.purposes import TAXONOMY, TRAIN_AI_SYSTEM, covers, validate_purpose
from minutekeeper.consent.store import (
    NoticeRecord,
    NoticeServedRecord,
    NoticeTranslationRecord,
    NoticeVersionRecord,
    TrainingCandidateRecord,
)
from minutekeeper.consent.tenants import get_subject, get_tenant

MAX_TITLE = 200
MAX_BODY = 100_000
SURFACES = ("cli", "web", "api", "email")
SHIPPED_NOTICE = Path(__file__).parent / "notice_texts" / "training.toml"
LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[a-z0-9]{2,8})*")


@dataclass(frozen=True)
class NoticeDraft:
    """What an admin publishes; validated before anything is written."""

    key: str
    title: str
    body: str
    purposes: tuple[str, ...]
    artifact_kinds: tuple[str, ...]
    retention_days: int = 365
    recipients: tuple[str, ...] = ()
    language: str = "en"
    material_change: bool = False

    def validated(self) -> NoticeDraft:
        key = self.key.strip()
        if not key or len(key) > 64 or not key.replace("_", "").replace("-", "").isalnum():
            raise InvalidNotice("notice key must be 1 to 64 letters, digits, '-' or '_'")
        title = self.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidNotice(f"notice title must be 1 to {MAX_TITLE} characters")
        body = unicodedata.normalize("NFC", self.body.strip())
        if not body or len(body) > MAX_BODY:
            raise InvalidNotice(f"notice body must be 1 to {MAX_BODY} characters")
        if not self.purposes:
            raise InvalidNotice("a notice must name at least one purpose")
        purposes = tuple(sorted({validate_purpose(p, allowed=TAXONOMY) for p in self.purposes}))
        valid_kinds = {kind.value for kind in ArtifactKind}
        unknown = sorted(set(self.artifact_kinds) - valid_kinds)
        if unknown or not self.artifact_kinds:
            raise InvalidNotice(
                f"unknown artifact kinds {unknown}; valid kinds: {', '.join(sorted(valid_kinds))}"
            )
        if not 1 <= self.retention_days <= 3650:
            raise InvalidNotice("retention_days must be between 1 and 3650")
        recipients = tuple(sorted({r.strip() for r in self.recipients}))
        if len(recipients) > 20 or any(
            not r or len(r) > MAX_TITLE or not r.isprintable() for r in recipients
        ):
            raise InvalidNotice(f"recipients: at most 20 names of 1 to {MAX_TITLE} characters")
        if not 2 <= len(self.language) <= 16:
            raise InvalidNotice("language must be a language tag such as 'en'")
        return NoticeDraft(
            key=key,
            title=title,
            body=body,
            purposes=purposes,
            artifact_kinds=tuple(sorted(set(self.artifact_kinds))),
            retention_days=self.retention_days,
            recipients=recipients,
            language=self.language,
            material_change=self.material_change,
        )


def load_notice_file(path: Path | None) -> NoticeDraft:
    """Read a notice from a TOML file; `None` reads the notice the project ships."""
    source = path if path is not None else "shipped notice"
    try:
        text = SHIPPED_NOTICE.read_text("utf-8") if path is None else path.read_text("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError as error:
        raise InvalidNotice(f"notice file {path} does not exist") from error
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise InvalidNotice(f"cannot read notice file {source}: {error}") from error
    try:
        return NoticeDraft(
            key=str(data.get("key", DEFAULT_NOTICE_KEY)),
            title=str(data["title"]),
            body=str(data["body"]),
            purposes=tuple(str(p) for p in data["purposes"]),
            artifact_kinds=tuple(str(k) for k in data["artifact_kinds"]),
            retention_days=int(data.get("retention_days", 365)),
            recipients=tuple(str(r) for r in data.get("recipients", ())),
            language=str(data.get("language", "en")),
            material_change=bool(data.get("material_change", False)),
        ).validated()
    except KeyError as error:
        raise InvalidNotice(f"notice file {source} lacks the field {error.args[0]!r}") from error
    except (TypeError, ValueError) as error:
        raise InvalidNotice(f"notice file {source} has a malformed field: {error}") from error


def _version(row: Any, tenant_id: str, key: str) -> NoticeVersion:
    return NoticeVersion(
        id=row.id,
        notice_id=row.notice_id,
        tenant_id=tenant_id,
        key=key,
        version=row.version,
        language=row.language,
        title=row.title,
        body=row.body,
        body_sha256=row.body_sha256,
        purposes=tuple(row.purposes),
        artifact_kinds=tuple(row.artifact_kinds),
        retention_days=row.retention_days,
        material_change=row.material_change,
        created_at=row.created_at,
        recipients=tuple(row.recipients or ()),
    )


def publish(
    conn: Connection, writer: ChainWriter, tenant_id: str, draft: NoticeDraft, *, actor_id: str
) -> tuple[NoticeVersion, bool]:
    """Publish `draft`; returns the version and whether a new one was created."""
    draft = draft.validated()
    get_tenant(conn, tenant_id)
    notice_id = conn.execute(
        select(NoticeRecord.id).where(
            NoticeRecord.tenant_id == tenant_id, NoticeRecord.key == draft.key
        )
    ).scalar()
    if notice_id is None:
        notice_id = str(uuid.uuid4())
        conn.execute(insert(NoticeRecord).values(id=notice_id, tenant_id=tenant_id, key=draft.key))
    latest = current(conn, tenant_id, draft.key)
    body_sha256 = sha256_hex(draft.body.encode("utf-8"))
    if latest is not None and _same_content(latest, draft, body_sha256):
        return latest, False
    widened = latest is not None and widens(
        purposes=draft.purposes,
        kinds=draft.artifact_kinds,
        recipients=draft.recipients,
        retention_days=draft.retention_days,
        than=latest,
    )
    values = {
        "id": str(uuid.uuid4()),
        "notice_id": notice_id,
        "version": 1 if latest is None else latest.version + 1,
        "language": draft.language,
        "title": draft.title,
        "body": draft.body,
        "body_sha256": body_sha256,
        "purposes": list(draft.purposes),
        "artifact_kinds": list(draft.artifact_kinds),
        "retention_days": draft.retention_days,
        "recipients": list(draft.recipients),
        "material_change": latest is None or draft.material_change or widened,
        "created_at": writer.clock(),
    }
    row = insert_audited(
        conn, writer, NoticeVersionRecord, values,
        actor=actor_id, action="notice.version_published", object_type="notice_version",
    )  # fmt: skip
    if any(covers(p, TRAIN_AI_SYSTEM) for p in draft.purposes):
        _shorten_kept(conn, writer, tenant_id, days=draft.retention_days, actor_id=actor_id)
    return _version(row, tenant_id, draft.key), True


def _shorten_kept(
    conn: Connection, writer: ChainWriter, tenant_id: str, *, days: int, actor_id: str
) -> None:
    """A shorter retention applies at once: every kept example's expiry moves to at most
    `days` after its content time (a longer one never extends an expiry)."""
    candidate = TrainingCandidateRecord
    rows = conn.execute(
        select(candidate.id, candidate.captured_at, candidate.expires_at).where(
            candidate.tenant_id == tenant_id, candidate.status != "purged"
        )
    ).all()
    limit = timedelta(days=days)
    shortened = [r for r in rows if r.expires_at > r.captured_at + limit]
    for r in shortened:
        conn.execute(
            update(candidate).where(candidate.id == r.id).values(expires_at=r.captured_at + limit)
        )
    if shortened:
        writer.audit(
            conn,
            actor=actor_id,
            action="candidates.retention_shortened",
            object_type="tenant",
            object_id=tenant_id,
            payload={"tenant_id": tenant_id, "days": days, "ids": sorted(r.id for r in shortened)},
            facts=facts.expiries({r.id: r.captured_at + limit for r in shortened}),
        )


@dataclass(frozen=True)
class TranslationDraft:
    """A notice version's title and body in another language; the terms stay the
    version's (a translation cannot change what is agreed to)."""

    language: str
    title: str
    body: str

    def validated(self) -> TranslationDraft:
        language = self.language.strip().lower()
        if not LANGUAGE_TAG.fullmatch(language):
            raise InvalidNotice(
                f"language must be a language tag such as 'de' or 'pt-br', not {self.language!r}"
            )
        title = self.title.strip()
        if not title or len(title) > MAX_TITLE:
            raise InvalidNotice(f"a translation's title must be 1 to {MAX_TITLE} characters")
        body = unicodedata.normalize("NFC", self.body.strip())
        if not body or len(body) > MAX_BODY:
            raise InvalidNotice(f"a translation's body must be 1 to {MAX_BODY} characters")
        return TranslationDraft(language, title, body)


def translate(
    conn: Connection,
    writer: ChainWriter,
    tenant_id: str,
    version_id: str,
    draft: TranslationDraft,
    *,
    actor_id: str,
) -> tuple[NoticeVersion, bool]:
    """Publish the current version `version_id` in another language; returns the version
    as read in it and whether the translation is new. A translation is never changed
    (people read and agreed to it): another text needs a new version."""
    draft = draft.validated()
    version = get_version(conn, version_id, tenant_id=tenant_id)
    latest = current(conn, tenant_id, version.key)
    if latest is None or latest.id != version.id:
        newest = latest.version if latest is not None else "?"
        raise InvalidNotice(
            f"version {version.version} is superseded by version {newest}: "
            "only the current version is translated"
        )
    if draft.language == version.language.lower():
        raise InvalidNotice(f"version {version.version} is written in {draft.language} already")
    t = NoticeTranslationRecord
    body_sha256 = sha256_hex(draft.body.encode("utf-8"))
    existing = conn.execute(
        select(t).where(t.notice_version_id == version_id, t.language == draft.language)
    ).first()
    if existing is not None:
        if existing.title == draft.title and existing.body_sha256 == body_sha256:
            return translated(conn, version, [draft.language]), False
        raise TranslationExists(
            f"version {version.version} has a {draft.language} translation already and it "
            "is never changed; publish a new version of the notice to change its text"
        )
    values = {"id": str(uuid.uuid4()), "notice_version_id": version_id,
              "language": draft.language, "title": draft.title, "body": draft.body,
              "body_sha256": body_sha256, "created_at": writer.clock()}  # fmt: skip
    insert_audited(
        conn, writer, t, values,
        actor=actor_id, action="notice.translation_published", object_type="notice_translation",
    )  # fmt: skip
    return translated(conn, version, [draft.language]), True


def translated(
    conn: Connection, version: NoticeVersion, wanted: Sequence[str] = ()
) -> NoticeVersion:
    """`version` as read in the first of the `wanted` languages it is available in (a tag,
    else its primary language: 'de-at' finds 'de'); its own text when none is."""
    t = NoticeTranslationRecord
    rows = conn.execute(
        select(t).where(t.notice_version_id == version.id).order_by(t.language)
    ).all()
    own = version.language.lower()
    languages = (version.language, *(r.language for r in rows))
    by_language = {r.language: r for r in rows}
    for tag in (w.strip().lower() for w in wanted):
        for candidate in (tag, tag.split("-")[0]):
            if candidate == own:
                return replace(version, languages=languages)
            row = by_language.get(candidate)
            if row is not None:
                return replace(version, language=row.language, title=row.title, body=row.body,
                               body_sha256=row.body_sha256, translation_id=row.id,
                               languages=languages)  # fmt: skip
    return replace(version, languages=languages)


def _same_content(latest: NoticeVersion, draft: NoticeDraft, body_sha256: str) -> bool:
    return (
        latest.body_sha256 == body_sha256
        and latest.title == draft.title
        and latest.language == draft.language
        and set(latest.purposes) == set(draft.purposes)
        and set(latest.artifact_kinds) == set(draft.artifact_kinds)
        and latest.retention_days == draft.retention_days
        and set(latest.recipients) == set(draft.recipients)
    )


def widens(
    *,
    purposes: Iterable[str],
    kinds: Iterable[str],
    recipients: Iterable[str],
    retention_days: int,
    than: NoticeVersion | Any,
) -> bool:
    """Whether these terms ask for more than `than` (a version, or the gate's view of
    one): a purpose it does not cover, a kind or recipient it does not name, or a longer
    retention. Such a change is material whatever its publisher says."""
    return (
        not all(any(covers(g, p) for g in than.purposes) for p in purposes)
        or not set(kinds) <= set(than.artifact_kinds)
        or not set(recipients) <= set(than.recipients)
        or retention_days > than.retention_days
    )


def _versions_query(tenant_id: str) -> Any:
    return (
        select(NoticeVersionRecord, NoticeRecord.key)
        .join(NoticeRecord, NoticeRecord.id == NoticeVersionRecord.notice_id)
        .where(NoticeRecord.tenant_id == tenant_id)
    )


def current(
    conn: Connection, tenant_id: str, key: str = DEFAULT_NOTICE_KEY
) -> NoticeVersion | None:
    row = conn.execute(
        _versions_query(tenant_id)
        .where(NoticeRecord.key == key)
        .order_by(NoticeVersionRecord.version.desc())
        .limit(1)
    ).first()
    return _version(row, tenant_id, row.key) if row else None


def get_version(conn: Connection, version_id: str, *, tenant_id: str) -> NoticeVersion:
    """One version of `tenant_id`. Another tenant's is unknown here, exactly as one that
    does not exist (rule 15: whether it exists is that tenant's business)."""
    row = conn.execute(
        select(NoticeVersionRecord, NoticeRecord.key, NoticeRecord.tenant_id)
        .join(NoticeRecord, NoticeRecord.id == NoticeVersionRecord.notice_id)
        .where(NoticeVersionRecord.id == version_id)
    ).first()
    if row is None or row.tenant_id != tenant_id:
        raise UnknownNoticeVersion(f"no notice version {version_id}")
    return _version(row, tenant_id, row.key)


def serve(
    conn: Connection,
    writer: ChainWriter,
    *,
    tenant_id: str,
    subject_id: str,
    version_id: str,
    surface: str,
    translation_id: str | None = None,
) -> ServedNotice:
    """Record that `subject_id` was shown `version_id` (before they decide), in the
    translation `translation_id` where they read one."""
    if surface not in SURFACES:
        raise InvalidNotice(f"unknown surface {surface!r}; valid: {', '.join(SURFACES)}")
    get_subject(conn, subject_id, tenant_id=tenant_id)
    get_version(conn, version_id, tenant_id=tenant_id)
    if translation_id is not None:
        of = conn.execute(
            select(NoticeTranslationRecord.notice_version_id).where(
                NoticeTranslationRecord.id == translation_id
            )
        ).scalar()
        if of != version_id:
            raise InvalidNotice(f"{translation_id} is no translation of version {version_id}")
    served_id = str(uuid.uuid4())
    values = {"id": served_id, "tenant_id": tenant_id, "subject_id": subject_id,
              "notice_version_id": version_id, "surface": surface,
              "served_at": writer.clock(), "translation_id": translation_id}  # fmt: skip
    row = insert_audited(conn, writer, NoticeServedRecord, values, actor=subject_id,
                         action="notice.served", object_type="notice_served")  # fmt: skip
    return ServedNotice(
        id=served_id,
        subject_id=subject_id,
        notice_version_id=version_id,
        surface=surface,
        served_at=row.served_at,
        translation_id=translation_id,
    )


_LAST_SERVED = (
    select(
        NoticeServedRecord.id,
        NoticeServedRecord.subject_id,
        NoticeServedRecord.notice_version_id,
        NoticeServedRecord.surface,
        NoticeServedRecord.served_at,
        NoticeServedRecord.translation_id,
    )
    .where(
        NoticeServedRecord.subject_id == bindparam("subject_id"),
        NoticeServedRecord.notice_version_id == bindparam("version_id"),
    )
    .order_by(NoticeServedRecord.served_at.desc())
    .limit(1)
)


def last_served(conn: Connection, *, subject_id: str, version_id: str) -> ServedNotice:
    """The latest time `subject_id` was shown `version_id`; never shown is an error."""
    row = conn.execute(_LAST_SERVED, {"subject_id": subject_id, "version_id": version_id}).first()
    if row is None:
        raise NoticeNotServed(
            f"notice version {version_id} was never shown to this person; show it first"
        )
    return ServedNotice(
        id=row.id,
        subject_id=row.subject_id,
        notice_version_id=row.notice_version_id,
        surface=row.surface,
        served_at=row.served_at,
        translation_id=row.translation_id,
    )
