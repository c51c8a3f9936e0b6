"""Make the example meeting recording and the small audio test fixtures from written scripts.

Why: transcription, diarization, summaries and action-item extraction need a meeting to run
on whose content is known word for word and whose voices belong to nobody, so it can be
committed, shared and used as ground truth. This script makes one with text-to-speech
(espeak-ng, one distinct synthetic voice per speaker) and sox (resampling, pauses,
concatenation, FLAC), from `examples/meeting_script.json`, which also records the expected
decisions, action items (with resolved due dates) and open question.

What it writes:

- `examples/`: `meeting.flac` (16 kHz mono), `meeting_tracks/<speaker>.flac` (one track per
  participant, as long as the meeting, silent where others speak, as Zoom's "separate audio
  file for each participant" gives), `meeting_reference.json` (speaker, start, end, text per
  turn, with the real positions in the audio), `meeting.rttm`, `meeting.vtt` (`<v Name>`
  voice tags), `meeting.srt` ("Name: text" cues) and `README.md`.
- `tests/fixtures/audio/`: small clips for decoder and pipeline tests (two speakers, one
  speaker in FLAC, MP3 and Ogg, stereo with one speaker per channel, silence, an empty WAV,
  a truncated FLAC, a text file named .wav), their references and `README.md`.

Runs are repeatable: with the same espeak-ng and sox versions, the same script and JSON give
byte-identical files (sox runs with -R and without dither). Other versions may give other
audio bytes and slightly other timings; the references are always rewritten with the audio.
Requires `espeak-ng` and `sox` with `libsox-fmt-all` (MP3, Ogg) on PATH.

    .venv/bin/python scripts/make_example_meeting.py [--only examples|fixtures]
        [--examples-dir DIR] [--fixtures-dir DIR] [--check-wer WHISPER_MODEL_DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import subprocess
import sys
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
FIXTURES_DIR = ROOT / "tests" / "fixtures" / "audio"
RATE = 16000
# -D: no dither (silence stays digital zero), -R: repeatable (fixed seeds, no timestamps).
SOX = ["sox", "-D", "-R"]
PCM16 = ["-r", str(RATE), "-e", "signed-integer", "-b", "16"]

ONE_SPEAKER_TEXT = "The quarterly roadmap review starts on Monday morning."
TWO_SPEAKERS = [
    ("Martin", "Hello Maria, did you read the travel budget?"),
    ("Maria", "Yes, it looks fine to me."),
    ("Martin", "Great, we send it today."),
]
STEREO_TURNS = [
    ("left", "Good morning from the left."),
    ("right", "Good evening from the right."),
]


@dataclass(frozen=True)
class Voice:
    """espeak-ng settings: voice+variant, pitch (0-99), words per minute, word gap (10 ms)."""

    voice: str
    pitch: int = 50
    speed: int = 155
    word_gap: int = 1

    def options(self) -> list[str]:
        return [
            "-v",
            self.voice,
            "-p",
            str(self.pitch),
            "-s",
            str(self.speed),
            "-g",
            str(self.word_gap),
        ]

    def __str__(self) -> str:
        return " ".join(self.options())


MALE = Voice("en-us+m1", pitch=45, speed=165)
FEMALE = Voice("en-us+f2", pitch=40, speed=165)
# A wider word gap: with the words run together Whisper base hears "reviews start".
ONE_VOICE = Voice("en-us+m4", pitch=50, speed=160, word_gap=3)


@dataclass(frozen=True)
class Piece:
    """One stretch of the timeline: a speech clip (path, speaker, text) or a pause."""

    samples: int
    path: Path | None = None
    speaker: str | None = None
    text: str = ""


def run(cmd: list[str]) -> str:
    """Run a command, fail loudly with its stderr, return its stdout."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def wav_samples(path: Path) -> int:
    with wave.open(str(path), "rb") as w:
        return w.getnframes()


def synth(text: str, voice: Voice, out: Path) -> int:
    """Speak `text` into a 16 kHz mono 16-bit WAV, trimmed to the speech; return its samples."""
    raw = out.with_name(out.stem + ".espeak.wav")
    run(["espeak-ng", *voice.options(), "-w", str(raw), text])
    trim = ["silence", "1", "0.01", "0.1%", "reverse", "silence", "1", "0.01", "0.1%", "reverse"]
    run([*SOX, str(raw), "-c", "1", *PCM16, str(out), *trim, "rate", "-v", str(RATE), "norm", "-6"])
    raw.unlink()
    return wav_samples(out)


def silence_file(samples: int, workdir: Path) -> Path:
    """A mono WAV of `samples` zero samples (made once per length in `workdir`)."""
    path = workdir / f"silence_{samples}.wav"
    if not path.exists():
        null = ["-r", str(RATE), "-c", "1", "-n"]  # rate and channels of the null input
        run([*SOX, *null, *PCM16, str(path), "trim", "0", f"{samples}s"])
    return path


def render(pieces: list[Piece], out: Path, workdir: Path, keep: set[str] | None = None) -> None:
    """Concatenate the pieces with sox; speech of speakers not in `keep` becomes silence."""
    inputs = []
    for piece in pieces:
        audible = piece.path is not None and (keep is None or piece.speaker in keep)
        inputs.append(piece.path if audible else silence_file(piece.samples, workdir))
    out.parent.mkdir(parents=True, exist_ok=True)
    compression = ["-C", "8"] if out.suffix == ".flac" else []
    run([*SOX, *map(str, inputs), *compression, str(out)])
    expected = sum(p.samples for p in pieces)
    actual = int(run(["soxi", "-s", str(out)]).strip())
    if actual != expected:
        raise RuntimeError(f"{out}: {actual} samples, expected {expected}")


def timeline(turns: list[tuple[str, str, Voice]], workdir: Path, layout: dict) -> list[Piece]:
    """Synthesise the turns and lay them out: lead-in, turn, pause, turn, ..., tail."""
    workdir.mkdir(parents=True, exist_ok=True)
    rng = random.Random(layout["seed"])
    low, high = layout["pause_range_s"]
    pieces = [Piece(round(layout["lead_in_s"] * RATE))]
    for index, (speaker, text, voice) in enumerate(turns):
        if index:
            pause = round(rng.uniform(low, high) * 20) / 20
            pieces.append(Piece(round(pause * RATE)))
        clip = workdir / f"turn_{index:03d}.wav"
        pieces.append(Piece(synth(text, voice, clip), clip, speaker, text))
    pieces.append(Piece(round(layout["tail_s"] * RATE)))
    return pieces


def segments(pieces: list[Piece]) -> list[dict]:
    """The reference: speaker, start, end (seconds, 3 decimals) and text per speech clip."""
    result, position = [], 0
    for piece in pieces:
        if piece.speaker is not None:
            start, end = position / RATE, (position + piece.samples) / RATE
            result.append(
                {
                    "speaker": piece.speaker,
                    "start": round(start, 3),
                    "end": round(end, 3),
                    "text": piece.text,
                }
            )
        position += piece.samples
    return result


def clock(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    return f"{hours:02d}:{minutes:02d}:{rest // 1000:02d}{separator}{rest % 1000:03d}"


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_subtitles(segs: list[dict], directory: Path, stem: str) -> None:
    """WebVTT with `<v Name>` voice tags and SRT with "Name: text" cues, same timings."""
    vtt, srt = ["WEBVTT", ""], []
    for number, seg in enumerate(segs, start=1):
        vtt += [str(number), f"{clock(seg['start'], '.')} --> {clock(seg['end'], '.')}"]
        vtt += [f"<v {seg['speaker']}>{seg['text']}", ""]
        srt += [str(number), f"{clock(seg['start'], ',')} --> {clock(seg['end'], ',')}"]
        srt += [f"{seg['speaker']}: {seg['text']}", ""]
    (directory / f"{stem}.vtt").write_text("\n".join(vtt), encoding="utf-8")
    (directory / f"{stem}.srt").write_text("\n".join(srt), encoding="utf-8")


def write_rttm(segs: list[dict], path: Path, file_id: str) -> None:
    lines = [
        f"SPEAKER {file_id} 1 {s['start']:.3f} {s['end'] - s['start']:.3f} "
        f"<NA> <NA> {s['speaker']} <NA> <NA>"
        for s in segs
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def tool_versions() -> dict[str, str]:
    """{"espeak": "1.51", "sox": "14.4.2"}, for the READMEs."""
    espeak = run(["espeak-ng", "--version"]).split("Data at")[0]
    sox = run(["sox", "--version"]).strip().removeprefix("sox:").strip().removeprefix("SoX v")
    return {"espeak": espeak.removeprefix("eSpeak NG text-to-speech:").strip(), "sox": sox}


def require_tools() -> None:
    missing = [tool for tool in ("espeak-ng", "sox", "soxi") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"missing {', '.join(missing)}: apt-get install espeak-ng sox libsox-fmt-all")


def voice_of(spec: dict) -> Voice:
    return Voice(**{key: spec[key] for key in ("voice", "pitch", "speed", "word_gap")})


def make_examples(script_path: Path, out_dir: Path) -> None:
    """The example meeting: mixed FLAC, per-participant tracks, reference, RTTM, VTT, SRT."""
    script = json.loads(script_path.read_text(encoding="utf-8"))
    voices = {name: voice_of(spec) for name, spec in script["speakers"].items()}
    turns = [(t["speaker"], t["text"], voices[t["speaker"]]) for t in script["turns"]]
    with tempfile.TemporaryDirectory(prefix="mk-meeting-") as tmp:
        workdir = Path(tmp)
        pieces = timeline(turns, workdir, script)
        render(pieces, out_dir / "meeting.flac", workdir)
        for name in voices:
            render(pieces, out_dir / "meeting_tracks" / f"{name.lower()}.flac", workdir, {name})
    segs = segments(pieces)
    duration = round(sum(p.samples for p in pieces) / RATE, 3)
    reference = {
        "audio": "meeting.flac",
        "date": script["date"],
        "duration_s": duration,
        "speakers": list(voices),
        "segments": segs,
    }
    write_json(out_dir / "meeting_reference.json", reference)
    write_rttm(segs, out_dir / "meeting.rttm", script["meeting_id"])
    write_subtitles(segs, out_dir, "meeting")
    write_examples_readme(out_dir, script, duration)


EXAMPLES_README = """\
# Example meeting (synthetic)

A {minutes}-minute product planning meeting ("{title}", {date}, a {weekday}) between
{speakers}. Every voice is synthetic: the recording was made by
`scripts/make_example_meeting.py` from the written script `meeting_script.json` with
espeak-ng {espeak} (one voice per speaker) and SoX {sox} (resampling, pauses,
concatenation, FLAC). No real person's voice or data is in it.

- `meeting_script.json`: the source. Speakers and their espeak-ng voices, the turns, the
  glossary (hotwords), and the ground truth for later evaluations: decisions, action items
  (owner, task, due phrase, due date resolved against the meeting date) and the open question.
- `meeting.flac`: the meeting, 16 kHz mono FLAC, {duration:.1f} s.
- `meeting_tracks/<name>.flac`: one track per participant, as long as the meeting, with only
  that speaker's speech and silence elsewhere (the form of Zoom's "record a separate audio
  file for each participant").
- `meeting_reference.json`: the reference transcript, speaker, start, end (seconds) and text
  per turn, at the turn's real position in the audio.
- `meeting.rttm`: speaker reference for diarization scoring (RTTM, file id `{meeting_id}`).
- `meeting.vtt`: the reference as WebVTT with `<v Name>` voice tags, as a meeting platform
  gives it.
- `meeting.srt`: the reference as SRT with "Name: text" cues.

The voices (espeak-ng options):

{voices}

Regenerate (needs `espeak-ng`, `sox` and `libsox-fmt-all`):

    .venv/bin/python scripts/make_example_meeting.py --only examples

Add `--check-wer MODEL_DIR` (a CTranslate2 Whisper model directory) to transcribe the result
with faster-whisper and print the word error rate against the script.

The text, the speakers and the order of turns come from the JSON and do not change; the
audio bytes and the exact timings may differ slightly with other espeak-ng or SoX versions,
so the reference files are regenerated together with the audio.
"""


def write_examples_readme(out_dir: Path, script: dict, duration: float) -> None:
    names = list(script["speakers"])
    voices = "\n".join(
        f"- {name} ({spec['role']}): `{voice_of(spec)}`"
        for name, spec in script["speakers"].items()
    )
    text = EXAMPLES_README.format(
        minutes=round(duration / 60, 1),
        title=script["title"],
        date=script["date"],
        weekday=script["weekday"],
        speakers=", ".join(names[:-1]) + " and " + names[-1],
        duration=duration,
        voices=voices,
        meeting_id=script["meeting_id"],
        **tool_versions(),
    )
    (out_dir / "README.md").write_text(text, encoding="utf-8")


def fixture_pieces(turns: list[tuple[str, str, Voice]], workdir: Path) -> list[Piece]:
    layout = {"seed": 7, "pause_range_s": [0.5, 0.5], "lead_in_s": 0.3, "tail_s": 0.3}
    return timeline(turns, workdir, layout)


def make_one_speaker(out_dir: Path, workdir: Path) -> None:
    """one_speaker.flac (+ .mp3, .ogg, .txt) and truncated.flac from its first 40 % of bytes."""
    pieces = fixture_pieces([("speaker", ONE_SPEAKER_TEXT, ONE_VOICE)], workdir / "one")
    flac = out_dir / "one_speaker.flac"
    render(pieces, flac, workdir)
    (out_dir / "one_speaker.txt").write_text(ONE_SPEAKER_TEXT + "\n", encoding="utf-8")
    run([*SOX, str(flac), "-C", "64", str(out_dir / "one_speaker.mp3")])
    run([*SOX, str(flac), "-C", "3", str(out_dir / "one_speaker.ogg")])
    data = flac.read_bytes()
    (out_dir / "truncated.flac").write_bytes(data[: len(data) * 40 // 100])


def make_two_speakers(out_dir: Path, workdir: Path) -> None:
    """two_speakers.wav: a male and a female voice taking turns, with a JSON reference."""
    voices = {"Martin": MALE, "Maria": FEMALE}
    turns = [(name, text, voices[name]) for name, text in TWO_SPEAKERS]
    pieces = fixture_pieces(turns, workdir / "two")
    render(pieces, out_dir / "two_speakers.wav", workdir)
    write_json(
        out_dir / "two_speakers.json", {"audio": "two_speakers.wav", "segments": segments(pieces)}
    )


def make_stereo(out_dir: Path, workdir: Path) -> None:
    """stereo_two_channels.wav: speaker A on the left channel only, B on the right only."""
    voices = {"left": MALE, "right": FEMALE}
    turns = [(channel, text, voices[channel]) for channel, text in STEREO_TURNS]
    pieces = fixture_pieces(turns, workdir / "stereo")
    left, right = workdir / "left.wav", workdir / "right.wav"
    render(pieces, left, workdir, {"left"})
    render(pieces, right, workdir, {"right"})
    run([*SOX, "-M", str(left), str(right), str(out_dir / "stereo_two_channels.wav")])
    segs = [
        {
            "channel": s["speaker"],
            "speaker": "A" if s["speaker"] == "left" else "B",
            **{k: s[k] for k in ("start", "end", "text")},
        }
        for s in segments(pieces)
    ]
    write_json(
        out_dir / "stereo_two_channels.json", {"audio": "stereo_two_channels.wav", "segments": segs}
    )


def make_broken_and_empty(out_dir: Path, workdir: Path) -> None:
    """silence.wav (2 s of zeros), empty.wav (header only) and not_audio.wav (text)."""
    silence = silence_file(2 * RATE, workdir)
    (out_dir / "silence.wav").write_bytes(silence.read_bytes())
    with wave.open(str(out_dir / "empty.wav"), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(b"")
    (out_dir / "not_audio.wav").write_text("this is not audio\n", encoding="utf-8")


FIXTURES_README = """\
# Audio test fixtures

Small clips for decoder and pipeline tests, all generated by
`scripts/make_example_meeting.py --only fixtures` with espeak-ng {espeak} and SoX {sox}.
Every voice is synthetic. 16 kHz, 16-bit unless said otherwise.

- `two_speakers.wav`: {two_s:.1f} s mono, {two_n} turns by a male (Martin) and a female (Maria)
  voice, 0.5 s pauses, concatenated with sox; espeak-ng
  `{male}` and `{female}`.
- `two_speakers.json`: its reference, speaker, start, end (seconds) and text per turn.
- `one_speaker.flac`: {one_s:.1f} s mono FLAC, one voice (espeak-ng `{one}`)
  saying the sentence in `one_speaker.txt`: "{one_text}"
- `one_speaker.mp3`: the same clip as MP3, 64 kbit/s (`sox one_speaker.flac -C 64 ...`), to
  prove other containers decode.
- `one_speaker.ogg`: the same clip as Ogg Vorbis, quality 3 (`sox one_speaker.flac -C 3 ...`).
- `stereo_two_channels.wav`: {stereo_s:.1f} s stereo, speaker A on the left channel only, B on
  the right channel only, not overlapping (two mono tracks merged with `sox -M`).
- `stereo_two_channels.json`: its reference, channel, speaker, start, end and text per turn.
- `silence.wav`: 2 s of digital silence (every sample zero), mono.
- `empty.wav`: a valid WAV header with zero samples (Python `wave`).
- `truncated.flac`: the first 40 % of the bytes of `one_speaker.flac`, a cut-off, corrupt file.
- `not_audio.wav`: a text file with a .wav name ("this is not audio").

Regenerate (needs `espeak-ng`, `sox` and `libsox-fmt-all`):

    .venv/bin/python scripts/make_example_meeting.py --only fixtures

Audio bytes and exact timings may differ with other espeak-ng or SoX versions; the JSON
references are regenerated with the audio, so they always match it.
"""


def write_fixtures_readme(out_dir: Path) -> None:
    def seconds(name: str) -> float:
        return float(run(["soxi", "-D", str(out_dir / name)]).strip())

    text = FIXTURES_README.format(
        two_s=seconds("two_speakers.wav"),
        two_n=len(TWO_SPEAKERS),
        one_s=seconds("one_speaker.flac"),
        stereo_s=seconds("stereo_two_channels.wav"),
        one_text=ONE_SPEAKER_TEXT,
        male=MALE,
        one=ONE_VOICE,
        female=FEMALE,
        **tool_versions(),
    )
    (out_dir / "README.md").write_text(text, encoding="utf-8")


def make_fixtures(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mk-fixtures-") as tmp:
        workdir = Path(tmp)
        make_one_speaker(out_dir, workdir)
        make_two_speakers(out_dir, workdir)
        make_stereo(out_dir, workdir)
        make_broken_and_empty(out_dir, workdir)
    write_fixtures_readme(out_dir)


def normalise(text: str) -> str:
    """Lower case, hyphens as spaces, no punctuation or apostrophes: for a rough WER."""
    text = text.lower().replace("-", " ").replace("'", "").replace("\u2019", "")
    return " ".join(re.sub(r"[^a-z0-9 ]+", " ", text).split())


def check_wer(model_dir: Path, reference: str, audio: Path) -> float:
    """Transcribe `audio` with faster-whisper (CPU, int8) and return the WER against it."""
    import jiwer
    from faster_whisper import WhisperModel

    model = WhisperModel(str(model_dir), device="cpu", compute_type="int8")
    found, _ = model.transcribe(str(audio), language="en", beam_size=5)
    hypothesis = " ".join(segment.text for segment in found)
    error = jiwer.wer(normalise(reference), normalise(hypothesis))
    print(f"{audio.name}: WER {error:.1%}\n  heard: {hypothesis.strip()}")
    return error


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=["examples", "fixtures"], help="make only these")
    parser.add_argument("--script", type=Path, default=EXAMPLES_DIR / "meeting_script.json")
    parser.add_argument("--examples-dir", type=Path, default=EXAMPLES_DIR)
    parser.add_argument("--fixtures-dir", type=Path, default=FIXTURES_DIR)
    parser.add_argument(
        "--check-wer",
        type=Path,
        metavar="WHISPER_MODEL_DIR",
        help="afterwards, transcribe the meeting and one_speaker.flac with this CTranslate2 "
        "Whisper model and print the word error rates (needs faster-whisper and jiwer)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    require_tools()
    if args.only != "fixtures":
        make_examples(args.script, args.examples_dir)
        print(f"wrote {args.examples_dir}")
    if args.only != "examples":
        make_fixtures(args.fixtures_dir)
        print(f"wrote {args.fixtures_dir}")
    if args.check_wer is not None:
        if args.only != "fixtures":
            script = json.loads(args.script.read_text(encoding="utf-8"))
            text = " ".join(turn["text"] for turn in script["turns"])
            check_wer(args.check_wer, text, args.examples_dir / "meeting.flac")
        if args.only != "examples":
            check_wer(args.check_wer, ONE_SPEAKER_TEXT, args.fixtures_dir / "one_speaker.flac")
    return 0


if __name__ == "__main__":
    sys.exit(main())
