"""Names to backends. Each backend is built once (at start-up or first use) and reused;
an unknown name is an error that lists the valid ones."""

from __future__ import annotations

from collections.abc import Callable

from app.core.settings import Settings
from models.asr import Transcriber
from models.diarization import Diarizer
from models.embedded import WHISPER_BASE, is_prepared
from models.errors import UnknownModel


def build_transcriber(settings: Settings, *, model: str | None = None) -> Transcriber:
    from models.faster_whisper_backend import FasterWhisperTranscriber

    return FasterWhisperTranscriber(
        model or settings.asr_model,
        cache_dir=settings.resolved_model_cache_dir(),
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        cpu_threads=settings.asr_threads,
    )


def _resemblyzer(settings: Settings) -> Diarizer:
    from models.resemblyzer_diarizer import ResemblyzerDiarizer

    return ResemblyzerDiarizer(device="cuda" if settings.asr_device == "cuda" else "cpu")


DIARIZERS: dict[str, Callable[[Settings], Diarizer]] = {"resemblyzer": _resemblyzer}


def build_diarizer(settings: Settings, *, name: str | None = None) -> Diarizer:
    chosen = name or settings.diarizer
    factory = DIARIZERS.get(chosen)
    if factory is None:
        raise UnknownModel(f"unknown diarizer {chosen!r}; valid: {', '.join(sorted(DIARIZERS))}")
    return factory(settings)


def catalog(settings: Settings) -> list[tuple[str, str, str, str]]:
    """(role, name, state, note) for `minutekeeper models list`."""
    cache = settings.resolved_model_cache_dir()
    if not WHISPER_BASE.installed():
        asr_state = "missing package"
    elif is_prepared(WHISPER_BASE, cache):
        asr_state = "prepared"
    else:
        asr_state = "installed, not prepared"
    return [
        ("asr", "base", asr_state, f"embedded Whisper base, {WHISPER_BASE.license}, offline"),
        ("asr", "tiny … large-v3, distil-*", "hub", "faster-whisper size names need a network"),
        ("vad", "silero", "bundled", "inside faster-whisper"),
        ("diarization", "resemblyzer", "bundled", "voice encoder ships its weights"),
    ]
