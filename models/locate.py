"""One function turns an LLM's name into a local folder, for every backend and command:
the embedded default (prepared into the cache once), a model fine-tuned here, a path, or
a Hugging Face hub id (downloaded once into the cache when a network is there). Imports
run one way: the backends import this module, and nothing here imports a backend."""

from __future__ import annotations

from pathlib import Path

from minutekeeper.models.errors import UnknownModel
from minutekeeper.models.gemma_embedded import EMBEDDED_LLM, prepare_gemma
from minutekeeper.models.paths import hub_model_folder, is_hub_id, local_model_folder
from minutekeeper.models.trained import find_trained


def resolve_model_path(name: str, *, cache_dir: Path) -> Path:
    """A local model folder: the embedded default prepared into the cache, a fine-tuned
    model, a path, or a hub repository's copy in the cache."""
    if name == EMBEDDED_LLM:
        return prepare_gemma(cache_dir)
    trained = find_trained(cache_dir, name)
    if trained is not None:
        return trained
    if is_hub_id(name):
        return hub_model_folder(name, role="LLM", cache_dir=cache_dir)
    folder = local_model_folder(name, role="LLM")
    if folder is not None:
        return folder
    raise UnknownModel(
        f"unknown LLM {name!r}; valid: {EMBEDDED_LLM} (embedded), a fine-tuned model's id "
        "(`minutekeeper models list`), a local model folder (Hugging Face causal LM or its "
        "CTranslate2 conversion), or a Hugging Face hub id such as google/gemma-3-270m "
        "(needs a network the first time)"
    )
