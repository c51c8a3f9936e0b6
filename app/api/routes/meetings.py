"""`/v1/meetings`: upload a recording, per-person tracks or a subtitle file (a job makes
the transcript and summary), then read them as JSON or Markdown, play the recording, name
the speakers, and ask questions. A meeting is visible to the member who uploaded it only;
another tenant's or member's meeting reads as missing."""

from __future__ import annotations

import json
import shutil
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse

from app.api.deps import Member, RuntimeDep
from app.api.errors import UnsupportedMediaType
from app.api.routes.jobs import job_public
from app.api.runtime import Runtime
from app.api.schemas import (
    MeetingAccepted,
    MeetingInfoPublic,
    MeetingPublic,
    QuestionCreate,
    SpeakersUpdate,
)
from app.core.errors import AppError, InvalidInput
from app.jobs import tasks
from app.jobs.store import create_job
from consent.domain import Principal
from features.meetings.errors import MeetingNotFound
from features.meetings.media import RECORDING, delete_media, media_folder, recording_of
from features.meetings.store import MeetingInfo, StoredMeeting, find_meeting, list_meetings
from features.meetings.store import rename_speakers as rename
from features.summary import render
from features.summary import service as summaries
from features.transcription import audio, formats
from features.transcription import service as transcription

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])

AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".ogg", ".oga", ".opus", ".flac", ".webm", ".mp4", ".aac", ".mkv"}
)
TRANSCRIPT_SUFFIXES = frozenset(transcription.TRANSCRIPT_SUFFIXES)
MAX_TRACKS = 20
COPY_CHUNK = 1 << 20


def info_public(info: MeetingInfo, runtime: Runtime) -> MeetingInfoPublic:
    has_audio = recording_of(runtime.settings.resolved_media_dir(), info.id) is not None
    return MeetingInfoPublic(
        id=info.id,
        title=info.title,
        source=info.source,
        duration=info.duration,
        meeting_date=info.meeting_date,
        created_at=info.created_at,
        summarized=info.summarized,
        has_audio=has_audio,
    )


def own_meeting(runtime: Runtime, me: Principal, meeting_id: str) -> StoredMeeting:
    """The caller's meeting by id or id prefix; anyone else's is never looked at, so it
    reads exactly like one that does not exist."""
    return find_meeting(runtime.engine, me.tenant_id, meeting_id, owner_id=me.subject_id)


@router.post("", response_model=MeetingAccepted, status_code=202)
async def upload(
    runtime: RuntimeDep,
    me: Member,
    recording: Annotated[
        UploadFile | None, File(description="A recording, or a .vtt/.srt/.json transcript.")
    ] = None,
    track: Annotated[list[UploadFile], File(description="One recording per person (repeat).")] = [],  # noqa: B006
    track_name: Annotated[
        list[str], Form(description="Each track's person, in order; default: the file name.")
    ] = [],  # noqa: B006
    title: Annotated[str | None, Form(max_length=200)] = None,
    language: Annotated[str | None, Form(max_length=16)] = None,
    speaker: Annotated[list[str], Form(description="LABEL=NAME, e.g. S1=Alice (repeat).")] = [],  # noqa: B006
    engine: Annotated[str | None, Form(description="extractive, llm or hybrid.")] = None,
    meeting_date: Annotated[date | None, Form(description="For due dates (YYYY-MM-DD).")] = None,
    channels_are_speakers: Annotated[bool, Form()] = False,
    num_speakers: Annotated[int | None, Form(ge=1, le=20)] = None,
) -> Any:
    """Upload a meeting. It is saved to disk as it streams in (up to the server's size
    limit, else 413) and a job transcribes and summarizes it: follow the job, then read
    `/v1/meetings/{meeting_id}`."""
    if (recording is None) == (not track):
        raise InvalidInput("send one `recording` (or transcript file), or a `track` per person")
    if len(track) > MAX_TRACKS:
        raise InvalidInput(f"at most {MAX_TRACKS} tracks")
    if track_name and len(track_name) != len(track):
        raise InvalidInput("give a track_name for every track, or none")
    chosen = engine or runtime.settings.summary_engine
    summaries.check_engine(chosen)
    meeting_id = str(uuid.uuid4())
    folder = media_folder(runtime.settings.resolved_media_dir(), meeting_id)
    params: dict[str, Any] = {
        "engine": chosen,
        "language": language,
        "num_speakers": num_speakers,
        "speaker_names": _pairs(speaker),
        "channels_are_speakers": channels_are_speakers,
        "meeting_date": meeting_date.isoformat() if meeting_date else None,
    }
    try:
        folder.mkdir(parents=True)
        if recording is not None:
            params["recording"] = await _keep(recording, folder, RECORDING, transcripts=True)
            params["title"] = title or _stem(recording) or "meeting"
        else:
            names = track_name or [_stem(t) or f"person {i + 1}" for i, t in enumerate(track)]
            if len({n.strip() for n in names}) != len(names):
                raise InvalidInput("two tracks have the same person's name")
            params["tracks"] = {
                name.strip(): await _keep(t, folder, f"track-{i + 1:02d}", transcripts=False)
                for i, (name, t) in enumerate(zip(names, track, strict=True))
            }
            params["title"] = title or "meeting of " + ", ".join(params["tracks"])
        job = await anyio.to_thread.run_sync(
            lambda: create_job(
                runtime.engine,
                tenant_id=me.tenant_id,
                owner_id=me.subject_id,
                kind=tasks.MEETING,
                params=params,
                job_id=meeting_id,
            )
        )
    except BaseException:
        delete_media(runtime.settings.resolved_media_dir(), meeting_id)
        raise
    await anyio.to_thread.run_sync(runtime.jobs.submit, job.id)  # may talk to a broker
    return MeetingAccepted(meeting_id=meeting_id, job=job_public(job))


def _stem(upload: UploadFile) -> str:
    return Path(upload.filename or "").stem.strip()[:200]


def _pairs(values: list[str]) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        label, sep, name = value.partition("=")
        if not sep or not label.strip() or not name.strip():
            raise InvalidInput(f"speaker takes LABEL=NAME, not {value!r}")
        pairs[label.strip()] = name.strip()
    return pairs


async def _keep(upload: UploadFile, folder: Path, stem: str, *, transcripts: bool) -> str:
    """Move an uploaded file into the meeting's folder and check that it can be read."""
    suffix = Path(upload.filename or "").suffix.lower()
    is_transcript = transcripts and suffix in TRANSCRIPT_SUFFIXES
    if suffix not in AUDIO_SUFFIXES and not is_transcript:
        kinds = sorted(AUDIO_SUFFIXES | (TRANSCRIPT_SUFFIXES if transcripts else frozenset()))
        raise UnsupportedMediaType(
            f"{upload.filename or 'the file'}: unsupported file type; "
            f"send one of {', '.join(kinds)}"
        )
    name = f"{'transcript' if is_transcript else stem}{suffix}"
    target = folder / name

    def copy() -> None:
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, COPY_CHUNK)
        shown = Path(upload.filename or name).name
        try:
            if is_transcript:
                transcription.read_transcript(target)  # refuses a malformed file now
            else:
                audio.check_audio(target, name=shown)
        except AppError as error:  # name the file as the user knows it, not where it lies
            raise type(error)(error.message.replace(str(target), shown)) from error

    await anyio.to_thread.run_sync(copy)
    return name


@router.get("", response_model=list[MeetingInfoPublic])
def list_mine(runtime: RuntimeDep, me: Member) -> Any:
    """Your meetings, newest first."""
    found = list_meetings(runtime.engine, me.tenant_id, owner_id=me.subject_id)
    return [info_public(info, runtime) for info in found]


@router.get("/{meeting_id}", response_model=MeetingPublic)
def get_meeting(meeting_id: str, runtime: RuntimeDep, me: Member) -> Any:
    stored = own_meeting(runtime, me, meeting_id)
    return MeetingPublic(
        meeting=info_public(stored.info, runtime),
        transcript=formats.to_dict(stored.transcript),
        summary=render.to_dict(stored.summary) if stored.summary else None,
    )


TranscriptFormat = Annotated[str, Query(pattern="^(json|md|text|vtt|srt)$")]
SummaryFormat = Annotated[str, Query(pattern="^(json|md)$")]
_TEXT_TYPES = ("text/markdown", "text/plain", "text/vtt", "application/x-subrip")
_TYPES = {
    "json": "application/json",
    "md": "text/markdown",
    "text": "text/plain",
    "vtt": "text/vtt",
    "srt": "application/x-subrip",
}


@router.get(
    "/{meeting_id}/transcript",
    response_model=dict[str, Any],
    responses={200: {"content": {t: {"schema": {"type": "string"}} for t in _TEXT_TYPES}}},
)
def get_transcript(
    meeting_id: str, runtime: RuntimeDep, me: Member, format: TranscriptFormat = "json"
) -> PlainTextResponse:
    """The speaker-attributed transcript as JSON, Markdown, text, WebVTT or SRT."""
    stored = own_meeting(runtime, me, meeting_id)
    body = formats.render(stored.transcript, "text" if format == "md" else format)
    return PlainTextResponse(body, media_type=f"{_TYPES[format]}; charset=utf-8")


@router.get(
    "/{meeting_id}/summary",
    response_model=dict[str, Any],
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def get_summary(
    meeting_id: str, runtime: RuntimeDep, me: Member, format: SummaryFormat = "json"
) -> PlainTextResponse:
    """The summary, every line citing segment ids and times, as JSON or Markdown."""
    stored = own_meeting(runtime, me, meeting_id)
    if stored.summary is None:
        raise MeetingNotFound(f"meeting {meeting_id} has no summary (yet)")
    body = render.render(stored.summary, format, stored.transcript if format == "md" else None)
    return PlainTextResponse(body, media_type=f"{_TYPES[format]}; charset=utf-8")


@router.get(
    "/{meeting_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/*": {}}}},
)
def get_audio(meeting_id: str, runtime: RuntimeDep, me: Member) -> FileResponse:
    """The uploaded recording (byte ranges supported, so a player can seek)."""
    stored = own_meeting(runtime, me, meeting_id)
    path = recording_of(runtime.settings.resolved_media_dir(), stored.info.id)
    if path is None or path.suffix.lower() not in AUDIO_SUFFIXES:
        raise MeetingNotFound(f"meeting {meeting_id} has no recording kept")
    return FileResponse(path, filename=f"{stored.info.title}{path.suffix}")


@router.patch("/{meeting_id}/speakers", response_model=MeetingPublic)
def rename_speakers(meeting_id: str, body: SpeakersUpdate, runtime: RuntimeDep, me: Member) -> Any:
    """Name the speakers (e.g. {"S2": "Bob"})."""
    names = {sid.strip(): name.strip() for sid, name in body.names.items()}
    if not names or any(not n or len(n) > 100 for n in names.values()):
        raise InvalidInput("give each speaker a name of 1 to 100 characters")
    mine = own_meeting(runtime, me, meeting_id).info.id
    stored = rename(runtime.engine, me.tenant_id, mine, names)
    return get_meeting(stored.info.id, runtime, me)


@router.post("/{meeting_id}/ask", response_model=dict[str, Any])
def ask(
    meeting_id: str,
    body: QuestionCreate,
    runtime: RuntimeDep,
    me: Member,
    background: BackgroundTasks,
) -> Any:
    """Answer a question from the meeting, citing where it was said."""
    stored = own_meeting(runtime, me, meeting_id)
    chosen = runtime.settings.summary_engine
    generator = None if chosen == "extractive" else runtime.models.generator()
    embedder = runtime.models.embedder()
    answer = summaries.answer_question(
        stored.transcript, body.question, embedder=embedder, generator=generator, engine=chosen
    )
    model_id = (generator or embedder).name
    background.add_task(_offer_answer, runtime, me, stored, answer, model_id)
    result: dict[str, Any] = json.loads(render.render_answer(answer, "json"))
    return result


def _offer_answer(
    runtime: Runtime, me: Principal, stored: StoredMeeting, answer: Any, model_id: str
) -> None:
    from features.training import answer_offer, offer_all, speaker_subjects

    try:
        subjects = speaker_subjects(runtime.service, me.tenant_id, stored.transcript)
        offer = answer_offer(
            stored.transcript, answer, subjects, asker=me.subject_id, model_id=model_id
        )
        if offer is not None:
            offer_all(runtime.service, runtime.models.redactor(), me.tenant_id, [offer])
    except Exception as error:  # the user has their answer; capture is best effort
        tasks.log.warning("training capture failed: %s", type(error).__name__)
