"""One function turns an LLM's name into a local folder, for every backend and command:
an embedded model (prepared into the cache once), a model fine-tuned here, a path, or a
Hugging Face hub id (downloaded once into the cache when a network is there). Imports run
one way: the backends import this module, and nothing here imports a backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from minutekeeper.models.embedded_llm import (
    DEFAULT,
    EMBEDDED,
    choose,
    prepare_checkpoint,
    prepare_serving,
)
from minutekeeper.models.errors import UnknownModel
from minutekeeper.models.paths import hub_model_folder, is_hub_id, local_model_folder
from minutekeeper.models.trained import find_trained

# What the caller will do with the folder: run it on CTranslate2 (an embedded model is
# prepared as its int8 conversion), or load or train it with transformers (float32).
Form = Literal["ctranslate2", "checkpoint"]


@dataclass(frozen=True)
class LocatedModel:
    name: str  # the model that runs: the fallback's name when the default is missing
    folder: Path


def locate_llm(name: str, *, cache_dir: Path, form: Form = "checkpoint") -> LocatedModel:
    """A local model folder for `name`: an embedded model prepared into the cache, a
    fine-tuned model, a path, or a hub repository's copy in the cache."""
    embedded = choose(name)
    if embedded is not None:
        prepare = prepare_serving if form == "ctranslate2" else prepare_checkpoint
        return LocatedModel(embedded.name, prepare(embedded, cache_dir))
    trained = find_trained(cache_dir, name)
    if trained is not None:
        return LocatedModel(name, trained)
    if is_hub_id(name):
        return LocatedModel(name, hub_model_folder(name, role="LLM", cache_dir=cache_dir))
    folder = local_model_folder(name, role="LLM")
    if folder is not None:
        return LocatedModel(name, folder)
    embedded_names = ", ".join(
        f"{n} (embedded{', the default' if s is DEFAULT else ''})" for n, s in EMBEDDED.items()
    )
    raise UnknownModel(
        f"unknown LLM {name!r}; valid: {embedded_names}, a fine-tuned model's id "
        "(`minutekeeper models list`), a local model folder (Hugging Face causal LM or its "
        "CTranslate2 conversion), or a Hugging Face hub id such as Qwen/Qwen2.5-1.5B-Instruct "
        "(needs a network the first time)"
    )
