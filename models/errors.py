"""Model errors: an unknown name, a missing package, a model that cannot be loaded."""

from __future__ import annotations

from minutekeeper.core.errors import AppError


class ModelError(AppError):
    code = "model_error"


class UnknownModel(ModelError):
    code = "unknown_model"


class ModelUnavailable(ModelError):
    """A model package is not installed, a file is corrupt, or a hub name needs a network."""

    code = "model_unavailable"


class UnsupportedLanguage(ModelError):
    code = "unsupported_language"


class EndpointUnavailable(ModelUnavailable):
    """The LLM endpoint (an OpenAI-compatible server) is down, too slow, refuses the key or
    the model name, or answers something that is not a completion."""

    code = "llm_endpoint_unavailable"
