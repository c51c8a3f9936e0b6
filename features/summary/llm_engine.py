"""The LLM engine: any `TextGenerator` writes the summary as JSON, claim by claim, each
claim citing segment ids; the grounding check drops what its citations do not support.

A meeting longer than the model's context is cut into chunks of whole segments (map), each
summarized on its own, and the chunks' notes are turned into one overview (reduce). The
answer must parse as the schema in `prompts.py`; an invalid answer is retried once with a
reminder, then `InvalidModelOutput` is raised (the service falls back to `extractive`).
Chapters come from the embedding topic segmentation, as a small model's timestamps cannot
be trusted; their titles, as in hybrid, from `writing.py`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from minutekeeper.features.summary import prompts
from minutekeeper.features.summary.dates import find_due
from minutekeeper.features.summary.errors import ContextTooSmall, InvalidModelOutput
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.summary import ActionItem, Point
from minutekeeper.features.summary.text import Sentence
from minutekeeper.models.llm import ChatMessage, TextGenerator

MAX_NEW_TOKENS = 512
# Chunks stay well inside long contexts: prefill time grows with length, and small models
# lose the thread in very long prompts.
CHUNK_TOKENS = 6144
KEY_POINTS_MAX = 8
RETRY_ROOM = 96  # tokens kept free in a chunk's prompt for the retry's reminder
OVERVIEW_MAX = 6


class _Loose(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ClaimOut(_Loose):
    text: str = Field(min_length=1)
    segments: list[str] = Field(default_factory=list)


class ActionOut(_Loose):
    task: str = Field(min_length=1)
    owner: str | None = None
    due: str | None = None
    segments: list[str] = Field(default_factory=list)


class SummaryOut(_Loose):
    overview: list[ClaimOut] = Field(default_factory=list)
    key_points: list[ClaimOut] = Field(default_factory=list)
    decisions: list[ClaimOut] = Field(default_factory=list)
    action_items: list[ActionOut] = Field(default_factory=list)
    open_questions: list[ClaimOut] = Field(default_factory=list)


class OverviewOut(_Loose):
    overview: list[ClaimOut] = Field(min_length=1)


class AnswerOut(_Loose):
    answer: str = Field(min_length=1)
    segments: list[str] = Field(default_factory=list)


Out = TypeVar("Out", bound=BaseModel)


def parse(text: str, schema: type[Out]) -> Out:
    """The first JSON object in `text`, validated against `schema`."""
    start = text.find("{")
    if start < 0:
        raise InvalidModelOutput("the model's answer holds no JSON object")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
        return schema.model_validate(value)
    except (ValueError, ValidationError) as error:
        reason = str(error).splitlines()[0]
        raise InvalidModelOutput(
            f"the model's answer is not the JSON asked for: {reason}"
        ) from error


@dataclass
class ModelTally:
    """How the model's answers went, for evaluation: calls made, and answers that parsed as
    the JSON asked for (a retry is a call of its own)."""

    calls: int = 0
    valid: int = 0

    def parsed(self, text: str, schema: type[Out]) -> Out:
        self.calls += 1
        value = parse(text, schema)
        self.valid += 1
        return value


def generate_json(
    generator: TextGenerator,
    messages: list[ChatMessage],
    schema: type[Out],
    *,
    max_new: int,
    tally: ModelTally | None = None,
) -> Out:
    """Generate and parse; on an invalid answer, retry once with a reminder. The retry shows
    the model its answer when that is short ("Sure! Here is…"); a long one would not fit
    beside the prompt, which was cut to the context less `RETRY_ROOM`."""
    tally = tally if tally is not None else ModelTally()
    first = generator.generate(messages, max_new_tokens=max_new).text
    try:
        return tally.parsed(first, schema)
    except InvalidModelOutput:
        room = RETRY_ROOM - generator.count_tokens(prompts.RETRY.content) - 16
        shown = [ChatMessage("assistant", first)] if generator.count_tokens(first) <= room else []
        retry = [*messages, *shown, prompts.RETRY]
        return tally.parsed(generator.generate(retry, max_new_tokens=max_new).text, schema)


def generate_string(
    generator: TextGenerator,
    messages: list[ChatMessage],
    *,
    key: str,
    max_new: int,
    sentence: bool = False,
    begun: str = "",
    tally: ModelTally | None = None,
) -> str:
    """The value of a one-string JSON answer, `{"<key>": "…"}`, decoded under a constraint:
    the answer's start is written into the assistant's turn (a prefill), so the model
    writes only the string, and generation stops at the string's closing quote (with
    `sentence`, at the end of its first sentence). A small model then cannot get the shape
    wrong, go on with the transcript, or spend tokens after the answer; an answer cut off
    by the length limit, or one that is not a valid JSON string, is invalid.

    `begun`: the string so far (earlier sentences), which the model continues; it may end
    the string there, and the answer is then empty. Returns the new text only."""
    tally = tally if tally is not None else ModelTally()
    so_far = json.dumps(begun)[1:-1] + " " if begun else ""
    stop = ['"', *([". ", ".\n"] if sentence else [])]
    chat = [*messages, ChatMessage("assistant", f'{{"{key}": "{so_far}')]
    answer = generator.generate(chat, max_new_tokens=max_new, stop=stop)
    tally.calls += 1
    text = answer.text.strip()
    if sentence and text and text[-1] not in ".?!":
        text += "."  # the stop string took the full stop
    try:
        value = json.JSONDecoder(strict=False).decode(f'"{text}"')  # escapes as JSON reads them
    except ValueError as error:
        raise InvalidModelOutput("the model's answer is not a JSON string") from error
    empty = not text.strip(".") and not begun
    if answer.finish_reason != "stop" or empty or text.startswith("{"):
        # Cut off before the string closed; empty; or a backend that ignored the prefill.
        raise InvalidModelOutput("the model's answer is not the string asked for")
    tally.valid += 1
    return str(value) if text.strip(".") else ""


@dataclass
class SummaryDraft:
    """The parts of a summary the language model wrote, before they are merged and grounded."""

    overview: list[Point] = field(default_factory=list)
    key_points: list[Point] = field(default_factory=list)
    decisions: list[Point] = field(default_factory=list)
    action_items: list[ActionItem] = field(default_factory=list)
    open_questions: list[Point] = field(default_factory=list)
    dropped: int = 0
    notes: list[str] = field(default_factory=list)


class LlmSummarizer:
    def __init__(
        self,
        generator: TextGenerator,
        grounder: Grounder,
        *,
        roster: Sequence[str],
        meeting_date: date | None,
        chunk_tokens: int = CHUNK_TOKENS,
        tally: ModelTally | None = None,
    ) -> None:
        self._generator = generator
        self._tally = tally
        self._grounder = grounder
        self._roster = {name.lower(): name for name in roster}
        self._date = meeting_date
        self._chunk_tokens = chunk_tokens

    def summarize(self, sentences: Sequence[Sentence]) -> SummaryDraft:
        draft = SummaryDraft()
        chunks = self.chunks(prompts.transcript_lines(sentences), draft)
        for number, lines in enumerate(chunks, start=1):
            messages = prompts.summary_messages(lines, part=(number, len(chunks)))
            out = generate_json(
                self._generator, messages, SummaryOut, max_new=MAX_NEW_TOKENS, tally=self._tally
            )
            draft.overview += self._keep(out.overview, draft)
            draft.key_points += self._keep(out.key_points, draft)
            draft.decisions += self._keep(out.decisions, draft)
            draft.open_questions += self._keep(out.open_questions, draft)
            draft.action_items += self._actions(out.action_items, sentences, draft)
        if len(chunks) > 1 and (draft.overview or draft.key_points):
            notes = [*draft.overview, *draft.key_points]
            draft.overview = self.overview(notes, draft) or draft.overview[:OVERVIEW_MAX]
        draft.overview = draft.overview[:OVERVIEW_MAX]
        draft.key_points = draft.key_points[:KEY_POINTS_MAX]
        return draft

    def overview(self, notes: Sequence[Point], draft: SummaryDraft) -> list[Point]:
        """3 to 6 grounded sentences written from cited notes (reduce step, hybrid)."""
        claims = [(p.text, [c.segment_id for c in p.citations]) for p in notes]
        messages = prompts.overview_messages(claims)
        out = generate_json(
            self._generator, messages, OverviewOut, max_new=MAX_NEW_TOKENS, tally=self._tally
        )
        return self._keep(out.overview, draft)[:OVERVIEW_MAX]

    def chunks(self, lines: Sequence[str], draft: SummaryDraft) -> list[list[str]]:
        """Whole transcript lines per chunk, each chunk's prompt fitting the context."""
        context = min(self._generator.context_length, self._chunk_tokens)
        overhead = sum(self._count(m.content) for m in prompts.summary_messages([], part=(9, 9)))
        budget = context - MAX_NEW_TOKENS - overhead - RETRY_ROOM - 32  # 32: template tokens
        if budget < 64:
            raise ContextTooSmall(
                f"the language model's context ({self._generator.context_length} tokens) is "
                "too small for a summary prompt"
            )
        chunks: list[list[str]] = [[]]
        used = 0
        for line in lines:
            for piece in self._fit(line, budget, draft):
                size = self._count(piece) + 1
                if chunks[-1] and used + size > budget:
                    chunks.append([])
                    used = 0
                chunks[-1].append(piece)
                used += size
        if len(chunks) > 1:
            draft.notes.append(
                f"The meeting is longer than the model's window; it was summarized in "
                f"{len(chunks)} parts."
            )
        return chunks

    def _fit(self, line: str, budget: int, draft: SummaryDraft) -> list[str]:
        if self._count(line) <= budget:
            return [line]
        words, pieces = line.split(), []
        step = max(len(words) * budget // (2 * self._count(line)), 1)
        head = words[0]  # the "[s0012]" id travels with every piece
        for begin in range(0, len(words), step):
            part = words[begin : begin + step]
            pieces.append(" ".join(part if begin == 0 else [head, *part]))
        draft.notes.append(f"Segment {head.strip('[]')} is longer than the model's window; split.")
        return pieces

    def _count(self, text: str) -> int:
        return self._generator.count_tokens(text)

    def _keep(self, claims: Sequence[ClaimOut], draft: SummaryDraft) -> list[Point]:
        kept = []
        for claim in claims:
            if self._grounder.supported(Claim(claim.text, tuple(claim.segments))):
                kept.append(Point(claim.text.strip(), self._grounder.citations(claim.segments)))
            else:
                draft.dropped += 1
        return kept

    def _actions(
        self, actions: Sequence[ActionOut], sentences: Sequence[Sentence], draft: SummaryDraft
    ) -> list[ActionItem]:
        kept = []
        cited_text: dict[str, str] = {}
        for sentence in sentences:
            cited_text[sentence.segment_id] = (
                f"{cited_text.get(sentence.segment_id, '')} {sentence.text}"
            )
        for action in actions:
            if not self._grounder.supported(Claim(action.task, tuple(action.segments))):
                draft.dropped += 1
                continue
            owner = self._roster.get((action.owner or "").strip().lower())
            sources = [action.due or "", *(cited_text.get(s, "") for s in action.segments)]
            due = next((d for s in sources if (d := find_due(s, self._date))), None)
            kept.append(
                ActionItem(
                    task=action.task.strip(),
                    owner=owner,
                    due=due.date if due else None,
                    due_phrase=due.phrase if due else None,
                    citations=self._grounder.citations(action.segments),
                )
            )
        return kept
