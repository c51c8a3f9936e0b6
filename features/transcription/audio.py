"""Decoding recordings with PyAV (FFmpeg) into 16 kHz float32 arrays, one per channel or mixed.

Anything FFmpeg reads works: wav, flac, mp3, m4a, ogg, the audio of mp4/webm. A file that is
not audio, is corrupt, or is shorter than its container says (truncated) is refused with one
clear error rather than transcribed in part.
"""

from __future__ import annotations

import io
import re
import wave
from datetime import date
from pathlib import Path

import av
import numpy as np

from minutekeeper.features.transcription.errors import AudioTooLong, InputNotFound, UnreadableAudio
from minutekeeper.models.asr import SAMPLE_RATE

# Decoding less than this share of the declared duration means the file was cut short.
_TRUNCATED_BELOW = 0.9
# Container tags that say when a recording was made (MP4/MOV `creation_time`, the DATE of
# FLAC/Ogg comments, ID3 and WAV INFO as FFmpeg names them), and their day at the start.
_MADE_TAGS = ("creation_time", "date", "icrd")
_DAY_AT_START = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
# Earlier days are a device's unset clock (MP4's epoch is 1904, many recorders' 1970).
_FIRST_PLAUSIBLE_DAY = date(1990, 1, 1)


class AudioBudget:
    """The seconds of audio one job may decode, summed over its tracks and channels (a
    stereo hour spends two), spent as decoded frames arrive: a container's declared
    duration can lie, the samples decoded cannot. Passing the limit stops the decoding at
    once with `AudioTooLong`, so memory stays bounded whatever the file claims."""

    def __init__(self, limit_s: float | None = None) -> None:
        self.limit_s = limit_s
        self.spent_s = 0.0

    def spend(self, seconds: float) -> None:
        self.spent_s += seconds
        if self.limit_s is not None and self.spent_s > self.limit_s:
            raise too_long(self.limit_s, f"decoding passed {self.spent_s:.1f} s")


def too_long(limit_s: float, found: str) -> AudioTooLong:
    """The one refusal of an over-long upload, saying what was found."""
    return AudioTooLong(
        f"the recording is longer than the {limit_s:g} s this server accepts (summed over "
        f"tracks and channels): {found}"
    )


def decode(
    path: Path, *, split_channels: bool = False, budget: AudioBudget | None = None
) -> list[np.ndarray]:
    """The recording as 16 kHz float32 arrays: one mixed-down array, or one per channel;
    `budget` (unlimited by default) is spent as frames are decoded."""
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream, channels = _audio_stream(container, path)
            declared = _declared_seconds(container, stream)
            planes = _decode_stream(
                container, stream, split=split_channels, channels=channels, budget=budget
            )
    except av.error.FFmpegError as error:  # its strerror: FFmpeg's words, without the errno
        raise UnreadableAudio(
            f"{path}: not readable audio: not audio, corrupt or truncated "
            f"({(error.strerror or 'unknown error').lower()})"
        ) from error
    decoded = len(planes[0]) / SAMPLE_RATE
    if declared and decoded < declared * _TRUNCATED_BELOW:
        raise UnreadableAudio(
            f"{path}: truncated or corrupt (decoded {decoded:.1f} s of {declared:.1f} s)"
        )
    return planes


def check_audio(path: Path, *, name: str) -> float:
    """Refuse at once a file that is not a recording with sound (no decoding); `name` is
    what the user called it. Returns the seconds its header declares summed over its
    channels (0.0 when it does not say): a claim, good for refusing early, never trusted."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.streams.audio:
                stream, channels = _audio_stream(container, path)
                return _declared_seconds(container, stream) * channels
    except (OSError, av.error.FFmpegError) as error:
        raise UnreadableAudio(f"{name}: not a recording this server can read") from error
    raise UnreadableAudio(f"{name}: the file holds no audio")


def _audio_stream(container: av.container.InputContainer, path: Path) -> tuple[av.AudioStream, int]:
    """The first audio stream and its channel count; a file without one is refused."""
    if not container.streams.audio:
        raise UnreadableAudio(f"{path}: has no audio stream")
    stream = container.streams.audio[0]
    return stream, stream.codec_context.channels or 1


def _resampler(stream: av.AudioStream, channels: int) -> av.AudioResampler:
    """To 16 kHz float planes, keeping the channels (mixed by the caller, as their mean)."""
    layout = stream.codec_context.layout.name if channels > 1 else "mono"
    return av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)


def probe_seconds(path: Path) -> float:
    """The duration the container declares, without decoding (0.0 if unknown or unreadable)."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                return 0.0
            return _declared_seconds(container, container.streams.audio[0])
    except (OSError, av.error.FFmpegError):
        return 0.0


def recorded_on(path: Path, *, latest: date) -> date | None:
    """The day the recording says it was made: its container's or audio stream's
    `creation_time` or DATE tag (read from the header, no decoding), or None when it
    carries none, or one before 1990 or after `latest` (a clock never set, or wrong). An
    MP4's time is UTC, so its day is UTC's."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            tags = [container.metadata, *(s.metadata for s in container.streams.audio)]
    except (OSError, av.error.FFmpegError):
        return None
    for found in tags:
        said = {key.lower(): value for key, value in found.items()}
        for key in _MADE_TAGS:
            match = _DAY_AT_START.match(said.get(key, "").strip())
            if match is None:
                continue
            try:
                day = date(*(int(part) for part in match.groups()))
            except ValueError:
                continue
            if _FIRST_PLAUSIBLE_DAY <= day <= latest:
                return day
    return None


def _declared_seconds(container: av.container.InputContainer, stream: av.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _decode_stream(
    container: av.container.InputContainer,
    stream: av.AudioStream,
    *,
    split: bool,
    channels: int,
    budget: AudioBudget | None = None,
    until_s: float | None = None,
) -> list[np.ndarray]:
    """Each channel resampled on its own; mixed as their mean, like Whisper's (L+R)/2,
    chunk by chunk, so a mixed recording never holds all its channels at once. Stops after
    `until_s` seconds of input, or raises once `budget` is spent.

    FFmpeg's own downmix is (L+R)/sqrt(2), 3 dB louder and able to clip.
    """
    layout = stream.codec_context.layout.name if channels > 1 else "mono"
    resampler = _resampler(stream, channels)
    chunks: list[np.ndarray] = []

    def keep(frames: list[av.AudioFrame]) -> None:
        for frame in frames:
            plane = frame.to_ndarray()
            chunks.append(plane if split else plane.mean(axis=0, dtype=np.float32, keepdims=True))

    seen = 0.0
    for frame in container.decode(stream):
        seconds = frame.samples / (frame.sample_rate or SAMPLE_RATE)
        if budget is not None:
            budget.spend(seconds * channels)
        keep(resampler.resample(frame))
        seen += seconds
        if until_s is not None and seen >= until_s:
            break
    keep(resampler.resample(None))
    width = channels if split and layout != "mono" else 1
    if not chunks:
        return [np.zeros(0, dtype=np.float32) for _ in range(width)]
    planes = np.concatenate(chunks, axis=1)
    return [np.ascontiguousarray(plane, dtype=np.float32) for plane in planes]


def decode_span(path: Path, start: float, end: float) -> np.ndarray:
    """Seconds [start, end] of the recording, mixed to 16 kHz mono, decoding only from the
    nearest seek point before `start` up to `end` (not the whole file)."""
    if end <= start:
        return np.zeros(0, dtype=np.float32)
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream, channels = _audio_stream(container, path)
            resampler = _resampler(stream, channels)
            container.seek(max(0, int(start * av.time_base)), any_frame=False)
            first: float | None = None
            chunks: list[np.ndarray] = []
            for frame in container.decode(stream):
                if frame.time is None:  # no timestamps to cut by: read up to `end`, then cut
                    return _head(path, end)[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
                if first is None:
                    first = frame.time
                if frame.time > end:
                    break
                chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
            chunks.extend(f.to_ndarray() for f in resampler.resample(None))
    except av.error.FFmpegError as error:
        raise UnreadableAudio(f"{path}: not readable audio ({error})") from error
    if not chunks or first is None:
        return np.zeros(0, dtype=np.float32)
    mono = np.concatenate(chunks, axis=1).mean(axis=0, dtype=np.float32)
    offset = max(0, round((start - first) * SAMPLE_RATE))
    return np.ascontiguousarray(mono[offset : offset + round((end - start) * SAMPLE_RATE)])


def _head(path: Path, seconds: float) -> np.ndarray:
    """The first `seconds` of the recording, mixed to 16 kHz mono (never the whole file)."""
    with av.open(str(path), metadata_errors="ignore") as container:
        stream, channels = _audio_stream(container, path)
        (mono,) = _decode_stream(container, stream, split=False, channels=channels, until_s=seconds)
    return mono


def to_wav(samples: np.ndarray) -> bytes:
    """16 kHz mono samples as a 16-bit WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return out.getvalue()
