"""One uploaded meeting, start to end: transcript, summary, saved meeting.

The HTTP API runs this as a background job. Its one stored result is keyed by the job's own
id, so a job that runs again after a crash finds the meeting it already saved instead of
making a second one. Models come from a `MeetingModels` provider, so a subtitle upload never
loads the speech model, and a server loads each model once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from features.meetings.errors import MeetingNotFound
from features.meetings.store import MeetingInfo, find_meeting, save_meeting
from features.summary import service as summaries
from features.summary.summary import Summary
from features.transcription import service as transcription
from features.transcription.errors import InvalidSpeakerMapping
from features.transcription.transcript import Transcript
from models.asr import Transcriber
from models.diarization import Diarizer
from models.embeddings import Embedder
from models.llm import TextGenerator

# stage, share of the whole job done (0..1)
Progress = Callable[[str, float], None]
TRANSCRIBED_AT = 0.75  # transcription is most of a job's time
SUMMARIZED_AT = 0.95


class MeetingModels(Protocol):
    """Hands out models built once per process."""

    def transcriber(self) -> Transcriber: ...

    def diarizer(self) -> Diarizer: ...

    def embedder(self) -> Embedder: ...

    def generator(self) -> TextGenerator: ...


@dataclass(frozen=True)
class MeetingSource:
    """What was uploaded: one recording or transcript file, or one track per person."""

    title: str
    recording: Path | None = None
    tracks: Mapping[str, Path] = field(default_factory=dict)
    channels_are_speakers: bool = False
    request: transcription.TranscribeRequest = field(
        default_factory=transcription.TranscribeRequest
    )
    engine: str = "extractive"
    meeting_date: date | None = None

    def __post_init__(self) -> None:
        if (self.recording is None) == (not self.tracks):
            raise InvalidSpeakerMapping("give one recording or transcript, or one track per person")


@dataclass(frozen=True)
class ProcessedMeeting:
    info: MeetingInfo
    transcript: Transcript
    summary: Summary | None
    model_name: str
    created: bool  # False when an earlier run of the same job had saved it already


def process_meeting(
    engine: Engine,
    meeting_id: str,
    source: MeetingSource,
    *,
    tenant_id: str,
    owner_id: str,
    models: MeetingModels,
    progress: Progress,
) -> ProcessedMeeting:
    """Transcribe (unless a transcript was uploaded), summarize, and save as `meeting_id`."""
    try:
        done = find_meeting(engine, tenant_id, meeting_id)
        return ProcessedMeeting(done.info, done.transcript, done.summary, "", created=False)
    except MeetingNotFound:
        pass
    summaries.check_engine(source.engine)
    progress("transcribing", 0.0)
    transcript = _transcript(
        source, models, lambda share: progress("transcribing", share * TRANSCRIBED_AT)
    )
    progress("summarizing", TRANSCRIBED_AT)
    embedder = models.embedder()
    generator = None if source.engine == "extractive" else models.generator()
    summary = summaries.summarize_meeting(
        transcript,
        embedder=embedder,
        generator=generator,
        request=summaries.SummaryRequest(engine=source.engine, meeting_date=source.meeting_date),
    )
    progress("saving", SUMMARIZED_AT)
    try:
        info = save_meeting(
            engine,
            tenant_id=tenant_id,
            owner_id=owner_id,
            title=source.title,
            transcript=transcript,
            summary=summary,
            meeting_id=meeting_id,
        )
    except IntegrityError:  # a run of the same job on another worker saved it first
        done = find_meeting(engine, tenant_id, meeting_id)
        return ProcessedMeeting(done.info, done.transcript, done.summary, "", created=False)
    model = generator or embedder
    return ProcessedMeeting(info, transcript, summary, model.name, created=True)


def _transcript(
    source: MeetingSource, models: MeetingModels, share: Callable[[float], None]
) -> Transcript:
    request = source.request
    if source.recording is not None and transcription.is_transcript_file(source.recording):
        return transcription.read_transcript(source.recording)
    if source.tracks:
        return transcription.transcribe_tracks(
            source.tracks, transcriber=models.transcriber(), request=request, progress=share
        )
    assert source.recording is not None
    if source.channels_are_speakers:
        return transcription.transcribe_channels(
            source.recording, transcriber=models.transcriber(), request=request, progress=share
        )
    return transcription.transcribe_recording(
        source.recording,
        transcriber=models.transcriber(),
        diarizer=models.diarizer() if request.diarize else None,
        request=request,
        progress=share,
    )
