"""Decoding with PyAV: containers, channels, the mixdown, and files that are not audio."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from minutekeeper.features.transcription import audio
from minutekeeper.features.transcription.errors import (
    AudioTooLong,
    EmptyFile,
    InputNotFound,
    UnreadableAudio,
    UnreadableFile,
)
from minutekeeper.features.transcription.source import check_readable
from minutekeeper.models.asr import SAMPLE_RATE

FIXTURES = Path(__file__).parents[1] / "fixtures" / "audio"


def test_stereo_mixdown_is_the_mean_of_the_channels_and_never_clips() -> None:
    (mixed,) = audio.decode(FIXTURES / "stereo_two_channels.wav")
    left, right = audio.decode(FIXTURES / "stereo_two_channels.wav", split_channels=True)
    assert np.allclose(mixed, (left + right) / 2, atol=1e-6)
    assert np.abs(mixed).max() <= 1.0


@pytest.mark.parametrize("name", ["one_speaker.flac", "one_speaker.mp3", "one_speaker.ogg"])
def test_containers_decode_to_16k_mono_float32(name: str) -> None:
    (samples,) = audio.decode(FIXTURES / name)
    assert samples.dtype == np.float32
    assert len(samples) / SAMPLE_RATE == pytest.approx(
        audio.probe_seconds(FIXTURES / name), abs=0.1
    )


def test_empty_wav_decodes_to_nothing() -> None:
    assert [len(x) for x in audio.decode(FIXTURES / "empty.wav")] == [0]


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("not_audio.wav", UnreadableAudio, "not readable audio"),
        ("truncated.flac", UnreadableAudio, "truncated"),
        ("missing.wav", InputNotFound, "no such file"),
    ],
)
def test_unreadable_files_are_refused(name: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        audio.decode(FIXTURES / name)


def test_ffmpeg_s_refusal_is_said_in_words_without_its_errno() -> None:
    with pytest.raises(UnreadableAudio) as refused:
        audio.decode(FIXTURES / "not_audio.wav")
    assert refused.value.message.endswith("(invalid data found when processing input)")
    assert "Errno" not in refused.value.message


def test_a_file_that_cannot_be_read_is_named_with_the_reason_in_words(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked.wav"
    locked.write_bytes((FIXTURES / "one_speaker.flac").read_bytes())
    locked.chmod(0)
    if os.geteuid() == 0:  # root reads it anyway: stand in for the system's refusal

        def refuse(self: Path, *args: object, **kwargs: object) -> None:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

        monkeypatch.setattr(Path, "open", refuse)
    with pytest.raises(UnreadableFile) as refused:
        check_readable(locked, name="locked.wav")
    assert refused.value.message == "locked.wav: cannot be read: permission denied"
    monkeypatch.undo()
    (tmp_path / "empty.wav").touch()
    with pytest.raises(EmptyFile, match=r"^empty\.wav: the file is empty \(0 bytes\)$"):
        check_readable(tmp_path / "empty.wav", name="empty.wav")
    with pytest.raises(UnreadableFile, match="is a folder, not a file"):
        check_readable(tmp_path)


def test_one_budget_is_spent_over_every_file_and_channel_as_it_decodes() -> None:
    budget = audio.AudioBudget(10.0)
    left, _ = audio.decode(FIXTURES / "stereo_two_channels.wav", split_channels=True,
                           budget=budget)  # fmt: skip
    assert budget.spent_s == pytest.approx(2 * len(left) / SAMPLE_RATE, abs=0.1)  # 4 s twice
    with pytest.raises(AudioTooLong, match=r"longer than the 10 s .* decoding passed 10\.\d s"):
        audio.decode(FIXTURES / "one_speaker.flac", budget=budget)  # 4.3 s more
    assert budget.spent_s < 10.5  # stopped at the first frame past the limit


def test_a_mixed_recording_spends_its_channels_too() -> None:
    with pytest.raises(AudioTooLong):
        audio.decode(FIXTURES / "stereo_two_channels.wav", budget=audio.AudioBudget(6.0))
    (mixed,) = audio.decode(FIXTURES / "stereo_two_channels.wav", budget=audio.AudioBudget(8.5))
    assert len(mixed) / SAMPLE_RATE == pytest.approx(4.0, abs=0.1)
