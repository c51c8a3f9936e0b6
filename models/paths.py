"""Model folders named by path or by Hugging Face hub id: one set of checks and messages for
every model role; and publishing a finished folder into the cache, whole or not at all."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from minutekeeper.models.errors import ModelUnavailable

# "org/name" as the hub spells repository ids; a path that exists always wins over it.
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*")
# What a transformers causal LM needs from a hub repository: config, tokenizer, safetensors
# weights and the license; not the GGUF, ONNX or pickled copies many repositories also hold.
_HUB_FILES = ("*.json", "*.safetensors", "*.model", "*.txt", "*.jinja", "*.tiktoken",
              "LICENSE*", "NOTICE*", "*.md")  # fmt: skip


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


def is_hub_id(name: str) -> bool:
    return bool(_HUB_ID.fullmatch(name)) and not Path(name).expanduser().exists()


def hub_model_folder(repo_id: str, *, role: str, cache_dir: Path) -> Path:
    """The hub repository's files, downloaded once into `<cache_dir>/hub` (this needs a
    network the first time; later runs, and HF_HUB_OFFLINE=1, use the copy there)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError

    try:
        folder = Path(
            snapshot_download(
                repo_id, cache_dir=str(cache_dir / "hub"), allow_patterns=list(_HUB_FILES)
            )
        )
    except (HfHubHTTPError, OSError, ValueError) as error:
        reason = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
        raise ModelUnavailable(
            f"{role} model {repo_id!r} is neither a folder here nor in the model cache, and the "
            f"Hugging Face hub could not provide it ({reason}); hub models need a network the "
            "first time"
        ) from error
    if not (folder / "config.json").is_file():
        raise ModelUnavailable(f"hub repository {repo_id!r} holds no config.json, so it is not "
                               "a transformers model")  # fmt: skip
    return folder


def publish_folder(staging: Path, target: Path, *, marker: str, content: str = "complete") -> None:
    """Move a finished folder into place, its marker file holding `content`; if another
    process won the race, keep theirs."""
    (staging / marker).write_text(content + "\n")
    try:
        os.replace(staging, target)
    except OSError:
        if not target.exists():
            raise
        if not (target / marker).is_file():  # a stale, partial target is replaced
            shutil.rmtree(target)
            os.replace(staging, target)
