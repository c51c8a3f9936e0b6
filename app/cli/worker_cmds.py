"""`minutekeeper worker`: runs the jobs taken from the Celery queue, with the same
`Runtime` as the server but without the HTTP app."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from minutekeeper.cli.context import state


def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int, typer.Option(min=1, max=64, help="Jobs this process runs at once (threads).")
    ] = 1,
    metrics_port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Serve this worker's /metrics on this port."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address for --metrics-port.")] = "127.0.0.1",
    preload: Annotated[
        bool, typer.Option(help="Load the models before the first job instead of during it.")
    ] = True,
    log_level: Annotated[str, typer.Option(help="Log level.")] = "info",
) -> None:
    """Run jobs (transcription, summaries, exports) taken from the Celery queue.

    For several API servers and workers sharing one PostgreSQL: start the API servers with
    MINUTEKEEPER_JOB_QUEUE=celery and the same MINUTEKEEPER_DATABASE_URL and
    MINUTEKEEPER_BROKER_URL as this worker (docs/deploy.md). The models are loaded once per
    process; run one worker per GPU (MINUTEKEEPER_ASR_DEVICE=cuda) or per CPU box.
    """
    import logging
    import socket

    import prometheus_client

    from minutekeeper.jobs.distributed import QUEUE, Sweeper, celery_app, register
    from minutekeeper.runtime import Runtime

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    settings = state(ctx).settings().model_copy(update={"job_queue": "celery"})
    runtime = Runtime(settings)
    runtime.engine  # noqa: B018 (a database problem is reported before the worker starts)
    if preload:
        typer.echo(f"minutekeeper worker: loaded {', '.join(runtime.preload())}", err=True)
    if metrics_port is not None:
        prometheus_client.start_http_server(
            metrics_port, addr=metrics_host, registry=runtime.telemetry.registry
        )
    queue = celery_app(settings)
    register(queue, runtime.executor())
    requeued = runtime.telemetry.jobs_requeued
    sweeper = Sweeper(queue, runtime.engine, settings, on_requeued=requeued.inc)
    sweeper.start()
    runtime.checkpointer.start()
    pool = "solo" if concurrency == 1 else "threads"
    try:
        queue.worker_main(
            [
                "worker",
                f"--pool={pool}",
                f"--concurrency={concurrency}",
                f"--queues={QUEUE}",
                f"--hostname=minutekeeper@{socket.gethostname()}:{os.getpid()}",
                f"--loglevel={log_level.upper()}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        sweeper.stop()
        runtime.stop()
