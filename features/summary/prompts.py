"""Prompts for the LLM engine and `ask`: what the model sees, and the JSON it must answer.

Transcript lines are shown as `[s0012] Alice: text`, so the model can cite segment ids.
One short worked example comes first: base models (like the embedded Gemma 3 270M) need it
to answer in the format at all; chat models are not hurt by it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from minutekeeper.features.summary.text import Sentence
from minutekeeper.models.llm import ChatMessage

PROMPT_VERSION = "summary-v2"

SYSTEM = (
    "You summarize meetings. Use only what the transcript says. Every item lists the "
    'segment ids (like "s0012") it comes from. Answer with one JSON object and nothing else.'
)

# Chapter calls see no segment ids (their citations are found by the grounding check),
# so the system prompt is only about the writing.
MINUTES = "You write meeting minutes. Use only what the excerpt says."

SCHEMA_HINT = (
    '{"overview": [{"text": str, "segments": [id]}], '
    '"key_points": [{"text": str, "segments": [id]}], '
    '"decisions": [{"text": str, "segments": [id]}], '
    '"action_items": [{"task": str, "owner": str|null, "due": str|null, "segments": [id]}], '
    '"open_questions": [{"text": str, "segments": [id]}]}'
)

_EXAMPLE_LINES = (
    "[s0001] Dana: Let's pick the venue for the offsite today.",
    "[s0002] Lee: The hotel is cheaper than the conference center.",
    "[s0003] Dana: Then we go with the hotel. Lee, can you book it by Friday?",
    "[s0004] Lee: Yes, I will book it by Friday.",
)
_EXAMPLE_ANSWER = {
    "overview": [
        {"text": "The team chose the hotel as the offsite venue.", "segments": ["s0002", "s0003"]}
    ],
    "key_points": [{"text": "The hotel is cheaper.", "segments": ["s0002"]}],
    "decisions": [{"text": "The offsite will be at the hotel.", "segments": ["s0003"]}],
    "action_items": [
        {"task": "Book the hotel", "owner": "Lee", "due": "by Friday", "segments": ["s0004"]}
    ],
    "open_questions": [],
}


def transcript_lines(sentences: Sequence[Sentence]) -> list[str]:
    """One line per segment: `[id] speaker: text`."""
    lines: list[str] = []
    current: str | None = None
    for sentence in sentences:
        if sentence.segment_id == current:
            lines[-1] += " " + sentence.text
        else:
            lines.append(f"[{sentence.segment_id}] {sentence.speaker}: {sentence.text}")
            current = sentence.segment_id
    return lines


def summary_messages(
    lines: Sequence[str], *, part: tuple[int, int] | None = None
) -> list[ChatMessage]:
    where = f" (part {part[0]} of {part[1]} of the meeting)" if part and part[1] > 1 else ""
    return [
        ChatMessage("system", SYSTEM),
        ChatMessage(
            "user", "Transcript:\n" + "\n".join(_EXAMPLE_LINES) + f"\nAnswer as JSON: {SCHEMA_HINT}"
        ),
        ChatMessage("assistant", json.dumps(_EXAMPLE_ANSWER)),
        ChatMessage(
            "user",
            f"Transcript{where}:\n" + "\n".join(lines) + f"\nAnswer as JSON: {SCHEMA_HINT}",
        ),
    ]


def overview_messages(claims: Sequence[tuple[str, Sequence[str]]]) -> list[ChatMessage]:
    """Reduce step (and the hybrid overview): 3 to 6 sentences from cited notes."""
    notes = "\n".join(f"- {text} [{', '.join(ids)}]" for text, ids in claims)
    return [
        ChatMessage("system", SYSTEM),
        ChatMessage(
            "user",
            "Notes from a meeting, each with the segments it comes from:\n"
            f"{notes}\n"
            "Write an overview of the meeting in 3 to 6 sentences, each citing the segments "
            'of the notes it uses. Answer as JSON: {"overview": [{"text": str, "segments": [id]}]}',
        ),
    ]


def chapter_messages(lines: Sequence[str], *, sentences: int = 1) -> list[ChatMessage]:
    """One chapter's strongest lines (`speaker: text`) in; what was discussed or decided, in
    written sentences (one, or a few for a meeting of one chapter), out as `{"summary": …}`."""
    asked = "one sentence" if sentences == 1 else f"{sentences} sentences"
    then = "" if sentences == 1 else ", then the most important proposals, facts or decisions"
    return [
        ChatMessage("system", MINUTES),
        ChatMessage(
            "user",
            "Excerpt from one part of a meeting:\n"
            + "\n".join(lines)
            + f'\n\nAnswer with JSON: {{"summary": {asked} in your own words, at most 25 '
            f"words each, in the past tense, saying what was discussed or decided{then} "
            '(like "The group discussed …")}',
        ),
    ]


def title_messages(summary: str) -> list[ChatMessage]:
    """A chapter's written sentence in; its title, a short phrase, out as `{"title": …}`."""
    return [
        ChatMessage("system", MINUTES),
        ChatMessage(
            "user",
            f"Part of a meeting: {summary}\n\n"
            'Answer with JSON: {"title": the topic of this part in 2 to 4 words, without '
            'names of people (like "Budget review" or "Remote control buttons")}',
        ),
    ]


def question_messages(lines: Sequence[str], question: str) -> list[ChatMessage]:
    return [
        ChatMessage("system", SYSTEM),
        ChatMessage(
            "user",
            "Transcript excerpts:\n"
            + "\n".join(lines)
            + f"\nQuestion: {question}\nAnswer from the excerpts only. If they do not say, "
            'answer "not discussed". Answer as JSON: {"answer": str, "segments": [id]}',
        ),
    ]


RETRY = ChatMessage(
    "user", "That was not valid JSON in the requested shape. Reply with the JSON object only."
)
