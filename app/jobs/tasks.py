"""What each kind of job does: `meeting` (an upload becomes a transcript, a summary and a
saved meeting, then is offered to the consent gate) and `export` (a training export)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Any

from app.core.settings import Settings
from app.jobs.models import ModelCache
from app.jobs.runner import Handler, Report
from app.jobs.store import Job
from consent.export import ExportHooks, create_export
from consent.service import ConsentService
from features.meetings.media import delete_media, media_folder
from features.meetings.pipeline import MeetingSource, process_meeting
from features.training import meeting_offers, offer_all, speaker_subjects
from features.transcription.service import TranscribeRequest

log = logging.getLogger("minutekeeper.jobs")

MEETING = "meeting"
EXPORT = "export"


def handlers(settings: Settings, service: ConsentService, models: ModelCache) -> dict[str, Handler]:
    """Every job kind's handler, sharing one process's models."""
    return {
        MEETING: meeting_handler(settings, service, models),
        EXPORT: export_handler(settings, service),
    }


def source_of(params: dict[str, Any], folder: Path) -> MeetingSource:
    """The upload a meeting job's params describe; its files are in `folder`."""
    request = TranscribeRequest(
        language=params.get("language"),
        hotwords=params.get("hotwords"),
        num_speakers=params.get("num_speakers"),
        diarize=params.get("diarize", True),
        speaker_names=params.get("speaker_names") or {},
    )
    day = params.get("meeting_date")
    recording = params.get("recording")
    return MeetingSource(
        title=params["title"],
        recording=folder / recording if recording else None,
        tracks={name: folder / file for name, file in (params.get("tracks") or {}).items()},
        channels_are_speakers=params.get("channels_are_speakers", False),
        request=request,
        engine=params["engine"],
        meeting_date=date.fromisoformat(day) if day else None,
    )


def meeting_handler(settings: Settings, service: ConsentService, models: ModelCache) -> Handler:
    media = settings.resolved_media_dir()

    def run(job: Job, report: Report) -> dict[str, Any]:
        source = source_of(job.params, media_folder(media, job.id))
        try:
            done = process_meeting(
                service.engine,
                job.id,
                source,
                tenant_id=job.tenant_id,
                owner_id=job.owner_id,
                models=models,
                progress=report,
            )
        except Exception:
            delete_media(media, job.id)  # a failed upload is not kept: it has no meeting
            raise
        training: list[dict[str, Any]] = []
        if done.created and done.summary is not None:
            report("offering for training", 0.97)
            training = _offer(service, models, job.tenant_id, done)
        return {"meeting_id": done.info.id, "training": training}

    return run


def _offer(
    service: ConsentService, models: ModelCache, tenant_id: str, done: Any
) -> list[dict[str, Any]]:
    """What the gate kept; a failure here never costs the user their meeting."""
    try:
        subjects = speaker_subjects(service, tenant_id, done.transcript)
        offers = meeting_offers(done.transcript, done.summary, subjects, model_id=done.model_name)
        captured = offer_all(service, models.redactor(), tenant_id, offers)
    except Exception as error:
        log.warning("training capture failed: %s", type(error).__name__)
        return [{"kind": "all", "kept": False, "reasons": ["CAPTURE_FAILED"]}]
    return [
        {
            "kind": c.artifact.kind.value,
            "kept": c.candidate_id is not None,
            "reasons": list(c.excluded),
        }
        for c in captured
    ]


def export_handler(settings: Settings, service: ConsentService) -> Handler:
    def run(job: Job, report: Report) -> dict[str, Any]:
        report("re-deciding candidates", 0.05)

        def written(count: int) -> None:
            report(f"{count} records written", 0.5)

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
