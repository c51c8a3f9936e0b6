"""Decoding recordings with PyAV (FFmpeg) into 16 kHz float32 arrays, one per channel or mixed.

Anything FFmpeg reads works: wav, flac, mp3, m4a, ogg, the audio of mp4/webm. A file that is
not audio, is corrupt, or is shorter than its container says (truncated) is refused with one
clear error rather than transcribed in part.
"""

from __future__ import annotations

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
            if not container.streams.audio:
                raise UnreadableAudio(f"{path}: has no audio stream")
            stream = container.streams.audio[0]
            channels = stream.codec_context.channels or 1
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
    resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
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
