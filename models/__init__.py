"""The ML models minutekeeper runs, behind small protocols (`Transcriber`, `Diarizer`,
`Embedder`, `TextGenerator`). A registry builds a backend by name from the settings; a
`ModelCache` hands each out once per process; `resolve_model_path` is the one place an
LLM's name (embedded, fine-tuned, folder, hub id) becomes a folder. torch, transformers,
faster-whisper and CTranslate2 are imported only inside this package, and lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.core.lazy import public_api

if TYPE_CHECKING:
    from models.asr import Transcriber as Transcriber
    from models.cache import ModelCache as ModelCache
    from models.cache import ModelProvider as ModelProvider
    from models.diarization import Diarizer as Diarizer
    from models.embeddings import Embedder as Embedder
    from models.errors import ModelError as ModelError
    from models.errors import ModelUnavailable as ModelUnavailable
    from models.errors import UnknownModel as UnknownModel
    from models.gemma_embedded import EMBEDDED_LLM as EMBEDDED_LLM
    from models.llm import ChatMessage as ChatMessage
    from models.llm import Generation as Generation
    from models.llm import TextGenerator as TextGenerator
    from models.locate import resolve_model_path as resolve_model_path
    from models.registry import build_diarizer as build_diarizer
    from models.registry import build_embedder as build_embedder
    from models.registry import build_generator as build_generator
    from models.registry import build_transcriber as build_transcriber

__all__, __getattr__ = public_api(__name__, __file__)
