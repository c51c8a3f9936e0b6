"""Assembling the embedded Whisper base from its packages into the model cache."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from minutekeeper.models.embedded import WHISPER_BASE, is_prepared, prepare
from minutekeeper.models.errors import ModelUnavailable


def test_prepare_joins_verifies_and_is_then_a_no_op(tmp_path: Path) -> None:
    seen: list[int] = []
    folder = prepare(WHISPER_BASE, tmp_path, progress=lambda done, total: seen.append(done))
    assert is_prepared(WHISPER_BASE, tmp_path)
    assert sorted(p.name for p in folder.iterdir()) == [
        "config.json", "model.bin", "model.bin.sha256", "tokenizer.json", "vocabulary.json",
    ]  # fmt: skip
    assert seen == sorted(seen) and seen[-1] == (folder / "model.bin").stat().st_size
    stamp = (folder / "model.bin").stat().st_mtime_ns
    assert prepare(WHISPER_BASE, tmp_path) == folder
    assert (folder / "model.bin").stat().st_mtime_ns == stamp


def test_a_corrupt_join_is_refused_and_leaves_nothing_in_the_cache(tmp_path: Path) -> None:
    wrong = replace(WHISPER_BASE, sha256="0" * 64)
    with pytest.raises(ModelUnavailable, match="corrupt"):
        prepare(wrong, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_package_says_what_to_install(tmp_path: Path) -> None:
    missing = replace(WHISPER_BASE, parts=(("no_such_model_pkg", "model.bin.part1"),))
    assert not missing.installed()
    with pytest.raises(ModelUnavailable, match="pip install no-such-model-pkg"):
        prepare(missing, tmp_path)
