"""Meeting lookups that fail: no such meeting, or a prefix that names several."""

from __future__ import annotations

from minutekeeper.core.errors import AppError, InvalidInput, NotFound


class MeetingNotFound(NotFound):
    code = "meeting_not_found"


class AmbiguousMeeting(InvalidInput):
    code = "ambiguous_meeting"


class TooManySpeakers(InvalidInput):
    """More speakers than a meeting may have: each named one becomes a person of the
    tenant (a guest), so an upload must not make thousands."""

    code = "too_many_speakers"


class NoSpeech(InvalidInput):
    """A recording (or transcript) in which nobody says anything: no meeting to keep."""

    code = "no_speech"


class InvalidSpeakerName(InvalidInput):
    code = "invalid_speaker_name"


class NoAudio(NotFound):
    code = "no_audio"


class NotMeetingOwner(AppError):
    """A meeting shared with a person who confirmed speaking in it: they read it, but only
    its owner renames its speakers or deletes it."""

    code = "forbidden"
