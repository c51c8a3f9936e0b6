"""Names to backends. Each backend is built once (at start-up or first use) and reused;
an unknown name is an error that lists the valid ones."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from minutekeeper.core.settings import Settings
from minutekeeper.models.asr import Transcriber
from minutekeeper.models.diarization import Diarizer
from minutekeeper.models.embedded import WHISPER_BASE, is_prepared
from minutekeeper.models.embedded_llm import EMBEDDED, EmbeddedLLM
from minutekeeper.models.embeddings import EMBEDDED_EMBEDDER, Embedder
from minutekeeper.models.errors import UnknownModel
from minutekeeper.models.llm import TextGenerator
from minutekeeper.models.trained import list_trained


def build_transcriber(settings: Settings, *, model: str | None = None) -> Transcriber:
    from minutekeeper.models.faster_whisper_backend import FasterWhisperTranscriber

    return FasterWhisperTranscriber(
        model or settings.asr_model,
        cache_dir=settings.resolved_model_cache_dir(),
        device=settings.asr_device,
        compute_type=settings.asr_compute_type,
        cpu_threads=settings.asr_threads,
    )


def _resemblyzer(settings: Settings) -> Diarizer:
    from minutekeeper.models.resemblyzer_diarizer import ResemblyzerDiarizer

    return ResemblyzerDiarizer(device="cuda" if settings.asr_device == "cuda" else "cpu")


DIARIZERS: dict[str, Callable[[Settings], Diarizer]] = {"resemblyzer": _resemblyzer}


def build_diarizer(settings: Settings, *, name: str | None = None) -> Diarizer:
    chosen = name or settings.diarizer
    factory = DIARIZERS.get(chosen)
    if factory is None:
        raise UnknownModel(f"unknown diarizer {chosen!r}; valid: {', '.join(sorted(DIARIZERS))}")
    return factory(settings)


def _ctranslate2(settings: Settings, model: str) -> TextGenerator:
    from minutekeeper.models.ctranslate2_generator import CTranslate2Generator

    return CTranslate2Generator(
        model,
        cache_dir=settings.resolved_model_cache_dir(),
        device="cuda" if settings.asr_device == "cuda" else "cpu",
        threads=settings.llm_threads,
    )


def _transformers(settings: Settings, model: str) -> TextGenerator:
    from minutekeeper.models.transformers_generator import TransformersGenerator

    return TransformersGenerator(
        model, cache_dir=settings.resolved_model_cache_dir(), threads=settings.llm_threads
    )


def _openai(settings: Settings, model: str) -> TextGenerator:
    from minutekeeper.models.openai_generator import OpenAICompatibleGenerator

    return OpenAICompatibleGenerator.from_settings(settings, model)


GENERATORS: dict[str, Callable[[Settings, str], TextGenerator]] = {
    "ctranslate2": _ctranslate2,
    "openai": _openai,
    "transformers": _transformers,
}


def build_generator(
    settings: Settings, *, model: str | None = None, backend: str | None = None
) -> TextGenerator:
    chosen = backend or settings.llm_backend
    factory = GENERATORS.get(chosen)
    if factory is None:
        valid = ", ".join(sorted(GENERATORS))
        raise UnknownModel(f"unknown LLM backend {chosen!r}; valid: {valid}")
    return factory(settings, model or settings.llm_model)


def _ct2_embedder(settings: Settings, model: str) -> Embedder:
    from minutekeeper.models.embeddings import CTranslate2Embedder

    return CTranslate2Embedder(
        model, cache_dir=settings.resolved_model_cache_dir(), threads=settings.llm_threads
    )


def _st_embedder(settings: Settings, model: str) -> Embedder:
    from minutekeeper.models.embeddings import SentenceTransformersEmbedder

    return SentenceTransformersEmbedder(model, threads=settings.llm_threads)


EMBEDDERS: dict[str, Callable[[Settings, str], Embedder]] = {
    "ctranslate2": _ct2_embedder,
    "sentence-transformers": _st_embedder,
}


def build_embedder(
    settings: Settings, *, model: str | None = None, backend: str | None = None
) -> Embedder:
    chosen = backend or settings.embedding_backend
    factory = EMBEDDERS.get(chosen)
    if factory is None:
        valid = ", ".join(sorted(EMBEDDERS))
        raise UnknownModel(f"unknown embedding backend {chosen!r}; valid: {valid}")
    return factory(settings, model or settings.embedding_model)


def _llm_state(spec: EmbeddedLLM, cache: Path) -> str:
    if spec.missing():
        return "missing package"
    return "prepared" if spec.is_prepared(cache) else "installed, not prepared"


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
        ("embeddings", EMBEDDED_EMBEDDER, "bundled", "all-MiniLM-L6-v2, MIT, offline"),
        *(
            ("llm", spec.name, _llm_state(spec, cache), f"embedded {spec.title}, {spec.license}")
            for spec in EMBEDDED.values()
        ),
        *(
            (
                "llm",
                str(m["model_id"]),
                "trained",
                f"fine-tuned from {m['base_model']} on export v{m['export_version']}",
            )
            for m in list_trained(cache)
        ),
        *_endpoint_rows(settings),
    ]


def _endpoint_rows(settings: Settings) -> list[tuple[str, str, str, str]]:
    """The model on the endpoint, where generation runs on one (llm_backend 'openai')."""
    if settings.llm_backend != "openai":
        return []
    from minutekeeper.models.openai_generator import catalog_row

    return [catalog_row(settings)]
