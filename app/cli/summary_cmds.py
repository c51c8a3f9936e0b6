"""`minutekeeper summarize` and `minutekeeper ask`: any meeting input in, cited text out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from minutekeeper.cli.context import CliState, report_offers, state
from minutekeeper.cli.output import progress_bar, write_output
from minutekeeper.cli.transcribe_cmds import Speakers, Tracks, shows_progress, source_of
from minutekeeper.core.errors import InvalidInput
from minutekeeper.core.progress import Stage, one_stage

if TYPE_CHECKING:
    from minutekeeper.consent import Principal
    from minutekeeper.features.offers import Provenance
    from minutekeeper.features.transcription.transcript import Transcript
    from minutekeeper.models.cache import ModelProvider

Recording = Annotated[
    Path | None, typer.Argument(help="Recording, or a .vtt/.srt/.json transcript.")
]
Channels = Annotated[bool, typer.Option(help="One speaker per channel of the recording.")]
Language = Annotated[str | None, typer.Option(help="Language code; default: detect.")]
Hotwords = Annotated[str | None, typer.Option(help="Vocabulary hints (names, terms).")]
Engine = Annotated[str | None, typer.Option(help="extractive, llm or hybrid.")]
Llm = Annotated[
    str | None,
    typer.Option(help="LLM (llm, hybrid): name, fine-tuned id, folder, hub id, endpoint's model."),
]
Quiet = Annotated[bool, typer.Option(help="No progress bar.")]


def summarize(
    ctx: typer.Context,
    recording: Recording = None,
    track: Tracks = [],  # noqa: B006 (typer reads the default; it is never mutated)
    channels_are_speakers: Channels = False,
    speaker: Speakers = [],  # noqa: B006
    language: Language = None,
    hotwords: Hotwords = None,
    engine: Engine = None,
    llm: Llm = None,
    meeting_date: Annotated[
        str | None, typer.Option("--date", help="Meeting date (YYYY-MM-DD) for due dates.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    with_transcript: Annotated[
        bool, typer.Option("--transcript/--no-transcript", help="Append the cited transcript.")
    ] = True,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    save: Annotated[
        bool, typer.Option("--save/--no-save", help="Keep the meeting (see `meetings list`).")
    ] = True,
    title: Annotated[str | None, typer.Option(help="The saved meeting's title.")] = None,
    quiet: Quiet = False,
) -> None:
    """Summarize a meeting, every line citing the moments it comes from.

    The summary has an overview, key points, decisions, action items, open questions and
    chapters. The meeting is saved, so that `compose --mode followup --meeting ID` can
    draft its follow-up.
    """
    from minutekeeper.features.meetings.service import (
        MeetingSource,
        default_title,
        summarize_source,
    )
    from minutekeeper.features.meetings.store import save_meeting
    from minutekeeper.features.offers import Provenance
    from minutekeeper.features.summary import render
    from minutekeeper.features.summary.service import SummaryRequest

    if fmt not in render.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose: {', '.join(render.FORMATS)}")
    cli = state(ctx)
    source = source_of(
        recording,
        track,
        channels=channels_are_speakers,
        speakers=speaker,
        language=language,
        hotwords=hotwords,
    )
    request = SummaryRequest(
        engine=engine or cli.settings().summary_engine, meeting_date=_date(meeting_date)
    )
    name = title or default_title(str(recording) if recording else None, source.tracks)
    meeting = MeetingSource(title=name, source=source, summary=request)
    owner = cli.ai_user() if save else None  # a database problem shows up now
    models = cli.runtime().models.choosing(llm_model=llm)
    with progress_bar("transcribing", enabled=shows_progress(source, quiet)) as bar:
        made = summarize_source(meeting, models=models, progress=one_stage(Stage.TRANSCRIBING, bar))
    transcript, summary = made.transcript, made.summary
    write_output(render.render(summary, fmt, transcript if with_transcript else None), output)
    if owner is not None:
        saved = save_meeting(
            cli.engine(),
            tenant_id=owner.tenant_id,
            owner_id=owner.subject_id,
            title=name,
            transcript=transcript,
            summary=summary,
        )
        typer.echo(f"saved as meeting {saved.id}", err=True)
        via, own = cli.acting()
        report_offers(
            cli,
            owner.tenant_id,
            cli.runtime().offers.summary(
                owner.tenant_id,
                transcript,
                summary,
                model_id=made.model_id,
                provenance=Provenance(
                    owner.subject_id,
                    request.meeting_date,
                    source=("meeting", saved.id),
                    via=via,
                    speaks_for_self=own,
                ),
            ),
        )


def ask(
    ctx: typer.Context,
    recording: Annotated[
        Path, typer.Argument(help="A saved meeting's id, a recording, or a transcript file.")
    ],
    question: Annotated[str, typer.Argument(help="What you want to know about the meeting.")],
    track: Tracks = [],  # noqa: B006
    speaker: Speakers = [],  # noqa: B006
    language: Language = None,
    engine: Engine = None,
    llm: Llm = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    quiet: Quiet = False,
) -> None:
    """Answer a question from a meeting, citing where it was said.

    The meeting is a saved one (its id, or the id's first characters, from `meetings
    list`), or a recording or transcript file. The answer is offered to the consent gate
    for training, like a summary.
    """
    from minutekeeper.features.meetings import service as meetings
    from minutekeeper.features.summary import render
    from minutekeeper.features.summary.service import check_engine

    if fmt not in render.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose: {', '.join(render.FORMATS)}")
    cli = state(ctx)
    chosen = engine or cli.settings().summary_engine
    check_engine(chosen)
    asker = cli.ai_user()  # a database problem shows up now
    models = cli.runtime().models.choosing(llm_model=llm)
    transcript, provenance = _saved_or_transcribed(
        cli, asker, recording, track, speaker, language, models, quiet
    )
    answered = meetings.ask(transcript, question, engine=chosen, models=models)
    write_output(render.render_answer(answered.answer, fmt), None)
    report_offers(
        cli,
        asker.tenant_id,
        cli.runtime().offers.answer(
            asker.tenant_id,
            transcript,
            answered.answer,
            asker=asker.subject_id,
            model_id=answered.model_id,
            provenance=provenance,
        ),
    )


def _saved_or_transcribed(
    cli: CliState,
    asker: Principal,
    ref: Path,
    tracks: list[str],
    speakers: list[str],
    language: str | None,
    models: ModelProvider,
    quiet: bool,
) -> tuple[Transcript, Provenance]:
    """A saved meeting's transcript when `ref` is no file but a meeting's id, else the
    transcript of the recording or file (or the tracks) given, the asker's upload."""
    from minutekeeper.features.meetings.errors import MeetingNotFound
    from minutekeeper.features.meetings.store import find_meeting
    from minutekeeper.features.offers import Provenance
    from minutekeeper.features.transcription.errors import InputNotFound
    from minutekeeper.features.transcription.source import transcribe_source

    if not tracks and not ref.exists():
        try:
            stored = find_meeting(cli.engine(), asker.tenant_id, str(ref))
            return stored.transcript, Provenance.of_meeting(stored)
        except MeetingNotFound as error:
            raise InputNotFound(
                f"{ref}: no such file, and no saved meeting's id starts with it "
                "(`minutekeeper meetings list`)"
            ) from error
    source = source_of(ref if not tracks else None, tracks, speakers=speakers, language=language)
    with progress_bar("transcribing", enabled=shows_progress(source, quiet)) as progress:
        transcript = transcribe_source(
            source, models=models, progress=one_stage(Stage.TRANSCRIBING, progress)
        )
    via, own = cli.acting()
    return transcript, Provenance(asker.subject_id, via=via, speaks_for_self=own)


def _date(value: str | None) -> date | None:
    from minutekeeper.features.summary.dates import parse_day

    return parse_day(value, option="--date") if value is not None else None
