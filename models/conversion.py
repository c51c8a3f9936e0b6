"""CTranslate2 conversion of a Hugging Face model folder, once per cache.

The conversion goes into a temporary folder, then is renamed into place, keyed by a hash
of the source folder, so a second start loads it directly. Tokenizer files and
license/notice files travel with it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from minutekeeper.models.errors import ModelUnavailable
from minutekeeper.models.paths import publish_folder

_MARKER = ".converted"
SOURCE_CONFIG = "source_config.json"
_TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "tokenizer.model",
    "chat_template.jinja",
    "chat_template.json",
    "generation_config.json",
)
_NOTICE_PREFIXES = ("license", "notice", "gemma_terms", "readme", "use_policy")


def is_ctranslate2_folder(folder: Path) -> bool:
    return (folder / "model.bin").is_file() and any(folder.glob("vocabulary.*"))


def source_key(source: Path) -> str:
    """A short hash of the source folder's path and its files' names, sizes and times."""
    digest = hashlib.sha256(str(source.resolve()).encode())
    for item in sorted(p for p in source.iterdir() if p.is_file()):
        stat = item.stat()
        digest.update(f"{item.name}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def converted_path(source: Path, *, cache_dir: Path, quantization: str = "int8") -> Path:
    return cache_dir / "ct2" / f"{source.name}-{source_key(source)}-{quantization}"


def convert(source: Path, *, cache_dir: Path, quantization: str = "int8") -> Path:
    """The CTranslate2 conversion of a Hugging Face folder, converting it first if needed."""
    target = converted_path(source, cache_dir=cache_dir, quantization=quantization)
    if (target / _MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        out = staging / "model"
        convert_into(source, out, quantization=quantization)
        publish_folder(out, target, marker=_MARKER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def convert_into(source: Path, out: Path, *, quantization: str = "int8") -> None:
    """Convert a Hugging Face folder into the new folder `out`, with the tokenizer and
    notice files, and the source's config.json as `source_config.json` (the context
    length is read from it: CTranslate2's own config.json does not say)."""
    from ctranslate2.converters import TransformersConverter

    try:
        converter = TransformersConverter(str(source), low_cpu_mem_usage=True)
        with quiet_transformers():
            converter.convert(str(out), quantization=quantization, force=True)
        for item in source.iterdir():
            if item.is_file() and _travels(item.name):
                shutil.copyfile(item, out / item.name)
        shutil.copyfile(source / "config.json", out / SOURCE_CONFIG)
    except (OSError, ValueError, NotImplementedError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(f"cannot convert {source} to CTranslate2: {reason}") from error


@contextmanager
def quiet_transformers() -> Iterator[None]:
    """No progress bars or deprecation chatter from transformers on the user's terminal
    while a model is converted (it happens once, on first use)."""
    from transformers.utils import logging as hf_logging

    logging: Any = hf_logging  # its setters are untyped
    level = logging.get_verbosity()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        logging.set_verbosity(level)
        logging.enable_progress_bar()


def _travels(name: str) -> bool:
    return name in _TOKENIZER_FILES or name.lower().startswith(_NOTICE_PREFIXES)
