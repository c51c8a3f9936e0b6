"""The transcription service on the real embedded Whisper base and Resemblyzer."""

from __future__ import annotations

import json
import re

import jiwer
import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.features.transcription import service
from minutekeeper.features.transcription.errors import (
    InputNotFound,
    InvalidSpeakerMapping,
    UnreadableAudio,
)
from minutekeeper.models import registry
from minutekeeper.models.asr import Transcriber
from minutekeeper.models.diarization import Diarizer
from minutekeeper.models.errors import UnknownModel
from tests.model.conftest import FIXTURES

REQUEST = service.TranscribeRequest()


def words(text: str) -> str:
    return re.sub(r"[^a-z0-9 ]", "", text.lower()).strip()


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(words(reference), words(hypothesis)))


@pytest.mark.parametrize("name", ["one_speaker.flac", "one_speaker.mp3", "one_speaker.ogg"])
def test_any_container_transcribes_the_known_sentence(transcriber: Transcriber, name: str) -> None:
    reference = (FIXTURES / "one_speaker.txt").read_text()
    transcript = service.transcribe_recording(
        FIXTURES / name, transcriber=transcriber, diarizer=None, request=REQUEST
    )
    assert wer(reference, transcript.text) <= 0.15, transcript.text  # one word of eight
    assert transcript.language == "en" and (transcript.language_probability or 0) > 0.5
    first = transcript.segments[0]
    assert first.id == "s0001" and first.speaker == "S1" and first.words
    assert all(w.start <= w.end for w in first.words)


def test_diarized_recording_attributes_each_turn_to_one_speaker(
    transcriber: Transcriber, diarizer: Diarizer
) -> None:
    reference = json.loads((FIXTURES / "two_speakers.json").read_text())["segments"]
    transcript = service.transcribe_recording(
        FIXTURES / "two_speakers.wav",
        transcriber=transcriber,
        diarizer=diarizer,
        request=service.TranscribeRequest(speaker_names={"S1": "Martin"}),
    )
    assert [s.id for s in transcript.speakers] == ["S1", "S2"]
    assert transcript.speakers[0].name == "Martin" and transcript.speakers[1].name is None
    labels = []
    for turn in reference:
        inside = [s for s in transcript.segments if turn["start"] - 0.3 <= s.start < turn["end"]]
        labels.append({s.speaker for s in inside})
    assert labels == [{"S1"}, {"S2"}, {"S1"}]


def test_channels_are_speakers(transcriber: Transcriber) -> None:
    reference = json.loads((FIXTURES / "stereo_two_channels.json").read_text())["segments"]
    transcript = service.transcribe_channels(
        FIXTURES / "stereo_two_channels.wav",
        transcriber=transcriber,
        request=service.TranscribeRequest(speaker_names={"C2": "Bea"}),
    )
    by_speaker = {s.speaker: s.text for s in transcript.segments}
    left, right = reference[0]["text"], reference[1]["text"]
    # Each channel carries its own sentence (short: one misheard word is 20 %), not the other's.
    assert wer(left, by_speaker["C1"]) <= 0.25 < wer(right, by_speaker["C1"])
    assert wer(right, by_speaker["C2"]) <= 0.25 < wer(left, by_speaker["C2"])
    assert [(s.id, s.name) for s in transcript.speakers] == [("C1", None), ("C2", "Bea")]


def test_tracks_merge_on_one_timeline_with_the_track_as_speaker(transcriber: Transcriber) -> None:
    transcript = service.transcribe_tracks(
        {"Ann": FIXTURES / "one_speaker.flac", "Ben": FIXTURES / "two_speakers.wav"},
        transcriber=transcriber,
        request=REQUEST,
    )
    assert {s.speaker for s in transcript.segments} == {"Ann", "Ben"}
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert [s.id for s in transcript.segments] == [f"s{i:04d}" for i in range(1, len(starts) + 1)]
    longest = json.loads((FIXTURES / "two_speakers.json").read_text())["segments"][-1]["end"]
    assert longest <= transcript.duration <= longest + 1.0


@pytest.mark.parametrize("name", ["silence.wav", "empty.wav"])
def test_silent_or_empty_recording_gives_an_empty_transcript(
    transcriber: Transcriber, diarizer: Diarizer, name: str
) -> None:
    transcript = service.transcribe_recording(
        FIXTURES / name, transcriber=transcriber, diarizer=diarizer, request=REQUEST
    )
    assert transcript.segments == () and transcript.speakers == ()


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("truncated.flac", UnreadableAudio),
        ("not_audio.wav", UnreadableAudio),
        ("no_such_file.wav", InputNotFound),
    ],
)
def test_unreadable_input_is_refused(transcriber: Transcriber, name: str, error: type) -> None:
    with pytest.raises(error):
        service.transcribe_recording(
            FIXTURES / name, transcriber=transcriber, diarizer=None, request=REQUEST
        )


def test_mapping_a_speaker_that_does_not_exist_is_refused(transcriber: Transcriber) -> None:
    with pytest.raises(InvalidSpeakerMapping, match="no speaker S7"):
        service.transcribe_recording(
            FIXTURES / "one_speaker.flac",
            transcriber=transcriber,
            diarizer=None,
            request=service.TranscribeRequest(speaker_names={"S7": "Zed"}),
        )


def test_mono_file_cannot_be_split_into_channel_speakers(transcriber: Transcriber) -> None:
    with pytest.raises(InvalidSpeakerMapping, match="one channel"):
        service.transcribe_channels(
            FIXTURES / "one_speaker.flac", transcriber=transcriber, request=REQUEST
        )


def test_unknown_model_lists_the_valid_ones(model_settings: Settings) -> None:
    with pytest.raises(UnknownModel, match=r"valid: base \(embedded\), tiny"):
        registry.build_transcriber(model_settings, model="whisper-gigantic")


def test_hotwords_include_the_roster() -> None:
    request = service.TranscribeRequest(hotwords="Quillon", speaker_names={"S1": "Alice"})
    assert request.hints(["Bob"]) == "Quillon, Alice, Bob"
