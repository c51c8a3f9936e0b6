"""Saved meetings, drafts and draft feedback on SQLite and PostgreSQL: scoped to their
tenant and author, read back whole, one feedback per draft."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.engine import Engine

from minutekeeper.consent.service import ConsentService
from minutekeeper.features.compose.draft import ComposeRequest, Draft
from minutekeeper.features.compose.errors import DraftNotFound, FeedbackConflict, InvalidFeedback
from minutekeeper.features.compose.prompts import PROMPT_VERSION
from minutekeeper.features.compose.store import (
    MAX_SENT_CHARS,
    get_draft,
    record_draft,
    record_feedback,
)
from minutekeeper.features.compose.thread import Message
from minutekeeper.features.meetings.errors import AmbiguousMeeting, MeetingNotFound
from minutekeeper.features.meetings.store import find_meeting, list_meetings, save_meeting
from minutekeeper.features.summary.summary import ActionItem, Citation, Point, Summary
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript
from tests.conftest import Clock, World, make_world

TRANSCRIPT = Transcript(
    segments=(
        Segment("s0001", "S1", 0.0, 2.5, 'Ünïcode and "quotes" survive.\nNew line too.'),
        Segment("s0002", "S2", 2.5, 4.0, "I will send the deck by Friday."),
    ),
    speakers=(Speaker("S1", "Alice", "diarization"), Speaker("S2", None, "diarization")),
    duration=4.0,
    source="standup.flac",
    language="en",
    language_probability=0.98,
)
SUMMARY = Summary(
    overview=(Point("Unicode survives.", (Citation("s0001", 0.0),)),),
    key_points=(),
    decisions=(),
    action_items=(
        ActionItem(
            "Send the deck", "Bob", date(2026, 11, 27), "by Friday", (Citation("s0002", 2.5),)
        ),
    ),
    open_questions=(),
    chapters=(),
    engine="extractive",
    meeting_date=date(2026, 11, 23),
)
THREAD = (
    Message("m1", "Ann", "Is the deck ready?", time="09:00"),
    Message("m2", "Ben", "A private aside.", shown=False),
    Message("m3", "Ann", "Dana, can you confirm?", reply_to="m1"),
)
DRAFT = Draft(
    text="Yes, the deck is ready.",
    alternatives=("It is ready.",),
    used_messages=("m1", "m3"),
    used_items=(),
    notes=("1 earlier message(s) did not fit",),
    written_by="tiny",
)


def _meeting(engine: Engine, world: World, title: str = "Standup") -> str:
    return save_meeting(
        engine,
        tenant_id=world.tenant_id,
        owner_id=world.admin.subject_id,
        title=title,
        transcript=TRANSCRIPT,
        summary=SUMMARY,
    ).id


def test_a_saved_meeting_reads_back_whole_by_id_or_prefix(engine: Engine, world: World) -> None:
    meeting_id = _meeting(engine, world)
    stored = find_meeting(engine, world.tenant_id, meeting_id[:6].upper())
    assert stored.info.id == meeting_id and stored.info.title == "Standup"
    assert stored.transcript == TRANSCRIPT and stored.summary == SUMMARY
    assert stored.info.meeting_date == date(2026, 11, 23) and stored.info.summarized


def test_a_meeting_without_a_summary_stays_without_one(engine: Engine, world: World) -> None:
    info = save_meeting(
        engine,
        tenant_id=world.tenant_id,
        owner_id=world.admin.subject_id,
        title="raw",
        transcript=TRANSCRIPT,
    )
    assert find_meeting(engine, world.tenant_id, info.id).summary is None
    assert [m.summarized for m in list_meetings(engine, world.tenant_id)] == [False]


def test_meetings_are_listed_newest_first(
    engine: Engine, service: ConsentService, clock: Clock
) -> None:
    world = make_world(service)
    for title in ("first", "second", "third"):
        save_meeting(
            engine,
            tenant_id=world.tenant_id,
            owner_id=world.admin.subject_id,
            title=title,
            transcript=TRANSCRIPT,
            clock=clock,
        )
    assert [m.title for m in list_meetings(engine, world.tenant_id)] == ["third", "second", "first"]


def test_another_tenants_meeting_does_not_exist_for_you(
    engine: Engine, service: ConsentService, world: World
) -> None:
    meeting_id = _meeting(engine, world)
    other = make_world(service, "globex")
    with pytest.raises(MeetingNotFound, match="no meeting"):
        find_meeting(engine, other.tenant_id, meeting_id)
    assert list_meetings(engine, other.tenant_id) == []


def test_unknown_short_ambiguous_and_wildcard_references(engine: Engine, world: World) -> None:
    for meeting_id in (
        "abcd1111-0000-4000-8000-000000000000",
        "abcd2222-0000-4000-8000-000000000000",
    ):
        save_meeting(
            engine,
            tenant_id=world.tenant_id,
            owner_id=world.admin.subject_id,
            title=meeting_id[:8],
            transcript=TRANSCRIPT,
            meeting_id=meeting_id,
        )
    assert find_meeting(engine, world.tenant_id, "abcd2").info.title == "abcd2222"
    with pytest.raises(AmbiguousMeeting, match="more than one"):
        find_meeting(engine, world.tenant_id, "abcd")
    for ref in ("ffffffff-0000", "abc", "%%%%", "abcd____"):
        with pytest.raises(MeetingNotFound, match="no meeting"):
            find_meeting(engine, world.tenant_id, ref)


def _draft(engine: Engine, world: World, person_id: str, meeting_id: str | None = None) -> str:
    request = ComposeRequest("say yes", tone="friendly", user="Dana", n=2)
    return record_draft(
        engine,
        tenant_id=world.tenant_id,
        author_id=person_id,
        request=request,
        thread=THREAD,
        draft=DRAFT,
        model_id="tiny",
        meeting_id=meeting_id,
    )


def test_a_draft_keeps_only_the_messages_its_prompt_showed(engine: Engine, world: World) -> None:
    dana = world.member("Dana")
    meeting_id = _meeting(engine, world)
    draft_id = _draft(engine, world, dana.subject_id, meeting_id)
    stored = get_draft(
        engine, tenant_id=world.tenant_id, author_id=dana.subject_id, draft_id=draft_id
    )
    assert [m.id for m in stored.thread] == ["m1", "m3"]
    assert stored.thread[1] == THREAD[2] and stored.draft == DRAFT
    assert stored.request == ComposeRequest("say yes", tone="friendly", user="Dana", n=2)
    assert stored.meeting_id == meeting_id and stored.feedback is None
    assert stored.prompt_version == PROMPT_VERSION and stored.model_id == "tiny"


def test_feedback_is_recorded_once_with_its_draft(
    engine: Engine, world: World, clock: Clock
) -> None:
    dana = world.member("Dana")
    draft_id = _draft(engine, world, dana.subject_id)
    first = record_feedback(
        engine,
        tenant_id=world.tenant_id,
        author_id=dana.subject_id,
        draft_id=draft_id[:8].upper(),  # a prefix, as people type it
        sent_text=" Yes — ready! \n",
        rating=5,
        clock=clock,
    )
    assert first.sent_text == "Yes — ready!" and first.draft_id == draft_id
    again = record_feedback(
        engine,
        tenant_id=world.tenant_id,
        author_id=dana.subject_id,
        draft_id=draft_id,
        sent_text="Yes — ready!",
        rating=5,
    )
    assert again == first
    with pytest.raises(FeedbackConflict, match="already has feedback"):
        record_feedback(
            engine,
            tenant_id=world.tenant_id,
            author_id=dana.subject_id,
            draft_id=draft_id,
            sent_text="Yes — ready!",
            rating=2,
        )
    stored = get_draft(
        engine, tenant_id=world.tenant_id, author_id=dana.subject_id, draft_id=draft_id
    )
    assert stored.feedback == first


@pytest.mark.parametrize(
    ("text", "rating", "message"),
    [
        ("   ", None, "empty"),
        ("x" * (MAX_SENT_CHARS + 1), None, "limit"),
        ("ok", 0, "1 to 5"),
        ("ok", 6, "1 to 5"),
    ],
)
def test_bad_feedback_is_refused_and_nothing_is_kept(
    engine: Engine, world: World, text: str, rating: int | None, message: str
) -> None:
    dana = world.member("Dana")
    draft_id = _draft(engine, world, dana.subject_id)
    with pytest.raises(InvalidFeedback, match=message):
        record_feedback(
            engine,
            tenant_id=world.tenant_id,
            author_id=dana.subject_id,
            draft_id=draft_id,
            sent_text=text,
            rating=rating,
        )
    assert (
        get_draft(
            engine, tenant_id=world.tenant_id, author_id=dana.subject_id, draft_id=draft_id
        ).feedback
        is None
    )


def test_someone_elses_draft_does_not_exist_for_you(
    engine: Engine, service: ConsentService, world: World
) -> None:
    dana, eve = world.member("Dana"), world.member("Eve")
    draft_id = _draft(engine, world, dana.subject_id)
    for tenant_id, person in (
        (world.tenant_id, eve.subject_id),
        (make_world(service, "globex").tenant_id, dana.subject_id),
    ):
        with pytest.raises(DraftNotFound):
            get_draft(engine, tenant_id=tenant_id, author_id=person, draft_id=draft_id)
        with pytest.raises(DraftNotFound):
            record_feedback(
                engine, tenant_id=tenant_id, author_id=person, draft_id=draft_id, sent_text="hijack"
            )
