"""Re-deciding many artifacts of one tenant at one ledger position (rule 11).

An export re-decides every candidate. Gathering the facts per artifact (`gate.gather`)
costs several queries each; here the tenant's facts are read once, and the rules themselves
are the gate's own functions (`contributor_verdict`, `tenant_reasons`, `combine`), so an
export can never disagree with `gate.decide` at the same position (a property test holds
the two side by side).

A contributor's verdict depends on the artifact only through its kind and where its capture
time falls among the subject's event times, the expiry times of those events and the notice
publication times (and, for a promoted member, whether the content reached the server
before their promotion); between two such instants it cannot change, so verdicts are
memoised by (subject, kind, interval). The same holds for the tenant's switches.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from minutekeeper.consent import attribution
from minutekeeper.consent.domain import (
    POSITIVE_STATES,
    UNKNOWN_SPEAKER,
    Artifact,
    ArtifactKind,
    ConsentState,
    ContributorVerdict,
    DataClass,
    Decision,
    Result,
)
from minutekeeper.consent.gate import (
    BEGINNING,
    SUBJECT_FACTS,
    ConsentFact,
    GateInputs,
    Reason,
    combine,
    confirmed,
    contributor_verdict,
    fact_of,
    guest_then,
    notice_terms,
    subject_of,
    superseded_notices,
    tenant_reasons,
    time_trusted,
)
from minutekeeper.consent.purposes import CONSENT_PURPOSES, covers, validate_purpose
from minutekeeper.consent.store import ConsentEventRecord, SubjectRecord
from minutekeeper.consent.tenants import switch_history, switches_as_of


@dataclass(frozen=True)
class Outcome:
    """A decision as an export uses it: the result, the main reason when it is not ALLOW,
    and the consent events and notice versions an allowed record rests on."""

    result: Result
    reason: str | None
    consent_event_seqs: tuple[int, ...]
    notice_version_ids: tuple[str, ...]
    valid_until: datetime | None = None  # when the first consent it rests on runs out


class BulkDecider:
    """Decides artifacts of `tenant_id` as `gate.decide` would at `ledger_seq` and
    `decided_at`, from facts read once through `conn`."""

    def __init__(
        self,
        conn: Connection,
        *,
        tenant_id: str,
        purpose: str,
        ledger_seq: int,
        decided_at: datetime,
    ) -> None:
        self.conn = conn
        self.tenant_id = tenant_id
        self.purpose = validate_purpose(purpose)
        self.ledger_seq = ledger_seq
        self.decided_at = decided_at
        self._purposes = [p for p in CONSENT_PURPOSES if covers(p, self.purpose)]
        self._subjects = {
            row.id: subject_of(row)
            for row in conn.execute(SUBJECT_FACTS.where(SubjectRecord.tenant_id == tenant_id))
        }
        self._events = self._read_events()
        self._notice_by_seq = {
            e.seq: e.notice_version_id for events in self._events.values() for e in events
        }
        self._valid_by_seq = {
            e.seq: e.valid_until for events in self._events.values() for e in events
        }
        self._notices = notice_terms(conn, tenant_id)
        self._attributed = attribution.tenant_states(conn, tenant_id, up_to=ledger_seq)
        self._notice_times = sorted(n.created_at for n in self._notices.values())
        self._switches = switch_history(conn, tenant_id, until=decided_at)
        self._switch_times = sorted(at for at, _ in self._switches)
        self._event_times = {
            subject: sorted(
                {e.recorded_at for e in events}
                | {e.valid_until for e in events if e.valid_until is not None}
            )
            for subject, events in self._events.items()
        }
        self._verdicts: dict[tuple[Any, ...], ContributorVerdict] = {}
        self._tenant: dict[int, tuple[Reason, ...]] = {}

    def _read_events(self) -> dict[str, list[Any]]:
        e = ConsentEventRecord
        rows = self.conn.execute(
            select(e.seq, e.subject_id, e.state, e.notice_version_id, e.recorded_at, e.valid_until)
            .where(
                e.tenant_id == self.tenant_id,
                e.purpose.in_(self._purposes),
                e.seq <= self.ledger_seq,
            )
            .order_by(e.seq)
        )
        events: dict[str, list[Any]] = {}
        for row in rows:
            events.setdefault(row.subject_id, []).append(row)
        return events

    def decide(self, artifact: Artifact) -> Decision:
        _, tenant, verdicts = self._parts(artifact, artifact.contributors)
        return combine(
            artifact,
            purpose=self.purpose,
            tenant=tenant,
            verdicts=verdicts,
            ledger_seq=self.ledger_seq,
            decided_at=self.decided_at,
        )

    def outcome(
        self,
        kind: ArtifactKind,
        contributors: tuple[str, ...],
        captured_at: datetime,
        *,
        received_at: datetime | None = None,
        vouched_by: tuple[str, ...] = (),
        attributions: Mapping[str, tuple[tuple[str, str], ...]] | None = None,
        claims_recorded: bool = True,
    ) -> Outcome:
        """What `decide` says for an artifact with these facts (`contributors` may be the
        kept subset of the artifact's), in the form an export needs it. An allowed artifact
        is the common case and needs no `combine`: it is exactly one whose tenant passes
        and whose contributors, at least one, all pass."""
        artifact = Artifact("", self.tenant_id, kind, DataClass.DERIVED_CONTENT, contributors,
                            captured_at, "", received_at=received_at,
                            time_vouched_by=vouched_by, attributions=attributions or {},
                            claims_recorded=claims_recorded)  # fmt: skip
        _, tenant, verdicts = self._parts(artifact, contributors)
        if not tenant and verdicts and all(v.allowed for v in verdicts):
            # An allowed verdict always names the consent event it rests on.
            seqs = tuple(sorted({v.consent_seq for v in verdicts if v.consent_seq is not None}))
            notices = tuple(sorted({n for s in seqs if (n := self._notice_by_seq.get(s))}))
            ends = [end for s in seqs if (end := self._valid_by_seq.get(s)) is not None]
            return Outcome(Result.ALLOW, None, seqs, notices, min(ends, default=None))
        decision = self.decide(artifact)
        generic = Reason.NON_CONSENTING_CONTRIBUTOR.value
        reason = next((r for r in decision.reasons if r != generic), generic)
        return Outcome(decision.result, reason, (), ())

    def _parts(
        self, artifact: Artifact, contributors: tuple[str, ...]
    ) -> tuple[tuple[Any, ...], tuple[Reason, ...], tuple[ContributorVerdict, ...]]:
        """The facts' key, the tenant's reasons and every contributor's verdict."""
        kind, captured_at = artifact.kind, artifact.captured_at
        received_at = artifact.received_at or captured_at
        slot = bisect_right(self._switch_times, captured_at)
        tenant = self._tenant.get(slot)
        if tenant is None:
            probe = Artifact("", self.tenant_id, kind, DataClass.DERIVED_CONTENT, (),
                             captured_at, "")  # fmt: skip
            tenant = self._tenant[slot] = tenant_reasons(self._inputs(probe, {}))
        notice_slots = (
            bisect_right(self._notice_times, captured_at),
            bisect_right(self._notice_times, received_at),
        )
        keys = []
        verdicts = []
        for contributor in contributors:
            # A verdict changes only where the content and upload times fall among the
            # subject's event times and the notices' publication times.
            times = self._event_times.get(contributor, ())
            key = (
                contributor,
                kind,
                time_trusted(artifact, contributor, attributed=self._attributed),
                confirmed(artifact, contributor, self._attributed),
                bisect_right(times, captured_at),
                bisect_right(times, received_at),
                notice_slots,
                self._guest_then(contributor, artifact),
            )
            verdict = self._verdicts.get(key)
            if verdict is None:
                verdict = self._verdicts[key] = self._verdict(contributor, artifact)
            keys.append(key)
            verdicts.append(verdict)
        return (kind, slot, tuple(keys)), tenant, tuple(verdicts)

    def _guest_then(self, contributor: str, artifact: Artifact) -> bool:
        """Whether a promoted member counts as the guest they were (`gate.guest_then`)."""
        subject = self._subjects.get(contributor)
        return subject is not None and guest_then(subject, artifact, self.decided_at)

    def _verdict(self, contributor: str, artifact: Artifact) -> ContributorVerdict:
        facts = {}
        if contributor != UNKNOWN_SPEAKER:
            if contributor not in self._subjects:
                self._load_subjects([contributor])  # another tenant's, or no one's
            trusted = time_trusted(artifact, contributor, attributed=self._attributed)
            since = artifact.captured_at if trusted else BEGINNING
            facts[contributor] = self._facts(contributor, since)
        inputs = self._inputs(artifact, {k: v for k, v in facts.items() if v})
        return contributor_verdict(contributor, inputs, superseded_notices(inputs))

    def _load_subjects(self, ids: Iterable[str]) -> None:
        for row in self.conn.execute(SUBJECT_FACTS.where(SubjectRecord.id.in_(list(ids)))):
            self._subjects[row.id] = subject_of(row)

    def _facts(self, subject_id: str, captured_at: datetime) -> list[ConsentFact]:
        """As `gate._ledger_facts`: the last event recorded at or before the capture, then
        every later one, in server order with an opt-out last within a sequence number."""
        events = self._events.get(subject_id, [])
        before = [e for e in events if e.recorded_at <= captured_at]
        rows = ([max(before, key=lambda e: e.seq)] if before else []) + [
            e for e in events if e.recorded_at > captured_at
        ]
        rows.sort(key=lambda r: (r.seq, ConsentState(r.state) not in POSITIVE_STATES))
        return [fact_of(r, seq=r.seq) for r in rows]

    def _inputs(self, artifact: Artifact, facts: dict[str, list[ConsentFact]]) -> GateInputs:
        return GateInputs(
            artifact=artifact,
            purpose=self.purpose,
            switches_at_capture=switches_as_of(self._switches, artifact.captured_at),
            switches_now=switches_as_of(self._switches, self.decided_at),
            subjects=self._subjects,
            facts=facts,
            notices=self._notices,
            ledger_seq=self.ledger_seq,
            decided_at=self.decided_at,
            attributed=self._attributed,
        )
