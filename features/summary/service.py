"""`summarize_meeting` and `answer_question`: one service for the CLI and the API.

Preprocess (sentences, embeddings) -> engine -> postprocess (grounding, assembly). Users
always get a summary: when the LLM cannot produce valid JSON, the extractive summary is
returned with a note saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import TypeVar

import numpy as np

from minutekeeper.features.summary import extractive, items, prompts, retrieval
from minutekeeper.features.summary.classifier import (
    ACTION,
    DECISION,
    ItemClassifier,
    classifier_for,
)
from minutekeeper.features.summary.errors import (
    ContextTooSmall,
    InvalidModelOutput,
    UnknownEngine,
    UnsupportedTranscriptLanguage,
)
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.llm_engine import (
    AnswerOut,
    LlmSummarizer,
    ModelTally,
    SummaryDraft,
    generate_json,
)
from minutekeeper.features.summary.summary import (
    DATE_SOURCES,
    ActionItem,
    Answer,
    Point,
    Summary,
)
from minutekeeper.features.summary.text import Sentence, sentences
from minutekeeper.features.summary.writing import ChapterWriter, Written
from minutekeeper.features.transcription.transcript import Transcript
from minutekeeper.models.embeddings import Embedder
from minutekeeper.models.llm import TextGenerator

ENGINES = ("extractive", "llm", "hybrid")
# On 2 CPU cores hybrid reads better (a written overview, titles that are phrases) but takes
# ~28 times as long for a ROUGE gain within two standard errors (scripts/eval_summary.py,
# README), so extractive stays the default and hybrid is chosen in the settings.
DEFAULT_ENGINE = "extractive"
LANGUAGES = ("en",)
Item = TypeVar("Item")


@dataclass(frozen=True)
class SummaryRequest:
    engine: str = DEFAULT_ENGINE
    meeting_date: date | None = None
    meeting_date_from: str = "given"  # where the date came from: a key of DATE_SOURCES

    def __post_init__(self) -> None:
        if self.meeting_date_from not in DATE_SOURCES:
            raise ValueError(f"meeting_date_from: one of {', '.join(DATE_SOURCES)}")


def check_engine(
    engine: str, generator: TextGenerator | None = None, *, built: bool = False
) -> None:
    """A known engine name; with `built`, also that the LLM engines were given a model."""
    if engine not in ENGINES:
        raise UnknownEngine(f"unknown summary engine {engine!r}; valid: {', '.join(ENGINES)}")
    if built and engine != "extractive" and generator is None:
        raise UnknownEngine(f"the {engine} engine needs a text generation model")


def check_language(transcript: Transcript) -> None:
    language = (transcript.language or "en").lower()
    if language.split("-")[0] not in LANGUAGES:
        raise UnsupportedTranscriptLanguage(
            f"this transcript is in {language!r}; summaries handle English only (the "
            "embedded sentence-embedding model and the action-item patterns are English)"
        )


def summarize_meeting(
    transcript: Transcript,
    *,
    embedder: Embedder,
    generator: TextGenerator | None = None,
    request: SummaryRequest | None = None,
    tally: ModelTally | None = None,
) -> Summary:
    """The meeting's summary by the requested engine; `tally` counts the model's calls and
    valid answers (for evaluation). It says which meeting date resolved its due dates, and
    where that date came from."""
    request = request or SummaryRequest()
    summary = _summarize(transcript, embedder, generator, request, tally)
    dated = request.meeting_date is not None
    return replace(summary, meeting_date_from=request.meeting_date_from if dated else None)


def _summarize(
    transcript: Transcript,
    embedder: Embedder,
    generator: TextGenerator | None,
    request: SummaryRequest,
    tally: ModelTally | None,
) -> Summary:
    check_engine(request.engine, generator, built=True)
    check_language(transcript)
    said = sentences(transcript)
    if not said:
        note = "The transcript is empty: nobody said anything that could be summarized."
        return Summary((), (), (), (), (), (), engine=request.engine, notes=(note,),
                       meeting_date=request.meeting_date)  # fmt: skip
    roster = sorted({s.speaker for s in said} | {s.name for s in transcript.speakers if s.name})
    found = Found(
        actions=items.action_items(said, meeting_date=request.meeting_date, roster=roster),
        decisions=items.decisions(said),
        questions=items.open_questions(said),
    )
    vectors = _embed(said, embedder, also=[s.index for s in found.sentences()])
    grounder = Grounder(said, embedder, vectors=vectors)
    selection = extractive.select(said, vectors, duration=transcript.duration)
    base = _extractive(said, vectors, selection, embedder, grounder, found, request.meeting_date)
    if request.engine == "extractive":
        return base
    assert generator is not None
    tally = tally if tally is not None else ModelTally()
    draft = SummaryDraft()
    try:
        if request.engine == "llm":
            llm = LlmSummarizer(generator, grounder, roster=roster,
                                meeting_date=request.meeting_date, tally=tally)  # fmt: skip
            draft = llm.summarize(said)
        written = ChapterWriter(generator, grounder, tally=tally).write(said, vectors, selection)
    except InvalidModelOutput:
        return _fallback(base, generator)
    except ContextTooSmall as error:
        return replace(base, notes=(*base.notes, f"{error.message}; this summary is extractive."))
    return _merge(base, draft, written, engine=request.engine)


@dataclass(frozen=True)
class Found:
    """What the cue patterns found, each with the sentence it was found in."""

    actions: list[tuple[ActionItem, Sentence]]
    decisions: list[tuple[Point, Sentence]]
    questions: list[tuple[Point, Sentence]]

    def sentences(self) -> list[Sentence]:
        return [s for _, s in (*self.actions, *self.decisions, *self.questions)]


def _embed(said: Sequence[Sentence], embedder: Embedder, *, also: Sequence[int]) -> np.ndarray:
    """Embeddings of the sentences the extractive engine reads: those long enough to carry
    a point, and those items were found in. The rest ("Yeah.", "Okay, sure.") stay zero
    rows, which the grounding check fills in if a claim cites them; skipping them keeps the
    longest meetings within the time budget (scripts/bench_summary.py)."""
    wanted = {s.index for s in said if s.words >= extractive.MIN_WORDS} or set(range(len(said)))
    rows = sorted(wanted | set(also))
    vectors = np.zeros((len(said), embedder.dimension), dtype=np.float32)
    vectors[rows] = embedder.embed([said[i].text for i in rows])
    return vectors


def _extractive(
    said: Sequence[Sentence],
    vectors: np.ndarray,
    picked: extractive.Selection,
    embedder: Embedder,
    grounder: Grounder,
    found: Found,
    meeting_date: date | None,
) -> Summary:
    classifier = classifier_for(embedder)
    actions = [
        a
        for a in _confirmed(found.actions, vectors, classifier, ACTION)
        if grounder.supported(Claim(a.task, tuple(c.segment_id for c in a.citations)))
    ]  # a task cut out of a garbled sentence may no longer say what the sentence says
    decided = _confirmed(found.decisions, vectors, classifier, DECISION)
    notes: tuple[str, ...] = ()
    if meeting_date is None and any(a.due_phrase and a.due is None for a in actions):
        notes = ("Due dates are not resolved to days: give the meeting date (--date).",)
    if len(said) < 3:
        notes = (*notes, "The transcript is very short; so is this summary.")
    return Summary(
        overview=picked.overview,
        key_points=picked.key_points,
        decisions=tuple(decided),
        action_items=tuple(actions),
        open_questions=tuple(p for p, _ in found.questions),
        chapters=picked.chapters,
        engine="extractive",
        meeting_date=meeting_date,
        notes=notes,
    )


def _confirmed(
    found: Sequence[tuple[Item, Sentence]],
    vectors: np.ndarray,
    classifier: ItemClassifier,
    label: str,
) -> list[Item]:
    if not found:
        return []
    rows = vectors[[sentence.index for _, sentence in found]]
    return [
        item for (item, _), ok in zip(found, classifier.confirms(rows, label), strict=True) if ok
    ]


def _fallback(base: Summary, generator: TextGenerator) -> Summary:
    note = (
        f"The language model ({generator.name}) did not answer in valid JSON, even when asked "
        "again; this summary is extractive instead."
    )
    return replace(base, notes=(*base.notes, note))


def _merge(base: Summary, draft: SummaryDraft, written: Written, *, engine: str) -> Summary:
    """The LLM's grounded items; the extractive ones where the LLM kept none of a kind.
    Hybrid: the extractive summary with the written overview and chapter titles
    (`writing.py`); the extractive ones where the model wrote none."""
    notes = [*base.notes, *draft.notes]
    dropped = draft.dropped + written.dropped
    if written.failed:
        notes.append(f"{written.failed} of the language model's answers were not the JSON "
                     "asked for; those parts stay extractive.")  # fmt: skip
    if dropped:
        notes.append(f"{dropped} generated claim(s) were dropped: their citations do not "
                     "support them.")  # fmt: skip
    overview = tuple(draft.overview) or tuple(written.overview)
    if not overview:
        notes.append("No generated overview sentence passed the grounding check; the overview "
                     "is extractive.")  # fmt: skip
    chapters = tuple(
        replace(chapter, title=title) if title else chapter
        for chapter, title in zip(base.chapters, written.titles or [None] * len(base.chapters),
                                  strict=True)
    )  # fmt: skip
    merged = replace(base, overview=overview or base.overview, chapters=chapters,
                     engine=engine, notes=tuple(notes), dropped_claims=dropped)  # fmt: skip
    if engine == "hybrid":
        return merged
    return replace(
        merged,
        key_points=tuple(draft.key_points) or base.key_points,
        decisions=tuple(draft.decisions) or base.decisions,
        action_items=tuple(draft.action_items) or base.action_items,
        open_questions=tuple(draft.open_questions) or base.open_questions,
    )


def answer_question(
    transcript: Transcript,
    question: str,
    *,
    embedder: Embedder,
    generator: TextGenerator | None = None,
    engine: str = DEFAULT_ENGINE,
) -> Answer:
    """Retrieve the sentences that answer the question (`retrieval`; decisions first when
    it asks what was decided); quote them (extractive) or let the LLM answer from them,
    keeping the answer only if its citations support it."""
    check_engine(engine, generator, built=True)
    check_language(transcript)
    if not question.strip():
        from minutekeeper.core.errors import InvalidInput

        raise InvalidInput("the question is empty")
    said = sentences(transcript)
    if not said:
        return Answer(question, "The transcript is empty.", (), found=False, engine=engine)
    vectors = embedder.embed([s.text for s in said])
    asked = Asked.of(question, said, vectors, embedder=embedder)
    hits = asked.answering()
    if not hits:
        text = "The meeting does not seem to discuss this."
        return Answer(question, text, (), found=False, engine="extractive")
    quoted = sorted(hits, key=lambda i: (i not in asked.decisions, i))  # decisions first
    extract = Answer(
        question,
        " ".join(f"{said[i].speaker}: {said[i].text}" for i in quoted),
        tuple(said[i].citation for i in quoted),
        found=True,
        engine="extractive",
    )
    if engine == "extractive" or generator is None:
        return extract
    grounder = Grounder(said, embedder, vectors=vectors)
    return _generated_answer(question, said, hits, extract, grounder, generator)


@dataclass(frozen=True)
class Asked:
    """A question against a meeting's sentences: each sentence's relevance to it, which
    sentences are by a speaker it names, and the decision sentences when it asks what was
    decided (none otherwise)."""

    scores: np.ndarray
    named: np.ndarray | None = None  # a mask: sentences by the speakers the question names
    decisions: tuple[int, ...] = ()
    topical: bool = True  # False: it names no topic ("What did we decide?")

    @classmethod
    def of(
        cls, question: str, said: Sequence[Sentence], vectors: np.ndarray, *, embedder: Embedder
    ) -> Asked:
        (asked,) = embedder.embed([question])
        speakers = {s.speaker for s in said}
        scores = retrieval.relevance(question, said, vectors @ asked, speakers=speakers)
        who = retrieval.named_speakers(question, speakers)
        named = np.array([s.speaker in who for s in said]) if who else None
        if not retrieval.asks_for_decision(question):
            return cls(scores, named)
        found = [(sentence.index, sentence) for _, sentence in items.decisions(said)]
        decided = _confirmed(found, vectors, classifier_for(embedder), DECISION)
        topical = bool(retrieval.topic_words(question, speakers))
        return cls(scores, named, tuple(decided), topical)

    def answering(self, threshold: float = retrieval.RELEVANCE) -> list[int]:
        """The sentences that answer (`retrieval.answering`); what was decided, when that is
        all the question asks."""
        if not self.topical and self.decisions:
            return list(self.decisions[: retrieval.QUOTED])
        return retrieval.answering(self.scores, decisions=self.decisions, threshold=threshold,
                                   named=self.named)  # fmt: skip


def _generated_answer(
    question: str,
    said: Sequence[Sentence],
    hits: Sequence[int],
    extract: Answer,
    grounder: Grounder,
    generator: TextGenerator,
) -> Answer:
    context = [said[j] for i in sorted(hits) for j in range(max(i - 1, 0), min(i + 2, len(said)))]
    lines = prompts.transcript_lines(list(dict.fromkeys(context)))
    try:
        out = generate_json(generator, prompts.question_messages(lines, question), AnswerOut,
                            max_new=256)  # fmt: skip
    except InvalidModelOutput:
        note = f"The language model ({generator.name}) did not answer in valid JSON; quoted."
        return replace(extract, notes=(note,))
    if grounder.supported(Claim(out.answer, tuple(out.segments))):
        citations = grounder.citations(out.segments)
        return Answer(question, out.answer.strip(), citations, found=True, engine="llm")
    note = "The generated answer was not supported by its citations; quoted instead."
    return replace(extract, notes=(note,))
