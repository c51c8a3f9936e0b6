"""A meeting's actions, one home for the CLI, the API and the jobs: summarize a source,
process an upload (transcript, summary, saved meeting), and answer a question about a
transcript (a saved meeting's, or one just made).

An upload is a `MeetingSource`: the files and how to read them, its title and how to
summarize it. The upload route writes it into a job's params with `to_params`, the job
reads it back with `from_params`. A job's one stored result is keyed by the job's own id,
so a job that runs again after a crash finds the meeting it already saved instead of
making a second one. Models come from a `ModelProvider`, so a subtitle upload never loads
the speech model and a process loads each model once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from minutekeeper.core.progress import Stage, StageProgress
from minutekeeper.features.meetings.errors import MeetingNotFound, NoSpeech, TooManySpeakers
from minutekeeper.features.meetings.store import MeetingInfo, find_meeting, save_meeting
from minutekeeper.features.summary import service as summaries
from minutekeeper.features.summary.summary import UPLOAD_DAY, Answer, Summary, stated_day
from minutekeeper.features.transcription.audio import recorded_on
from minutekeeper.features.transcription.source import (
    Source,
    SourceTranscriber,
    transcribe_source,
)
from minutekeeper.features.transcription.transcript import Transcript
from minutekeeper.models.cache import ModelProvider
from minutekeeper.models.embeddings import Embedder
from minutekeeper.models.llm import TextGenerator


@dataclass(frozen=True)
class MeetingSource:
    """A meeting to make: what was recorded, its title, and how to summarize it."""

    title: str
    source: Source
    summary: summaries.SummaryRequest = field(default_factory=summaries.SummaryRequest)

    def __post_init__(self) -> None:
        summaries.check_engine(self.summary.engine)

    @property
    def stated_day(self) -> date | None:
        """The meeting date the uploader or the recording stated (`summary.stated_day`)."""
        return stated_day(self.summary.meeting_date, self.summary.meeting_date_from)

    def to_params(self) -> dict[str, Any]:
        """JSON-ready job params; files are named relative to the meeting's media folder."""
        day = self.summary.meeting_date
        return {
            **self.source.to_params(),
            "title": self.title,
            "engine": self.summary.engine,
            "meeting_date": day.isoformat() if day else None,
            "meeting_date_from": self.summary.meeting_date_from,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any], folder: Path) -> MeetingSource:
        day = params.get("meeting_date")
        return cls(
            title=params["title"],
            source=Source.from_params(params, folder),
            summary=summaries.SummaryRequest(
                engine=params.get("engine", summaries.DEFAULT_ENGINE),
                meeting_date=date.fromisoformat(day) if day else None,
                meeting_date_from=params.get("meeting_date_from") or "given",
            ),
        )


def dated(meeting: MeetingSource, *, upload_day: date) -> MeetingSource:
    """`meeting` with a meeting date to resolve its due dates against: the one given, else
    the day its recording says it was made (container metadata), else the upload day. The
    summary says which, so a guessed date is never shown as a given one."""
    if meeting.summary.meeting_date is not None:
        return meeting
    source = meeting.source
    latest = upload_day + timedelta(days=1)  # a recorder's clock a time zone ahead
    files = [] if source.is_transcript else source.files
    made = next((d for f in files if (d := recorded_on(f, latest=latest))), None)
    summary = replace(
        meeting.summary,
        meeting_date=made or upload_day,
        meeting_date_from="recording" if made else UPLOAD_DAY,
    )
    return replace(meeting, summary=summary)


def default_title(recording: str | None, tracks: Mapping[str, object]) -> str:
    """A recording's file name without its suffix, or who the tracks are of."""
    if recording is not None:
        return Path(recording).stem.strip()[:200] or "meeting"
    return ("meeting of " + ", ".join(tracks))[:200]


@dataclass(frozen=True)
class Summarized:
    transcript: Transcript
    summary: Summary
    model_id: str  # the model that wrote the summary (the embedder, for extractive)


def check_speakers(transcript: Transcript, *, limit: int) -> None:
    """Refuse a transcript with more than `limit` speakers, before anything is kept: each
    named speaker becomes a person of the tenant."""
    found = len(transcript.speakers)
    if found > limit:
        raise TooManySpeakers(
            f"the meeting has {found} speakers; this server accepts at most {limit} per meeting"
        )


def summarize_source(
    meeting: MeetingSource,
    *,
    models: ModelProvider,
    progress: StageProgress = lambda stage, share: None,
    transcribe: SourceTranscriber | None = None,
    max_speakers: int | None = None,
) -> Summarized:
    """Transcribe (unless a transcript was given) and summarize; `transcribe` is where
    (this process by default), `max_speakers` the most speakers a meeting may have.

    The summary's models load once there are words to summarize, so a recording that fails
    (too long, no speech, out of memory) never costs this process a model; a transcript
    file has nothing to decode, so they load first, as its `preparing_models` stage."""
    summaries.check_engine(meeting.summary.engine)
    summarizers = None
    if meeting.source.is_transcript:
        progress(Stage.PREPARING_MODELS, 0.0)
        summarizers = _summarizers(meeting.summary.engine, models)
    transcript = (transcribe or _here(models))(meeting.source, progress=progress)
    if not transcript.segments:  # silence, noise, an empty subtitle file: no meeting
        files = ", ".join(str(f) for f in meeting.source.files)
        raise NoSpeech(
            f"no speech found in {files} ({transcript.duration:.1f} s of audio): "
            "nothing to summarize, nothing saved"
        )
    if max_speakers is not None:
        check_speakers(transcript, limit=max_speakers)
    progress(Stage.SUMMARIZING, 0.0)
    embedder, generator = summarizers or _summarizers(meeting.summary.engine, models)
    summary = summaries.summarize_meeting(
        transcript, embedder=embedder, generator=generator, request=meeting.summary
    )
    return Summarized(transcript, summary, (generator or embedder).name)


def _here(models: ModelProvider) -> SourceTranscriber:
    def transcribe(source: Source, *, progress: StageProgress | None = None) -> Transcript:
        return transcribe_source(source, models=models, progress=progress)

    return transcribe


def _summarizers(engine: str, models: ModelProvider) -> tuple[Embedder, TextGenerator | None]:
    """The models an `engine` summarizes and answers with (no language model for the
    extractive one)."""
    return models.embedder(), None if engine == "extractive" else models.generator()


@dataclass(frozen=True)
class ProcessedMeeting:
    info: MeetingInfo
    transcript: Transcript
    summary: Summary | None
    model_id: str
    created: bool  # False when an earlier run of the same job had saved it already


def process_meeting(
    engine: Engine,
    meeting_id: str,
    meeting: MeetingSource,
    *,
    tenant_id: str,
    owner_id: str,
    models: ModelProvider,
    progress: StageProgress,
    transcribe: SourceTranscriber | None = None,
    max_speakers: int | None = None,
) -> ProcessedMeeting:
    """Transcribe (with `transcribe`), summarize, and save as `meeting_id`, once: a second
    run of the same job (after a crash, or on another worker) returns what the first one
    saved. A meeting over `max_speakers` is refused before anything is saved."""
    try:
        return _done(engine, tenant_id, meeting_id)
    except MeetingNotFound:
        pass
    made = summarize_source(
        meeting,
        models=models,
        progress=progress,
        transcribe=transcribe,
        max_speakers=max_speakers,
    )
    try:
        info = save_meeting(
            engine,
            tenant_id=tenant_id,
            owner_id=owner_id,
            title=meeting.title,
            transcript=made.transcript,
            summary=made.summary,
            meeting_id=meeting_id,
        )
    except IntegrityError:  # a run of the same job on another worker saved it first
        return _done(engine, tenant_id, meeting_id)
    return ProcessedMeeting(info, made.transcript, made.summary, made.model_id, created=True)


def _done(engine: Engine, tenant_id: str, meeting_id: str) -> ProcessedMeeting:
    found = find_meeting(engine, tenant_id, meeting_id)
    return ProcessedMeeting(found.info, found.transcript, found.summary, "", created=False)


@dataclass(frozen=True)
class Answered:
    answer: Answer
    model_id: str


def ask(transcript: Transcript, question: str, *, engine: str, models: ModelProvider) -> Answered:
    """An answer from the transcript, citing where it was said."""
    summaries.check_engine(engine)
    embedder, generator = _summarizers(engine, models)
    answer = summaries.answer_question(
        transcript, question, embedder=embedder, generator=generator, engine=engine
    )
    return Answered(answer, (generator or embedder).name)
