"""Model folders named by path: one set of checks and messages for every model role."""

from __future__ import annotations

import os
from pathlib import Path

from models.errors import ModelUnavailable


def local_model_folder(name: str, *, role: str) -> Path | None:
    """The folder `name` points at, None when `name` is not a path at all (a model name),
    and `ModelUnavailable` when it is a path but not a model folder."""
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelUnavailable(f"{path} holds no config.json, so it is not a model folder")
        return path
    if os.sep in name or name.startswith((".", "~")) or path.exists():
        raise ModelUnavailable(f"{role} model folder {name!r} does not exist")
    return None
