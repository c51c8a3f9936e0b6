"""The models a server's jobs share, each built on first use and then kept for the life
of the process; load times and token counts go to telemetry (numbers only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from app.core.settings import Settings
from consent.redaction import Redactor
from models import registry
from models.asr import Transcriber
from models.diarization import Diarizer
from models.embeddings import Embedder
from models.llm import ChatMessage, Generation, OnToken, TextGenerator

T = TypeVar("T")
OnLoad = Callable[[str, float], None]  # role, seconds
OnTokens = Callable[[int, int], None]  # prompt tokens, completion tokens


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
    ) -> Generation:
        result = self._inner.generate(
            messages,
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            stop=stop,
            on_token=on_token,
        )
        self._on_tokens(result.prompt_tokens, result.completion_tokens)
        return result


class ModelCache:
    """Implements `features.meetings.pipeline.MeetingModels` (and a redactor)."""

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

    def _get(self, role: str, build: Callable[[], T]) -> T:
        with self._lock:
            if role not in self._built:
                started = time.perf_counter()
                self._built[role] = build()
                self._on_load(role, time.perf_counter() - started)
            model: T = self._built[role]
            return model

    def preload(self) -> list[str]:
        """Load now what meeting jobs use (a worker does this once, before its first job);
        returns the roles loaded."""
        self.transcriber()
        self.diarizer()
        self.embedder()
        self.redactor()
        if self._settings.summary_engine != "extractive":
            self.generator()
        return list(self._built)

    def transcriber(self) -> Transcriber:
        return self._get("asr", lambda: registry.build_transcriber(self._settings))

    def diarizer(self) -> Diarizer:
        return self._get("diarizer", lambda: registry.build_diarizer(self._settings))

    def embedder(self) -> Embedder:
        return self._get("embedder", lambda: registry.build_embedder(self._settings))

    def generator(self) -> TextGenerator:
        return self._get(
            "llm",
            lambda: CountingGenerator(registry.build_generator(self._settings), self._on_tokens),
        )

    def redactor(self) -> Redactor:
        return self._get("redactor", lambda: Redactor(self._settings.resolved_model_cache_dir()))
