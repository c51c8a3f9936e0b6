"""The models a process shares (a server's requests and jobs, a worker, one CLI command),
each built on first use and then kept for the life of the process; load times and token
counts go to telemetry (numbers only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from minutekeeper.core.settings import Settings
from minutekeeper.models import registry
from minutekeeper.models.asr import Transcriber
from minutekeeper.models.diarization import Diarizer
from minutekeeper.models.embeddings import Embedder
from minutekeeper.models.llm import ChatMessage, Generation, OnToken, TextGenerator

T = TypeVar("T")
OnLoad = Callable[[str, float], None]  # role, seconds
OnTokens = Callable[[int, int], None]  # prompt tokens, completion tokens


class ModelProvider(Protocol):
    """Hands out models built once per process: a transcript file never loads the speech
    model, an extractive summary never loads the language model."""

    def transcriber(self) -> Transcriber: ...

    def diarizer(self) -> Diarizer: ...

    def embedder(self) -> Embedder: ...

    def generator(self) -> TextGenerator: ...


class CountingGenerator:
    """A `TextGenerator` that reports how many tokens each call read and wrote."""

    def __init__(self, inner: TextGenerator, on_tokens: OnTokens) -> None:
        self._inner = inner
        self._on_tokens = on_tokens
        self.name = inner.name
        self.context_length = inner.context_length

    def count_tokens(self, text: str) -> int:
        return self._inner.count_tokens(text)

    def generate(
        self,
        messages: list[ChatMessage] | str,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        on_token: OnToken | None = None,
        repetition_penalty: float = 1.0,
        no_repeat_ngram: int = 0,
    ) -> Generation:
        result = self._inner.generate(
            messages,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            stop=stop,
            on_token=on_token,
            repetition_penalty=repetition_penalty,
            no_repeat_ngram=no_repeat_ngram,
        )
        self._on_tokens(result.prompt_tokens, result.completion_tokens)
        return result


class ModelCache:
    """The `ModelProvider` of a process, built from its settings (which name the models)."""

    def __init__(
        self,
        settings: Settings,
        *,
        on_load: OnLoad = lambda role, seconds: None,
        on_tokens: OnTokens = lambda read, written: None,
    ) -> None:
        self._settings = settings
        self._on_load = on_load
        self._on_tokens = on_tokens
        self._built: dict[str, Any] = {}
        self._lock = threading.Lock()

    def choosing(self, *, asr_model: str | None = None, llm_model: str | None = None) -> ModelCache:
        """This cache, or one whose speech or language model is the one named instead (a
        command's `--model`, `--llm`); it reports to the same telemetry."""
        update = {k: v for k, v in (("asr_model", asr_model), ("llm_model", llm_model)) if v}
        if not update:
            return self
        settings = self._settings.model_copy(update=update)
        return ModelCache(settings, on_load=self._on_load, on_tokens=self._on_tokens)

    def shared(self, role: str, build: Callable[[], T]) -> T:
        """What `build` makes, built once per role and process (timed like a model)."""
        with self._lock:
            if role not in self._built:
                started = time.perf_counter()
                self._built[role] = build()
                self._on_load(role, time.perf_counter() - started)
            model: T = self._built[role]
            return model

    def preload(self) -> list[str]:
        """Load now what meeting jobs use in a worker's own process (it does this once,
        before its first job): the speech and speaker models are loaded by each job's child
        process instead (`minutekeeper.jobs.media`). Returns the roles loaded."""
        self.embedder()
        if self._settings.summary_engine != "extractive":
            self.generator()
        return list(self._built)

    def transcriber(self) -> Transcriber:
        return self.shared("asr", lambda: registry.build_transcriber(self._settings))

    def diarizer(self) -> Diarizer:
        return self.shared("diarizer", lambda: registry.build_diarizer(self._settings))

    def embedder(self) -> Embedder:
        return self.shared("embedder", lambda: registry.build_embedder(self._settings))

    def generator(self) -> TextGenerator:
        return self.shared(
            "llm",
            lambda: CountingGenerator(registry.build_generator(self._settings), self._on_tokens),
        )
