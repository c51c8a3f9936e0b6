"""Runtime configuration: one pydantic-settings object, environment prefix MINUTEKEEPER_.

Nothing here is created at import time; callers build `Settings()` (or pass their own, as
tests do with `Settings(data_dir=tmp_path)`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "minutekeeper"


class Settings(BaseSettings):
    """Every knob minutekeeper reads, with where it comes from and why it exists."""

    model_config = SettingsConfigDict(env_prefix="MINUTEKEEPER_", extra="forbid")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Folder for the SQLite database, the audit signing key and model caches.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database. Empty means SQLite (WAL) at "
            "<data_dir>/minutekeeper.db; use postgresql+psycopg://... for several servers."
        ),
    )
    database_pool_size: int = Field(
        default=40,
        ge=1,
        le=1000,
        description=(
            "Database connections a process keeps open: as many as the API's request "
            "threads (40), so a busy server does not keep opening new ones."
        ),
    )
    audit_key_path: Path | None = Field(
        default=None,
        description=(
            "Ed25519 private key (PEM) that signs audit checkpoints; kept outside the "
            "database. Empty means <data_dir>/keys/audit_ed25519.pem, created on first use."
        ),
    )
    checkpoint_every: int = Field(
        default=100,
        ge=1,
        description="Sign a checkpoint of each hash chain every this many appended entries.",
    )
    checkpoint_seconds: int = Field(
        default=300,
        ge=1,
        le=86400,
        description=(
            "The API server and workers sign a checkpoint of any new chain entries this "
            "often, besides those signed at every opt-out, erasure and export."
        ),
    )
    audit_witness: Path | None = Field(
        default=None,
        description=(
            "An append-only file, ideally on other storage than the database, that keeps a "
            "copy of every signed checkpoint; `audit verify` fails where the database "
            "disagrees with it, and warns when none is set."
        ),
    )
    consent_validity_days: int = Field(
        default=365,
        ge=1,
        le=3650,
        description="How long a given consent stays valid when the person names no end date.",
    )
    local_tenant: str = Field(
        default="local",
        description="Name of the tenant a single-user local install (the CLI) works in.",
    )
    local_user: str = Field(
        default_factory=lambda: os.environ.get("USER") or "me",
        description="Display name of the local member the CLI acts as.",
    )

    export_dir: Path | None = Field(
        default=None,
        description=(
            "Where training exports are published, one folder per version. "
            "Empty means <data_dir>/exports."
        ),
    )
    media_dir: Path | None = Field(
        default=None,
        description=(
            "Where uploaded recordings are kept, one folder per meeting (the web page's "
            "audio player plays them). Empty means <data_dir>/media; several API servers "
            "need a shared folder."
        ),
    )
    upload_max_bytes: int = Field(
        default=500 * 1024 * 1024,
        ge=1024,
        description="Largest upload the API accepts (a recording, its tracks, a subtitle file).",
    )
    job_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Jobs (transcription, summaries, exports) the server runs at once; each "
            "transcription already uses every core."
        ),
    )
    job_memory_mb: int = Field(
        default=8192,
        ge=16,
        le=1024 * 1024,
        description=(
            "Memory of one media job (decoding, transcription and diarization of an "
            "upload), in MB. Each runs in a child process of the server or worker, one at a "
            "time per process, whose private writable memory (RLIMIT_DATA: heap, models, "
            "decoded audio; not shared library code) is capped at this; a job that needs "
            "more fails as out of memory and the process that started it is unharmed. A "
            "recording with diarization needs about 1.4 GB per hour plus 0.8 GB: the "
            "default holds the default max_audio_s (4 h)."
        ),
    )
    max_audio_s: float = Field(
        default=4 * 3600.0,
        ge=1.0,
        description=(
            "Most audio one upload may hold, in seconds summed over its tracks and channels "
            "(a stereo hour counts two). Counted while decoding, which stops as soon as it "
            "passes this (a file's declared duration can lie); one declaring more is "
            "refused at once."
        ),
    )
    max_speakers: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description=(
            "Most speakers one meeting may have (each named speaker becomes a person of "
            "the tenant); an upload with more is refused before anything is kept."
        ),
    )
    job_queue: Literal["in-process", "celery"] = Field(
        default="in-process",
        description=(
            "Where jobs run: 'in-process' on the API server's own threads (one server per "
            "database), or 'celery': on `minutekeeper worker` processes fed through the "
            "broker, for several API servers and workers sharing one PostgreSQL."
        ),
    )
    broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="The Celery broker (Redis) when job_queue is 'celery'.",
    )
    job_lease_s: float = Field(
        default=60.0,
        ge=1.0,
        le=3600.0,
        description=(
            "A running job whose worker has not renewed its lease (every quarter of this) "
            "for this long is taken back and run again by another worker."
        ),
    )
    job_requeue_s: float = Field(
        default=300.0,
        ge=1.0,
        le=86400.0,
        description=(
            "A queued job no worker has taken this long after it was published is "
            "published again (a broker restarted without persistence forgets its queue); "
            "also how long the broker keeps a message a worker took but never "
            "acknowledged before handing it to another."
        ),
    )
    token_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="How long a new API token is valid unless `tokens create` says otherwise.",
    )
    public_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^/?#\s]+/?$",
        description=(
            "The address people open the web pages at behind a proxy (https://meet.example.com). "
            "Signing in and out and every change the pages send must come from this origin; "
            "an https address also marks the session cookie Secure. Empty means the origin "
            "the request names itself (its Host header)."
        ),
    )
    webhook_url: str | None = Field(
        default=None,
        description=(
            "An http(s) address that is sent a POST (JSON) whenever a meeting's job finishes, "
            "succeeded or failed: the event, the job's and meeting's ids, the status, an error "
            "code and links; never a title, name, transcript or summary. Links are absolute "
            "under public_url when it is set, else paths (a job has no request to take a host "
            "from). Sent from the server or worker that ran the job, in the background: up to "
            "4 tries, 5 s each, 1, 2 and 4 s apart; a failure is logged and the job is "
            "unaffected. Empty means none is sent."
        ),
    )
    webhook_secret: SecretStr | None = Field(
        default=None,
        description=(
            "Signs each webhook POST: X-Minutekeeper-Signature is sha256=<hex HMAC-SHA256 with "
            "this key of '<X-Minutekeeper-Timestamp>.<body>'>, the timestamp in Unix seconds; "
            "the receiver recomputes it and refuses old timestamps. A secret: never logged."
        ),
    )
    session_idle_minutes: int = Field(
        default=720,
        ge=5,
        le=43200,
        description=(
            "A web session unused this long (12 hours) has ended: the browser must sign in again."
        ),
    )
    session_days: int = Field(
        default=7,
        ge=1,
        le=90,
        description="A web session ends this many days after sign-in, however much it is used.",
    )
    metrics_consent_counts: bool = Field(
        default=False,
        description=(
            "Whether /metrics (no token) counts consent decisions by state, summed over all "
            "tenants. Off by default: anyone who reads /metrics would see a withdrawal as it "
            "happens."
        ),
    )
    model_cache_dir: Path | None = Field(
        default=None,
        description="Where prepared models live. Empty means <data_dir>/models.",
    )
    asr_model: str = Field(
        default="base",
        description=(
            "Whisper model for faster-whisper: 'base' is the embedded default (offline); any "
            "other size name (small, large-v3, distil-large-v3, ...) needs a network once, "
            "or give a local CTranslate2 model folder."
        ),
    )
    asr_device: str = Field(default="cpu", description="cpu, cuda or auto.")
    asr_compute_type: str = Field(
        default="int8", description="CTranslate2 compute type (int8 on CPU, float16 on GPU)."
    )
    asr_threads: int = Field(
        default=0, ge=0, le=256, description="CPU threads for ASR; 0 lets CTranslate2 choose."
    )
    diarizer: str = Field(
        default="resemblyzer", description="Speaker diarization backend for single-channel audio."
    )

    llm_model: str = Field(
        default="qwen2.5-coder-0.5b-instruct",
        description=(
            "Text generation model: 'qwen2.5-coder-0.5b-instruct' is the embedded default "
            "(offline; Gemma 3 270M, 'gemma3-270m', when its packages are missing); or "
            "the id of a model fine-tuned here (`minutekeeper train`), a local transformers "
            "causal-LM folder, a CTranslate2 model folder, or a Hugging Face hub id "
            "(org/name; needs a network the first time)."
        ),
    )
    llm_backend: str = Field(
        default="ctranslate2",
        description=(
            "ctranslate2 (int8, fast on CPU), transformers (plain generate), or openai: an "
            "OpenAI-compatible server (vLLM, llama.cpp's server, Ollama) at llm_base_url, "
            "where llm_model is the name it serves the model under (vLLM's "
            "--served-model-name, an Ollama tag)."
        ),
    )
    summary_engine: str = Field(
        default="extractive",
        description=(
            "How summaries are written: extractive (sentences of the meeting, the default; "
            "about 1.5 s a meeting on 2 cores), hybrid (the extractive items with an overview "
            "and chapter titles written by the language model, each sentence checked against "
            "its citations; about half a minute a meeting on 2 cores, worth it where "
            "transcription takes minutes anyway or generation runs on a GPU endpoint) or llm "
            "(the language model writes every item; minutes a meeting on CPU)."
        ),
    )
    embedding_model: str = Field(
        default="all-minilm-l6-v2",
        description=(
            "Sentence embeddings for summaries, questions and the grounding check: "
            "'all-minilm-l6-v2' is the embedded default (offline), or a local "
            "sentence-transformers folder."
        ),
    )
    embedding_backend: str = Field(
        default="ctranslate2",
        description="ctranslate2 (int8, fast on CPU) or sentence-transformers (PyTorch).",
    )
    llm_threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="CPU threads for generation; 0 lets the backend choose.",
    )
    llm_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s?#]+$",
        description=(
            "The OpenAI-compatible API the 'openai' LLM backend calls, up to and including its "
            "/v1 (vLLM: http://gpu1:8000/v1, llama.cpp's server: http://gpu1:8080/v1, Ollama: "
            "http://gpu1:11434/v1); messages go to <this>/chat/completions, a raw prompt to "
            "<this>/completions."
        ),
    )
    llm_api_key: SecretStr | None = Field(
        default=None,
        description=(
            "Bearer key for llm_base_url when the server asks for one (vLLM's and llama.cpp's "
            "--api-key). A secret: never logged, printed or put in an error message."
        ),
    )
    llm_timeout_s: float = Field(
        default=120.0,
        ge=1.0,
        le=3600.0,
        description=(
            "How long the 'openai' backend waits for the endpoint: to connect (at most 10 s of "
            "it), for a whole answer, or between two streamed tokens. A call that waits longer "
            "fails (it is not retried: the server may still be working on it)."
        ),
    )
    llm_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description=(
            "Further tries of an endpoint call after a refused or dropped connection, a 429 or "
            "a 5xx answer, 0.5 s, 1 s, 2 s … apart (or after the server's Retry-After, at most "
            "30 s); other failures are reported at once."
        ),
    )
    llm_context_length: int = Field(
        default=4096,
        ge=256,
        le=10_000_000,
        description=(
            "The context window, in tokens, of the model behind llm_base_url (local models "
            "read theirs from their config); long transcripts and threads are split to fit "
            "it. Match the server's: vLLM's --max-model-len, llama.cpp's --ctx-size, Ollama's "
            "num_ctx (which it otherwise silently truncates to)."
        ),
    )
    llm_tokenizer: Path | None = Field(
        default=None,
        description=(
            "A local folder holding the endpoint model's tokenizer files (tokenizer.json, "
            "tokenizer_config.json), so the 'openai' backend counts tokens exactly. Empty "
            "means an estimate of one token per 3 bytes of UTF-8: above the true count for "
            "English (about 4 characters a token), so inputs are split early, never too late."
        ),
    )

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        """Refused at start-up unless http(s) with a host: nothing else is ever posted to."""
        if url is None or url == "":
            return None
        parts = urlsplit(url)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(c.isspace() for c in url)
        ):
            raise ValueError(
                "give an http:// or https:// address with a host, such as "
                "https://hooks.example.com/minutekeeper"
            )
        return url

    def resolved_database_url(self) -> str:
        """The URL to connect to: the configured one, or SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'minutekeeper.db'}"

    def resolved_audit_key_path(self) -> Path:
        return self.audit_key_path or self.data_dir / "keys" / "audit_ed25519.pem"

    def resolved_export_dir(self) -> Path:
        return (self.export_dir or self.data_dir / "exports").resolve()

    def resolved_media_dir(self) -> Path:
        return (self.media_dir or self.data_dir / "media").resolve()

    def resolved_model_cache_dir(self) -> Path:
        return self.model_cache_dir or self.data_dir / "models"
