"""The ML models minutekeeper runs, behind small protocols (`Transcriber`, `Diarizer`,
`Embedder`, `TextGenerator`). A registry builds a backend by name from the settings; a
`ModelCache` hands each out once per process; `locate_llm` is the one place an
LLM's name (embedded, fine-tuned, folder, hub id) becomes a folder. torch, transformers,
faster-whisper and CTranslate2 are imported only inside this package, and lazily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minutekeeper.core.lazy import public_api

if TYPE_CHECKING:
    from minutekeeper.models.asr import Transcriber as Transcriber
    from minutekeeper.models.cache import ModelCache as ModelCache
    from minutekeeper.models.cache import ModelProvider as ModelProvider
    from minutekeeper.models.diarization import Diarizer as Diarizer
    from minutekeeper.models.embeddings import Embedder as Embedder
    from minutekeeper.models.errors import ModelError as ModelError
    from minutekeeper.models.errors import ModelUnavailable as ModelUnavailable
    from minutekeeper.models.errors import UnknownModel as UnknownModel
    from minutekeeper.models.llm import ChatMessage as ChatMessage
    from minutekeeper.models.llm import Generation as Generation
    from minutekeeper.models.llm import TextGenerator as TextGenerator
    from minutekeeper.models.locate import locate_llm as locate_llm
    from minutekeeper.models.registry import build_diarizer as build_diarizer
    from minutekeeper.models.registry import build_embedder as build_embedder
    from minutekeeper.models.registry import build_generator as build_generator
    from minutekeeper.models.registry import build_transcriber as build_transcriber

__all__, __getattr__ = public_api(__name__, __file__)
