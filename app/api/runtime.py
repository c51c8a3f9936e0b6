"""What a running server holds: settings, the database, the consent service, the job
runner, the models its jobs share, telemetry. Built by `create_app` (and by
`minutekeeper worker`, which runs the jobs with the same parts), never at import."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from app.api.telemetry import Telemetry
from app.core.db import create_db_engine, migrate
from app.core.settings import Settings
from app.jobs import tasks
from app.jobs.distributed import CeleryRunner
from app.jobs.models import ModelCache
from app.jobs.runner import Executor, InProcessRunner, JobRunner
from app.jobs.store import Job
from consent.service import ConsentService


def job_executor(
    settings: Settings,
    engine: Engine,
    service: ConsentService,
    models: ModelCache,
    telemetry: Telemetry,
) -> Executor:
    """Runs jobs with these models, counting them in this telemetry."""

    def finished(job: Job, status: str, seconds: float) -> None:
        telemetry.jobs.labels(job.kind, status).inc()
        telemetry.job_seconds.labels(job.kind, status).observe(seconds)

    return Executor(
        engine,
        tasks.handlers(settings, service, models),
        lease_s=settings.job_lease_s,
        on_finished=finished,
    )


@dataclass
class Runtime:
    """A server's parts; `minutekeeper worker` builds the same ones and runs the jobs."""

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
        runner: JobRunner
        if settings.job_queue == "celery":  # workers run the jobs (`minutekeeper worker`)
            runner = CeleryRunner(settings, engine)
        else:
            executor = job_executor(settings, engine, service, models, telemetry)
            runner = InProcessRunner(engine, executor, workers=settings.job_workers)
        return cls(settings, engine, service, telemetry, models, runner)

    def executor(self) -> Executor:
        """Runs jobs in this process with its models (what a worker does)."""
        return job_executor(self.settings, self.engine, self.service, self.models, self.telemetry)

    def start(self) -> None:
        self.jobs.start()

    def stop(self) -> None:
        self.jobs.stop()
        self.engine.dispose()
