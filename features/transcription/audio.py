"""Decoding recordings with PyAV (FFmpeg) into 16 kHz float32 arrays, one per channel or mixed.

Anything FFmpeg reads works: wav, flac, mp3, m4a, ogg, the audio of mp4/webm. A file that is
not audio, is corrupt, or is shorter than its container says (truncated) is refused with one
clear error rather than transcribed in part.
"""

from __future__ import annotations

import io
import wave
from pathlib import Path

import av
import numpy as np

from minutekeeper.features.transcription.errors import InputNotFound, UnreadableAudio
from minutekeeper.models.asr import SAMPLE_RATE

# Decoding less than this share of the declared duration means the file was cut short.
_TRUNCATED_BELOW = 0.9


def decode(path: Path, *, split_channels: bool = False) -> list[np.ndarray]:
    """The recording as 16 kHz float32 arrays: one mixed-down array, or one per channel."""
    if not path.is_file():
        raise InputNotFound(f"{path}: no such file")
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            stream, channels = _audio_stream(container, path)
            declared = _declared_seconds(container, stream)
            planes = _decode_stream(container, stream, split=split_channels, channels=channels)
    except av.error.FFmpegError as error:
        raise UnreadableAudio(
            f"{path}: not readable audio: not audio, corrupt or truncated ({error})"
        ) from error
    decoded = len(planes[0]) / SAMPLE_RATE
    if declared and decoded < declared * _TRUNCATED_BELOW:
        raise UnreadableAudio(
            f"{path}: truncated or corrupt (decoded {decoded:.1f} s of {declared:.1f} s)"
        )
    return planes


def check_audio(path: Path, *, name: str) -> None:
    """Refuse at once a file that is not a recording with sound (no decoding); `name` is
    what the user called it."""
    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if container.streams.audio:
                return
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
) -> list[np.ndarray]:
    """Each channel resampled on its own; mixed as their mean, like Whisper's (L+R)/2.

    FFmpeg's own downmix is (L+R)/sqrt(2), 3 dB louder and able to clip.
    """
    layout = stream.codec_context.layout.name if channels > 1 else "mono"
    resampler = _resampler(stream, channels)
    chunks: list[np.ndarray] = []
    for frame in container.decode(stream):
        chunks.extend(f.to_ndarray() for f in resampler.resample(frame))
    chunks.extend(f.to_ndarray() for f in resampler.resample(None))
    width = channels if layout != "mono" else 1
    if not chunks:
        planes = np.zeros((width, 0), dtype=np.float32)
    else:
        planes = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if not split:
        return [np.ascontiguousarray(planes.mean(axis=0, dtype=np.float32))]
    return [np.ascontiguousarray(plane) for plane in planes]


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
                if frame.time is None:  # no timestamps to cut by: read it all, then cut
                    (whole,) = decode(path)
                    return whole[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)]
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


def to_wav(samples: np.ndarray) -> bytes:
    """16 kHz mono samples as a 16-bit WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SAMPLE_RATE)
        w.writeframes((np.clip(samples, -1.0, 1.0) * 32767).astype("<i2").tobytes())
    return out.getvalue()
