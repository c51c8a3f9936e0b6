"""What each kind of job does: `meeting` (an upload becomes a transcript, a summary and a
saved meeting, then is offered to the consent gate) and `export` (a training export).
Each handler parses its params, calls the feature, and returns a small JSON result."""

from __future__ import annotations

from typing import Any

from minutekeeper.consent import ConsentService
from minutekeeper.consent.exports import ExportHooks, create_export
from minutekeeper.core.progress import Stage, StageProgress
from minutekeeper.core.settings import Settings
from minutekeeper.features.guard import require_ai_features
from minutekeeper.features.meetings.media import delete_media, media_folder
from minutekeeper.features.meetings.service import MeetingSource, process_meeting
from minutekeeper.features.offers import Offers, Provenance
from minutekeeper.features.transcription.source import SourceTranscriber
from minutekeeper.jobs.runner import Handler
from minutekeeper.jobs.store import Job
from minutekeeper.models.cache import ModelProvider

MEETING = "meeting"
EXPORT = "export"
# The job param naming what the upload came through (its claims about who spoke are the
# uploader's, made in that session).
UPLOADED_VIA = "uploaded_via"


def handlers(
    settings: Settings,
    service: ConsentService,
    models: ModelProvider,
    offers: Offers,
    transcribe: SourceTranscriber,
) -> dict[str, Handler]:
    """Every job kind's handler, sharing one process's models; uploads are transcribed by
    `transcribe` (a child process with bounded memory, `jobs.media.MediaProcess`)."""
    return {
        MEETING: meeting_handler(settings, service, models, offers, transcribe),
        EXPORT: export_handler(settings, service),
    }


def meeting_handler(
    settings: Settings,
    service: ConsentService,
    models: ModelProvider,
    offers: Offers,
    transcribe: SourceTranscriber,
) -> Handler:
    media = settings.resolved_media_dir()

    def run(job: Job, report: StageProgress) -> dict[str, Any]:
        try:
            require_ai_features(service, job.tenant_id)  # it may have been turned off since
            meeting = MeetingSource.from_params(job.params, media_folder(media, job.id))
            done = process_meeting(
                service.engine,
                job.id,
                meeting,
                tenant_id=job.tenant_id,
                owner_id=job.owner_id,
                models=models,
                progress=report,
                transcribe=transcribe,
                max_speakers=settings.max_speakers,
            )
        except Exception:
            delete_media(media, job.id)  # a failed upload is not kept: it has no meeting
            raise
        training: list[dict[str, Any]] = []
        if done.created and done.summary is not None:
            report(Stage.OFFERING, 0.0)
            # The uploader vouches for the day they stated; it reached us with the upload.
            uploaded = Provenance(
                job.owner_id,
                meeting.stated_day,
                job.created_at,
                source=("meeting", done.info.id),
                via=str(job.params.get(UPLOADED_VIA) or f"job:{job.id}"),
            )
            outcomes = offers.summary(
                job.tenant_id,
                done.transcript,
                done.summary,
                model_id=done.model_id,
                provenance=uploaded,
            )
            training = [
                {"kind": o.kind, "kept": o.kept, "reasons": list(o.reasons)} for o in outcomes
            ]
        return {"meeting_id": done.info.id, "training": training}

    return run


def export_handler(settings: Settings, service: ConsentService) -> Handler:
    def run(job: Job, report: StageProgress) -> dict[str, Any]:
        report(Stage.DECIDING, 0.0)

        def written(count: int) -> None:
            report(Stage.WRITING, 0.0)  # how many there will be is not known ahead

        info = create_export(
            service.engine,
            service.writer,
            job.tenant_id,
            requested_by=job.owner_id,
            exports_dir=settings.resolved_export_dir(),
            supersedes=job.params.get("supersedes"),
            hooks=ExportHooks(on_batch=written),
        )
        return {"export_id": info.id, "version": info.version}

    return run
