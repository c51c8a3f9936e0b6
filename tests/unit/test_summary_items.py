"""Cue patterns for action items, decisions and open questions, on hand-made sentences
(no model): who owns a task, and what is not a task."""

from __future__ import annotations

from datetime import date

from minutekeeper.features.summary import items
from minutekeeper.features.summary.text import Sentence, clean

MEETING = date(2026, 11, 23)
ROSTER = ["Ann", "Ben", "Cat"]


def said(*turns: tuple[str, str]) -> list[Sentence]:
    found: list[Sentence] = []
    for number, (speaker, text) in enumerate(turns):
        for part in text.split(" | "):
            start = float(number * 10 + len(found))
            found.append(
                Sentence(len(found), f"s{number + 1:04d}", speaker, start, start + 1, part)
            )
    return found


def actions(*turns: tuple[str, str]) -> list[tuple[str | None, str, str | None]]:
    found = items.action_items(said(*turns), meeting_date=MEETING, roster=ROSTER)
    return [(a.owner, a.task, a.due.isoformat() if a.due else None) for a, _ in found]


def test_a_commitment_belongs_to_its_speaker_with_its_due_date() -> None:
    assert actions(("Ben", "I will send the budget draft by Thursday.")) == [
        ("Ben", "Send the budget draft", "2026-11-26")
    ]


def test_a_request_answered_yes_belongs_to_the_person_asked() -> None:
    found = actions(
        ("Ann", "Cat, can you update the pricing page by Friday?"),
        ("Cat", "Yes, I can do that."),
    )
    assert found == [("Cat", "Update the pricing page", "2026-11-27")]


def test_a_request_answered_no_is_not_an_action_item() -> None:
    assert actions(("Ann", "Ben, could you cover the on-call shift?"), ("Ben", "No, sorry.")) == []


def test_an_offer_taken_owns_the_task_that_was_asked_for() -> None:
    found = actions(
        ("Ann", "Can someone write the release notes for the beta?"),
        ("Cat", "I'll do it."),
    )
    assert found == [("Cat", "Write the release notes for the beta", None)]


def test_a_task_given_to_someone_else_by_name() -> None:
    assert actions(("Ann", "Ben is going to migrate the billing database in two weeks.")) == [
        ("Ben", "Migrate the billing database", "2026-12-07")
    ]


def test_past_work_hedges_and_in_meeting_requests_are_not_tasks() -> None:
    assert (
        actions(
            ("Ann", "I sent the report to finance yesterday."),
            ("Ben", "We could maybe add caching at some point."),
            ("Cat", "Ann, can you share your screen?"),
            ("Ann", "Sure."),
            ("Ben", "I'll be honest with you, it looks fine."),
        )
        == []
    )


def test_the_deadline_may_come_in_the_next_sentence_of_the_turn() -> None:
    found = actions(("Ben", "I will update the checklist for slots. | I'll do it by Tuesday."))
    assert found == [("Ben", "Update the checklist for slots", "2026-11-24")]


def test_decisions_come_from_decision_cues_and_confirmed_proposals() -> None:
    found = items.decisions(
        said(
            ("Ann", "So we decided to ship offline mode in December."),
            ("Ben", "Let's keep the old logo for now. | Everyone okay with that?"),
            ("Cat", "Yes, fine."),
            ("Ann", "Maybe we should decide later whether to hire."),
        )
    )
    assert [p.text for p, _ in found] == [
        "So we decided to ship offline mode in December.",
        "Let's keep the old logo for now.",
    ]


def test_an_open_question_is_a_question_left_unanswered() -> None:
    found = items.open_questions(
        said(
            ("Cat", "Do the pilot customers need single sign on from day one?"),
            ("Ben", "No idea, honestly."),
            ("Ann", "Is the demo room booked for Friday?"),
            ("Cat", "Yes, it is."),
        )
    )
    assert [(p.text, [c.segment_id for c in p.citations]) for p, _ in found] == [
        ("Do the pilot customers need single sign on from day one?", ["s0001", "s0002"])
    ]


def test_cleaning_removes_hesitations_but_keeps_the_words() -> None:
    assert (
        clean("Um and I I think uh we should, uh-huh, ship it") == "And I think we should, ship it"
    )


def test_without_a_meeting_date_an_action_item_keeps_its_due_phrase() -> None:
    ((item, _),) = items.action_items(
        said(("Ben", "I will send the budget draft by Thursday.")), meeting_date=None, roster=ROSTER
    )
    assert (item.task, item.due, item.due_phrase) == ("Send the budget draft", None, "by Thursday")
