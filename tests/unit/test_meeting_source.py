"""A meeting source crosses from the upload route to the job as params: every field the
route or the CLI can set must come back as it was."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from minutekeeper.features.meetings.service import MeetingSource
from minutekeeper.features.summary.errors import UnknownEngine
from minutekeeper.features.summary.service import SummaryRequest
from minutekeeper.features.transcription.errors import InvalidSpeakerMapping
from minutekeeper.features.transcription.service import TranscribeRequest
from minutekeeper.features.transcription.source import MAX_TRACKS, Source, named_tracks, parse_pairs


def test_every_field_survives_the_job_params(tmp_path: Path) -> None:
    request = TranscribeRequest(language="en", hotwords="Initech", num_speakers=3,
                                diarize=False, speaker_names={"S1": "Ann"})  # fmt: skip
    for source in (
        Source(recording=tmp_path / "recording.flac", channels_are_speakers=True, request=request),
        Source(tracks={"Ann": tmp_path / "track-01.wav", "Bea": tmp_path / "track-02.wav"}),
    ):
        for told in ("given", "recording", "upload"):
            summary = SummaryRequest("hybrid", date(2026, 11, 23), meeting_date_from=told)
            meeting = MeetingSource("Planning", source, summary)
            assert MeetingSource.from_params(meeting.to_params(), tmp_path) == meeting


def test_a_source_is_one_recording_or_one_track_per_person(tmp_path: Path) -> None:
    wav = tmp_path / "a.wav"
    with pytest.raises(InvalidSpeakerMapping, match="one recording"):
        Source()
    with pytest.raises(InvalidSpeakerMapping, match="one recording"):
        Source(recording=wav, tracks={"Ann": wav})
    with pytest.raises(InvalidSpeakerMapping, match=f"at most {MAX_TRACKS}"):
        Source(tracks={f"p{i}": wav for i in range(MAX_TRACKS + 1)})
    with pytest.raises(InvalidSpeakerMapping, match="same person's name"):
        named_tracks([("Ann", wav), (" Ann", wav)])
    with pytest.raises(UnknownEngine):
        MeetingSource("x", Source(recording=wav), SummaryRequest("magic"))


@pytest.mark.parametrize(
    ("values", "message"),
    [(["S1"], "takes NAME=VALUE"), (["=Ann"], "takes NAME=VALUE"), (["S1=Ann", "S1=Bea"],
                                                                    "'S1' is given twice")],
)  # fmt: skip
def test_a_pair_is_malformed_or_repeated(values: list[str], message: str) -> None:
    with pytest.raises(InvalidSpeakerMapping, match=message):
        parse_pairs(values, option="--speaker")
