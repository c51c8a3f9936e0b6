"""`minutekeeper transcribe` and `minutekeeper models`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from minutekeeper.cli.context import state
from minutekeeper.cli.output import progress_bar, write_output
from minutekeeper.core.progress import Stage, one_stage
from minutekeeper.features.transcription.errors import InvalidSpeakerMapping

if TYPE_CHECKING:
    from minutekeeper.features.transcription.source import Source

# Audio, numpy and model code load inside the commands that use them, so other commands
# (and --help) start fast.

# Recordings longer than this get a progress bar (on stderr, unless --quiet).
PROGRESS_AFTER_S = 60.0

models_app = typer.Typer(help="The ML models minutekeeper uses.", no_args_is_help=True)

# A repeated option's metavar says what one value looks like (help would show `list[str]`).
Tracks = Annotated[
    list[str], typer.Option(metavar="NAME=FILE", help="One per participant's track (repeat).")
]
Speakers = Annotated[
    list[str], typer.Option(metavar="LABEL=NAME", help="Name a speaker, e.g. S1=Alice (repeat).")
]


def transcribe(
    ctx: typer.Context,
    recording: Annotated[
        Path | None, typer.Argument(help="Recording, or a .vtt/.srt/.json transcript.")
    ] = None,
    track: Tracks = [],  # noqa: B006 (typer reads the default; it is never mutated)
    channels_are_speakers: Annotated[
        bool, typer.Option(help="One speaker per channel of a multi-channel recording.")
    ] = False,
    language: Annotated[str | None, typer.Option(help="Language code; default: detect.")] = None,
    hotwords: Annotated[str | None, typer.Option(help="Vocabulary hints (names, terms).")] = None,
    speakers: Annotated[
        int | None, typer.Option(min=1, max=20, help="Number of speakers; default: automatic.")
    ] = None,
    speaker: Speakers = [],  # noqa: B006
    diarize: Annotated[bool, typer.Option(help="Find speakers in single-channel audio.")] = True,
    model: Annotated[str | None, typer.Option(help="ASR model name or folder.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json, vtt, srt or text.")] = "json",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
) -> None:
    """Transcribe a recording, per-participant tracks or a multi-channel recording."""
    from minutekeeper.features.transcription import formats
    from minutekeeper.features.transcription.source import transcribe_source

    if fmt not in formats.FORMATS:
        raise InvalidSpeakerMapping(f"unknown format {fmt!r}; choose: {', '.join(formats.FORMATS)}")
    source = source_of(
        recording,
        track,
        channels=channels_are_speakers,
        speakers=speaker,
        language=language,
        hotwords=hotwords,
        num_speakers=speakers,
        diarize=diarize,
    )
    models = state(ctx).runtime().models.choosing(asr_model=model)
    with progress_bar("transcribing", enabled=shows_progress(source, quiet)) as progress:
        transcript = transcribe_source(
            source, models=models, progress=one_stage(Stage.TRANSCRIBING, progress)
        )
    write_output(formats.render(transcript, fmt), output)


def source_of(
    recording: Path | None,
    tracks: list[str],
    *,
    channels: bool = False,
    speakers: Sequence[str] = (),
    language: str | None = None,
    hotwords: str | None = None,
    num_speakers: int | None = None,
    diarize: bool = True,
) -> Source:
    """The command line's meeting source (`RECORDING`, or `--track NAME=FILE` each)."""
    from minutekeeper.features.transcription.service import TranscribeRequest
    from minutekeeper.features.transcription.source import Source, parse_pairs, speaker_names

    request = TranscribeRequest(
        language=language,
        hotwords=hotwords,
        num_speakers=num_speakers,
        diarize=diarize,
        speaker_names=speaker_names(speakers, option="--speaker"),
    )
    named = parse_pairs(tracks, option="--track")
    return Source(
        recording=recording,
        tracks={name: Path(f) for name, f in named.items()},
        channels_are_speakers=channels,
        request=request,
    )


def shows_progress(source: Source, quiet: bool) -> bool:
    """A progress bar for recordings longer than a minute, unless --quiet."""
    from minutekeeper.features.transcription import audio

    if quiet or source.is_transcript:
        return False
    return max((audio.probe_seconds(f) for f in source.files), default=0.0) > PROGRESS_AFTER_S


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """The models minutekeeper uses, and whether each is ready offline."""
    from minutekeeper.models import registry

    for role, name, status, note in registry.catalog(state(ctx).settings()):
        typer.echo(f"{role:<12} {name:<26} {status:<24} {note}")


@models_app.command("prepare")
def models_prepare(
    ctx: typer.Context,
    llm: Annotated[
        bool, typer.Option("--llm/--no-llm", help="Also prepare the language model (~1 min).")
    ] = True,
) -> None:
    """Assemble and verify the embedded models in the model cache (done once), and check
    the redaction model (its files' SHA-256, meta.json, a named-entity smoke test)."""
    from minutekeeper.consent import Redactor
    from minutekeeper.models.embedded import WHISPER_BASE, prepare
    from minutekeeper.models.locate import locate_llm

    settings = state(ctx).settings()
    cache = settings.resolved_model_cache_dir()
    with progress_bar("whisper base", enabled=True) as progress:
        path = prepare(WHISPER_BASE, cache, progress=lambda done, total: progress(done / total))
    typer.echo(f"asr base: ready at {path} (sha256 verified)")
    if llm:
        located = locate_llm(settings.llm_model, cache_dir=cache, form="ctranslate2")
        typer.echo(f"llm {located.name}: ready at {located.folder}")
    Redactor().prepare()
    typer.echo("redaction: en_core_web_sm 3.8.0 ready (sha256, meta.json and NER checked)")
