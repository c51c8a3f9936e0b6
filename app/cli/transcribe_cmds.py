"""`minutekeeper transcribe` and `minutekeeper models`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.context import state
from app.cli.output import progress_bar, write_output
from features.transcription.errors import InvalidSpeakerMapping

if TYPE_CHECKING:
    from features.transcription import service
    from features.transcription.transcript import Transcript

# Audio, numpy and model code load inside the commands that use them, so other commands
# (and --help) start fast.

# Recordings longer than this get a progress bar (on stderr, unless --quiet).
PROGRESS_AFTER_S = 60.0

models_app = typer.Typer(help="The ML models minutekeeper uses.", no_args_is_help=True)


def _pairs(values: list[str], *, option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, target = value.partition("=")
        if not sep or not key.strip() or not target.strip():
            raise InvalidSpeakerMapping(f"{option} takes NAME=VALUE, not {value!r}")
        if key.strip() in pairs:
            raise InvalidSpeakerMapping(f"{option} {key.strip()!r} is given twice")
        pairs[key.strip()] = target.strip()
    return pairs


def transcribe(
    ctx: typer.Context,
    recording: Annotated[
        Path | None, typer.Argument(help="Recording, or a .vtt/.srt/.json transcript.")
    ] = None,
    track: Annotated[list[str], typer.Option(help="NAME=FILE, one per participant (repeat).")] = [],  # noqa: B006 (typer reads the default; it is never mutated)
    channels_are_speakers: Annotated[
        bool, typer.Option(help="One speaker per channel of a multi-channel recording.")
    ] = False,
    language: Annotated[str | None, typer.Option(help="Language code; default: detect.")] = None,
    hotwords: Annotated[str | None, typer.Option(help="Vocabulary hints (names, terms).")] = None,
    speakers: Annotated[
        int | None, typer.Option(min=1, max=20, help="Number of speakers; default: automatic.")
    ] = None,
    speaker: Annotated[list[str], typer.Option(help="LABEL=NAME, e.g. S1=Alice (repeat).")] = [],  # noqa: B006
    diarize: Annotated[bool, typer.Option(help="Find speakers in single-channel audio.")] = True,
    model: Annotated[str | None, typer.Option(help="ASR model name or folder.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, vtt, srt or text.")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Transcribe a recording, per-participant tracks or a multi-channel recording."""
    from features.transcription import formats, service

    if fmt not in formats.FORMATS:
        raise InvalidSpeakerMapping(f"unknown format {fmt!r}; choose: {', '.join(formats.FORMATS)}")
    if (recording is None) == (not track):
        raise InvalidSpeakerMapping("give one recording, or --track NAME=FILE for each person")
    request = service.TranscribeRequest(
        language=language,
        hotwords=hotwords,
        num_speakers=speakers,
        diarize=diarize,
        speaker_names=_pairs(speaker, option="--speaker"),
    )
    transcript = obtain_transcript(ctx, recording, _pairs(track, option="--track"), request,
                      channels=channels_are_speakers, model=model, quiet=quiet)  # fmt: skip
    write_output(formats.render(transcript, fmt), output)


def obtain_transcript(
    ctx: typer.Context,
    recording: Path | None,
    tracks: dict[str, str],
    request: service.TranscribeRequest,
    *,
    channels: bool,
    model: str | None,
    quiet: bool,
) -> Transcript:
    from features.transcription import audio, service
    from models import registry

    if recording is not None and service.is_transcript_file(recording):
        return service.read_transcript(recording)
    settings = state(ctx).settings()
    transcriber = registry.build_transcriber(settings, model=model)
    files = [Path(f) for f in tracks.values()] if tracks else [recording] if recording else []
    long = max((audio.probe_seconds(f) for f in files), default=0.0) > PROGRESS_AFTER_S
    with progress_bar("transcribing", enabled=long and not quiet) as progress:
        if tracks:
            paths = {name: Path(file) for name, file in tracks.items()}
            return service.transcribe_tracks(
                paths, transcriber=transcriber, request=request, progress=progress
            )
        assert recording is not None
        if channels:
            return service.transcribe_channels(
                recording, transcriber=transcriber, request=request, progress=progress
            )
        diarizer = registry.build_diarizer(settings) if request.diarize else None
        return service.transcribe_recording(
            recording, transcriber=transcriber, diarizer=diarizer, request=request,
            progress=progress,
        )  # fmt: skip


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """The models minutekeeper uses, and whether each is ready offline."""
    from models import registry

    for role, name, status, note in registry.catalog(state(ctx).settings()):
        typer.echo(f"{role:<12} {name:<26} {status:<24} {note}")


@models_app.command("prepare")
def models_prepare(ctx: typer.Context) -> None:
    """Assemble and verify the embedded models in the model cache (done once)."""
    from models.embedded import WHISPER_BASE, prepare

    cache = state(ctx).settings().resolved_model_cache_dir()
    with progress_bar("whisper base", enabled=True) as progress:
        path = prepare(WHISPER_BASE, cache, progress=lambda done, total: progress(done / total))
    typer.echo(f"asr base: ready at {path} (sha256 verified)")
