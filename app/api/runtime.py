"""What a running server holds: settings, the database, the consent service, the job
runner, the models its jobs share, telemetry. Built by `create_app`, never at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.api.telemetry import Telemetry
from app.core.db import create_db_engine, migrate
from app.core.settings import Settings
from app.jobs import tasks
from app.jobs.models import ModelCache
from app.jobs.runner import InProcessRunner, JobRunner
from app.jobs.store import Job
from consent.service import ConsentService


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    service: ConsentService
    telemetry: Telemetry
    models: ModelCache
    jobs: JobRunner

    @classmethod
    def build(cls, settings: Settings, *, models: ModelCache | None = None) -> Runtime:
        engine = create_db_engine(settings)
        migrate(engine)
        service = ConsentService.from_settings(engine, settings)
        telemetry = Telemetry()

        def loaded(role: str, seconds: float) -> None:
            telemetry.model_load_seconds.labels(role).observe(seconds)

        def counted(read: int, written: int) -> None:
            telemetry.tokens.labels("prompt").inc(read)
            telemetry.tokens.labels("completion").inc(written)

        models = models or ModelCache(settings, on_load=loaded, on_tokens=counted)

        def finished(job: Job, status: str, seconds: float) -> None:
            telemetry.jobs.labels(job.kind, status).inc()
            telemetry.job_seconds.labels(job.kind, status).observe(seconds)

        handlers = {
            tasks.MEETING: tasks.meeting_handler(settings, service, models),
            tasks.EXPORT: tasks.export_handler(settings, service),
        }
        runner = InProcessRunner(
            engine, handlers, workers=settings.job_workers, on_finished=finished
        )
        return cls(settings, engine, service, telemetry, models, runner)

    def start(self) -> None:
        self.jobs.start()

    def stop(self) -> None:
        self.jobs.stop()
        self.engine.dispose()
