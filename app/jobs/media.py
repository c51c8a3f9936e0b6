"""Media jobs (decoding, transcription and diarization of an upload) in a child process
with bounded memory, so a recording can cost a job its memory but never the server its own.

- **Where**: one child per job, forked from a fork server (`multiprocessing` "forkserver")
  that imported the decoding and model libraries once and has no thread pools, database
  connections or sockets of the server's to inherit. The child loads its models (Whisper
  base loads in about a second) and ends with the job, giving back everything it used.
- **How much**: the child caps its private writable memory (`RLIMIT_DATA`: heap, models,
  decoded audio, thread stacks; not shared library code) at `job_memory_mb`, and decodes at
  most `max_audio_s` of audio summed over tracks and channels, counted as frames arrive.
  A child that runs out fails its job ("ran out of its N MB of memory"). Should the machine
  run out first, the child is the kernel's first choice to kill (`oom_score_adj` 1000).
  Not `RLIMIT_AS`: address space is not memory (torch and CTranslate2 map 1.2 GB of it on
  CPU; CUDA reserves 13 GB at start, so an 8 GB `RLIMIT_AS` fails `cuInit` on an H100
  where a 1 GB `RLIMIT_DATA` does not, and GPU memory is not counted).
- **How many**: one child at a time per process (`MediaProcess` holds a lock), whatever the
  number of job threads: each transcription already uses every core.
- **What comes back**: its stages and their progress, then the transcript as JSON (parsed
  and validated, never unpickled), or the child's error code and message.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import multiprocessing
import multiprocessing.forkserver as forkserver
import os
import resource
import signal
import threading
import time
import traceback
from collections.abc import Callable
from functools import cache
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

from minutekeeper.core.errors import AppError
from minutekeeper.core.progress import Stage, StageProgress
from minutekeeper.core.settings import Settings
from minutekeeper.features.transcription import formats
from minutekeeper.features.transcription.service import read_transcript
from minutekeeper.features.transcription.source import Source, transcribe_source
from minutekeeper.features.transcription.transcript import Transcript
from minutekeeper.models.cache import ModelCache, OnLoad

log = logging.getLogger("minutekeeper.jobs")

# What the fork server imports once, so that a child starts in a fraction of a second
# instead of importing them (about 3 s): the child's own code and the libraries it loads
# models with. None of them starts a thread pool on import.
PRELOAD = [
    "__main__",
    __name__,
    "numpy",
    "av",
    "ctranslate2",
    "faster_whisper",
    "torch",
    "resemblyzer",
]
# How long a child that sent its result (or failed) is given to end before it is killed.
EXIT_WAIT_S = 10.0
# A child's exit status when it ran out of memory (even when it could not say so).
OUT_OF_MEMORY_EXIT = 86
_PR_SET_PDEATHSIG = 1
# How native libraries word a failed allocation (std::bad_alloc, MKL, torch, ENOMEM).
_ALLOCATION_FAILED = (
    "bad_alloc",
    "failed to allocate",
    "can't allocate memory",
    "cannot allocate memory",
    "out of memory",
)


class MediaJobFailed(AppError):
    """A media job's child failed: its own error code and message, or how it ended."""

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class MediaProcess:
    """The `SourceTranscriber` of server jobs: audio is transcribed in a child process
    with bounded memory, one at a time per process; a transcript file is read here (it was
    parsed at upload already, and needs no model)."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_load: OnLoad = lambda role, seconds: None,
        on_peak: Callable[[int], None] = lambda peak_bytes: None,
    ) -> None:
        self._settings = settings
        self._limit_mb = settings.job_memory_mb
        # A child's model loads and its peak memory, for this process's telemetry.
        self._on_load = on_load
        self._on_peak = on_peak
        self._lock = threading.Lock()

    def __call__(self, source: Source, *, progress: StageProgress | None = None) -> Transcript:
        if source.is_transcript:
            assert source.recording is not None
            return read_transcript(source.recording)
        with self._lock:
            return self._run(source, progress or (lambda stage, share: None))

    def warm(self) -> None:
        """Start the fork server now (a worker, before its first job) rather than during
        the first job."""
        _context()  # sets what the fork server preloads
        forkserver.ensure_running()

    def _run(self, source: Source, progress: StageProgress) -> Transcript:
        context = _context()
        receiver, sender = context.Pipe(duplex=False)
        child = context.Process(
            target=run_child,
            args=(sender, self._settings, source),
            name="minutekeeper-media",
            daemon=True,  # ended with this process
        )
        started = time.perf_counter()
        child.start()
        sender.close()  # the child holds the only writing end: its end is our EOF
        try:
            return self._result(child, receiver, progress)
        finally:
            receiver.close()
            child.join(timeout=EXIT_WAIT_S)  # a child that sent its result is ending
            if child.is_alive():
                child.kill()
                child.join()
            seconds = time.perf_counter() - started
            log.info("media job child ended (%s) after %.1f s", _how(child.exitcode), seconds)

    def _result(
        self,
        child: multiprocessing.process.BaseProcess,
        receiver: Connection,
        progress: StageProgress,
    ) -> Transcript:
        while True:
            try:
                message: dict[str, Any] = json.loads(receiver.recv_bytes())
            except EOFError:
                break
            kind = message.get("kind")
            if kind == "progress":
                progress(Stage(message["stage"]), float(message["share"]))
            elif kind == "loaded":
                role, seconds = str(message["role"]), float(message["seconds"])
                log.info("media job child: %s model loaded in %.2f s", role, seconds)
                self._on_load(role, seconds)
            elif kind == "done":
                peak_kb = int(message["peak_kb"])
                log.info(
                    "media job child: peak memory %d MB of %d MB", peak_kb >> 10, self._limit_mb
                )
                self._on_peak(peak_kb << 10)
                return formats.from_dict(message["transcript"], where="the job's transcript")
            elif kind == "failed":
                raise MediaJobFailed(str(message["message"]), code=str(message["code"]))
        child.join()
        raise self._ended(child.exitcode)

    def _ended(self, exitcode: int | None) -> MediaJobFailed:
        """The failure of a child that ended without a result."""
        if exitcode == OUT_OF_MEMORY_EXIT:
            return MediaJobFailed(
                f"the job ran out of its {self._limit_mb} MB of memory",
                code="out_of_memory",
            )
        if exitcode == -signal.SIGKILL:  # the kernel's choice when the machine runs out
            log.error("media job child was killed (SIGKILL)")
            return MediaJobFailed(
                "the job was killed, most likely because the machine ran out of memory "
                f"before the job reached its {self._limit_mb} MB",
                code="out_of_memory",
            )
        log.error("media job child ended without a result (%s)", _how(exitcode))
        return MediaJobFailed(
            f"the job's process ended unexpectedly ({_how(exitcode)}), perhaps out of its "
            f"{self._limit_mb} MB of memory; the error is logged on the server",
            code="job_crashed",
        )


@cache
def _context() -> ForkServerContext:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _how(exitcode: int | None) -> str:
    if exitcode is None:
        return "still running"
    if exitcode < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-exitcode).name}"
        return f"killed by signal {-exitcode}"
    return f"exit status {exitcode}"


def run_child(sender: Connection, settings: Settings, source: Source) -> None:
    """A media job's child: cap its memory, transcribe, send the transcript as JSON. Out
    of memory, it exits with `OUT_OF_MEMORY_EXIT` whether or not it could say so."""
    _end_with_parent()
    _first_to_go()
    limit = settings.job_memory_mb << 20
    _, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:  # a lower limit set from outside stays
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    try:
        _transcribe(sender, settings, source)
    except MemoryError:
        os._exit(OUT_OF_MEMORY_EXIT)  # no clean-up: it may need the memory there is not


def _transcribe(sender: Connection, settings: Settings, source: Source) -> None:
    def send(**message: Any) -> None:
        sender.send_bytes(json.dumps(message).encode())

    try:
        transcript = transcribe_source(
            source,
            models=ModelCache(
                settings, on_load=lambda role, s: send(kind="loaded", role=role, seconds=s)
            ),
            progress=lambda stage, share: send(kind="progress", stage=stage, share=share),
            max_audio_s=settings.max_audio_s,
        )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        send(kind="done", transcript=formats.to_dict(transcript), peak_kb=peak)
    except Exception as error:
        if _ran_out_of_memory(error):
            raise MemoryError from error
        if isinstance(error, AppError):
            send(kind="failed", code=error.code, message=error.message)
            return
        # The message may quote what the job read; log where it failed, not what it said.
        where = "".join(traceback.format_tb(error.__traceback__)[-3:])
        log.error("media job child failed: %s\n%s", type(error).__name__, where)
        unexpected = f"the job failed unexpectedly ({type(error).__name__})"
        send(kind="failed", code="internal_error", message=f"{unexpected}; it is logged")


def _ran_out_of_memory(error: BaseException | None) -> bool:
    """Whether `error`, or one it was raised from, is an allocation that failed: Python's
    MemoryError, or a native library's own (CTranslate2, MKL and torch say so in words,
    and the model registry wraps them as `ModelUnavailable`)."""
    seen = 0
    while error is not None and seen < 10:
        text = str(error).lower()
        if isinstance(error, MemoryError) or any(m in text for m in _ALLOCATION_FAILED):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def _first_to_go() -> None:
    """Be the process the kernel kills first when the machine runs out of memory (a
    limit set above the machine's memory), not the server that started the job."""
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text("1000")


def _end_with_parent() -> None:
    """Be killed when the fork server ends (it ends with the server), so a job's child
    never outlives the process waiting for it (Linux; elsewhere it ends at its next send)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
