"""`ConsentService`: the consent module's one entry point for the CLI and the API.

Each method is one transaction: writes hold the writer lock (`write_transaction`) and
append to the hash chains; reads see one snapshot. Nothing half-written survives an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, exc, select

from minutekeeper.consent import (
    artifacts,
    attribution,
    deletion,
    erasure,
    facts,
    gate,
    ledger,
    members,
    notices,
    tenants,
)
from minutekeeper.consent.audit import CheckReport, VerifyReport, verify
from minutekeeper.consent.chain import LEDGER, ChainWriter, Signer, Witness, covering_checkpoint
from minutekeeper.consent.domain import (
    DEFAULT_NOTICE_KEY,
    POSITIVE_STATES,
    UNKNOWN_SPEAKER,
    Artifact,
    ArtifactKind,
    AttributionRequest,
    Claim,
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
from minutekeeper.consent.errors import (
    ConfirmationRequired,
    ConsentForOtherSubject,
    GpcSignalled,
    ImmutableRecord,
    UnknownNoticeVersion,
    UnknownSubject,
)
from minutekeeper.consent.exports import catalog, tombstones
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM, covers
from minutekeeper.consent.store import AuditEntryRecord
from minutekeeper.core.db import read_transaction, utcnow, write_transaction
from minutekeeper.core.settings import Settings

_SWITCH_NAMES = {
    "training_sharing_enabled": "training sharing",
    "ai_features_enabled": "AI features",
}


class ConsentService:
    def __init__(
        self,
        engine: Engine,
        *,
        signer: Signer,
        checkpoint_every: int = 100,
        consent_validity_days: int = 365,
        clock: Callable[[], datetime] = utcnow,
        witness: Witness | None = None,
    ) -> None:
        self.engine = engine
        self.writer = ChainWriter(signer, checkpoint_every=checkpoint_every, clock=clock,
                                  witness=witness)  # fmt: skip
        self.validity = timedelta(days=consent_validity_days)
        self.clock = clock

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> ConsentService:
        return cls(
            engine,
            signer=Signer.load_or_create(settings.resolved_audit_key_path()),
            checkpoint_every=settings.checkpoint_every,
            consent_validity_days=settings.consent_validity_days,
            witness=Witness(settings.audit_witness) if settings.audit_witness else None,
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

    def switch_off_cost(self, tenant_id: str) -> tuple[int, int]:
        """What turning training sharing or AI features off would revoke: the tenant's
        published (active) exports and its kept examples."""
        with read_transaction(self.engine) as conn:
            return tombstones.published_counts(conn, tenant_id)

    def set_switches(
        self, admin: Principal, *, confirm: bool = False, **switches: bool | None
    ) -> Tenant:
        """Change the tenant's switches. Turning training sharing or AI features off
        reaches what is already kept: every published export is revoked (its records
        tombstoned) and every kept example retired, for good, in the same transaction.
        When there is anything to revoke, that needs `confirm` (`ConfirmationRequired`
        says how much otherwise)."""
        touched: list[str] = []
        with self._write() as conn:
            before = tenants.get_tenant(conn, admin.tenant_id)
            turned_off = [
                name
                for name in ("training_sharing_enabled", "ai_features_enabled")
                if getattr(before, name) and switches.get(name) is False
            ]
            if turned_off:
                exports, kept = tombstones.published_counts(conn, admin.tenant_id)
                if (exports or kept) and not confirm:
                    raise ConfirmationRequired(
                        f"turning {' and '.join(_SWITCH_NAMES[n] for n in turned_off)} off "
                        f"revokes {exports} published export(s) and retires {kept} kept "
                        "training example(s), for good; confirm to go on"
                    )
            tenant = tenants.set_switches(
                conn, self.writer, admin.tenant_id, actor_id=admin.subject_id, **switches
            )
            if turned_off:
                touched = tombstones.tombstone_tenant(
                    conn,
                    self.writer,
                    tenant_id=admin.tenant_id,
                    reason=turned_off[0].removesuffix("_enabled") + "_off",
                    at=self.clock(),
                    actor_id=admin.subject_id,
                )
        tombstones.sync_files(self.engine, touched)
        return tenant

    def add_subject(
        self, tenant_id: str, *, kind: SubjectKind, display_name: str | None
    ) -> Subject:
        with self._write() as conn:
            return tenants.add_subject(
                conn,
                self.writer,
                tenant_id,
                kind=kind,
                display_name=display_name,
                created_at=self.clock(),
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
                        conn,
                        self.writer,
                        tenant_id,
                        kind=guest,
                        display_name=name,
                        created_at=self.clock(),
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
                    self.writer,
                    tenant.id,
                    kind=SubjectKind.MEMBER,
                    display_name=user_name,
                    created_at=self.clock(),
                )
                tenants.pin_owner(conn, self.writer, tenant.id, member.id)
        return Principal(tenant_id=member.tenant_id, subject_id=member.id, role=role)

    def local_owner(self, *, tenant_name: str, user_name: str, role: Role) -> Principal:
        """The local user, when they may record consent without a token: the pinned owner
        of a single-user install. Anyone else (another `local_user`, any install with a
        second member or a token) is refused with `ConsentForOtherSubject`."""
        person = self.local_principal(tenant_name=tenant_name, user_name=user_name, role=role)
        with read_transaction(self.engine) as conn:
            problem = tenants.owner_problem(conn, person.tenant_id, person.subject_id)
        if problem is not None:
            raise ConsentForOtherSubject(problem)
        return person

    def token_issued(
        self, person: Principal, *, token_id: str, expires_at: datetime | None
    ) -> None:
        """Chain a token's issuance before it is handed out: the operator issuing tokens is
        who vouches for identity. The first token makes the tenant multi-user for good."""
        with self._write() as conn:
            tenants.mark_multi_user(conn, self.writer, person.tenant_id, reason="token_issued")
            self.writer.audit(
                conn,
                actor="operator",
                action="token.issued",
                object_type="api_token",
                object_id=token_id,
                payload={
                    "token_id": token_id,
                    "tenant_id": person.tenant_id,
                    "subject_id": person.subject_id,
                    "role": person.role.value,
                    "expires_at": expires_at,
                },
            )

    def ensure_person(self, *, tenant_name: str, ref: str) -> tuple[Subject, bool]:
        """The tenant's person `ref` (an id, id prefix or name), or a new member of that
        name (then True, audited as `subject.added` by the operator); the tenant is created
        on first use (as `local_principal` does). A guest found by name stays a guest: only
        `promote` makes one a member."""
        with self._write() as conn:
            tenant = tenants.find_tenant(conn, tenant_name) or tenants.create_tenant(
                conn, self.writer, tenant_name, actor_id="local-install"
            )
            try:
                return tenants.find_subject(conn, tenant.id, ref), False
            except UnknownSubject:
                made = members.add_member(conn, self.writer, tenant.id, ref, actor_id="operator",
                                          at=self.clock())  # fmt: skip
                return made, True

    # --- membership: an admin vouches for who belongs (`consent.members`) ----------

    def add_member(self, admin: Principal, name: str) -> Subject:
        """A new member of the admin's tenant called `name` (a name nobody there has)."""
        with self._write() as conn:
            return members.add_member(conn, self.writer, admin.tenant_id, name,
                                      actor_id=admin.subject_id, at=self.clock())  # fmt: skip

    def promote(self, admin: Principal, ref: str) -> Subject:
        """Make the guest `ref` a member; it records no consent and serves no notice."""
        with self._write() as conn:
            return members.promote(conn, self.writer, admin.tenant_id, ref,
                                   actor_id=admin.subject_id, at=self.clock())  # fmt: skip

    def resolve_person(self, tenant_id: str, ref: str) -> Subject:
        """The one person of the tenant named `ref`, else the one with that id or id prefix
        (several people of that name are refused with their ids)."""
        with read_transaction(self.engine) as conn:
            return members.resolve(conn, tenant_id, ref)

    def rename_subject(self, admin: Principal, ref: str, name: str) -> tuple[Subject, str]:
        """Rename the person `ref` to `name` (a name nobody else there has); returns them
        and their old name."""
        with self._write() as conn:
            return members.rename(conn, self.writer, admin.tenant_id, ref, name,
                                  actor_id=admin.subject_id)  # fmt: skip

    # --- notices -----------------------------------------------------------------

    def publish_notice(
        self, admin: Principal, draft: notices.NoticeDraft
    ) -> tuple[NoticeVersion, bool]:
        with self._write() as conn:
            return notices.publish(
                conn, self.writer, admin.tenant_id, draft, actor_id=admin.subject_id
            )

    def current_notice(
        self, tenant_id: str, key: str = DEFAULT_NOTICE_KEY, languages: Sequence[str] = ()
    ) -> NoticeVersion:
        """The notice's current version, in the first of `languages` it is translated into
        (else its own language); `languages` lists them all."""
        with read_transaction(self.engine) as conn:
            version = notices.current(conn, tenant_id, key)
            if version is None:
                raise UnknownNoticeVersion(
                    f"no {key!r} notice is published yet; an admin publishes one first "
                    "(minutekeeper consent notice publish)"
                )
            return notices.translated(conn, version, languages)

    def translate_notice(
        self, admin: Principal, version_id: str, draft: notices.TranslationDraft
    ) -> tuple[NoticeVersion, bool]:
        """Publish the current version in another language (the same terms)."""
        with self._write() as conn:
            return notices.translate(
                conn, self.writer, admin.tenant_id, version_id, draft, actor_id=admin.subject_id
            )

    def serve_notice(
        self, person: Principal, version: NoticeVersion, *, surface: str
    ) -> ServedNotice:
        """Record that the person was shown `version`, in the language they read it in."""
        with self._write() as conn:
            return notices.serve(
                conn,
                self.writer,
                tenant_id=person.tenant_id,
                subject_id=person.subject_id,
                version_id=version.id,
                surface=surface,
                translation_id=version.translation_id,
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
        override_gpc: bool = False,
        via: str,
    ) -> ConsentEvent:
        """Record the person's own decision. A request that carried GPC (`gpc`) opts them
        out: a give is refused (`GpcSignalled`, after the signal is honoured) unless they
        override it explicitly (`override_gpc`). An opt-out reaches the exports already
        published (rule 10). `via` names the token or session (or the local owner's command)
        the decision came through."""
        try:
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
                    gpc=gpc,
                    override_gpc=override_gpc,
                    idempotency_key=idempotency_key,
                    via=via,
                )
                touched = self._tombstone([event], conn)
        except GpcSignalled:
            self.honour_gpc(person, via=via)
            raise
        tombstones.sync_files(self.engine, touched)
        return event

    def honour_gpc(self, person: Principal, *, via: str) -> ConsentEvent | None:
        """Opt the person out of training (rule 14), unless their newest decision is a give
        that overrode the signal. A person already opted out costs one read, not the
        writer lock: the header may come with every request."""
        with read_transaction(self.engine) as conn:
            if not ledger.gpc_would_change(conn, person.subject_id):
                return None
        with self._write() as conn:
            event = ledger.honour_gpc(conn, self.writer, person, via=via)
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

    def subjects(
        self, tenant_id: str, *, after: str | None = None, limit: int | None = None
    ) -> list[Subject]:
        """The tenant's people (members and guests), oldest first: those after the
        subject `after`, at most `limit` (all, without these)."""
        with read_transaction(self.engine) as conn:
            return tenants.list_subjects(conn, tenant_id, after=after, limit=limit)

    def history(self, person: Principal) -> list[ConsentEvent]:
        with read_transaction(self.engine) as conn:
            return ledger.history(conn, person.subject_id)

    def receipt(self, person: Principal) -> tuple[list[ConsentEvent], dict[str, Any] | None]:
        """The person's events, and the first signed checkpoint of the ledger that covers
        the newest of them (None until one is signed)."""
        with read_transaction(self.engine) as conn:
            events = ledger.history(conn, person.subject_id)
            newest = events[-1].seq if events else None
            return events, covering_checkpoint(conn, LEDGER, newest) if newest else None

    def adopt_unchained(self) -> int:
        """Chain, once, the candidates and exports kept before the chain held their facts
        (`facts.adopt`); returns how many. Costs one query when there are none."""
        with read_transaction(self.engine) as conn:
            if not facts.unadopted(conn):
                return 0
        with self._write() as conn:
            return facts.adopt(conn, self.writer)

    def apply_rules(self) -> int:
        """Once per rules version: re-decide every kept candidate of every tenant under
        the newest rules, retiring those they no longer allow and tombstoning their
        records in published exports (reason `rules_changed`). Returns how many were
        retired. Costs one query when nothing is kept or the version was applied."""
        with read_transaction(self.engine) as conn:
            if not tombstones.any_kept(conn) or _rules_applied(conn):
                return 0
        retired, touched = 0, []
        with self._write() as conn:
            if _rules_applied(conn):  # another process got there first
                return 0
            now = self.clock()
            for tenant_id in tenants.tenant_ids(conn):
                count, exports = tombstones.retire_failing(
                    conn, self.writer, tenant_id=tenant_id, decided_at=now,
                    reason="rules_changed", actor_id="system",
                )  # fmt: skip
                retired += count
                touched.extend(exports)
            self.writer.audit(
                conn,
                actor="system",
                action="rules.applied",
                object_type="rules",
                object_id=gate.RULES_VERSION,
                payload={"rules_version": gate.RULES_VERSION, "retired": retired},
            )
        tombstones.sync_files(self.engine, touched)
        return retired

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
        received_at: datetime | None = None,
        vouched_by: Sequence[str] = (),
        attributions: Mapping[str, Sequence[tuple[str, str]]] | None = None,
        model_id: str | None = None,
        prompt_version: str | None = None,
        source: tuple[str, str] | None = None,
    ) -> Artifact:
        """Store an AI output with its input. `captured_at` is the content's stated time,
        `received_at` when it reached the server (default: now); the stated time is
        trusted only for the contributors in `vouched_by` (`artifacts.record_artifact`).
        `source` is the saved meeting or draft it was made from (`SourceDeleted` once that
        is deleted)."""
        with self._write() as conn:
            return artifacts.record_artifact(
                conn,
                tenant_id=tenant_id,
                kind=kind,
                data_class=data_class,
                input=input,
                output=output,
                contributors=contributors,
                received_at=received_at or self.clock(),
                content_time=captured_at,
                vouched_by=vouched_by,
                attributions=attributions,
                model_id=model_id,
                prompt_version=prompt_version,
                source=source,
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

    def retention_days(self, tenant_id: str, decision: Decision) -> int:
        """Days an example kept on `decision` may be kept (`gate.retention_days`), else
        the current notice's."""
        with read_transaction(self.engine) as conn:
            days = gate.retention_days(conn, tenant_id, decision)
        return days if days is not None else self.current_notice(tenant_id).retention_days

    def replay(self, tenant_id: str, decision_id: str) -> tuple[Decision, Decision]:
        with read_transaction(self.engine) as conn:
            return gate.replay(conn, decision_id, tenant_id=tenant_id)

    def erase_subject(self, tenant_id: str, subject_id: str, *, actor_id: str) -> erasure.Erased:
        """Erase a person's training data and artifact content (rule 13), and the data files
        of every published export holding their records (revoked ones included)."""
        with self._write() as conn:
            erased = erasure.erase_subject(
                conn, self.writer, tenant_id=tenant_id, subject_id=subject_id, at=self.clock(),
                actor_id=actor_id,
            )  # fmt: skip
        tombstones.sync_files(self.engine, erased.exports)
        catalog.delete_data_files(
            self.engine, self.writer, erased.holding, actor_id=actor_id,
            reason="a contributor was erased: its data files are deleted",
        )  # fmt: skip
        return erased

    def delete_source(
        self,
        tenant_id: str,
        *,
        actor_id: str,
        remove: Callable[[Connection], deletion.Removal],
    ) -> deletion.Deleted:
        """Delete a saved meeting or draft and what consent made of it, in one transaction:
        `remove` deletes the caller's own rows on this transaction's connection and says
        what it removed; then that source's artifacts are emptied, their kept candidates
        retired and their published records tombstoned (`deletion`). Anything raised
        rolls all of it back. Each touched export's tombstones file is rewritten once the
        transaction has committed."""
        with self._write() as conn:
            removal = remove(conn)
            deleted = deletion.delete_source(
                conn, self.writer, tenant_id=tenant_id, removal=removal, at=self.clock(),
                actor_id=actor_id,
            )  # fmt: skip
        tombstones.sync_files(self.engine, deleted.exports)
        return deleted

    def claimed_sources(self, tenant_id: str, subject_id: str) -> dict[tuple[str, str], set[str]]:
        """The labels attributed to the person in each meeting or draft (`erasure`)."""
        with read_transaction(self.engine) as conn:
            return erasure.claimed_sources(conn, tenant_id, subject_id)

    def find_subject(self, tenant_id: str, ref: str) -> Subject:
        """The tenant's person with id `ref`, or the only member or guest named `ref`."""
        with read_transaction(self.engine) as conn:
            return tenants.find_subject(conn, tenant_id, ref)

    # --- attribution: whose words are whose ---------------------------------------

    def attribute(
        self,
        tenant_id: str,
        claims: Sequence[Claim],
        *,
        claimed_by: Principal,
        via: str,
        speaks_for_self: bool = True,
    ) -> dict[str, tuple[tuple[str, str], ...]]:
        """Record `claims` made by `claimed_by` (an uploader, a renamer, a draft's author):
        a claim about themselves confirms at once when they act in their own session
        (`speaks_for_self`: the rule for recording consent), one about another member asks
        them. Returns each claimed member's (label, binding) pairs, for `Offer.attributions`."""
        found: dict[str, list[tuple[str, str]]] = {}
        with self._write() as conn:
            now = self.clock()
            for claim in claims:
                key = attribution.claim(conn, self.writer, claim, tenant_id=tenant_id,
                                        claimed_by=claimed_by, via=via, now=now,
                                        speaks_for_self=speaks_for_self)  # fmt: skip
                if key is not None:
                    found.setdefault(claim.subject_id, []).append((claim.label, key))
        return {subject: tuple(pairs) for subject, pairs in found.items()}

    @staticmethod
    def binding(claim: Claim) -> str:
        """What an answer to `claim` is bound to (its source, label and words)."""
        return attribution.binding(claim)

    def release(
        self, actor: Principal, released: Mapping[str, str | None], *, via: str
    ) -> list[str]:
        """Words bound by each key of `released` are now attributed to its value (or to
        nobody): every other confirmation of them is voided, and what was kept on them is
        tombstoned at once, published records included. Returns the voided subjects."""
        # Batched: whatever one rename voided is tombstoned in one pass (one entry per
        # export in the audit log) and each export's file is rewritten once.
        voided: dict[str, list[str]] = {}
        with self._write() as conn:
            for key, keep in released.items():
                gone = attribution.void(conn, self.writer, tenant_id=actor.tenant_id, key=key,
                                        keep=keep, actor=actor, via=via)  # fmt: skip
                for subject_id in gone:
                    voided.setdefault(subject_id, []).append(key)
            touched = tombstones.tombstone_claim(
                conn, self.writer, tenant_id=actor.tenant_id, held=voided,
                reason="attribution_voided", at=self.clock(), actor_id=actor.subject_id,
            )  # fmt: skip
        tombstones.sync_files(self.engine, touched)
        return sorted(voided)

    def answer_attribution(
        self, person: Principal, request_id: str, answers: Mapping[str, bool], *, via: str
    ) -> AttributionRequest:
        """The person's own answer to whether the request's words are theirs. A "not me"
        tombstones what was kept on the claim at once."""
        touched: list[str] = []
        with self._write() as conn:
            answered = attribution.answer(conn, self.writer, person, request_id, answers, via=via)
            if answered.status == ConsentState.REJECTED.value:
                touched = tombstones.tombstone_claim(
                    conn, self.writer, tenant_id=person.tenant_id,
                    held={person.subject_id: [answered.binding]},
                    reason="attribution_rejected", at=self.clock(), actor_id=person.subject_id,
                )  # fmt: skip
        tombstones.sync_files(self.engine, touched)
        return answered

    def supersede(self, tenant_id: str, claims: Sequence[Claim], *, actor_id: str) -> int:
        """Retire what was kept from a source before it is offered again (a transcript kept
        with some speakers left out is superseded by the whole one), so later exports do
        not hold both. Records already published stay valid: nothing there changed.
        Returns how many were retired (audited, `candidates.superseded`)."""
        keys = [attribution.binding(claim) for claim in claims]
        with self._write() as conn:
            ids = tombstones.supersede(conn, self.writer, tenant_id=tenant_id, keys=keys,
                                       actor_id=actor_id)  # fmt: skip
        return len(ids)

    def attribution_requests(
        self, person: Principal, *, after: str | None = None, limit: int | None = None
    ) -> list[AttributionRequest]:
        """The person's requests, newest first: those after the request `after`, at most
        `limit` (all, without these)."""
        with read_transaction(self.engine) as conn:
            return attribution.requests_of(conn, person, after=after, limit=limit)

    def attribution_request(self, person: Principal, request_id: str) -> AttributionRequest:
        with read_transaction(self.engine) as conn:
            return attribution.get_request(conn, person, request_id)

    def standing_confirmations(
        self, person: Principal, source_kind: str
    ) -> list[AttributionRequest]:
        """The person's requests about sources of `source_kind` whose words they confirmed
        as theirs, where that confirmation stands now (none voided or taken back since)."""
        with read_transaction(self.engine) as conn:
            return attribution.standing_confirmations(conn, person, source_kind)

    def open_claims(self, tenant_id: str, source_kind: str, source_id: str) -> int:
        """How many claims about a source still wait for an answer or were refused."""
        with read_transaction(self.engine) as conn:
            return attribution.open_claims(conn, tenant_id, source_kind, source_id,
                                           now=self.clock())  # fmt: skip

    def claimed(
        self, tenant_id: str, claims: Sequence[Claim]
    ) -> dict[str, tuple[tuple[str, str], ...]]:
        """The bindings of claims made earlier (a saved meeting's), claiming nothing anew:
        offering a saved source again never confirms or asks anything."""
        with read_transaction(self.engine) as conn:
            return attribution.bindings(conn, tenant_id, claims)

    # --- the audit chain ---------------------------------------------------------

    def checkpoint(self) -> int:
        with self._write() as conn:
            return self.writer.checkpoint(conn)

    def verify(self) -> VerifyReport:
        """Every chain, and the current-consent projection against the ledger it copies."""
        with read_transaction(self.engine) as conn:
            report = verify(conn, trusted_public_key=self.writer.signer.public_key_hex,
                            witness=self.writer.witness)  # fmt: skip
            report.checks.append(
                CheckReport("consent projection", ledger.projection_size(conn),
                            ledger.projection_differences(conn))
            )  # fmt: skip
            return report

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


def _rules_applied(conn: Connection) -> bool:
    return (
        conn.execute(
            select(AuditEntryRecord.seq)
            .where(
                AuditEntryRecord.action == "rules.applied",
                AuditEntryRecord.object_id == gate.RULES_VERSION,
            )
            .limit(1)
        ).first()
        is not None
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
