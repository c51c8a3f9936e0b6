"""`minutekeeper transcribe` and `minutekeeper models` through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import cli_env
from tests.model.conftest import FIXTURES

MINUTEKEEPER = str(Path(sys.executable).parent / "minutekeeper")


def mk(data_dir: Path, *args: str, shared_models: bool = True) -> subprocess.CompletedProcess[str]:
    env = cli_env(shared_models=shared_models)
    return subprocess.run(
        [MINUTEKEEPER, "--data-dir", str(data_dir), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cli-data")


def test_models_prepare_then_list_shows_the_embedded_model_ready(data_dir: Path) -> None:
    # In the data folder's own model cache: the shared one may be prepared already.
    listed = mk(data_dir, "models", "list", shared_models=False)
    assert "installed, not prepared" in listed.stdout
    prepared = mk(data_dir, "models", "prepare", "--no-llm", shared_models=False)
    assert prepared.returncode == 0 and "sha256 verified" in prepared.stdout
    listed = mk(data_dir, "models", "list", shared_models=False)
    assert "prepared" in listed.stdout.splitlines()[0]


def test_transcribe_writes_json_to_a_file(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.json"
    result = mk(data_dir, "transcribe", str(FIXTURES / "one_speaker.flac"), "-o", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert data["language"] == "en" and data["segments"][0]["id"] == "s0001"
    assert "monday" in data["segments"][0]["text"].lower()


def test_transcribe_tracks_as_srt(data_dir: Path) -> None:
    result = mk(
        data_dir, "transcribe", "--format", "srt", "--no-diarize",
        "--track", f"Ann={FIXTURES / 'one_speaker.flac'}",
        "--track", f"Ben={FIXTURES / 'one_speaker.ogg'}",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Ann: " in result.stdout and "Ben: " in result.stdout


def test_a_vtt_file_is_read_without_asr(data_dir: Path, tmp_path: Path) -> None:
    vtt = tmp_path / "m.vtt"
    vtt.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v Alice>Hello there\n")
    result = mk(data_dir, "transcribe", str(vtt), "--format", "text")
    assert result.stdout == "[00:00:01] Alice: Hello there\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([str(FIXTURES / "not_audio.wav")], "not readable audio"),
        ([str(FIXTURES / "truncated.flac")], "truncated"),
        ([str(FIXTURES / "nope.wav")], "no such file"),
        ([str(FIXTURES / "one_speaker.flac"), "--model", "huge-v9"], "valid: base (embedded)"),
        (["--track", "A=x.wav", "--track", "A=y.wav"], "'A' is given twice"),
        (["--track", "A"], "NAME=VALUE"),
        ([str(FIXTURES / "one_speaker.flac"), "--format", "docx"], "unknown format"),
        ([str(FIXTURES / "one_speaker.flac"), "--language", "klingon"], "unknown language"),
        ([], "give one recording"),
    ],
)
def test_bad_input_is_one_line_exit_1_and_no_output_file(
    data_dir: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    out = tmp_path / "out.json"
    result = mk(data_dir, "transcribe", *args, "-o", str(out))
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert list(tmp_path.iterdir()) == []
