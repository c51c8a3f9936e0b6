"""The ledger and the gate against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from minutekeeper.consent import gate
from minutekeeper.consent.domain import (
    ArtifactKind,
    ConsentState,
    DataClass,
    Principal,
    Result,
    Role,
    SubjectKind,
)
from minutekeeper.consent.errors import (
    ConsentAlreadyExpired,
    ConsentForOtherSubject,
    GpcSignalled,
    IdempotencyConflict,
    ImmutableRecord,
    InvalidNotice,
    InvalidValue,
    NoticeNotServed,
    SubjectCannotConsent,
    TenantMismatch,
    UnknownNoticeVersion,
    UnknownPurpose,
)
from minutekeeper.consent.purposes import TRAIN_AI_SYSTEM
from minutekeeper.consent.store import ConsentEventRecord, NoticeServedRecord
from minutekeeper.core.db import read_transaction, write_transaction
from tests.conftest import Clock, World, make_world


def ledger_size(world: World) -> int:
    with read_transaction(world.service.engine) as conn:
        return int(conn.execute(select(func.count()).select_from(ConsentEventRecord)).scalar_one())


def summary_of(
    world: World,
    *contributors: str,
    kind: ArtifactKind = ArtifactKind.MEETING_SUMMARY,
    text_: str = "We agreed to ship on Friday.",
    vouched: bool = True,
) -> str:
    """An artifact made now; its contributors vouch for its time (their own upload) unless
    `vouched` is False."""
    artifact = world.service.record_artifact(
        world.tenant_id,
        kind=kind,
        data_class=DataClass.DERIVED_CONTENT,
        input={"transcript": text_},
        output={"summary": text_},
        contributors=list(contributors),
        vouched_by=list(contributors) if vouched else [],
    )
    return artifact.id


@pytest.mark.parametrize(
    "purpose",
    [
        "Train_ai_system",
        "train_ai_system.",
        "train_ai_syst\u0435m",
        " train_ai_system",
        "x" * 5000,
        "",
    ],
    ids=["case", "trailing-dot", "cyrillic-e", "leading-space", "oversized", "empty"],
)
def test_malformed_purpose_is_refused_and_writes_nothing(world: World, purpose: str) -> None:
    alice = world.member("alice")
    with pytest.raises(UnknownPurpose):
        world.give(alice, purpose=purpose)
    assert ledger_size(world) == 0


def test_consent_for_another_subject_is_refused_even_for_an_admin(world: World) -> None:
    alice = world.member("alice")
    version = world.service.current_notice(world.tenant_id)
    world.service.serve_notice(world.admin, version, surface="web")
    with pytest.raises(ConsentForOtherSubject):
        world.service.record(
            world.admin,
            ConsentState.GIVEN,
            subject_id=alice.subject_id,
            notice_version_id=version.id,
            via="test",
        )
    assert ledger_size(world) == 0


def test_consent_needs_a_notice_version_the_subject_was_shown(world: World) -> None:
    alice = world.member("alice")
    version = world.service.current_notice(world.tenant_id)
    with pytest.raises(NoticeNotServed):
        world.service.record(alice, ConsentState.GIVEN, notice_version_id=version.id, via="test")
    with pytest.raises(InvalidNotice):
        world.service.record(alice, ConsentState.GIVEN, via="test")
    assert ledger_size(world) == 0


def test_notice_version_of_another_tenant_is_unknown_as_a_missing_one(world: World) -> None:
    other = make_world(world.service, "globex")
    foreign = world.service.current_notice(other.tenant_id)
    alice = world.member("alice")
    with pytest.raises(UnknownNoticeVersion) as served:
        world.service.serve_notice(alice, foreign, surface="web")
    with pytest.raises(UnknownNoticeVersion) as recorded:
        world.service.record(alice, ConsentState.GIVEN, notice_version_id=foreign.id, via="test")
    assert ledger_size(world) == 0
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(UnknownNoticeVersion) as unknown:
        world.service.record(alice, ConsentState.GIVEN, notice_version_id=missing, via="test")
    for error in (served.value, recorded.value):  # the same words, the id aside
        assert error.message.replace(foreign.id, "<id>") == unknown.value.message.replace(
            missing, "<id>"
        )


def test_already_expired_or_overlong_consent_is_refused(world: World, clock: Clock) -> None:
    alice = world.member("alice")
    with pytest.raises(ConsentAlreadyExpired):
        world.give(alice, valid_until=clock.now - timedelta(days=1))
    with pytest.raises(InvalidValue):
        world.give(alice, valid_until=clock.now + timedelta(days=4000))
    assert ledger_size(world) == 0


def test_guests_cannot_record_consent(world: World) -> None:
    guest = Principal(world.tenant_id, world.other(SubjectKind.GUEST, "visitor"), Role.MEMBER)
    with pytest.raises(SubjectCannotConsent):
        world.give(guest)
    assert ledger_size(world) == 0


def test_same_idempotency_key_returns_first_event_and_other_body_conflicts(world: World) -> None:
    alice = world.member("alice")
    first = world.give(alice, idempotency_key="k-1")
    again = world.give(alice, idempotency_key="k-1")
    assert again == first
    assert ledger_size(world) == 1
    with pytest.raises(IdempotencyConflict):
        world.service.record(alice, ConsentState.WITHDRAWN, idempotency_key="k-1", via="test")
    assert ledger_size(world) == 1


def test_a_give_with_gpc_is_refused_and_the_signal_records_one_opt_out(world: World) -> None:
    alice = world.member("alice")
    version = world.service.current_notice(world.tenant_id)
    world.service.serve_notice(alice, version, surface="web")
    with pytest.raises(GpcSignalled):
        world.service.record(
            alice, ConsentState.GIVEN, notice_version_id=version.id, gpc=True, via="test"
        )
    assert world.service.honour_gpc(alice, via="test") is None  # already opted out
    events = world.service.history(alice)
    assert [(e.state, e.method, e.gpc) for e in events] == [(ConsentState.REFUSED, "gpc", True)]


def test_summary_allowed_only_when_every_contributor_consents(world: World) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    world.give(alice)
    artifact = summary_of(world, alice.subject_id, bob.subject_id)
    denied = world.service.decide(world.tenant_id, artifact)
    assert denied.result is Result.DENY
    assert "NON_CONSENTING_CONTRIBUTOR" in denied.reasons and "NO_CONSENT" in denied.reasons

    world.give(bob)
    later = summary_of(world, alice.subject_id, bob.subject_id)
    assert world.service.decide(world.tenant_id, later).result is Result.ALLOW
    # The first artifact was captured before Bob agreed: no retroactive consent.
    again = world.service.decide(world.tenant_id, artifact)
    assert again.result is Result.DENY and "CONSENT_AFTER_CAPTURE" in again.reasons


def test_guest_and_unknown_speakers_block_a_summary_but_not_transcript_segments(
    world: World,
) -> None:
    alice = world.member("alice")
    world.give(alice)
    guest = world.other(SubjectKind.GUEST, "visitor")
    summary = summary_of(world, alice.subject_id, guest, "UNKNOWN")
    decision = world.service.decide(world.tenant_id, summary)
    assert decision.result is Result.DENY
    assert {"GUEST", "UNKNOWN_SPEAKER"} <= set(decision.reasons)
    transcript = summary_of(world, alice.subject_id, guest, kind=ArtifactKind.TRANSCRIPT)
    partial = world.service.decide(world.tenant_id, transcript)
    assert partial.result is Result.PARTIAL
    assert [v.allowed for v in partial.contributors] == [True, False]


def test_tenant_switches_each_have_their_reason_and_never_count_as_consent(world: World) -> None:
    alice = world.member("alice")
    world.service.set_switches(world.admin, training_sharing_enabled=False)
    world.give(alice)
    artifact = summary_of(world, alice.subject_id)
    assert world.service.decide(world.tenant_id, artifact).reasons == ("TENANT_SHARING_OFF",)
    world.service.set_switches(
        world.admin, training_sharing_enabled=True, ai_features_enabled=False
    )
    # Sharing was off when the first artifact was captured: that alone keeps it out.
    assert world.service.decide(world.tenant_id, artifact).reasons == (
        "TENANT_AI_OFF",
        "TENANT_SHARING_OFF",
    )
    fresh = summary_of(world, alice.subject_id)
    assert world.service.decide(world.tenant_id, fresh).reasons == ("TENANT_AI_OFF",)


def test_withdrawal_excludes_the_next_decision(world: World) -> None:
    alice = world.member("alice")
    world.give(alice)
    artifact = summary_of(world, alice.subject_id)
    assert world.service.decide(world.tenant_id, artifact).allowed
    world.service.record(alice, ConsentState.WITHDRAWN, via="test")
    decision = world.service.decide(world.tenant_id, artifact)
    assert decision.result is Result.DENY and "WITHDRAWN" in decision.reasons


def test_consent_expires(world: World, clock: Clock) -> None:
    alice = world.member("alice")
    world.give(alice, valid_until=clock.now + timedelta(days=2))
    artifact = summary_of(world, alice.subject_id)
    assert world.service.decide(world.tenant_id, artifact).allowed
    clock.advance(days=3)
    assert "EXPIRED" in world.service.decide(world.tenant_id, artifact).reasons
    assert world.service.expire_due() == 1
    assert world.service.history(alice)[-1].state is ConsentState.EXPIRED


def test_material_notice_change_needs_fresh_consent_for_new_artifacts(world: World) -> None:
    alice = world.member("alice")
    world.give(alice)
    before = summary_of(world, alice.subject_id)
    world.publish(body="A changed notice.", material_change=True)
    after = summary_of(world, alice.subject_id)
    assert world.service.decide(world.tenant_id, before).allowed
    assert "NOTICE_VERSION_MISMATCH" in world.service.decide(world.tenant_id, after).reasons
    world.give(alice)
    assert world.service.decide(world.tenant_id, summary_of(world, alice.subject_id)).allowed


def test_notice_that_does_not_cover_the_artifact_kind_denies(world: World) -> None:
    world.publish(artifact_kinds=("chat_draft",), material_change=True)
    alice = world.member("alice")
    world.give(alice)
    decision = world.service.decide(world.tenant_id, summary_of(world, alice.subject_id))
    assert decision.reasons[-1] == "NOTICE_SCOPE_MISMATCH"


def test_republishing_the_same_notice_creates_no_version_and_widening_is_material(
    world: World,
) -> None:
    current = world.service.current_notice(world.tenant_id)
    world.publish()
    assert world.service.current_notice(world.tenant_id).id == current.id
    world.publish(purposes=("train_ai_system", "third_party_sharing"))
    widened = world.service.current_notice(world.tenant_id)
    assert widened.version == current.version + 1 and widened.material_change


def test_content_never_steers_the_gate(world: World) -> None:
    alice, bob = world.member("alice"), world.member("bob")
    world.give(alice)
    plain = summary_of(world, alice.subject_id, bob.subject_id)
    sneaky = summary_of(
        world,
        alice.subject_id,
        bob.subject_id,
        text_='consent: given. Ignore consent. {"result": "allow"} NO_CONSENT=false',
    )
    first = world.service.decide(world.tenant_id, plain, store=False)
    second = world.service.decide(world.tenant_id, sneaky, store=False)
    assert (first.result, first.reasons) == (second.result, second.reasons)
    assert first.result is Result.DENY


def test_tenant_cannot_decide_on_or_count_another_tenants_data(world: World) -> None:
    other = make_world(world.service, "globex")
    mallory = other.member("mallory")
    other.give(mallory)
    foreign_artifact = summary_of(other, mallory.subject_id)
    with pytest.raises(TenantMismatch):
        world.service.decide(world.tenant_id, foreign_artifact)
    mixed = summary_of(world, mallory.subject_id)
    assert "FOREIGN_SUBJECT" in world.service.decide(world.tenant_id, mixed).reasons


def test_a_decision_replays_under_the_rules_it_was_made_with(world: World, clock: Clock) -> None:
    alice = world.member("alice")
    world.give(alice)
    world.service.record(alice, ConsentState.WITHDRAWN, via="test")
    clock.advance(minutes=1)
    world.give(alice)
    artifact = summary_of(world, alice.subject_id, vouched=False)  # its time is no one's word
    older = gate.RULES["2026.11.1"]
    with write_transaction(world.service.engine) as conn:
        made = gate.decide(conn, tenant_id=world.tenant_id, artifact_id=artifact,
                           purpose=TRAIN_AI_SYSTEM, decided_at=clock(), rules=older)  # fmt: skip
        stored = gate.record_decision(conn, world.service.writer, made,
                                      tenant_id=world.tenant_id, actor_id="test")  # fmt: skip
    assert (stored.result, stored.rules_version) == (Result.ALLOW, "2026.11.1")
    recorded, replayed = world.service.replay(world.tenant_id, stored.id or "")
    assert replace(replayed, id=recorded.id) == recorded
    now = world.service.decide(world.tenant_id, artifact)
    assert (now.result, now.rules_version) == (Result.DENY, gate.RULES_VERSION)
    assert "CONSENT_AFTER_CAPTURE" in now.reasons


def test_stored_decision_replays_to_the_same_result_after_later_events(world: World) -> None:
    alice = world.member("alice")
    world.give(alice)
    artifact = summary_of(world, alice.subject_id)
    stored = world.service.decide(world.tenant_id, artifact)
    world.service.record(alice, ConsentState.WITHDRAWN, via="test")
    world.service.set_switches(world.admin, training_sharing_enabled=False)
    recorded, replayed = world.service.replay(world.tenant_id, stored.id or "")
    assert recorded.result is Result.ALLOW
    assert (replayed.result, replayed.reasons, replayed.ledger_seq) == (
        recorded.result,
        recorded.reasons,
        recorded.ledger_seq,
    )
    assert recorded.rules_version and recorded.ledger_seq >= 1


def test_projection_rebuilt_from_the_ledger_equals_the_incremental_one(world: World) -> None:
    people = [world.member(n) for n in ("a", "b", "c")]
    for i, person in enumerate(people):
        world.give(person)
        if i % 2 == 0:
            world.service.record(person, ConsentState.WITHDRAWN, via="test")
    with read_transaction(world.service.engine) as conn:
        before = conn.execute(text("SELECT * FROM current_consent ORDER BY subject_id")).all()
    assert world.service.rebuild_projection() == 3
    with read_transaction(world.service.engine) as conn:
        after = conn.execute(text("SELECT * FROM current_consent ORDER BY subject_id")).all()
    assert before == after


@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
@pytest.mark.parametrize(
    ("table", "column"),
    [("consent_events", "state"), ("audit_entries", "actor"), ("notices_served", "surface")],
)
def test_store_refuses_update_and_delete_on_insert_only_tables(
    world: World, statement: str, table: str, column: str
) -> None:
    world.give(world.member("alice"))
    with pytest.raises(ImmutableRecord), world.service._write() as conn:
        conn.execute(text(statement.format(t=table, c=column)))
    with read_transaction(world.service.engine) as conn:
        assert conn.execute(select(func.count()).select_from(NoticeServedRecord)).scalar_one() == 1
