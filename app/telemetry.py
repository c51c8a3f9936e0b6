"""Service-generated data only: request counts and latencies by route template, job
durations, model load times and token counts. Never a path with ids, a query string, a
body or any text a person said or typed, and no consent decisions unless the operator
asks for their counts (`metrics_consent_counts`): `/metrics` needs no token, and a
"withdrawn" count going up tells whoever reads it that someone just withdrew.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
_JOB_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600)
_MEMORY_BUCKETS = tuple(mb << 20 for mb in (256, 512, 1024, 2048, 4096, 8192, 16384))


class Telemetry:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self, *, consent_counts: bool = False) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "minutekeeper_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "minutekeeper_http_request_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs = Counter(
            "minutekeeper_jobs", "Jobs finished.", ["kind", "status"], registry=self.registry
        )
        self.job_seconds = Histogram(
            "minutekeeper_job_seconds",
            "Time a job ran.",
            ["kind", "status"],
            buckets=_JOB_BUCKETS,
            registry=self.registry,
        )
        self.jobs_waiting = Gauge(
            "minutekeeper_jobs_waiting",
            "Jobs not finished yet in the shared database, by status (queued, running).",
            ["status"],
            registry=self.registry,
        )
        self.oldest_queued = Gauge(
            "minutekeeper_job_oldest_queued_seconds",
            "How long the oldest queued job has waited for a worker.",
            registry=self.registry,
        )
        self.jobs_requeued = Counter(
            "minutekeeper_jobs_requeued",
            "Jobs a worker's sweep queued again (their worker stopped, or the broker lost them).",
            registry=self.registry,
        )
        self.model_load_seconds = Histogram(
            "minutekeeper_model_load_seconds",
            "Time to load a model.",
            ["role"],
            buckets=_JOB_BUCKETS[:6],
            registry=self.registry,
        )
        self.media_job_peak_bytes = Histogram(
            "minutekeeper_media_job_peak_bytes",
            "Peak resident memory of a media job's child process, per job that finished "
            "(what MINUTEKEEPER_JOB_MEMORY_MB must hold).",
            buckets=_MEMORY_BUCKETS,
            registry=self.registry,
        )
        self.tokens = Counter(
            "minutekeeper_llm_tokens",
            "Tokens the language model read or wrote.",
            ["direction"],
            registry=self.registry,
        )
        self.consent_events = (
            Counter(
                "minutekeeper_consent_events",
                "Consent decisions recorded through the API, by state, over all tenants.",
                ["state"],
                registry=self.registry,
            )
            if consent_counts
            else None
        )

    def consent_decided(self, state: str) -> None:
        """Count a decision by its state, where the operator asked for these counts."""
        if self.consent_events is not None:
            self.consent_events.labels(state).inc()

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
