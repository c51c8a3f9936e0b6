"""`CTranslate2Generator`: a causal LM on CTranslate2 (int8 on CPU), greedy by default.

A Hugging Face model folder is converted once into the model cache (into a temporary
folder, then renamed into place), keyed by a hash of the source folder, so a second start
loads the conversion directly. A folder that already holds a CTranslate2 model is used as
it is. Tokenizer files and license/notice files travel with the conversion.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from models.errors import ModelUnavailable
from models.llm import (
    ChatMessage,
    Generation,
    OnToken,
    TokenizedGenerator,
    check_fits,
    context_length_of,
    end_token_ids,
    load_tokenizer,
    publish_folder,
    resolve_model_path,
    stop_reached,
)

_MARKER = ".converted"
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
    from ctranslate2.converters import TransformersConverter

    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        converter = TransformersConverter(str(source), low_cpu_mem_usage=True)
        with quiet_transformers():
            converter.convert(str(staging), quantization=quantization, force=True)
        for item in source.iterdir():
            if item.is_file() and _travels(item.name):
                shutil.copyfile(item, staging / item.name)
        publish_folder(staging, target, marker=_MARKER)
    except (OSError, ValueError, NotImplementedError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(f"cannot convert {source} to CTranslate2: {reason}") from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


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


class CTranslate2Generator(TokenizedGenerator):
    """Loads (and if needed converts) the model once; `generate` can be called repeatedly."""

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        device: str = "cpu",
        compute_type: str = "int8",
        threads: int = 0,
    ) -> None:
        import ctranslate2

        self.name = model
        source = resolve_model_path(model, cache_dir=cache_dir)
        folder = source
        if not is_ctranslate2_folder(source):
            folder = convert(source, cache_dir=cache_dir, quantization=compute_type)
        self._tokenizer = load_tokenizer(folder)
        self._ends = end_token_ids(self._tokenizer, folder)
        self.context_length = context_length_of(source, self._tokenizer)
        try:
            self._generator = ctranslate2.Generator(
                str(folder), device=device, compute_type=compute_type, intra_threads=threads
            )
        except (OSError, RuntimeError, ValueError) as error:
            reason = str(error).splitlines()[0]
            raise ModelUnavailable(f"cannot load LLM {model!r} ({folder}): {reason}") from error

    def generate(
        self,
        messages: list[ChatMessage] | str,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        on_token: OnToken | None = None,
    ) -> Generation:
        prompt = self.prompt_ids(messages)
        check_fits(len(prompt), max_new_tokens, self.context_length)
        ids, stopped = self._decode(prompt, max_new_tokens, temperature, stop, on_token)
        return self._finish(prompt, ids, ended=stopped, stop=stop, max_new_tokens=max_new_tokens)

    def _decode(
        self,
        prompt: list[int],
        limit: int,
        temperature: float,
        stop: list[str] | None,
        on_token: OnToken | None,
    ) -> tuple[list[int], bool]:
        """Generated ids (end token excluded), stopping early once a stop string appears."""
        sampling: dict[str, Any] = {"sampling_topk": 1}
        if temperature > 0:
            sampling = {"sampling_topk": 0, "sampling_temperature": temperature}
        steps = self._generator.generate_tokens(
            self._tokenizer.convert_ids_to_tokens(prompt),
            max_length=limit,  # counts new tokens only
            **sampling,
        )
        ids: list[int] = []
        for step in steps:
            if step.token_id in self._ends:
                return ids, True
            ids.append(step.token_id)
            if on_token is not None:
                on_token(len(ids))
            if stop_reached(self._tokenizer, ids, stop):
                return ids, True
            if len(ids) >= limit:
                break
        return ids, False
