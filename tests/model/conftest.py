"""Real backends, built once per test session: the embedded Whisper base, Resemblyzer,
the embedded sentence-embedding model."""

from __future__ import annotations

from pathlib import Path

import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.models import registry
from minutekeeper.models.asr import Transcriber
from minutekeeper.models.diarization import Diarizer
from minutekeeper.models.embeddings import Embedder

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audio"


@pytest.fixture(scope="session")
def model_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("models-data"), asr_threads=2)


@pytest.fixture(scope="session")
def transcriber(model_settings: Settings) -> Transcriber:
    return registry.build_transcriber(model_settings)


@pytest.fixture(scope="session")
def diarizer(model_settings: Settings) -> Diarizer:
    return registry.build_diarizer(model_settings)


@pytest.fixture(scope="session")
def embedder(model_settings: Settings) -> Embedder:
    return registry.build_embedder(model_settings)
