"""Summaries and `ask` with the real embedded embedding model; the LLM engine with a
scripted generator (a real class that satisfies `TextGenerator`) and a tiny random Llama."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from minutekeeper.features.summary import service
from minutekeeper.features.summary.errors import (
    InvalidModelOutput,
    UnknownEngine,
    UnsupportedTranscriptLanguage,
)
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.llm_engine import ModelTally, generate_string
from minutekeeper.features.summary.summary import Summary
from minutekeeper.features.summary.text import sentences
from minutekeeper.features.summary.writing import title_phrase
from minutekeeper.features.transcription.service import read_transcript
from minutekeeper.features.transcription.transcript import Segment, Speaker, Transcript
from minutekeeper.models.embeddings import Embedder
from tests.fakes import ScriptedGenerator
from tests.model.tiny_llm import TEMPLATE, tiny_llama

EXAMPLES = Path(__file__).parents[2] / "examples"
MEETING_DATE = date(2026, 11, 23)


@pytest.fixture(scope="module")
def meeting() -> Transcript:
    return read_transcript(EXAMPLES / "meeting.vtt")


@pytest.fixture(scope="module")
def summary(meeting: Transcript, embedder: Embedder) -> Summary:
    request = service.SummaryRequest(meeting_date=MEETING_DATE)
    return service.summarize_meeting(meeting, embedder=embedder, request=request)


def test_example_meeting_summary_finds_every_scripted_action_item(summary: Summary) -> None:
    script = json.loads((EXAMPLES / "meeting_script.json").read_text())
    expected = {(a["owner"], a["due_date"]) for a in script["expected"]["action_items"]}
    found = {(a.owner, a.due.isoformat() if a.due else None) for a in summary.action_items}
    assert found == expected
    assert len(summary.decisions) == len(script["expected"]["decisions"])
    assert [q.citations[0].segment_id for q in summary.open_questions] == ["s0021"]


def test_every_item_cites_real_segments_that_support_it(
    summary: Summary, meeting: Transcript, embedder: Embedder
) -> None:
    ids = {s.id: s for s in meeting.segments}
    grounder = Grounder(sentences(meeting), embedder)
    assert 3 <= len(summary.overview) <= 6 and summary.chapters
    for item in summary.items():
        assert item.citations
        for citation in item.citations:
            segment = ids[citation.segment_id]
            assert segment.start - 0.01 <= citation.start <= segment.end + 0.01
        text = getattr(item, "text", None) or getattr(item, "task", None)
        if text and not hasattr(item, "title"):
            assert grounder.supported(Claim(text, tuple(c.segment_id for c in item.citations)))


def test_extractive_sentences_all_come_from_the_meeting(summary: Summary) -> None:
    spoken = " ".join(s.text for s in read_transcript(EXAMPLES / "meeting.vtt").segments)
    for point in (*summary.overview, *summary.key_points):
        assert point.text.rstrip(".?!") in spoken


def _transcript(*lines: tuple[str, str], language: str = "en") -> Transcript:
    segments = tuple(
        Segment(f"s{i + 1:04d}", who, i * 5.0, i * 5.0 + 4, text)
        for i, (who, text) in enumerate(lines)
    )
    speakers = tuple(Speaker(n, n, "track") for n in sorted({w for w, _ in lines}))
    return Transcript(segments, speakers, len(lines) * 5.0, "test", language)


def test_empty_transcript_gives_an_honest_empty_summary(embedder: Embedder) -> None:
    result = service.summarize_meeting(_transcript(), embedder=embedder)
    assert result.items() == () and "empty" in result.notes[0]


def test_one_line_meeting_summary_says_only_that_line(embedder: Embedder) -> None:
    result = service.summarize_meeting(
        _transcript(("Ann", "The budget review moves to March.")), embedder=embedder
    )
    assert [p.text for p in result.overview] == ["The budget review moves to March."]
    assert result.key_points == () and result.action_items == ()
    assert any("very short" in note for note in result.notes)


def test_a_transcript_in_another_language_is_refused_by_name(embedder: Embedder) -> None:
    german = _transcript(("Ann", "Wir verschieben das Budget auf März."), language="de")
    with pytest.raises(UnsupportedTranscriptLanguage, match="'de'"):
        service.summarize_meeting(german, embedder=embedder)


def test_unknown_engine_lists_the_valid_ones(embedder: Embedder) -> None:
    with pytest.raises(UnknownEngine, match="extractive, llm, hybrid"):
        service.summarize_meeting(
            _transcript(("Ann", "Hello there everyone.")),
            embedder=embedder,
            request=service.SummaryRequest(engine="magic"),
        )


GOOD = {
    "overview": [
        {
            "text": "The team decided to ship offline mode in December.",
            "segments": ["s0007"],
        },
        {"text": "Penguins migrate across the Antarctic ice in winter.", "segments": ["s0002"]},
    ],
    "key_points": [{"text": "Calendar sync moves to January.", "segments": ["s0007"]}],
    "decisions": [],
    "action_items": [
        {
            "task": "Send the draft of the sync design document",
            "owner": "bob",
            "due": "by Thursday",
            "segments": ["s0008"],
        }
    ],
    "open_questions": [],
}


def _llm(
    meeting: Transcript, embedder: Embedder, generator: object, engine: str = "llm"
) -> Summary:
    request = service.SummaryRequest(engine=engine, meeting_date=MEETING_DATE)
    return service.summarize_meeting(
        meeting,
        embedder=embedder,
        generator=generator,
        request=request,  # type: ignore[arg-type]
    )


def test_llm_claims_are_kept_only_when_their_citations_support_them(
    meeting: Transcript, embedder: Embedder
) -> None:
    result = _llm(meeting, embedder, ScriptedGenerator(json.dumps(GOOD)))
    assert result.engine == "llm"
    assert [p.text for p in result.overview] == [GOOD["overview"][0]["text"]]
    assert result.dropped_claims == 1 and any("dropped" in n for n in result.notes)
    (action,) = result.action_items
    assert (action.owner, action.due) == ("Bob", date(2026, 11, 26))


def test_invalid_json_is_retried_once_with_a_reminder(
    meeting: Transcript, embedder: Embedder
) -> None:
    generator = ScriptedGenerator("Sure! Here is the summary: overview", json.dumps(GOOD))
    result = _llm(meeting, embedder, generator)
    summary_calls = [p for p in generator.prompts if "Answer as JSON" in p]
    assert result.engine == "llm" and len(summary_calls) == 2
    assert "not valid JSON" in summary_calls[1]


def test_invalid_json_twice_falls_back_to_extractive_and_says_so(
    meeting: Transcript, embedder: Embedder, summary: Summary
) -> None:
    generator = ScriptedGenerator('{"overview": "not a list"}', "no json at all")
    result = _llm(meeting, embedder, generator)
    assert len(generator.prompts) == 2
    assert result.engine == "extractive" and result.overview == summary.overview
    assert "did not answer in valid JSON" in result.notes[-1]


def test_a_long_meeting_is_chunked_to_the_context_and_reduced(
    meeting: Transcript, embedder: Embedder
) -> None:
    reduced = {"overview": [GOOD["overview"][0]]}
    generator = ScriptedGenerator(
        lambda prompt: json.dumps(reduced if "Notes from a meeting" in prompt else GOOD),
        context_length=1000,
    )
    result = _llm(meeting, embedder, generator)
    parts = [p for p in generator.prompts if "Transcript (part" in p]
    assert len(parts) >= 2 and any(f"part {len(parts)} of {len(parts)}" in p for p in parts)
    seen = "\n".join(parts)
    assert all(f"[{s.id}]" in seen for s in meeting.segments)  # nothing truncated away
    assert any("summarized in" in n for n in result.notes)
    assert [p.text for p in result.overview] == [GOOD["overview"][0]["text"]]


OFFSITE = (
    ("Ann", "Let's pick the venue for the team offsite in May today."),
    ("Lee", "The hotel is cheaper than the conference center and has more rooms."),
    ("Ann", "Then we go with the hotel for the offsite, that settles it."),
    ("Lee", "I will book the hotel rooms for everyone by Friday."),
    ("Kim", "We still need a budget for the team dinner on the first evening."),
)
CHOSEN = "The team chose the hotel as the offsite venue because it was cheaper."
PENGUINS = "Penguins migrate across the Antarctic ice in winter."


def _writer(*sentences: str, title: str) -> ScriptedGenerator:
    """Answers as a backend does under `generate_string`'s constraint: the string's next
    sentence after what the prefill holds (nothing once they are all told), or the title."""

    def reply(prompt: str) -> str:
        if "Part of a meeting:" in prompt:
            return title
        told = prompt.rsplit('{"summary": "', 1)[1]
        return next((s for s in sentences if s not in told), "")

    return ScriptedGenerator(reply)


def test_hybrid_overview_is_written_and_cites_the_segments_that_support_it(
    embedder: Embedder,
) -> None:
    meeting = _transcript(*OFFSITE)
    extractive = service.summarize_meeting(meeting, embedder=embedder)
    generator = _writer(CHOSEN, PENGUINS, title="Offsite venue")
    tally = ModelTally()
    result = service.summarize_meeting(
        meeting,
        embedder=embedder,
        generator=generator,  # type: ignore[arg-type]
        request=service.SummaryRequest(engine="hybrid"),
        tally=tally,
    )
    assert result.engine == "hybrid" and [p.text for p in result.overview] == [CHOSEN]
    assert result.dropped_claims == 1 and any("1 generated claim" in n for n in result.notes)
    grounder = Grounder(sentences(meeting), embedder)
    (point,) = result.overview
    assert point.citations and all(
        grounder.supported(Claim(CHOSEN, (c.segment_id,))) for c in point.citations
    )
    assert [c.title for c in result.chapters] == ["Offsite venue"]
    assert (result.key_points, result.action_items) == (
        extractive.key_points,
        extractive.action_items,
    )
    # One chapter: three sentences asked for, each call continuing the string so far.
    assert generator.prompts[1].endswith(f'{{"summary": "{CHOSEN} ')
    assert (tally.calls, tally.valid) == (len(generator.prompts), len(generator.prompts))


@pytest.mark.parametrize(
    ("answer", "kept"),
    [
        ("Offsite venue", "Offsite venue"),
        ("offsite venue and hotel rooms: a choice made on cost", "Offsite venue and hotel rooms"),
        ("Thanks, let's, netlify", None),  # a keyword list
        ("Penguin migration", None),  # nothing the chapter says
        ("Team meeting update", None),  # fits any chapter ("team" is said in this one)
        ("Hotel rooms, dinner budget, venue", "Hotel rooms"),
        ("The venue for the team offsite and its budget", "The venue for the team offsite"),
        (
            "Choosing between the cheaper hotel and the conference center",
            "Choosing between the cheaper hotel",
        ),
        ("Choosing the cheaper hotel over the big conference center downtown", None),  # no head
        ("Venue", None),
    ],
)
def test_a_chapter_title_is_a_short_phrase_about_the_chapter(answer: str, kept: str | None) -> None:
    said = sentences(_transcript(*OFFSITE))
    assert title_phrase(answer, said) == kept


def test_a_backend_that_answers_a_whole_object_instead_of_the_string_is_invalid() -> None:
    tally = ModelTally()
    generator = ScriptedGenerator('{"summary": "The team chose the hotel."}')
    with pytest.raises(InvalidModelOutput):
        generate_string(generator, [], key="summary", max_new=16, tally=tally)  # type: ignore[arg-type]
    assert (tally.calls, tally.valid) == (1, 0)


def test_hybrid_on_a_real_tiny_model_keeps_the_extractive_overview_and_says_why(
    embedder: Embedder, tmp_path: Path
) -> None:
    """The random model never closes the string it is given: every answer runs to the
    length limit, is counted invalid, and the summary says which parts stay extractive."""
    from minutekeeper.models.ctranslate2_generator import CTranslate2Generator

    meeting = _transcript(*OFFSITE)
    folder = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=4096)
    generator = CTranslate2Generator(str(folder), cache_dir=tmp_path / "cache")
    tally = ModelTally()
    result = service.summarize_meeting(
        meeting,
        embedder=embedder,
        generator=generator,
        request=service.SummaryRequest(engine="hybrid"),
        tally=tally,
    )
    extractive = service.summarize_meeting(meeting, embedder=embedder)
    assert result.overview == extractive.overview and result.chapters == extractive.chapters
    assert (tally.calls, tally.valid) == (1, 0)
    assert any("not the JSON asked for" in n for n in result.notes)


def test_llm_engine_on_a_real_tiny_model_falls_back_when_it_writes_no_json(
    meeting: Transcript, embedder: Embedder, tmp_path: Path
) -> None:
    from minutekeeper.models.ctranslate2_generator import CTranslate2Generator

    folder = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=4096)
    generator = CTranslate2Generator(str(folder), cache_dir=tmp_path / "cache")
    result = _llm(meeting, embedder, generator)
    assert result.engine == "extractive" and "valid JSON" in result.notes[-1]


def test_a_long_invalid_answer_is_left_out_of_the_retry_so_the_retry_fits(
    meeting: Transcript, embedder: Embedder, tmp_path: Path
) -> None:
    """The random model writes 512 tokens of no JSON; shown again beside a chunk cut to the
    window, they would push the retry past it (a ModelError instead of the fallback)."""
    from minutekeeper.models.ctranslate2_generator import CTranslate2Generator

    folder = tiny_llama(tmp_path / "tiny", chat_template=TEMPLATE, context=1400)
    generator = CTranslate2Generator(str(folder), cache_dir=tmp_path / "cache")
    result = _llm(meeting, embedder, generator)
    assert result.engine == "extractive" and "valid JSON" in result.notes[-1]


def test_a_model_whose_context_cannot_hold_the_prompt_falls_back_and_says_why(
    meeting: Transcript, embedder: Embedder
) -> None:
    result = _llm(meeting, embedder, ScriptedGenerator("{}", context_length=300))
    assert result.engine == "extractive"
    assert "context (300 tokens) is too small" in result.notes[-1]


def test_ask_quotes_where_the_meeting_answers(meeting: Transcript, embedder: Embedder) -> None:
    answer = service.answer_question(meeting, "When does calendar sync ship?", embedder=embedder)
    assert answer.found and "January" in answer.text
    assert "s0007" in {c.segment_id for c in answer.citations}


@pytest.mark.parametrize(
    "question",
    ["What is the capital of Mongolia?", "What is the budget for marketing?"],
)
def test_ask_says_so_when_the_meeting_does_not_answer(
    meeting: Transcript, embedder: Embedder, question: str
) -> None:
    answer = service.answer_question(meeting, question, embedder=embedder)
    assert not answer.found and answer.citations == ()
    assert answer.text == "The meeting does not seem to discuss this."


OFFSITE = (
    ("Ann", "Next up is the venue for the offsite in May."),
    (
        "Raj",
        "For the offsite venue I looked at the lake hotel and the city loft, and the lake "
        "hotel has more rooms for the offsite.",
    ),
    ("Li", "The city loft is cheaper, but it only fits twenty people."),
    ("Raj", "Twenty is too few, we are thirty now."),
    ("Ann", "Okay, so we decided to book the lake hotel."),
    ("Li", "Raj, can you send the catering menu by Friday?"),
    ("Raj", "Sure, I will."),
)


def test_what_was_decided_leads_with_the_decision_over_closer_discussion(
    embedder: Embedder,
) -> None:
    offsite = _transcript(*OFFSITE)
    question = "What did we decide about the venue for the offsite?"
    vectors = embedder.embed([text for _, text in OFFSITE])
    (asked,) = embedder.embed([question])
    discussion, decision = vectors[1] @ asked, vectors[4] @ asked
    assert discussion > decision + 0.1  # the discussion is the closer one by far
    answer = service.answer_question(offsite, question, embedder=embedder)
    assert answer.found and answer.citations[0].segment_id == "s0005"
    assert answer.text.startswith("Ann: Okay, so we decided to book the lake hotel.")
    # With what led to it: one sentence of that discussion (quotes are of different moments).
    assert {c.segment_id for c in answer.citations} & {"s0001", "s0002"}


@pytest.mark.parametrize(
    ("question", "decision"),
    [
        ("What did we decide about pricing?", "s0012"),  # "So let's go with a single annual…"
        ("What was decided on onboarding?", "s0017"),  # "Let's go with the checklist."
        ("What did we decide about calendar sync?", "s0007"),
    ],
)
def test_what_was_decided_about_a_topic_is_its_decision(
    meeting: Transcript, embedder: Embedder, question: str, decision: str
) -> None:
    answer = service.answer_question(meeting, question, embedder=embedder)
    assert answer.found and answer.citations[0].segment_id == decision


def test_what_was_decided_without_a_topic_is_every_decision(
    meeting: Transcript, embedder: Embedder
) -> None:
    answer = service.answer_question(meeting, "What did we decide?", embedder=embedder)
    assert [c.segment_id for c in answer.citations] == ["s0007", "s0012", "s0017"]


def test_ask_with_an_llm_keeps_a_supported_generated_answer(
    meeting: Transcript, embedder: Embedder
) -> None:
    reply = {"answer": "Calendar sync moves to January.", "segments": ["s0007"]}
    answer = service.answer_question(
        meeting,
        "When does calendar sync ship?",
        embedder=embedder,
        generator=ScriptedGenerator(json.dumps(reply)),  # type: ignore[arg-type]
        engine="llm",
    )
    assert (answer.engine, answer.text) == ("llm", reply["answer"])
