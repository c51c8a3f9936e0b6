"""`/v1/meetings`: upload a recording, per-person tracks or a subtitle file (a job makes
the transcript and summary), then read them as JSON or Markdown, play the recording, name
the speakers, ask questions, and delete it. A meeting is visible to the member who uploaded
it and to each member who confirmed that words in it are theirs (`features.sharing`), who
read it but do not rename or delete it; another tenant's or member's meeting reads as
missing."""

from __future__ import annotations

import shutil
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, BackgroundTasks, File, Form, Query, UploadFile
from fastapi.responses import FileResponse, PlainTextResponse, Response

from minutekeeper.api.deps import Member, MemberCaller, RuntimeDep
from minutekeeper.api.downloads import attachment
from minutekeeper.api.errors import UnsupportedMediaType
from minutekeeper.api.idempotency import DELETED_ANSWER
from minutekeeper.api.idempotency import forget_quoting as forget_answers
from minutekeeper.api.paging import Paging, page_of
from minutekeeper.api.routes.jobs import job_public
from minutekeeper.api.schemas import (
    MeetingAccepted,
    MeetingInfoPublic,
    MeetingPublic,
    Page,
    QuestionCreate,
    SpeakersUpdate,
)
from minutekeeper.consent import Principal
from minutekeeper.core.db import checkpoint_wal, utcnow
from minutekeeper.core.errors import AppError, InvalidInput
from minutekeeper.features.attribution import renamed
from minutekeeper.features.guard import require_ai_features
from minutekeeper.features.meetings import service as meetings
from minutekeeper.features.meetings.errors import MeetingNotFound
from minutekeeper.features.meetings.media import (
    AUDIO_SUFFIXES,
    RECORDING,
    TRACK,
    delete_media,
    media_folder,
    recording_of,
)
from minutekeeper.features.meetings.service import (
    MeetingSource,
    check_speakers,
    dated,
    default_title,
)
from minutekeeper.features.meetings.store import (
    MeetingInfo,
    StoredMeeting,
)
from minutekeeper.features.meetings.store import rename_speakers as rename
from minutekeeper.features.offers import Provenance
from minutekeeper.features.sharing import (
    OWNER,
    owned_meeting,
    owner_names,
    role_of,
    visible_meeting,
    visible_meetings,
)
from minutekeeper.features.summary import render
from minutekeeper.features.summary.dates import parse_day
from minutekeeper.features.summary.service import SummaryRequest
from minutekeeper.features.transcription import audio, formats
from minutekeeper.features.transcription.service import (
    TRANSCRIPT_SUFFIXES,
    TranscribeRequest,
    is_transcript_file,
    read_transcript,
)
from minutekeeper.features.transcription.source import (
    Source,
    check_readable,
    named_tracks,
    speaker_names,
)
from minutekeeper.jobs import tasks
from minutekeeper.jobs.store import create_job
from minutekeeper.jobs.tasks import UPLOADED_VIA
from minutekeeper.runtime import Runtime

router = APIRouter(prefix="/v1/meetings", tags=["meetings"])

COPY_CHUNK = 1 << 20


def info_public(
    info: MeetingInfo,
    runtime: Runtime,
    me: Principal,
    names: dict[str, str] | None = None,
) -> MeetingInfoPublic:
    """The listing of a meeting as `me` sees it: theirs, or shared with them by its owner
    (named from `names`, owner id -> name, when given)."""
    has_audio = recording_of(runtime.settings.resolved_media_dir(), info.id) is not None
    role = role_of(me, info.owner_id)
    shared_by = None
    if role != OWNER:
        names = names or owner_names(runtime.service, me, [info.owner_id])
        shared_by = names[info.owner_id]
    return MeetingInfoPublic.model_validate(info).model_copy(
        update={"has_audio": has_audio, "role": role, "shared_by": shared_by}
    )


def seen_meeting(runtime: Runtime, me: Principal, meeting_id: str) -> StoredMeeting:
    """The caller's meeting, or one shared with them, by id or id prefix; anyone else's
    reads exactly like one that does not exist."""
    return visible_meeting(runtime.service, me, meeting_id)


@router.post("", response_model=MeetingAccepted, status_code=202)
async def upload(
    runtime: RuntimeDep,
    caller: MemberCaller,
    recording: Annotated[
        UploadFile | None, File(description="A recording, or a .vtt/.srt/.json transcript.")
    ] = None,
    track: Annotated[list[UploadFile], File(description="One recording per person (repeat).")] = [],  # noqa: B006
    track_name: Annotated[
        list[str], Form(description="Each track's person, in order; default: the file name.")
    ] = [],  # noqa: B006
    title: Annotated[str | None, Form(max_length=200)] = None,
    language: Annotated[
        str | None, Form(max_length=16, description="Language code; default: detect.")
    ] = None,
    hotwords: Annotated[
        str | None, Form(max_length=1000, description="Vocabulary hints (names, terms).")
    ] = None,
    speaker: Annotated[
        list[str], Form(description="LABEL=NAME, e.g. S1=Alice (repeat); a claim, not a fact.")
    ] = [],  # noqa: B006
    engine: Annotated[str | None, Form(description="extractive, llm or hybrid.")] = None,
    meeting_date: Annotated[
        str | None,
        Form(
            max_length=40,
            description="YYYY-MM-DD, for due dates; default: the day the recording says it "
            "was made, else the upload day (the summary's `meeting_date_from` says which).",
        ),
    ] = None,
    channels_are_speakers: Annotated[bool, Form()] = False,
    num_speakers: Annotated[
        int | None, Form(ge=1, le=20, description="Number of speakers; default: automatic.")
    ] = None,
    diarize: Annotated[
        bool, Form(description="Find the speakers in a single-channel recording.")
    ] = True,
) -> Any:
    """Upload a meeting. It is saved to disk as it streams in (up to the server's size
    limit, else 413) and a job transcribes and summarizes it: follow the job, then read
    `/v1/meetings/{meeting_id}`. Speakers you name after members are claims: each member
    named is asked to confirm their words (`/v1/attributions`) before they count."""
    me = caller.principal
    await anyio.to_thread.run_sync(require_ai_features, runtime.service, me.tenant_id)
    if track_name and len(track_name) != len(track):
        raise InvalidInput("give a track_name for every track, or none")
    day = parse_day(meeting_date, option="meeting_date") if meeting_date else None
    meeting_id = str(uuid.uuid4())
    folder = media_folder(runtime.settings.resolved_media_dir(), meeting_id)
    kept = (
        {recording: folder / _stored_name(recording, RECORDING, transcripts=True)}
        if recording is not None
        else {}
    )
    for i, t in enumerate(track):
        kept[t] = folder / _stored_name(t, f"{TRACK}{i + 1:02d}", transcripts=False)
    names = track_name or [_stem(t) or f"person {i + 1}" for i, t in enumerate(track)]
    request = TranscribeRequest(
        language=language,
        hotwords=hotwords,
        num_speakers=num_speakers,
        diarize=diarize,
        speaker_names=speaker_names(speaker, option="speaker"),
    )
    source = Source(
        recording=kept[recording] if recording is not None else None,
        tracks=named_tracks(zip(names, (kept[t] for t in track), strict=True)),
        channels_are_speakers=channels_are_speakers,
        request=request,
    )
    uploaded = (recording.filename or "") if recording is not None else None
    meeting = MeetingSource(
        title=title or default_title(uploaded, source.tracks),
        source=source,
        summary=SummaryRequest(engine=engine or runtime.settings.summary_engine, meeting_date=day),
    )
    settings = runtime.settings
    try:
        folder.mkdir(parents=True)
        declared = 0.0
        for upload_file, target in kept.items():
            declared += await _keep(upload_file, target, max_speakers=settings.max_speakers)
        if declared > settings.max_audio_s:  # the files' own claim; decoding counts again
            raise audio.too_long(settings.max_audio_s, f"its files declare {declared:.1f} s")
        upload_day = utcnow().date()
        dated_meeting = await anyio.to_thread.run_sync(
            lambda: dated(meeting, upload_day=upload_day)
        )
        job = await anyio.to_thread.run_sync(
            lambda: create_job(
                runtime.engine,
                tenant_id=me.tenant_id,
                owner_id=me.subject_id,
                kind=tasks.MEETING,
                params={**dated_meeting.to_params(), UPLOADED_VIA: caller.via},
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


def _stored_name(upload: UploadFile, stem: str, *, transcripts: bool) -> str:
    """The file's name in the meeting's folder; an unsupported kind of file is refused
    before anything is written."""
    suffix = Path(upload.filename or "").suffix.lower()
    if transcripts and suffix in TRANSCRIPT_SUFFIXES:
        return f"transcript{suffix}"
    if suffix not in AUDIO_SUFFIXES:
        kinds = sorted(AUDIO_SUFFIXES | (set(TRANSCRIPT_SUFFIXES) if transcripts else set()))
        raise UnsupportedMediaType(
            f"{upload.filename or 'the file'}: unsupported file type; "
            f"send one of {', '.join(kinds)}"
        )
    return f"{stem}{suffix}"


async def _keep(upload: UploadFile, target: Path, *, max_speakers: int) -> float:
    """Write an uploaded file into the meeting's folder and check that it can be read
    (a transcript: also that it has at most `max_speakers`); the seconds of audio it
    declares, summed over its channels (without decoding it: the job does)."""

    def copy() -> float:
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out, COPY_CHUNK)
        shown = Path(upload.filename or target.name).name
        try:
            check_readable(target, name=shown)  # an empty upload is called empty
            if not is_transcript_file(target):
                return audio.check_audio(target, name=shown)
            check_speakers(read_transcript(target), limit=max_speakers)  # refused now
            return 0.0
        except AppError as error:  # name the file as the user knows it, not where it lies
            raise type(error)(error.message.replace(str(target), shown)) from error

    return await anyio.to_thread.run_sync(copy)


@router.get("", response_model=Page[MeetingInfoPublic])
def list_mine(runtime: RuntimeDep, me: Member, paging: Paging) -> Any:
    """Your meetings and those shared with you (`role`, `shared_by`), newest first, a page
    at a time."""
    found = visible_meetings(runtime.service, me, after=paging.cursor, limit=paging.fetch)
    names = owner_names(runtime.service, me, [info.owner_id for info in found])
    listed = [info_public(info, runtime, me, names) for info in found]
    return page_of(listed, paging, lambda m: m.id)


@router.get("/{meeting_id}", response_model=MeetingPublic)
def get_meeting(meeting_id: str, runtime: RuntimeDep, me: Member) -> Any:
    stored = seen_meeting(runtime, me, meeting_id)
    return MeetingPublic(
        meeting=info_public(stored.info, runtime, me),
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
_SUFFIXES = {"json": "json", "md": "md", "text": "txt", "vtt": "vtt", "srt": "srt"}
Download = Annotated[
    bool,
    Query(description="Answer as a file to save, named after the meeting's title "
          "(Content-Disposition: attachment); otherwise inline."),
]  # fmt: skip


def _answer(body: str, format: str, *, title: str, what: str, download: bool
            ) -> PlainTextResponse:  # fmt: skip
    """`body` as `format`'s media type; with `download`, as a file `<title>-<what>.<ext>`."""
    headers = {"Content-Disposition": attachment(title, f"{what}.{_SUFFIXES[format]}")}
    return PlainTextResponse(body, media_type=f"{_TYPES[format]}; charset=utf-8",
                             headers=headers if download else None)  # fmt: skip


@router.get(
    "/{meeting_id}/transcript",
    response_model=dict[str, Any],
    responses={200: {"content": {t: {"schema": {"type": "string"}} for t in _TEXT_TYPES}}},
)
def get_transcript(
    meeting_id: str,
    runtime: RuntimeDep,
    me: Member,
    format: TranscriptFormat = "json",
    download: Download = False,
) -> PlainTextResponse:
    """The speaker-attributed transcript as JSON, Markdown, text, WebVTT or SRT."""
    stored = seen_meeting(runtime, me, meeting_id)
    body = formats.render(stored.transcript, "text" if format == "md" else format)
    return _answer(body, format, title=stored.info.title, what="transcript", download=download)


@router.get(
    "/{meeting_id}/summary",
    response_model=dict[str, Any],
    responses={200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}},
)
def get_summary(
    meeting_id: str,
    runtime: RuntimeDep,
    me: Member,
    format: SummaryFormat = "json",
    download: Download = False,
) -> PlainTextResponse:
    """The summary, every line citing segment ids and times, as JSON or Markdown."""
    stored = seen_meeting(runtime, me, meeting_id)
    if stored.summary is None:
        raise MeetingNotFound(f"meeting {meeting_id} has no summary (yet)")
    body = render.render(stored.summary, format, stored.transcript if format == "md" else None)
    return _answer(body, format, title=stored.info.title, what="summary", download=download)


@router.get(
    "/{meeting_id}/audio",
    response_class=FileResponse,
    responses={200: {"content": {"audio/*": {}}}},
)
def get_audio(meeting_id: str, runtime: RuntimeDep, me: Member) -> FileResponse:
    """The uploaded recording (byte ranges supported, so a player can seek)."""
    stored = seen_meeting(runtime, me, meeting_id)
    path = recording_of(runtime.settings.resolved_media_dir(), stored.info.id)
    if path is None or path.suffix.lower() not in AUDIO_SUFFIXES:
        raise MeetingNotFound(f"meeting {meeting_id} has no recording kept")
    disposition = attachment(stored.info.title, f"recording{path.suffix.lower()}")
    return FileResponse(path, headers={"Content-Disposition": disposition})


@router.patch("/{meeting_id}/speakers", response_model=MeetingPublic)
def rename_speakers(
    meeting_id: str, body: SpeakersUpdate, runtime: RuntimeDep, caller: MemberCaller
) -> Any:
    """Name the speakers (e.g. {"S2": "Bob"}). A name is a claim: a member named is asked
    to confirm those words are theirs, and whoever the label named before no longer holds
    them (what was kept on their confirmation is withdrawn at once). Only the meeting's
    owner renames (403 for a person it is shared with)."""
    me = caller.principal
    names = {sid.strip(): name.strip() for sid, name in body.names.items()}
    if not names or any(not n or len(n) > 100 for n in names.values()):
        raise InvalidInput("give each speaker a name of 1 to 100 characters")
    before = owned_meeting(runtime.service, me, meeting_id)
    after = rename(runtime.engine, me.tenant_id, before.info.id, names)
    renamed(runtime.service, before, after, renamer=me, via=caller.via)
    return get_meeting(after.info.id, runtime, me)


@router.delete("/{meeting_id}", status_code=204, response_class=Response)
def delete_meeting(meeting_id: str, runtime: RuntimeDep, me: Member) -> Response:
    """Delete your meeting (its whole id) and everything kept of it: the recording, the
    transcript and summary, the drafts written from it, and what was kept of it for
    training (its records in published exports get tombstones, reason `deleted`). Refused
    (409) while its upload's job still runs; refused (403) to a person it is shared with.
    It cannot be undone."""
    # Missing (or its upload's job still runs) is `delete_meeting`'s to say.
    with suppress(MeetingNotFound):
        owned_meeting(runtime.service, me, meeting_id, exact=True)
    deleted = runtime.delete_meeting(me.tenant_id, meeting_id, owner_id=me.subject_id,
                                     actor_id=me.subject_id, exact=True)  # fmt: skip
    forget_answers(runtime.engine, deleted.people, deleted.words, why=DELETED_ANSWER)
    # As after an erasure: old pages in SQLite's write-ahead log still hold its words.
    checkpoint_wal(runtime.engine, truncate=True)
    return Response(status_code=204)


@router.post("/{meeting_id}/ask", response_model=dict[str, Any])
def ask(
    meeting_id: str,
    body: QuestionCreate,
    runtime: RuntimeDep,
    me: Member,
    background: BackgroundTasks,
) -> Any:
    """Answer a question from the meeting, citing where it was said."""
    require_ai_features(runtime.service, me.tenant_id)
    stored = seen_meeting(runtime, me, meeting_id)
    engine = body.engine or runtime.settings.summary_engine
    answered = meetings.ask(stored.transcript, body.question, engine=engine, models=runtime.models)
    background.add_task(
        runtime.offers.answer,
        me.tenant_id,
        stored.transcript,
        answered.answer,
        asker=me.subject_id,
        model_id=answered.model_id,
        provenance=Provenance.of_meeting(stored),
    )
    return render.answer_to_dict(answered.answer)
