"""Transcription's domain errors (no HTTP knowledge; the API maps them)."""

from __future__ import annotations

from minutekeeper.core.errors import AppError, InvalidInput, NotFound


class TranscriptionError(AppError):
    code = "transcription_error"


class InputNotFound(NotFound):
    code = "input_not_found"


class UnreadableFile(InvalidInput):
    """A path that cannot be read as a file: a folder, no permission, a broken link."""

    code = "unreadable_file"


class EmptyFile(InvalidInput):
    """A file of 0 bytes."""

    code = "empty_file"


class UnreadableAudio(InvalidInput):
    """Not audio, corrupt or truncated: PyAV could not decode it."""

    code = "unreadable_audio"


class AudioTooLong(InvalidInput):
    """More audio than the server decodes for one job (summed over tracks and channels)."""

    code = "audio_too_long"


class InvalidSubtitles(InvalidInput):
    """A WebVTT or SRT file with broken cues; the message names the line."""

    code = "invalid_subtitles"


class InvalidTranscript(InvalidInput):
    """A transcript JSON that does not match the schema; the message names the field."""

    code = "invalid_transcript"


class InvalidLanguageCode(InvalidInput):
    """A language option that is no language code at all (the model knows which it has)."""

    code = "invalid_language"


class InvalidSpeakerMapping(InvalidInput):
    code = "invalid_speaker_mapping"
