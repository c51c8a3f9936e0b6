"""The running parts of minutekeeper, built in one place for `serve`, `worker` and the CLI:
settings -> database engine (migrated) -> consent service -> models -> job runner, with
telemetry. Each part is built on first use, so a CLI command pays only for what it
touches (`--help` and `transcribe FILE` never open the database); `serve` and `worker`
ask for the database first, so a problem there is reported before they start."""

from __future__ import annotations

import logging
import threading
from functools import cached_property
from typing import TYPE_CHECKING

from minutekeeper.core.settings import Settings
from minutekeeper.telemetry import Telemetry

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from minutekeeper.consent import ConsentService, Principal, Redactor, Tenant
    from minutekeeper.features.deletion import MeetingDeleted
    from minutekeeper.features.offers import Offers
    from minutekeeper.jobs.media import MediaProcess
    from minutekeeper.jobs.runner import Executor, JobRunner
    from minutekeeper.jobs.webhook import Webhook
    from minutekeeper.models.cache import ModelCache

log = logging.getLogger(__name__)


class Runtime:
    """One process's parts, each built on first use. A server's are all built by `build`
    before its threads share them; a CLI command runs on one thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        """A server's runtime with its database, consent service and job runner built now."""
        runtime = cls(settings)
        runtime.jobs  # noqa: B018 (builds the engine, the service and the runner)
        return runtime

    @cached_property
    def engine(self) -> Engine:
        """The database, migrated to the newest schema."""
        # Imported here: the database stack costs ~0.3 s that `--help` and `transcribe` skip.
        from minutekeeper.core.db import create_db_engine, migrate

        engine = create_db_engine(self.settings)
        migrate(engine)
        return engine

    @cached_property
    def service(self) -> ConsentService:
        from minutekeeper.consent import ConsentService

        service = ConsentService.from_settings(self.engine, self.settings)
        # What was kept before the chain held its facts is chained as it stands, once; what
        # was kept under older rules is re-decided once under the newest.
        service.adopt_unchained()
        service.apply_rules()
        return service

    @cached_property
    def telemetry(self) -> Telemetry:
        return Telemetry(consent_counts=self.settings.metrics_consent_counts)

    @cached_property
    def models(self) -> ModelCache:
        from minutekeeper.models.cache import ModelCache

        telemetry = self.telemetry

        def loaded(role: str, seconds: float) -> None:
            telemetry.model_load_seconds.labels(role).observe(seconds)

        def counted(read: int, written: int) -> None:
            telemetry.tokens.labels("prompt").inc(read)
            telemetry.tokens.labels("completion").inc(written)

        return ModelCache(self.settings, on_load=loaded, on_tokens=counted)

    def redactor(self) -> Redactor:
        """The redactor every offer for training goes through, built once per process."""
        from minutekeeper.consent import Redactor

        return self.models.shared("redactor", Redactor)

    @cached_property
    def offers(self) -> Offers:
        """Where results are offered to the consent gate as training data."""
        from minutekeeper.features.offers import Offers

        return Offers(self.service, self.redactor)

    @cached_property
    def media(self) -> MediaProcess:
        """Transcribes uploads for this process's jobs, in a child process each, one at a
        time, with bounded memory: a recording never grows this process."""
        from minutekeeper.jobs.media import MediaProcess

        loads, peaks = self.telemetry.model_load_seconds, self.telemetry.media_job_peak_bytes
        return MediaProcess(self.settings, on_peak=peaks.observe,
                            on_load=lambda role, s: loads.labels(role).observe(s))  # fmt: skip

    @cached_property
    def jobs(self) -> JobRunner:
        """Runs jobs: in this process's threads, or on Celery workers (`job_queue`)."""
        from minutekeeper.jobs.distributed import CeleryRunner
        from minutekeeper.jobs.runner import InProcessRunner

        if self.settings.job_queue == "celery":  # workers run the jobs
            return CeleryRunner(self.settings, self.engine)
        return InProcessRunner(self.engine, self.executor(), workers=self.settings.job_workers)

    def executor(self) -> Executor:
        """Runs jobs in this process with its models, counting them in its telemetry."""
        from minutekeeper.jobs import tasks
        from minutekeeper.jobs.runner import Executor
        from minutekeeper.jobs.store import Job

        telemetry = self.telemetry

        def finished(job: Job, status: str, seconds: float) -> None:
            telemetry.jobs.labels(job.kind, status).inc()
            telemetry.job_seconds.labels(job.kind, status).observe(seconds)

        handlers = tasks.handlers(self.settings, self.service, self.models, self.offers,
                                  self.media)  # fmt: skip
        webhook = self.webhook
        return Executor(self.engine, handlers, lease_s=self.settings.job_lease_s,
                        on_finished=finished,
                        on_done=webhook.job_finished if webhook else None)  # fmt: skip

    @cached_property
    def webhook(self) -> Webhook | None:
        """Posts to `webhook_url` when a meeting's job finishes in this process; None
        without one."""
        from minutekeeper.jobs.webhook import Webhook

        settings = self.settings
        if not settings.webhook_url:
            return None
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        return Webhook(settings.webhook_url, secret=secret, public_url=settings.public_url)

    def set_switches(self, admin: Principal, *, confirm: bool = False, **switches: bool | None
                     ) -> Tenant:  # fmt: skip
        """Change the tenant's switches (`ConsentService.set_switches`: turning training
        sharing or AI features off revokes what is published and kept), then fail the
        tenant's queued jobs that may no longer run: every one with AI features off, its
        exports with training sharing off."""
        from minutekeeper.jobs import store, tasks

        tenant = self.service.set_switches(admin, confirm=confirm, **switches)
        if switches.get("ai_features_enabled") is False:
            kinds, why = None, "AI features were turned off"
        elif switches.get("training_sharing_enabled") is False:
            kinds, why = [tasks.EXPORT], "training sharing was turned off"
        else:
            return tenant
        store.cancel_queued(self.engine, admin.tenant_id, kinds=kinds, code="cancelled",
                            message=f"cancelled: {why}")  # fmt: skip
        return tenant

    def delete_meeting(
        self, tenant_id: str, ref: str, *, owner_id: str | None, actor_id: str,
        exact: bool = False,
    ) -> MeetingDeleted:  # fmt: skip
        """Delete a meeting and everything kept of it (`features.deletion`), its upload's
        job row with it; refused (`JobStillRunning`) while that job still runs, whether or
        not it has saved the meeting yet."""
        from minutekeeper.features.deletion import delete_meeting
        from minutekeeper.features.meetings.errors import MeetingNotFound
        from minutekeeper.jobs.store import refuse_while_processing, release_meeting_job

        try:
            return delete_meeting(self.service, tenant_id, ref, owner_id=owner_id,
                                  actor_id=actor_id, exact=exact, hold=release_meeting_job,
                                  media_root=self.settings.resolved_media_dir())  # fmt: skip
        except MeetingNotFound:
            refuse_while_processing(self.engine, ref, tenant_id=tenant_id, owner_id=owner_id)
            raise

    def preload(self) -> list[str]:
        """Load now what meeting jobs use in this process (a worker, before its first job),
        and start the fork server of their media children; the roles."""
        roles = self.models.preload()
        self.redactor()
        self.media.warm()
        return [*roles, "redactor", "media"]

    @cached_property
    def checkpointer(self) -> Checkpointer:
        return Checkpointer(self.service, every_s=self.settings.checkpoint_seconds)

    def start(self) -> None:
        """A server's background work: the job runner and the checkpoint timer."""
        self.jobs.start()
        self.checkpointer.start()

    def stop(self) -> None:
        if "checkpointer" in self.__dict__:
            self.checkpointer.stop()
        if "jobs" in self.__dict__:
            self.jobs.stop()
        if (webhook := self.__dict__.get("webhook")) is not None:
            webhook.close()  # what the stopped jobs finished is still told
        if "engine" in self.__dict__:
            self.engine.dispose()


class Checkpointer:
    """A thread that signs the chains' new entries every `every_s` seconds, so no tail stays
    unsigned longer than that in a process that keeps running (opt-outs, erasures and
    exports sign at once)."""

    def __init__(self, service: ConsentService, *, every_s: float) -> None:
        self._service = service
        self.every_s = every_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="minutekeeper-checkpoint",
                                        daemon=True)  # fmt: skip

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stopped.wait(self.every_s):
            try:
                self._service.checkpoint()
            except Exception as error:  # the database is away: sign next time
                log.warning("checkpoint failed: %s", type(error).__name__)
