"""`ConsentService`: the consent module's one entry point for the CLI and the API.

Each method is one transaction: writes hold the writer lock (`write_transaction`) and
append to the hash chains; reads see one snapshot. Nothing half-written survives an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, exc

from minutekeeper.consent import artifacts, erasure, gate, ledger, notices, tenants
from minutekeeper.consent.audit import VerifyReport, verify
from minutekeeper.consent.chain import ChainWriter, Signer
from minutekeeper.consent.domain import (
    DEFAULT_NOTICE_KEY,
    POSITIVE_STATES,
    UNKNOWN_SPEAKER,
    Artifact,
    ArtifactKind,
    ConsentEvent,
    ConsentState,
    CurrentConsent,
    DataClass,
    Decision,
    NoticeVersion,
    Principal,
    Role,
    ServedNotice,
    Subject,
    SubjectKind,
    Tenant,
)
from minutekeeper.consent.errors import ImmutableRecord, UnknownNoticeVersion, UnknownSubject
from minutekeeper.consent.exports import tombstones
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM, covers
from minutekeeper.core.db import read_transaction, utcnow, write_transaction
from minutekeeper.core.settings import Settings


class ConsentService:
    def __init__(
        self,
        engine: Engine,
        *,
        signer: Signer,
        checkpoint_every: int = 100,
        consent_validity_days: int = 365,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.engine = engine
        self.writer = ChainWriter(signer, checkpoint_every=checkpoint_every, clock=clock)
        self.validity = timedelta(days=consent_validity_days)
        self.clock = clock

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> ConsentService:
        return cls(
            engine,
            signer=Signer.load_or_create(settings.resolved_audit_key_path()),
            checkpoint_every=settings.checkpoint_every,
            consent_validity_days=settings.consent_validity_days,
        )

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with write_transaction(self.engine) as conn:
                yield conn
        except exc.IntegrityError as error:
            if "insert-only" in str(error.orig):
                raise ImmutableRecord(str(error.orig).strip().splitlines()[0]) from error
            raise

    # --- tenants and people ------------------------------------------------------

    def create_tenant(self, name: str, *, actor_id: str, **switches: bool) -> Tenant:
        with self._write() as conn:
            return tenants.create_tenant(conn, self.writer, name, actor_id=actor_id, **switches)

    def tenant(self, tenant_id: str) -> Tenant:
        with read_transaction(self.engine) as conn:
            return tenants.get_tenant(conn, tenant_id)

    def set_switches(self, admin: Principal, **switches: bool | None) -> Tenant:
        with self._write() as conn:
            return tenants.set_switches(
                conn, self.writer, admin.tenant_id, actor_id=admin.subject_id, **switches
            )

    def add_subject(
        self, tenant_id: str, *, kind: SubjectKind, display_name: str | None
    ) -> Subject:
        with self._write() as conn:
            return tenants.add_subject(
                conn, tenant_id, kind=kind, display_name=display_name, created_at=self.clock()
            )

    def subjects_for_names(self, tenant_id: str, names: Sequence[str | None]) -> list[str]:
        """The subject behind each name heard in a meeting or seen in a thread: the
        tenant's member of that name, else a guest of that name (created once; guests
        never count as consenting); None, an unidentified speaker, is UNKNOWN."""
        found: dict[str, str] = {}
        with self._write() as conn:
            for name in {n.strip() for n in names if n and n.strip()}:
                subject = tenants.find_member(conn, tenant_id, name) or tenants.find_member(
                    conn, tenant_id, name, SubjectKind.GUEST
                )
                if subject is None:
                    guest = SubjectKind.GUEST
                    subject = tenants.add_subject(
                        conn, tenant_id, kind=guest, display_name=name, created_at=self.clock()
                    )
                found[name] = subject.id
        return [found[n.strip()] if n and n.strip() else UNKNOWN_SPEAKER for n in names]

    def local_principal(self, *, tenant_name: str, user_name: str, role: Role) -> Principal:
        """The single-user install's tenant and member, created on first use."""
        with read_transaction(self.engine) as conn:
            tenant = tenants.find_tenant(conn, tenant_name)
            member = tenants.find_member(conn, tenant.id, user_name) if tenant else None
        if member is None:
            with self._write() as conn:
                tenant = tenants.find_tenant(conn, tenant_name) or tenants.create_tenant(
                    conn, self.writer, tenant_name, actor_id="local-install"
                )
                member = tenants.find_member(conn, tenant.id, user_name) or tenants.add_subject(
                    conn,
                    tenant.id,
                    kind=SubjectKind.MEMBER,
                    display_name=user_name,
                    created_at=self.clock(),
                )
        return Principal(tenant_id=member.tenant_id, subject_id=member.id, role=role)

    def ensure_person(self, *, tenant_name: str, ref: str) -> Subject:
        """The tenant's person `ref` (an id, id prefix or name), or a new member of that
        name; the tenant is created on first use (as `local_principal` does)."""
        with self._write() as conn:
            tenant = tenants.find_tenant(conn, tenant_name) or tenants.create_tenant(
                conn, self.writer, tenant_name, actor_id="local-install"
            )
            try:
                return tenants.find_subject(conn, tenant.id, ref)
            except UnknownSubject:
                return tenants.add_subject(conn, tenant.id, kind=SubjectKind.MEMBER,
                                           display_name=ref, created_at=self.clock())  # fmt: skip

    # --- notices -----------------------------------------------------------------

    def publish_notice(
        self, admin: Principal, draft: notices.NoticeDraft
    ) -> tuple[NoticeVersion, bool]:
        with self._write() as conn:
            return notices.publish(
                conn, self.writer, admin.tenant_id, draft, actor_id=admin.subject_id
            )

    def current_notice(self, tenant_id: str, key: str = DEFAULT_NOTICE_KEY) -> NoticeVersion:
        with read_transaction(self.engine) as conn:
            version = notices.current(conn, tenant_id, key)
        if version is None:
            raise UnknownNoticeVersion(
                f"no {key!r} notice is published yet; an admin publishes one first "
                "(minutekeeper consent notice publish)"
            )
        return version

    def serve_notice(self, person: Principal, version_id: str, *, surface: str) -> ServedNotice:
        with self._write() as conn:
            return notices.serve(
                conn,
                self.writer,
                tenant_id=person.tenant_id,
                subject_id=person.subject_id,
                version_id=version_id,
                surface=surface,
            )

    # --- the ledger --------------------------------------------------------------

    def record(
        self,
        person: Principal,
        state: ConsentState,
        *,
        purpose: str = TRAIN_AI_SYSTEM,
        subject_id: str | None = None,
        notice_version_id: str | None = None,
        valid_until: datetime | None = None,
        idempotency_key: str | None = None,
        gpc: bool = False,
    ) -> ConsentEvent:
        """Record the person's own decision; with `gpc`, end opted out whatever they sent.
        An opt-out reaches the exports already published (rule 10)."""
        with self._write() as conn:
            event = ledger.record(
                conn,
                self.writer,
                person,
                purpose=purpose,
                state=state,
                subject_id=subject_id,
                notice_version_id=notice_version_id,
                valid_until=valid_until,
                validity=self.validity,
                idempotency_key=idempotency_key,
            )
            if gpc:
                event = ledger.honour_gpc(conn, self.writer, person) or event
            touched = self._tombstone([event], conn)
        tombstones.sync_files(self.engine, touched)
        return event

    def honour_gpc(self, person: Principal) -> ConsentEvent | None:
        """Opt the person out of training (rule 14). A person already opted out costs one
        read, not the writer lock: the header may come with every request."""
        with read_transaction(self.engine) as conn:
            state = ledger.current_state(conn, person.subject_id, TRAIN_AI_SYSTEM)
        if state is not None and state not in POSITIVE_STATES:
            return None
        with self._write() as conn:
            event = ledger.honour_gpc(conn, self.writer, person)
            touched = self._tombstone([event] if event else [], conn)
        tombstones.sync_files(self.engine, touched)
        return event

    def _tombstone(self, events: Sequence[ConsentEvent], conn: Connection) -> set[str]:
        """Tombstone published records of everyone whose training consent just ended."""
        touched: set[str] = set()
        for event in events:
            if event.state in POSITIVE_STATES or not covers(event.purpose, TRAIN_AI_SYSTEM):
                continue
            touched.update(
                tombstones.tombstone_subject(
                    conn,
                    self.writer,
                    tenant_id=event.tenant_id,
                    subject_id=event.subject_id,
                    reason=event.state.value,
                    at=event.recorded_at,
                    actor_id=event.actor_id,
                )
            )
        return touched

    def current(self, person: Principal) -> list[CurrentConsent]:
        """The person's newest decision per purpose."""
        with read_transaction(self.engine) as conn:
            return ledger.current(conn, person.subject_id)

    def overview(self, person: Principal) -> tuple[Tenant, list[CurrentConsent], Decision]:
        """What a person's consent page shows, read in one snapshot: the tenant's switches,
        their newest decision per purpose, and what the gate would decide now for a
        summary with only them in it (`preview`)."""
        now = self.clock()
        with read_transaction(self.engine) as conn:
            tenant = tenants.get_tenant(conn, person.tenant_id)
            current = ledger.current(conn, person.subject_id)
            artifact = _preview_artifact(person, ArtifactKind.MEETING_SUMMARY, now)
            pin = ledger.tail_seq(conn)
            facts = gate.gather(conn, artifact, purpose=TRAIN_AI_SYSTEM, ledger_seq=pin,
                                decided_at=now)  # fmt: skip
        return tenant, current, gate.evaluate(facts)

    def consent_counts(self, tenant_id: str, purpose: str = TRAIN_AI_SYSTEM) -> dict[str, int]:
        """Members per state for `purpose`: counts for an admin, never who decided what."""
        with read_transaction(self.engine) as conn:
            return ledger.state_counts(conn, tenant_id, purpose)

    def subjects(self, tenant_id: str) -> list[Subject]:
        """The tenant's people (members and guests), oldest first."""
        with read_transaction(self.engine) as conn:
            return tenants.list_subjects(conn, tenant_id)

    def history(self, person: Principal) -> list[ConsentEvent]:
        with read_transaction(self.engine) as conn:
            return ledger.history(conn, person.subject_id)

    def expire_due(self) -> int:
        with self._write() as conn:
            expired = ledger.expire_due(conn, self.writer, now=self.clock())
            touched = self._tombstone(expired, conn)
        tombstones.sync_files(self.engine, touched)
        return len(expired)

    def rebuild_projection(self) -> int:
        with self._write() as conn:
            return ledger.rebuild_projection(conn)

    # --- artifacts and the gate --------------------------------------------------

    def record_artifact(
        self,
        tenant_id: str,
        *,
        kind: ArtifactKind,
        data_class: DataClass,
        input: Any,
        output: Any,
        contributors: Sequence[str],
        captured_at: datetime | None = None,
        model_id: str | None = None,
        prompt_version: str | None = None,
    ) -> Artifact:
        with self._write() as conn:
            return artifacts.record_artifact(
                conn,
                tenant_id=tenant_id,
                kind=kind,
                data_class=data_class,
                input=input,
                output=output,
                contributors=contributors,
                captured_at=captured_at or self.clock(),
                model_id=model_id,
                prompt_version=prompt_version,
            )

    def decide(
        self,
        tenant_id: str,
        artifact_id: str,
        *,
        purpose: str = TRAIN_AI_SYSTEM,
        actor_id: str = "gate",
        store: bool = True,
    ) -> Decision:
        """Decide now; stored and audited unless `store` is False (a dry run)."""
        if not store:
            with read_transaction(self.engine) as conn:
                return gate.decide(
                    conn,
                    tenant_id=tenant_id,
                    artifact_id=artifact_id,
                    purpose=purpose,
                    decided_at=self.clock(),
                )
        with self._write() as conn:
            decision = gate.decide(
                conn,
                tenant_id=tenant_id,
                artifact_id=artifact_id,
                purpose=purpose,
                decided_at=self.clock(),
            )
            return gate.record_decision(
                conn, self.writer, decision, tenant_id=tenant_id, actor_id=actor_id
            )

    def replay(self, tenant_id: str, decision_id: str) -> tuple[Decision, Decision]:
        with read_transaction(self.engine) as conn:
            return gate.replay(conn, decision_id, tenant_id=tenant_id)

    def erase_subject(self, tenant_id: str, subject_id: str, *, actor_id: str) -> erasure.Erased:
        """Erase a person's training data and artifact content (rule 13)."""
        with self._write() as conn:
            erased = erasure.erase_subject(
                conn, self.writer, tenant_id=tenant_id, subject_id=subject_id, at=self.clock(),
                actor_id=actor_id,
            )  # fmt: skip
        tombstones.sync_files(self.engine, erased.exports)
        return erased

    def find_subject(self, tenant_id: str, ref: str) -> Subject:
        """The tenant's person with id `ref`, or the only member or guest named `ref`."""
        with read_transaction(self.engine) as conn:
            return tenants.find_subject(conn, tenant_id, ref)

    # --- the audit chain ---------------------------------------------------------

    def checkpoint(self) -> int:
        with self._write() as conn:
            return self.writer.checkpoint(conn)

    def verify(self) -> VerifyReport:
        with read_transaction(self.engine) as conn:
            return verify(conn, trusted_public_key=self.writer.signer.public_key_hex)

    def preview(
        self,
        person: Principal,
        *,
        kind: ArtifactKind = ArtifactKind.MEETING_SUMMARY,
        purpose: str = TRAIN_AI_SYSTEM,
    ) -> Decision:
        """What the gate would decide now for an artifact of `kind` with only this person
        in it: nothing is stored, nothing is audited."""
        now = self.clock()
        artifact = _preview_artifact(person, kind, now)
        with read_transaction(self.engine) as conn:
            pin = ledger.tail_seq(conn)
            return gate.evaluate(
                gate.gather(conn, artifact, purpose=purpose, ledger_seq=pin, decided_at=now)
            )


def _preview_artifact(person: Principal, kind: ArtifactKind, now: datetime) -> Artifact:
    """An artifact of `kind` with only this person in it, for a decision nobody stores."""
    return Artifact(
        id="preview",
        tenant_id=person.tenant_id,
        kind=kind,
        data_class=DataClass.DERIVED_CONTENT,
        contributors=(person.subject_id,),
        captured_at=now,
        content_sha256="",
    )
