"""`minutekeeper summarize` and `minutekeeper ask`: any meeting input in, cited text out."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli.context import state
from app.cli.output import write_output
from app.cli.transcribe_cmds import _pairs, obtain_transcript
from app.core.errors import InvalidInput

if TYPE_CHECKING:
    from consent.capture import Offer
    from features.summary.summary import Summary
    from features.transcription.transcript import Transcript
    from models.embeddings import Embedder
    from models.llm import TextGenerator

Recording = Annotated[
    Path | None, typer.Argument(help="Recording, or a .vtt/.srt/.json transcript.")
]
Tracks = Annotated[list[str], typer.Option(help="NAME=FILE, one per participant (repeat).")]
Speakers = Annotated[list[str], typer.Option(help="LABEL=NAME, e.g. S1=Alice (repeat).")]
Channels = Annotated[bool, typer.Option(help="One speaker per channel of the recording.")]
Language = Annotated[str | None, typer.Option(help="Language code; default: detect.")]
Hotwords = Annotated[str | None, typer.Option(help="Vocabulary hints (names, terms).")]
Engine = Annotated[str | None, typer.Option(help="extractive, llm or hybrid.")]
Llm = Annotated[
    str | None, typer.Option(help="LLM: name, fine-tuned id, folder or hub id (llm, hybrid).")
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
    from features.summary import render, service

    if fmt not in render.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose: {', '.join(render.FORMATS)}")
    chosen = engine or state(ctx).settings().summary_engine
    service.check_engine(chosen)
    day = _date(meeting_date)
    owner = state(ctx).principal() if save else None  # a database problem shows up now
    transcript = _transcript(ctx, recording, track, channels_are_speakers, speaker, language,
                             hotwords, quiet)  # fmt: skip
    embedder, generator = _models(ctx, chosen, llm)
    summary = service.summarize_meeting(
        transcript,
        embedder=embedder,
        generator=generator,
        request=service.SummaryRequest(engine=chosen, meeting_date=day),
    )
    write_output(render.render(summary, fmt, transcript if with_transcript else None), output)
    if owner is not None:
        from features.meetings.store import save_meeting

        name = title or _title(recording, track)
        saved = save_meeting(state(ctx).engine(), tenant_id=owner.tenant_id,
                             owner_id=owner.subject_id, title=name, transcript=transcript,
                             summary=summary)  # fmt: skip
        typer.echo(f"saved as meeting {saved.id}", err=True)
        _offer_for_training(ctx, owner.tenant_id, transcript, summary, generator or embedder)


def _offer_for_training(
    ctx: typer.Context,
    tenant_id: str,
    transcript: Transcript,
    summary: Summary,
    model: TextGenerator | Embedder,
) -> None:
    from features.training import meeting_offers, speaker_subjects

    cli = state(ctx)

    def offers() -> list[Offer]:
        subjects = speaker_subjects(cli.service(), tenant_id, transcript)
        return meeting_offers(transcript, summary, subjects, model_id=model.name)

    cli.offer_for_training(tenant_id, offers)


def _title(recording: Path | None, tracks: list[str]) -> str:
    if recording is not None:
        return recording.stem
    return "meeting of " + ", ".join(pair.split("=", 1)[0] for pair in tracks)


def ask(
    ctx: typer.Context,
    recording: Recording,
    question: Annotated[str, typer.Argument(help="What you want to know about the meeting.")],
    track: Tracks = [],  # noqa: B006
    speaker: Speakers = [],  # noqa: B006
    language: Language = None,
    engine: Engine = None,
    llm: Llm = None,
    fmt: Annotated[str, typer.Option("--format", help="md or json.")] = "md",
    quiet: Quiet = False,
) -> None:
    """Answer a question from the meeting, citing where it was said.

    The answer is offered to the consent gate for training, like a summary.
    """
    from features.summary import render, service

    if fmt not in render.FORMATS:
        raise InvalidInput(f"unknown format {fmt!r}; choose: {', '.join(render.FORMATS)}")
    chosen = engine or state(ctx).settings().summary_engine
    service.check_engine(chosen)
    asker = state(ctx).principal()  # a database problem shows up now
    transcript = _transcript(ctx, recording, track, False, speaker, language, None, quiet)
    embedder, generator = _models(ctx, chosen, llm)
    answer = service.answer_question(
        transcript, question, embedder=embedder, generator=generator, engine=chosen
    )
    write_output(render.render_answer(answer, fmt), None)
    model = generator or embedder

    def offers() -> list[Offer]:
        from features.training import answer_offer, speaker_subjects

        subjects = speaker_subjects(state(ctx).service(), asker.tenant_id, transcript)
        offer = answer_offer(transcript, answer, subjects, asker=asker.subject_id,
                             model_id=model.name)  # fmt: skip
        return [offer] if offer is not None else []

    state(ctx).offer_for_training(asker.tenant_id, offers)


def _date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise InvalidInput(f"--date takes YYYY-MM-DD, not {value!r}") from error


def _transcript(
    ctx: typer.Context,
    recording: Path | None,
    tracks: list[str],
    channels: bool,
    speakers: list[str],
    language: str | None,
    hotwords: str | None,
    quiet: bool,
) -> Transcript:
    from features.transcription import service

    if (recording is None) == (not tracks):
        raise InvalidInput("give one recording or transcript, or --track NAME=FILE for each person")
    request = service.TranscribeRequest(
        language=language, hotwords=hotwords, speaker_names=_pairs(speakers, option="--speaker")
    )
    return obtain_transcript(ctx, recording, _pairs(tracks, option="--track"), request,
                             channels=channels, model=None, quiet=quiet)  # fmt: skip


def _models(
    ctx: typer.Context, engine: str, llm: str | None
) -> tuple[Embedder, TextGenerator | None]:
    from models import registry

    settings = state(ctx).settings()
    embedder = registry.build_embedder(settings)
    generator = None if engine == "extractive" else registry.build_generator(settings, model=llm)
    return embedder, generator
