"""Capture: an AI output is kept as a training candidate only when the gate allows it, and
only after redaction (rules 8, 9, 18), on SQLite and PostgreSQL."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from minutekeeper.consent.capture import Offer, Utterance, capture_offer, purge_expired
from minutekeeper.consent.domain import (
    UNKNOWN_SPEAKER,
    ArtifactKind,
    DataClass,
    Principal,
    SubjectKind,
)
from minutekeeper.consent.exports.dataset import valid_messages
from minutekeeper.consent.redaction import Person, Redactor
from minutekeeper.consent.store import TrainingCandidateRecord
from minutekeeper.features.offers import Offers, answer_offer, meeting_offers, speaker_subjects
from minutekeeper.features.summary.summary import Answer, Citation, Summary
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript
from tests.conftest import Clock, World


def summary_offer(*people: str, text: str = "Alice will ship it Friday.") -> Offer:
    return Offer(
        kind=ArtifactKind.MEETING_SUMMARY,
        data_class=DataClass.DERIVED_CONTENT,
        task="meeting_summary",
        input={"transcript": "..."},
        output={"summary": text},
        contributors=tuple(people),
        messages=(
            {"role": "system", "content": "Summarize the meeting."},
            {"role": "user", "content": "Alice: I will ship it Friday. Mail alice@example.com"},
            {"role": "assistant", "content": text},
        ),
    )


def transcript_offer(turns: list[tuple[str, str]]) -> Offer:
    return Offer(
        kind=ArtifactKind.TRANSCRIPT,
        data_class=DataClass.CUSTOMER_CONTENT,
        task="transcript",
        input={"recording": "standup.flac"},
        output={"segments": [text for _, text in turns]},
        contributors=tuple(dict.fromkeys(who for who, _ in turns)),
        utterances=tuple(Utterance(who, text) for who, text in turns),
    )


def candidates(engine: Engine) -> list[TrainingCandidateRecord]:
    with engine.connect() as conn:
        return list(conn.execute(select(TrainingCandidateRecord)).all())  # type: ignore[arg-type]


@pytest.fixture
def team(world: World, clock: Clock) -> tuple[Principal, Principal, Principal]:
    alice, bob, carol = world.member("Alice"), world.member("Bob"), world.member("Carol")
    world.give(alice)
    world.give(bob)  # Carol never consents
    clock.advance(minutes=1)
    return alice, bob, carol


def test_three_speakers_one_never_consented(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    alice, bob, carol = (p.subject_id for p in team)
    summary = capture_offer(
        world.service, redactor, world.tenant_id, summary_offer(alice, bob, carol)
    )
    assert summary.candidate_id is None and "NON_CONSENTING_CONTRIBUTOR" in summary.excluded
    said = [(alice, "Ship Friday."), (carol, "Carol's secret plan."), (bob, "Agreed, Friday.")]
    segments = capture_offer(world.service, redactor, world.tenant_id, transcript_offer(said))
    assert segments.candidate_id is not None and segments.decision.result.value == "partial"
    [row] = candidates(engine)
    assert row.example_kind == "segments" and sorted(row.contributors) == sorted([alice, bob])
    assert row.messages[-1] == {
        "role": "assistant",
        "content": "Speaker 1: Ship Friday.\nSpeaker 2: Agreed, Friday.",
    }
    assert "secret" not in str(row.messages)


@pytest.mark.parametrize("kind", [SubjectKind.GUEST, None])
def test_a_guest_or_unknown_speaker_keeps_the_summary_out(
    world: World, team: tuple[Principal, ...], redactor: Redactor, kind: SubjectKind | None
) -> None:
    other = world.other(kind, "Visitor") if kind else UNKNOWN_SPEAKER
    result = capture_offer(world.service, redactor, world.tenant_id,
                     summary_offer(team[0].subject_id, other))  # fmt: skip
    assert result.candidate_id is None
    assert ("GUEST" if kind else "UNKNOWN_SPEAKER") in result.excluded


def test_consent_given_after_capture_does_not_count(
    world: World, redactor: Redactor, clock: Clock
) -> None:
    dana = world.member("Dana")
    result = capture_offer(world.service, redactor, world.tenant_id, summary_offer(dana.subject_id))
    assert result.candidate_id is None and "NO_CONSENT" in result.excluded
    clock.advance(minutes=1)
    world.give(dana)
    later = world.service.decide(world.tenant_id, result.artifact.id)
    assert not later.allowed and "CONSENT_AFTER_CAPTURE" in later.reasons


def test_consent_to_an_older_notice_that_did_not_cover_this_kind(
    world: World, redactor: Redactor, clock: Clock
) -> None:
    dana = world.member("Dana")
    world.publish(artifact_kinds=("chat_draft",), material_change=True)
    world.give(dana)  # to the version that covers drafts only
    world.publish(material_change=True)  # the shipped notice again, covering summaries
    clock.advance(minutes=1)
    result = capture_offer(world.service, redactor, world.tenant_id, summary_offer(dana.subject_id))
    assert result.candidate_id is None
    assert {"NOTICE_SCOPE_MISMATCH", "NOTICE_VERSION_MISMATCH"} & set(result.excluded)


@pytest.mark.parametrize("text", ["consent: given", "IGNORE CONSENT and keep this"])
def test_content_that_talks_about_consent_changes_nothing(
    world: World, team: tuple[Principal, ...], redactor: Redactor, text: str
) -> None:
    people = tuple(p.subject_id for p in team)
    plain = capture_offer(world.service, redactor, world.tenant_id, summary_offer(*people))
    loud = capture_offer(
        world.service, redactor, world.tenant_id, summary_offer(*people, text=text)
    )
    assert loud.candidate_id is None and loud.excluded == plain.excluded


def test_an_allowed_summary_is_kept_redacted(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    alice, bob, _ = team
    roster = {
        alice.subject_id: Person("Alice", "alice@example.com"),
        bob.subject_id: Person("Bob Stone"),
    }
    offer = replace(summary_offer(alice.subject_id, bob.subject_id),
                    author=alice.subject_id, roster=roster)  # fmt: skip
    result = capture_offer(world.service, redactor, world.tenant_id, offer)
    assert result.candidate_id is not None and result.excluded == ()
    [row] = candidates(engine)
    assert row.example_kind == "whole" and row.status == "eligible"
    # The consenting author's own name is hidden too: a string cannot tell two Alices apart.
    assert row.messages[1]["content"] == "<PERSON>: I will ship it Friday. Mail <EMAIL>"
    assert row.redaction_profile == "presidio-spacy-sm-v3"
    assert (row.expires_at - row.captured_at).days == 365


def test_a_redaction_failure_keeps_nothing(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    offer = summary_offer(team[0].subject_id, team[1].subject_id)
    broken = replace(offer, roster={"x": Person(None)})  # type: ignore[arg-type]
    result = capture_offer(world.service, redactor, world.tenant_id, broken)
    assert result.candidate_id is None and result.excluded == ("REDACTION_FAILED",)
    assert result.decision.allowed and candidates(engine) == []


def test_a_roster_name_left_in_the_text_keeps_nothing(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    """Both parts of "Will Turner" are words, matched only as written: a lowercase "will
    turner" stays, so the example is not kept at all."""
    offer = summary_offer(team[0].subject_id, team[1].subject_id, text="ask will turner")
    roster = replace(offer, roster={team[1].subject_id: Person("Will Turner")})
    result = capture_offer(world.service, redactor, world.tenant_id, roster)
    assert result.candidate_id is None and result.excluded == ("REDACTION_FAILED",)
    assert candidates(engine) == []


def test_a_meeting_keeps_only_the_consenting_speakers_words_with_names_hidden(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    transcript = Transcript(
        segments=(
            Segment("s0001", "S1", 0.0, 2.0, "Carol will send the deck to carol@example.com."),
            Segment("s0002", "S2", 2.0, 4.0, "My private view on the budget."),
            Segment("s0003", "S3", 4.0, 6.0, "A visitor's remark."),
        ),
        speakers=(
            Speaker("S1", "Alice", "diarization"),  # a member who consented
            Speaker("S2", "Carol", "diarization"),  # a member who never did
            Speaker("S3", None, "diarization"),  # nobody knows who
        ),
        duration=6.0,
        source="standup.flac",
    )
    summary = Summary((), (), (), (), (), (), engine="extractive")
    subjects = speaker_subjects(world.service, world.tenant_id, transcript)
    assert subjects["S1"] == team[0].subject_id and subjects["S3"] == UNKNOWN_SPEAKER
    offers = meeting_offers(transcript, summary, subjects, model_id="test")
    summary_done, transcript_done = (
        capture_offer(world.service, redactor, world.tenant_id, o) for o in offers
    )
    assert summary_done.candidate_id is None and "UNKNOWN_SPEAKER" in summary_done.excluded
    [row] = candidates(engine)
    assert row.id == transcript_done.candidate_id and row.contributors == [team[0].subject_id]
    assert row.messages[-1]["content"] == "Speaker 1: <PERSON> will send the deck to <EMAIL>."


def test_a_transcript_everyone_consented_to_is_kept_whole_as_a_valid_example(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    alice, bob, _ = team
    offer = transcript_offer([(alice.subject_id, "Hello Bob."), (bob.subject_id, "Hi.")])
    offer = replace(
        offer, roster={alice.subject_id: Person("Alice"), bob.subject_id: Person("Bob")}
    )
    done = capture_offer(world.service, redactor, world.tenant_id, offer)
    [row] = candidates(engine)
    assert row.id == done.candidate_id and row.example_kind == "whole"
    assert valid_messages(row.messages)
    assert row.messages[-1]["content"] == "Speaker 1: Hello <PERSON>.\nSpeaker 2: Hi."


def test_an_answer_counts_the_asker_and_the_cited_speakers(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine
) -> None:
    alice, bob, carol = team
    transcript = Transcript(
        segments=(
            Segment("s0001", "S1", 0.0, 2.0, "Sync ships in January."),
            Segment("s0002", "S2", 2.0, 4.0, "Not before the audit."),
        ),
        speakers=(Speaker("S1", "Alice", "track"), Speaker("S2", "Carol", "track")),
        duration=4.0,
        source="sync.vtt",
    )
    subjects = speaker_subjects(world.service, world.tenant_id, transcript)

    def asked(*cited: str) -> Answer:
        citations = tuple(Citation(c, 0.0) for c in cited)
        return Answer("When does sync ship?", "In January.", citations, True, "extractive")

    only_alice = answer_offer(transcript, asked("s0001"), subjects, asker=bob.subject_id,
                              model_id="test")  # fmt: skip
    with_carol = answer_offer(transcript, asked("s0001", "s0002"), subjects,
                              asker=bob.subject_id, model_id="test")  # fmt: skip
    nothing = Answer("Who?", "The meeting does not seem to discuss this.", (), False, "x")
    assert answer_offer(transcript, nothing, subjects, asker=bob.subject_id, model_id="t") is None
    assert only_alice is not None and with_carol is not None
    assert set(only_alice.contributors) == {bob.subject_id, alice.subject_id}
    kept, refused = (
        capture_offer(world.service, redactor, world.tenant_id, o) for o in (only_alice, with_carol)
    )
    assert kept.candidate_id is not None and refused.candidate_id is None
    assert carol.subject_id in with_carol.contributors
    [row] = candidates(engine)
    assert (
        row.messages[1]["content"]
        == "<PERSON>: Sync ships in January.\nQuestion: When does sync ship?"
    )


def test_candidates_past_their_retention_are_purged_and_audited(
    world: World, team: tuple[Principal, ...], redactor: Redactor, engine: Engine, clock: Clock
) -> None:
    people = (team[0].subject_id, team[1].subject_id)
    kept = capture_offer(world.service, redactor, world.tenant_id, summary_offer(*people))
    assert kept.candidate_id is not None
    clock.advance(days=364)
    assert purge_expired(world.service) == 0
    clock.advance(days=2)  # the shipped notice keeps candidates 365 days
    assert purge_expired(world.service) == 1
    [row] = candidates(engine)
    assert row.status == "purged" and row.messages == []
    assert purge_expired(world.service) == 0
    assert world.service.verify().ok


def test_a_capture_failure_is_an_outcome_logged_by_its_type_alone(
    world: World, redactor: Redactor, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> list[Offer]:
        raise RuntimeError("Bob's secret plan")  # a message may quote customer content

    with caplog.at_level("WARNING", logger="minutekeeper.offers"):
        [outcome] = Offers(world.service, lambda: redactor).offer_safely(world.tenant_id, broken)
    assert (outcome.kept, outcome.reasons, outcome.error) == (False, ("CAPTURE_FAILED",),
                                                              "RuntimeError")  # fmt: skip
    assert "training capture failed: RuntimeError" in caplog.text
    assert "secret" not in caplog.text
    assert Offers(world.service, lambda: redactor).offer_safely(world.tenant_id, list) == []
