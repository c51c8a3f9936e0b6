"""The gate: may this artifact, and the input behind it, be kept for a purpose?

`evaluate` is a pure function of the facts (switches, subjects, consent history, notice
versions); `decide` gathers those facts from the database at a pinned ledger position,
`record_decision` stores the answer and appends it to the audit chain, and `replay`
recomputes a stored decision from the same facts (rule 17). The artifact's content is never
read here (rule 18).

Rules (ARCHITECTURE.md §3): default deny (1); both tenant switches and the person (2); only
given/renewed count (3); latest event by server sequence wins, ties to opt-out (4); consent
must hold from before capture until the decision without a break (5); the consent's notice
version must cover the purpose and artifact kind, and a later material notice change needs
fresh consent for new artifacts (6); every contributor must pass, guests and unknown speakers
never do (8); expired consent denies (12); another tenant's subjects never count (15).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from itertools import pairwise
from typing import Any

from sqlalchemy import Connection, bindparam, select

from minutekeeper.consent import attribution, ledger
from minutekeeper.consent.artifacts import get_artifact
from minutekeeper.consent.audit import insert_audited
from minutekeeper.consent.chain import ChainWriter
from minutekeeper.consent.domain import (
    POSITIVE_STATES,
    SEGMENT_LEVEL_KINDS,
    UNKNOWN_SPEAKER,
    Artifact,
    ConsentState,
    ContributorVerdict,
    Decision,
    Result,
    Subject,
    SubjectKind,
)
from minutekeeper.consent.errors import UnknownDecision
from minutekeeper.consent.facts import artifact as artifact_facts
from minutekeeper.consent.ledger import tail_seq
from minutekeeper.consent.notices import widens
from minutekeeper.consent.purposes import (
    CONSENT_PURPOSES,
    THIRD_PARTY_SHARING,
    covers,
    validate_purpose,
)
from minutekeeper.consent.store import (
    ArtifactRecord,
    ConsentEventRecord,
    GateDecisionRecord,
    NoticeRecord,
    NoticeVersionRecord,
    SubjectPromotionRecord,
    SubjectRecord,
)
from minutekeeper.consent.tenants import switch_history, switches_as_of


@dataclass(frozen=True)
class Rules:
    """One version of the rules. A stored decision replays under the version it was made
    with (rule 17); every new decision uses the newest."""

    version: str
    # The content's own time: a contributor's consent must cover it; a time is trusted only
    # for the contributors who vouched for it (their own upload or confirmation), for the
    # others their consent must have held, without a break, from before the upload.
    content_time: bool
    # Notices judged by their terms: a version asking for more than the one a person agreed
    # to is material whatever its flag says, and the current version's narrower terms apply.
    terms: bool
    # A name typed by someone else is a claim: the person it names counts only once they
    # confirmed those words are theirs (and then vouches for their time).
    attribution: bool


RULES = {
    rules.version: rules
    for rules in (
        Rules("2026.11.1", content_time=False, terms=False, attribution=False),
        Rules("2026.12.1", content_time=True, terms=True, attribution=False),
        Rules("2026.12.2", content_time=True, terms=True, attribution=True),
    )
}
RULES_VERSION = "2026.12.2"
CURRENT_RULES = RULES[RULES_VERSION]
# Before any event: reading a subject's facts "after" it reads their whole history.
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class Reason(StrEnum):
    NO_CONSENT = "NO_CONSENT"
    TENANT_AI_OFF = "TENANT_AI_OFF"
    TENANT_SHARING_OFF = "TENANT_SHARING_OFF"
    TENANT_VENDOR_SHARING_OFF = "TENANT_VENDOR_SHARING_OFF"
    REFUSED = "REFUSED"
    WITHDRAWN = "WITHDRAWN"
    EXPIRED = "EXPIRED"
    INVALIDATED = "INVALIDATED"
    NOTICE_VERSION_MISMATCH = "NOTICE_VERSION_MISMATCH"
    NOTICE_SCOPE_MISMATCH = "NOTICE_SCOPE_MISMATCH"
    CONSENT_AFTER_CAPTURE = "CONSENT_AFTER_CAPTURE"
    NON_CONSENTING_CONTRIBUTOR = "NON_CONSENTING_CONTRIBUTOR"
    NO_CONTRIBUTORS = "NO_CONTRIBUTORS"
    UNKNOWN_SPEAKER = "UNKNOWN_SPEAKER"
    UNKNOWN_SUBJECT = "UNKNOWN_SUBJECT"
    GUEST = "GUEST"
    FOREIGN_SUBJECT = "FOREIGN_SUBJECT"
    SUBJECT_ERASED = "SUBJECT_ERASED"
    # Words someone else attributed to this person (a typed name), not confirmed by them.
    UNVERIFIED = "UNVERIFIED"


_STATE_REASONS = {
    ConsentState.REFUSED: Reason.REFUSED,
    ConsentState.WITHDRAWN: Reason.WITHDRAWN,
    ConsentState.EXPIRED: Reason.EXPIRED,
    ConsentState.INVALIDATED: Reason.INVALIDATED,
}


@dataclass(frozen=True)
class ConsentFact:
    """The part of a ledger event the gate reads."""

    seq: int
    state: ConsentState
    notice_version_id: str | None
    recorded_at: datetime
    valid_until: datetime | None

    @property
    def positive(self) -> bool:
        return self.state in POSITIVE_STATES


@dataclass(frozen=True)
class NoticeTerms:
    """What the gate reads of a notice version: what it covers, and when it changed."""

    id: str
    notice_id: str
    version: int
    purposes: tuple[str, ...]
    artifact_kinds: tuple[str, ...]
    material_change: bool
    created_at: datetime
    retention_days: int = 365
    recipients: tuple[str, ...] = ()


@dataclass(frozen=True)
class GateInputs:
    """Everything a decision depends on, gathered at one ledger position.

    `facts[subject]` holds the subject's last event at or before the artifact's capture
    (if any) followed by every later event up to `ledger_seq`, in server order; for a
    contributor who did not vouch for the content's time (`time_trusted`), every event.
    """

    artifact: Artifact
    purpose: str
    switches_at_capture: dict[str, bool]
    switches_now: dict[str, bool]
    subjects: dict[str, Subject]
    facts: dict[str, list[ConsentFact]]
    notices: dict[str, NoticeTerms]
    ledger_seq: int
    decided_at: datetime
    rules: Rules = CURRENT_RULES
    # The newest attribution event per (subject, binding) at `ledger_seq`.
    attributed: dict[tuple[str, str], ConsentState] = field(default_factory=dict)
    # `_notice_problem`'s answer per (notice version, stale versions): the same for every
    # contributor who agreed to that version, so a decision works it out once. Derived
    # from the fields above only, never passed in.
    notice_answers: dict[tuple[str | None, frozenset[str]], Reason | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )


def confirmed(
    artifact: Artifact,
    contributor: str,
    attributed: dict[tuple[str, str], ConsentState],
    rules: Rules = CURRENT_RULES,
) -> bool | None:
    """Whether the words the artifact attributes to `contributor` by someone's claim are
    confirmed by them: None when nothing is claimed about them (their own words), False
    when a claim is unanswered, rejected or voided, or when they hold two labels of it."""
    if not rules.attribution:
        return None
    if not artifact.claims_recorded:
        # Stored before claims were recorded: every name in it was typed by someone, and
        # only the uploader, where known, spoke for themself.
        return None if contributor in artifact.time_vouched_by else False
    claims = artifact.attributions.get(contributor)
    if claims is None:
        return None
    labels = {label for label, _ in claims}
    return len(labels) == 1 and all(
        attributed.get((contributor, key)) is ConsentState.CONFIRMED for _, key in claims
    )


def guest_then(subject: Subject, artifact: Artifact, decided_at: datetime) -> bool:
    """Whether a promoted member was still a guest for this decision: it was made before
    their promotion (so it replays to itself), or the words reached the server before it.
    Promotion vouches for who they are from then on, never for words typed under their
    name while they were a guest, which nobody asked them about."""
    promoted = subject.promoted_at
    if promoted is None:
        return False
    return promoted > decided_at or promoted > (artifact.received_at or artifact.captured_at)


def subject_of(row: Any) -> Subject:
    """A subject as the gate reads it (no name: the gate never needs one)."""
    return Subject(row.id, row.tenant_id, SubjectKind(row.kind), None, row.erased_at,
                   row.promoted_at)  # fmt: skip


def time_trusted(
    artifact: Artifact,
    contributor: str,
    rules: Rules = CURRENT_RULES,
    attributed: dict[tuple[str, str], ConsentState] | None = None,
) -> bool:
    """Whether the artifact's content time holds for `contributor`: they vouched for it
    (it came from their own upload, or they confirmed their words in it), or it is their
    own words now (an artifact with no upload time). Under older rules every time was
    taken as stated."""
    return (
        not rules.content_time
        or artifact.received_at is None
        or contributor in artifact.time_vouched_by
        or confirmed(artifact, contributor, attributed or {}, rules) is True
    )


def required_switches(purpose: str) -> tuple[tuple[str, Reason], ...]:
    sharing = (
        ("vendor_sharing_enabled", Reason.TENANT_VENDOR_SHARING_OFF)
        if covers(THIRD_PARTY_SHARING, purpose)
        else ("training_sharing_enabled", Reason.TENANT_SHARING_OFF)
    )
    return (("ai_features_enabled", Reason.TENANT_AI_OFF), sharing)


def evaluate(inputs: GateInputs) -> Decision:
    """The decision the rules give for `inputs`; pure, so it replays exactly."""
    stale = superseded_notices(inputs)
    verdicts = tuple(contributor_verdict(c, inputs, stale) for c in inputs.artifact.contributors)
    return combine(
        inputs.artifact,
        purpose=inputs.purpose,
        tenant=tenant_reasons(inputs),
        verdicts=verdicts,
        ledger_seq=inputs.ledger_seq,
        decided_at=inputs.decided_at,
        rules=inputs.rules,
    )


def tenant_reasons(inputs: GateInputs) -> tuple[Reason, ...]:
    """The tenant switches the purpose needs that were off at capture or are off now."""
    return tuple(
        reason
        for switch, reason in required_switches(inputs.purpose)
        if not (inputs.switches_at_capture[switch] and inputs.switches_now[switch])
    )


def combine(
    artifact: Artifact,
    *,
    purpose: str,
    tenant: tuple[Reason, ...],
    verdicts: tuple[ContributorVerdict, ...],
    ledger_seq: int,
    decided_at: datetime,
    rules: Rules = CURRENT_RULES,
) -> Decision:
    """The artifact's result from the tenant's reasons and every contributor's verdict."""
    allowed = [v for v in verdicts if v.allowed]
    reasons: list[str] = [r.value for r in tenant]
    if not verdicts:
        reasons.append(Reason.NO_CONTRIBUTORS.value)
    elif len(allowed) < len(verdicts):
        reasons.append(Reason.NON_CONSENTING_CONTRIBUTOR.value)
        reasons.extend(sorted({r for v in verdicts for r in v.reasons}))
    if not reasons:
        result = Result.ALLOW
    elif not tenant and allowed and artifact.kind in SEGMENT_LEVEL_KINDS:
        result = Result.PARTIAL
    else:
        result = Result.DENY
    return Decision(
        artifact_id=artifact.id,
        purpose=purpose,
        result=result,
        reasons=tuple(reasons),
        contributors=verdicts,
        ledger_seq=ledger_seq,
        rules_version=rules.version,
        decided_at=decided_at,
    )


def superseded_notices(inputs: GateInputs) -> frozenset[str]:
    """Notice versions that no longer cover content captured when this artifact was."""
    return superseded_at(inputs.notices, inputs.artifact.captured_at, inputs.rules)


def superseded_at(
    notices: dict[str, NoticeTerms], at: datetime, rules: Rules = CURRENT_RULES
) -> frozenset[str]:
    """Notice versions that no longer cover content of time `at`: a later version
    published by then was flagged material, or the version in force then asks for more
    than they do (a purpose, kind or recipient more, a longer retention), whatever its
    publisher's flag says."""
    stale: set[str] = set()
    for versions in _by_notice(notices).values():
        published = [n for n in versions if n.created_at <= at]
        if not published:
            continue
        in_force = published[-1]
        for older in published[:-1]:
            later = [n for n in published if n.version > older.version]
            if any(n.material_change for n in later) or (
                rules.terms
                and widens(
                    purposes=in_force.purposes,
                    kinds=in_force.artifact_kinds,
                    recipients=in_force.recipients,
                    retention_days=in_force.retention_days,
                    than=older,
                )
            ):
                stale.add(older.id)
    return frozenset(stale)


def _by_notice(notices: dict[str, NoticeTerms]) -> dict[str, list[NoticeTerms]]:
    """Each notice's versions, oldest first."""
    grouped: dict[str, list[NoticeTerms]] = {}
    for version in sorted(notices.values(), key=lambda n: n.version):
        grouped.setdefault(version.notice_id, []).append(version)
    return grouped


def in_force(notices: dict[str, NoticeTerms], notice_id: str, at: datetime) -> NoticeTerms | None:
    """The version of `notice_id` standing at `at`."""
    standing = [n for n in notices.values() if n.notice_id == notice_id and n.created_at <= at]
    return max(standing, key=lambda n: n.version, default=None)


def contributor_verdict(
    contributor: str, inputs: GateInputs, stale: frozenset[str]
) -> ContributorVerdict:
    def deny(*reasons: Reason, seq: int | None = None) -> ContributorVerdict:
        return ContributorVerdict(contributor, False, tuple(r.value for r in reasons), seq)

    if contributor == UNKNOWN_SPEAKER:
        return deny(Reason.UNKNOWN_SPEAKER)
    subject = inputs.subjects.get(contributor)
    if subject is None:
        return deny(Reason.UNKNOWN_SUBJECT)
    if subject.tenant_id != inputs.artifact.tenant_id:
        return deny(Reason.FOREIGN_SUBJECT)
    if subject.kind is SubjectKind.UNKNOWN:
        return deny(Reason.UNKNOWN_SPEAKER)
    if subject.kind is SubjectKind.GUEST or guest_then(subject, inputs.artifact, inputs.decided_at):
        return deny(Reason.GUEST)
    if subject.erased_at is not None and subject.erased_at <= inputs.decided_at:
        return deny(Reason.SUBJECT_ERASED)
    if confirmed(inputs.artifact, contributor, inputs.attributed, inputs.rules) is False:
        return deny(Reason.UNVERIFIED)
    facts = inputs.facts.get(contributor, [])
    if not facts:
        return deny(Reason.NO_CONSENT)
    latest = facts[-1]
    if not latest.positive:
        return deny(_STATE_REASONS[latest.state], seq=latest.seq)
    if latest.valid_until is not None and latest.valid_until <= inputs.decided_at:
        return deny(Reason.EXPIRED, seq=latest.seq)
    artifact, rules = inputs.artifact, inputs.rules
    if time_trusted(artifact, contributor, rules, inputs.attributed):
        # Consent held from before the content's time until now, without a break.
        at_capture, captured_at = facts[0], artifact.captured_at
        if (
            at_capture.recorded_at > captured_at
            or not all(f.positive for f in facts)
            or (at_capture.valid_until is not None and at_capture.valid_until <= captured_at)
            or (rules.content_time and _lapsed(facts))
        ):
            return deny(Reason.CONSENT_AFTER_CAPTURE, seq=latest.seq)
        notice_reason = _notice_problem(at_capture, inputs, stale)
    else:
        # The stated time counts only where it denies (nothing vouches that the content is
        # not older): consent held from before it and before the upload, never refused,
        # withdrawn, expired or lapsed, and each version agreed to covered content of every
        # time it stood for.
        received_at = artifact.received_at or artifact.captured_at
        if (
            facts[0].recorded_at > artifact.captured_at
            or not all(f.positive for f in facts)
            or _lapsed(facts)
        ):
            return deny(Reason.CONSENT_AFTER_CAPTURE, seq=latest.seq)
        notice_reason = _history_notice_problem(facts, inputs, received_at)
    notice_reason = notice_reason or _notice_problem(latest, inputs, stale)
    if notice_reason is not None:
        return deny(notice_reason, seq=latest.seq)
    return ContributorVerdict(contributor, True, (), latest.seq)


def _lapsed(facts: list[ConsentFact]) -> bool:
    """Whether a consent ran out before the next decision renewed it (a gap, even where
    no `expired` event was written)."""
    return any(
        a.valid_until is not None and a.valid_until < b.recorded_at for a, b in pairwise(facts)
    )


def _history_notice_problem(
    facts: list[ConsentFact], inputs: GateInputs, received_at: datetime
) -> Reason | None:
    """For content of unknown time: each event's version must have covered content of
    every time until the next event (or the upload)."""
    for fact, after in zip(facts, [*facts[1:], None], strict=True):
        if fact.recorded_at > received_at:
            break
        until = received_at if after is None else min(after.recorded_at, received_at)
        problem = _notice_problem(fact, inputs, superseded_at(inputs.notices, until, inputs.rules))
        if problem is not None:
            return problem
    return None


def _notice_problem(fact: ConsentFact, inputs: GateInputs, stale: frozenset[str]) -> Reason | None:
    key = (fact.notice_version_id, stale)
    if key not in inputs.notice_answers:
        inputs.notice_answers[key] = _version_problem(fact.notice_version_id, inputs, stale)
    return inputs.notice_answers[key]


def _version_problem(
    version_id: str | None, inputs: GateInputs, stale: frozenset[str]
) -> Reason | None:
    notice = inputs.notices.get(version_id or "")
    if notice is None or notice.created_at > inputs.decided_at or notice.id in stale:
        return Reason.NOTICE_VERSION_MISMATCH
    # The terms that apply are those of the agreed version and the current one together:
    # a narrower current version (a kind or purpose less) applies at once.
    current = in_force(inputs.notices, notice.notice_id, inputs.decided_at) or notice
    for terms in (notice, current) if inputs.rules.terms else (notice,):
        if not any(covers(p, inputs.purpose) for p in terms.purposes):
            return Reason.NOTICE_SCOPE_MISMATCH
        if inputs.artifact.kind.value not in terms.artifact_kinds:
            return Reason.NOTICE_SCOPE_MISMATCH
    return None


# --- gathering the facts -----------------------------------------------------------
# Built once: a decision runs these for every artifact, and building a statement with 50
# literal ids costs more than running it.

# Each subject with its projected consent rows (none: no event yet), in one round trip.
_PROMOTED_AT = (
    select(SubjectPromotionRecord.promoted_at)
    .where(SubjectPromotionRecord.subject_id == SubjectRecord.id)
    .scalar_subquery()
    .label("promoted_at")
)
SUBJECT_FACTS = select(  # what the gate reads of a person (`subject_of`)
    SubjectRecord.id,
    SubjectRecord.tenant_id,
    SubjectRecord.kind,
    SubjectRecord.erased_at,
    _PROMOTED_AT,
)
_SUBJECTS = SUBJECT_FACTS.where(SubjectRecord.id.in_(bindparam("ids", expanding=True)))
_NOTICE_TERMS = (
    select(
        NoticeVersionRecord.id,
        NoticeVersionRecord.notice_id,
        NoticeVersionRecord.version,
        NoticeVersionRecord.purposes,
        NoticeVersionRecord.artifact_kinds,
        NoticeVersionRecord.material_change,
        NoticeVersionRecord.created_at,
        NoticeVersionRecord.retention_days,
        NoticeVersionRecord.recipients,
    )
    .join(NoticeRecord, NoticeRecord.id == NoticeVersionRecord.notice_id)
    .where(NoticeRecord.tenant_id == bindparam("tenant_id"))
)


def gather(
    conn: Connection,
    artifact: Artifact,
    *,
    purpose: str,
    ledger_seq: int,
    decided_at: datetime,
    rules: Rules = CURRENT_RULES,
) -> GateInputs:
    """Read what `evaluate` needs under `rules`, as of `ledger_seq` and `decided_at`.

    Consent is read from the ledger, never from its projection: each contributor's newest
    event per purpose at the pin (one query for all); where that predates the capture and
    they vouched for the content's time (the common case) it is the only fact needed, else
    their events around the capture are read.
    """
    ids = [c for c in artifact.contributors if c != UNKNOWN_SPEAKER]
    purposes = [p for p in CONSENT_PURPOSES if covers(p, purpose)]
    rows, events = ledger.with_newest(conn, _SUBJECTS, purposes, {"ids": ids}, up_to=ledger_seq)
    subjects = {row.id: subject_of(row) for row in rows}
    by_subject: dict[str, list[ConsentFact]] = {}
    for event in events:
        by_subject.setdefault(event.subject_id, []).append(fact_of(event, seq=event.seq))
    attributed = (
        attribution.states(conn, artifact.attributions, up_to=ledger_seq)
        if rules.attribution and artifact.attributions
        else {}
    )
    facts: dict[str, list[ConsentFact]] = {}
    for subject_id, rows in by_subject.items():
        trusted = time_trusted(artifact, subject_id, rules, attributed)
        since = artifact.captured_at if trusted else BEGINNING
        if trusted and all(r.recorded_at <= since for r in rows):
            facts[subject_id] = [max(rows, key=lambda r: r.seq)]
        else:
            facts[subject_id] = _ledger_facts(
                conn, subject_id, purposes, captured_at=since, up_to=ledger_seq
            )
    history = switch_history(conn, artifact.tenant_id, until=decided_at)
    return GateInputs(
        artifact=artifact,
        purpose=purpose,
        switches_at_capture=switches_as_of(history, artifact.captured_at),
        switches_now=switches_as_of(history, decided_at),
        subjects=subjects,
        facts={k: v for k, v in facts.items() if v},
        notices=notice_terms(conn, artifact.tenant_id),
        ledger_seq=ledger_seq,
        decided_at=decided_at,
        rules=rules,
        attributed=attributed,
    )


def fact_of(row: Any, *, seq: int) -> ConsentFact:
    return ConsentFact(
        seq=seq,
        state=ConsentState(row.state),
        notice_version_id=row.notice_version_id,
        recorded_at=row.recorded_at,
        valid_until=row.valid_until,
    )


def _ledger_facts(
    conn: Connection, subject_id: str, purposes: list[str], *, captured_at: datetime, up_to: int
) -> list[ConsentFact]:
    e = ConsentEventRecord
    mine = (e.subject_id == subject_id, e.purpose.in_(purposes), e.seq <= up_to)
    before = conn.execute(
        select(e).where(*mine, e.recorded_at <= captured_at).order_by(e.seq.desc()).limit(1)
    ).first()
    after = conn.execute(select(e).where(*mine, e.recorded_at > captured_at).order_by(e.seq)).all()
    rows = ([before] if before is not None else []) + list(after)
    # Within one sequence number an opt-out sorts last, so it wins a tie (rule 4).
    rows.sort(key=lambda r: (r.seq, ConsentState(r.state) not in POSITIVE_STATES))
    return [fact_of(r, seq=r.seq) for r in rows]


def notice_terms(conn: Connection, tenant_id: str) -> dict[str, NoticeTerms]:
    rows = conn.execute(_NOTICE_TERMS, {"tenant_id": tenant_id}).all()
    return {
        r.id: NoticeTerms(
            r.id, r.notice_id, r.version, tuple(r.purposes), tuple(r.artifact_kinds),
            r.material_change, r.created_at, r.retention_days, tuple(r.recipients or ()),
        )
        for r in rows
    }  # fmt: skip


def retention_days(conn: Connection, tenant_id: str, decision: Decision) -> int | None:
    """How long an example kept on `decision` may be kept: the shortest retention among
    the versions its allowed contributors agreed to and the versions now in force (a
    longer one published since never applies to it). None when no one's consent is named."""
    seqs = [v.consent_seq for v in decision.contributors if v.allowed and v.consent_seq]
    if not seqs:
        return None
    agreed = conn.execute(
        select(ConsentEventRecord.notice_version_id).where(ConsentEventRecord.seq.in_(seqs))
    ).scalars()
    notices = notice_terms(conn, tenant_id)
    days: list[int] = []
    for version_id in set(agreed):
        terms = notices.get(version_id or "")
        if terms is None:
            continue
        now = in_force(notices, terms.notice_id, decision.decided_at) or terms
        days.extend((terms.retention_days, now.retention_days))
    return min(days, default=None)


# --- deciding, storing, replaying --------------------------------------------------


def decide(
    conn: Connection,
    *,
    tenant_id: str,
    artifact_id: str,
    purpose: str,
    decided_at: datetime,
    ledger_seq: int | None = None,
    rules: Rules = CURRENT_RULES,
) -> Decision:
    """Decide at `ledger_seq` (default: the ledger's tail now) under `rules` (default: the
    newest) without storing anything."""
    purpose = validate_purpose(purpose)
    artifact = get_artifact(conn, artifact_id, tenant_id=tenant_id)
    pin = tail_seq(conn) if ledger_seq is None else ledger_seq
    return evaluate(gather(conn, artifact, purpose=purpose, ledger_seq=pin,
                           decided_at=decided_at, rules=rules))  # fmt: skip


def record_decision(
    conn: Connection, writer: ChainWriter, decision: Decision, *, tenant_id: str, actor_id: str
) -> Decision:
    """Store `decision` and append it to the audit chain; returns it with its id."""
    values = {
        "id": str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "artifact_id": decision.artifact_id,
        "purpose": decision.purpose,
        "result": decision.result.value,
        "reasons": list(decision.reasons),
        "contributors": [v.as_json() for v in decision.contributors],
        "ledger_seq": decision.ledger_seq,
        "rules_version": decision.rules_version,
        "decided_at": decision.decided_at,
    }
    # The artifact's facts as the gate read them ride in the entry: a row edited afterwards
    # (its contributors, its times, its claims) no longer matches the chain.
    read = conn.execute(select(ArtifactRecord).where(ArtifactRecord.id == decision.artifact_id))
    row = insert_audited(conn, writer, GateDecisionRecord, values, actor=actor_id,
                         action="gate.decided", object_type="gate_decision",
                         facts=artifact_facts(read.one()))  # fmt: skip
    return _decision(row)


def _decision(row: Any) -> Decision:
    return Decision(
        id=row.id,
        artifact_id=row.artifact_id,
        purpose=row.purpose,
        result=Result(row.result),
        reasons=tuple(row.reasons),
        contributors=tuple(
            ContributorVerdict(
                c["contributor"], c["allowed"], tuple(c["reasons"]), c["consent_seq"]
            )
            for c in row.contributors
        ),
        ledger_seq=row.ledger_seq,
        rules_version=row.rules_version,
        decided_at=row.decided_at,
    )


def get_decision(conn: Connection, decision_id: str, *, tenant_id: str) -> Decision:
    row = conn.execute(
        select(GateDecisionRecord).where(
            GateDecisionRecord.id == decision_id, GateDecisionRecord.tenant_id == tenant_id
        )
    ).first()
    if row is None:
        raise UnknownDecision(f"no decision {decision_id}")
    return _decision(row)


def replay(conn: Connection, decision_id: str, *, tenant_id: str) -> tuple[Decision, Decision]:
    """The stored decision and the one the same facts give now under the rules it was made
    with; equal unless tampered with."""
    stored = get_decision(conn, decision_id, tenant_id=tenant_id)
    rules = RULES.get(stored.rules_version)
    if rules is None:
        raise UnknownDecision(
            f"decision {decision_id} was made under rules {stored.rules_version!r}, "
            "which this version does not know"
        )
    again = decide(
        conn,
        tenant_id=tenant_id,
        artifact_id=stored.artifact_id,
        purpose=stored.purpose,
        decided_at=stored.decided_at,
        ledger_seq=stored.ledger_seq,
        rules=rules,
    )
    return stored, again
