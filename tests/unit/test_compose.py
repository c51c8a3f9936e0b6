"""Compose with a scripted generator: prompts, cleaning, checks and regeneration, fitting a
long thread to the window, and bad input."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from minutekeeper.features.compose import checks, followup
from minutekeeper.features.compose.draft import LENGTH_WORDS, ComposeRequest
from minutekeeper.features.compose.errors import EmptyDraft, InvalidChoice, InvalidThread
from minutekeeper.features.compose.service import clean, draft_message
from minutekeeper.features.compose.thread import Message, Thread, parse_json, parse_lines
from minutekeeper.features.summary.summary import ActionItem, Citation, Point, Summary
from tests.fakes import ScriptedGenerator

THREAD = parse_lines("Ann: Is the deck ready?\nBen: I think Dana has it.\nAnn: Dana?")


def request(**fields: object) -> ComposeRequest:
    return ComposeRequest(user="Dana", **fields)  # type: ignore[arg-type]


def test_a_reply_speaks_as_the_user_about_the_thread() -> None:
    generator = ScriptedGenerator("Dana: Yes, the deck is ready, I will send it by Friday.")
    draft = draft_message(THREAD, request(instruction="say it goes out by Friday"),
                          generator=generator)  # fmt: skip
    assert draft.text == "Yes, the deck is ready, I will send it by Friday."
    assert draft.failed_checks == () and draft.used_messages == ("m1", "m2", "m3")
    prompt = generator.prompts[0]
    assert "Write Dana's reply" in prompt and "Ann: Dana?" in prompt


def test_a_draft_missing_what_was_asked_is_regenerated_once() -> None:
    generator = ScriptedGenerator("Yes, it is ready.", "Yes, it is ready for Ben on Friday.")
    draft = draft_message(THREAD, request(instruction="tell Ben it is ready for Friday"),
                          generator=generator)  # fmt: skip
    assert draft.text == "Yes, it is ready for Ben on Friday." and draft.failed_checks == ()
    assert len(generator.prompts) == 2


def test_a_draft_that_still_fails_says_what_is_wrong() -> None:
    draft = draft_message(THREAD, request(instruction="mention the 300 euros"),
                          generator=ScriptedGenerator("Yes, it is ready."))  # fmt: skip
    assert draft.failed_checks == ("misses: 300",) and draft.verdict == "failed"
    assert draft.headline == "This draft misses: 300. Edit it before you send it, or draft again."


def test_a_failed_draft_leads_with_every_check_it_failed_in_plain_words() -> None:
    rambling = "Yes, it is ready, " + "and it is fine " * 30
    draft = draft_message(THREAD, request(instruction="say Friday"),
                          generator=ScriptedGenerator(rambling))  # fmt: skip
    assert draft.headline.startswith(
        "This draft misses: Friday; and is too long: 124 words for short (at most 40)."
    )
    terse = draft_message(THREAD, request(length="medium"),
                          generator=ScriptedGenerator("Yes."))  # fmt: skip
    assert terse.failed_checks == ("is too short: 1 word for medium (at least 20)",)
    passed = draft_message(THREAD, request(), generator=ScriptedGenerator("Yes, it is ready."))
    assert passed.verdict == "passed" and passed.headline == "Here is your draft."


def test_saying_what_the_instruction_says_is_not_an_echo_of_the_prompt() -> None:
    generator = ScriptedGenerator("Yes, the twelve pilot users can log in by Thursday.")
    draft = draft_message(THREAD, request(instruction="say the twelve pilot users can log in by "
                                                      "Thursday"), generator=generator)  # fmt: skip
    assert draft.failed_checks == () and len(generator.prompts) == 1


def test_a_draft_that_repeats_the_prompt_is_regenerated() -> None:
    echo = "Write Dana's reply in a neutral, clear tone, in one to three sentences."
    generator = ScriptedGenerator(echo, "Yes, it is ready.")
    draft = draft_message(THREAD, request(), generator=generator)
    assert draft.text == "Yes, it is ready." and len(generator.prompts) == 2
    alone = draft_message(THREAD, request(), generator=ScriptedGenerator(echo))
    assert "repeats the prompt instead of answering it" in alone.failed_checks


def test_on_token_follows_each_attempt() -> None:
    counts: list[int] = []
    generator = ScriptedGenerator("Yes.", "Yes, it is ready for Ben on Friday.")
    draft_message(THREAD, request(instruction="tell Ben it is ready for Friday"),
                  generator=generator, on_token=counts.append)  # fmt: skip
    assert counts == [1, 1, 2, 3, 4, 5, 6, 7, 8]


def test_a_reply_ends_where_the_thread_would_go_on() -> None:
    generator = ScriptedGenerator("Yes, it is ready.\nBen: Great, thanks Dana!")
    draft = draft_message(THREAD, request(), generator=generator)
    assert draft.text == "Yes, it is ready."


@pytest.mark.parametrize(
    ("instruction", "terms"),
    [
        ('Mention "command/program" and "HD".', ["command/program", "HD"]),
        ("say it costs 300 euros", ["300"]),
        ("tell Ben it is ready for Friday", ["Friday", "Ben"]),
        ("use ntfs-3g and /etc/fstab, at 2+MB/second", ["ntfs-3g", "/etc/fstab", "2+MB/second"]),
        ("say the LVM kernel is 2.6.31-22-generic", ["LVM", "2.6.31-22-generic"]),
        ("please send the follow-up", []),
        ('say "apt-get" works', ["apt-get"]),
    ],
)
def test_required_terms_are_taken_whole(instruction: str, terms: list[str]) -> None:
    assert checks.required(instruction) == terms


def test_a_model_that_returns_nothing_is_an_error_not_an_empty_draft() -> None:
    with pytest.raises(EmptyDraft, match="returned no text"):
        draft_message(THREAD, request(), generator=ScriptedGenerator("   "))


def test_no_instruction_replies_from_the_thread_alone() -> None:
    draft = draft_message(THREAD, request(), generator=ScriptedGenerator("Yes, it is ready."))
    assert any("No instruction" in note for note in draft.notes)


def test_a_long_thread_keeps_the_newest_messages_and_what_they_answer() -> None:
    old = [Message(f"m{i}", "Ann", "filler " * 40) for i in range(1, 30)]
    root = Message("q", "Ben", "Who owns the budget review?")
    newest = Message("r", "Ann", "Dana, can you answer Ben?", reply_to="q")
    thread = Thread((root, *old, newest))
    generator = ScriptedGenerator("I own the budget review.", context_length=600)
    draft = draft_message(thread, request(), generator=generator)
    assert draft.used_messages[0] == "q" and draft.used_messages[-1] == "r"
    assert any("left out" in note for note in draft.notes)
    assert len(draft.used_messages) < len(thread.messages)


def test_a_draft_repeating_a_message_the_user_was_not_shown_fails_its_check() -> None:
    secret = Message("s", "Ben", "the layoffs will be announced on the ninth of May", shown=False)
    thread = Thread((*THREAD.messages, secret))
    leak = "Sure, and the layoffs will be announced on the ninth of May."
    generator = ScriptedGenerator(leak)
    draft = draft_message(thread, request(), generator=generator)
    assert "secret" not in generator.prompts[0] and "layoffs" not in generator.prompts[0]
    assert any("not shown (s)" in problem for problem in draft.failed_checks)


def test_followup_draws_on_decisions_and_action_items() -> None:
    meeting = Summary(
        overview=(),
        key_points=(),
        decisions=(Point("Ship offline mode in December.", (Citation("s0007", 36.0),)),),
        action_items=(
            ActionItem(
                "Send the sync design",
                "Bob",
                date(2026, 11, 26),
                "by Thursday",
                (Citation("s0008", 43.0),),
            ),
        ),
        open_questions=(),
        chapters=(),
        engine="extractive",
    )
    meeting = replace(meeting, action_items=(
        *meeting.action_items, ActionItem("Book the room", "Dana", None, None, ()),
    ))  # fmt: skip
    generator = ScriptedGenerator(
        "Thanks all: offline mode ships in December. Bob sends the sync design by Thursday, "
        "and I book the room for our review next week."
    )
    draft = draft_message(Thread(()), request(mode="followup", length="medium"),
                          generator=generator, meeting=meeting)  # fmt: skip
    assert draft.used_items == ("s0007", "s0008") and draft.failed_checks == ()
    assert "- Bob: Send the sync design by Thursday 26 November" in generator.prompts[0]
    assert "- I will book the room." in generator.prompts[0]  # copied as is, it reads right


def test_a_followup_must_name_the_owners_and_due_days_and_not_its_author() -> None:
    meeting = Summary((), (), (), (
        ActionItem("Send the design", "Bob", date(2026, 11, 26), "by Thursday", ()),
        ActionItem("Book the room", "Dana", None, None, ()),
    ), (), (), engine="extractive")  # fmt: skip
    vague = (
        "Thanks everyone for a good meeting today; Dana will book the room for the next one "
        "and we will all meet again soon."
    )
    draft = draft_message(Thread(()), request(mode="followup", length="medium"),
                          generator=ScriptedGenerator(vague), meeting=meeting)  # fmt: skip
    assert draft.notes[0] == (
        "The model's best draft misses: Bob, Thursday; "
        "and speaks of Dana as someone else instead of as Dana."
    )
    assert draft.written_by == "meeting items"  # and the items replace the model's draft
    assert draft.verdict == "from_items" and "written from the meeting's" in draft.headline


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"tone": "sarcastic"}, "choose: neutral, friendly, formal, concise"),
        ({"length": "epic"}, "choose: short, medium, long"),
        ({"mode": "rewrite"}, "rewrite needs the text"),
        ({"n": 9}, "1 to 5"),
    ],
)
def test_unknown_choices_list_the_valid_ones(fields: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidChoice, match=message):
        request(**fields)


def test_thread_files_name_the_bad_field_or_line() -> None:
    with pytest.raises(InvalidThread, match=r"messages\[1\]\.author"):
        parse_json('{"messages": [{"author": "a", "text": "b"}, {"text": "c"}]}')
    with pytest.raises(InvalidThread, match="line 2"):
        parse_lines("Ann: hello\nthis line has no speaker")


def test_cleaning_removes_labels_quotes_and_the_next_turn() -> None:
    assert clean('Dana: "Sure, tomorrow."\nUser: next', user="Dana") == "Sure, tomorrow."
    assert clean("Sure.\nAnn: and then?", user="Dana", speakers=["Ann"]) == "Sure."
    looping = "- Eve: I am sorry.\n- Bob: Fine.\n- eve: I am sorry. \n- Bob: Fine."
    assert clean(looping, user="Dana") == "- Eve: I am sorry.\n- Bob: Fine."


def test_required_entities_come_from_the_instruction() -> None:
    assert checks.required("Tell Ben it costs 300 euros, due by Friday") == ["Friday", "300", "Ben"]


def test_a_rewrite_must_keep_what_the_original_says() -> None:
    polite = "Could you please send the deck as soon as possible?"
    generator = ScriptedGenerator("I want to know what you are doing.", polite)
    ask = request(mode="rewrite", tone="formal", instruction="pls send deck asap")
    draft = draft_message(Thread(()), ask, generator=generator)
    assert draft.text == polite
    assert draft.failed_checks == () and len(generator.prompts) == 2


MEETING = Summary(
    overview=(),
    key_points=(),
    decisions=(Point("Offline mode ships in December.", (Citation("s0007", 36.0),)),),
    action_items=(
        ActionItem("Send the sync design", "Bob", date(2026, 11, 26), "by Thursday", ()),
        ActionItem("Book the room", "Dana", date(2026, 11, 30), "by Monday", ()),
        ActionItem("Update the pricing page", "Carol", None, None, ()),
    ),
    open_questions=(),
    chapters=(),
    engine="extractive",
)


def test_a_followup_the_model_fails_is_written_from_the_meetings_items() -> None:
    draft = draft_message(Thread(()), request(mode="followup", length="medium"),
                          generator=ScriptedGenerator("I am sorry, I do not know."),
                          meeting=MEETING)  # fmt: skip
    assert draft.text == (
        "Thanks, everyone. Here is what we agreed.\n"
        "Decisions:\n- Offline mode ships in December.\n"
        "Next steps:\n- Bob: Send the sync design by Thursday 26 November.\n"
        "- I will book the room by Monday 30 November.\n- Carol: Update the pricing page."
    )
    assert draft.failed_checks == () and draft.written_by == "meeting items"
    assert "written from the meeting's decisions" in draft.headline


def test_a_followup_from_items_fits_the_length_and_tone() -> None:
    short = draft_message(Thread(()), request(mode="followup", length="short", tone="formal"),
                          generator=ScriptedGenerator("No."), meeting=MEETING)  # fmt: skip
    assert short.text.startswith("Thank you all for attending.") and short.failed_checks == ()
    assert checks.words(short.text) <= 40 and "Decisions" not in short.text
    many = replace(MEETING, action_items=MEETING.action_items * 4)
    assert followup.from_items(many, user="Dana", tone="concise", length="short") == (
        "Follow-up: Next steps: Bob (Thursday), mine (Monday) and Carol."
    )
    for length, (low, high) in LENGTH_WORDS.items():
        text = followup.from_items(many, user="Dana", tone="neutral", length=length)
        assert text is not None and low <= checks.words(text) <= high, length
    assert followup.from_items(replace(MEETING, action_items=()), user="Dana", tone="neutral",
                               length="long") is None  # fmt: skip


def test_a_followup_the_model_gets_right_is_kept() -> None:
    good = (
        "Thanks all: offline mode ships in December. Bob sends the sync design by Thursday, "
        "Carol updates the pricing page, and I book the room for Monday."
    )
    draft = draft_message(Thread(()), request(mode="followup", length="medium"),
                          generator=ScriptedGenerator(good), meeting=MEETING)  # fmt: skip
    assert draft.text == good and draft.written_by == "scripted"


def test_a_retry_says_which_terms_the_last_draft_missed_and_the_prompt_names_them() -> None:
    generator = ScriptedGenerator("Yes, it is ready.", "Yes, it is ready for 300 euros.")
    draft = draft_message(THREAD, request(instruction="say it costs 300 euros"),
                          generator=generator)  # fmt: skip
    assert draft.failed_checks == () and draft.text == "Yes, it is ready for 300 euros."
    first, second = generator.prompts
    assert first.endswith("Use these exactly as written: 300.")
    assert second.endswith("Important: include 300, exactly as written.")


def test_an_assistants_refusal_is_not_the_users_message() -> None:
    refusal = "I'm sorry, but I can't assist with that."
    generator = ScriptedGenerator(refusal, "Yes, Ben has the deck.")
    assert draft_message(THREAD, request(), generator=generator).text == "Yes, Ben has the deck."
    stuck = draft_message(THREAD, request(), generator=ScriptedGenerator(refusal))
    assert stuck.failed_checks == ("answers as an AI assistant instead of as Dana",)
    assert stuck.headline.startswith("This draft answers as an AI assistant instead of as Dana.")


def test_a_draft_that_copies_the_worked_example_is_asked_again_without_it() -> None:
    copied = "Yes, the venue is booked for Friday, for 40 people."
    generator = ScriptedGenerator(copied, "Yes, the deck is ready.")
    draft = draft_message(THREAD, request(), generator=generator)
    assert draft.text == "Yes, the deck is ready."
    assert "venue" in generator.prompts[0] and "venue" not in generator.prompts[1]


def test_a_rewrite_keeps_the_originals_facts_but_may_spell_out_shorthand() -> None:
    original = "pls send the v2.1 deck to ann@example.com ASAP"
    assert checks.facts(original) == ["v2.1", "ann@example.com"]
    ask = request(mode="rewrite", tone="formal", instruction=original)
    lost = "Could you please send the deck to Ann as soon as possible?"
    kept = "Could you please send the v2.1 deck to ann@example.com as soon as possible?"
    draft = draft_message(Thread(()), ask, generator=ScriptedGenerator(lost, kept))
    assert draft.text == kept and draft.failed_checks == ()
    stuck = draft_message(Thread(()), ask, generator=ScriptedGenerator(lost))
    assert stuck.failed_checks == ("misses: v2.1, ann@example.com",)


def test_cleaning_cuts_a_sentence_said_again() -> None:
    looping = (
        "Bob sends the design by Friday. Carol books the room. Bob sends the design by Friday."
    )
    assert clean(looping, user="Dana") == "Bob sends the design by Friday. Carol books the room."


def test_followup_notes_leave_the_message_room_in_its_length() -> None:
    many = replace(MEETING, action_items=MEETING.action_items * 4)
    text, cited, expected = followup.notes(many, user="Dana", length="medium")
    assert "Decided" not in text and "by Thursday." in text and "26 November" not in text
    assert cited == () and expected == ["Bob", "Thursday", "Monday", "Carol"]
    full, cited, _ = followup.notes(MEETING, user="Dana", length="long")
    assert full.startswith("- Decided: Offline mode ships in December.") and cited == ("s0007",)
    assert "- Bob: Send the sync design by Thursday 26 November." in full


def test_a_refusal_is_asked_again_in_the_users_place() -> None:
    generator = ScriptedGenerator("I'm sorry, but I can't assist with that.", "Ben has it.")
    assert draft_message(THREAD, request(), generator=generator).text == "Ben has it."
    assert generator.prompts[1].endswith(
        "Important: answer in Dana's place, as a person in the chat."
    )
