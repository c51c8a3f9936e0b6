"""Fine-tuned models, registered by id in the model cache so `--llm ID` selects them.

`<model cache>/trained/<id>/` holds the Hugging Face checkpoint `models.finetune` saved and
`minutekeeper-model.json`: the base model, the export it was trained on, the held-out
record ids and the losses. A model is published with an atomic rename, so a half-saved one
is never found; its CTranslate2 conversion goes where every conversion goes
(`<model cache>/ct2/`). Which export trained which model is also recorded in the database
(`consent.exports.lineage`); this folder is what the backends load.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from minutekeeper.models.conversion import source_key
from minutekeeper.models.errors import ModelError
from minutekeeper.models.paths import publish_folder

TRAINED = "trained"
METADATA = "minutekeeper-model.json"
_MARKER = ".registered"
_ID = re.compile(r"[a-z0-9][a-z0-9._-]{0,79}")


def check_model_id(model_id: str) -> str:
    if not _ID.fullmatch(model_id):
        raise ModelError(
            f"model id {model_id!r} must be 1-80 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return model_id


def trained_path(cache_dir: Path, model_id: str) -> Path:
    return cache_dir / TRAINED / model_id


def find_trained(cache_dir: Path, model_id: str) -> Path | None:
    """The registered model's folder, or None when no model has that id."""
    if not _ID.fullmatch(model_id):
        return None
    folder = trained_path(cache_dir, model_id)
    return folder if (folder / _MARKER).is_file() else None


def publish_trained(
    staging: Path, cache_dir: Path, model_id: str, metadata: dict[str, Any]
) -> Path:
    """Register the model saved in `staging` under `model_id`; refuses an id in use."""
    target = trained_path(cache_dir, check_model_id(model_id))
    if find_trained(cache_dir, model_id) is not None:
        raise ModelError(f"a model {model_id!r} is already registered; choose another --name")
    (staging / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True) + "\n")
    target.parent.mkdir(parents=True, exist_ok=True)
    publish_folder(staging, target, marker=_MARKER)
    return target


def registered(cache_dir: Path, model_id: str) -> Path:
    """The registered model's folder; a `ModelError` naming the command that lists them
    when no model has that id."""
    folder = find_trained(cache_dir, model_id)
    if folder is None:
        raise ModelError(f"no fine-tuned model {model_id!r}; `minutekeeper models list` shows them")
    return folder


def remove_trained(cache_dir: Path, model_id: str) -> list[Path]:
    """Unregister a model and delete its folder and CTranslate2 conversions (the marker
    first, so no reader finds it half-removed); returns what was deleted."""
    folder = registered(cache_dir, model_id)
    conversions = sorted((cache_dir / "ct2").glob(f"{model_id}-{source_key(folder)}-*"))
    (folder / _MARKER).unlink()
    for path in [folder, *conversions]:
        shutil.rmtree(path)
    return [folder, *conversions]


def trained_metadata(cache_dir: Path, model_id: str) -> dict[str, Any]:
    data = json.loads((registered(cache_dir, model_id) / METADATA).read_text())
    return data if isinstance(data, dict) else {}


def list_trained(cache_dir: Path) -> list[dict[str, Any]]:
    """Every registered model's metadata, oldest first."""
    root = cache_dir / TRAINED
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        if (folder / _MARKER).is_file():
            found.append(trained_metadata(cache_dir, folder.name))
    return sorted(found, key=lambda m: str(m.get("trained_at", "")))
