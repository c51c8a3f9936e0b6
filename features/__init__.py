"""What users ask for, one function per action, for the CLI, the API and the jobs alike:
they take their inputs and the parts they need (a database engine, a `ModelProvider`,
`Offers`), never a CLI context or a request, and leave parsing and rendering to the shell.

- transcribe a source: `Source` (one recording or transcript file, or a track per person)
  and `transcribe_source`;
- summarize and save a meeting: `MeetingSource`, `summarize_source`, `save_meeting`, and
  `process_meeting` (an uploaded meeting's job, once per job id);
- ask about a transcript (a saved meeting's, or one just made): `ask`;
- compose: `compose_draft` (draft, check, keep as shown) and `give_feedback`;
- offer results to the consent gate for training: `Offers`;
- delete a meeting and everything kept of it: `delete_meeting`;
- erase a person, fine-tune on a consented export: `erase_person`, `train_on_export`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from minutekeeper.core.lazy import public_api

if TYPE_CHECKING:
    from minutekeeper.features.compose.draft import ComposeRequest as ComposeRequest
    from minutekeeper.features.compose.draft import Draft as Draft
    from minutekeeper.features.compose.service import compose_draft as compose_draft
    from minutekeeper.features.compose.service import give_feedback as give_feedback
    from minutekeeper.features.compose.thread import Thread as Thread
    from minutekeeper.features.compose.thread import load_thread as load_thread
    from minutekeeper.features.compose.thread import parse_messages as parse_messages
    from minutekeeper.features.deletion import delete_meeting as delete_meeting
    from minutekeeper.features.erasure import erase_person as erase_person
    from minutekeeper.features.finetune import TrainRequest as TrainRequest
    from minutekeeper.features.finetune import train_on_export as train_on_export
    from minutekeeper.features.meetings.service import MeetingSource as MeetingSource
    from minutekeeper.features.meetings.service import ask as ask
    from minutekeeper.features.meetings.service import process_meeting as process_meeting
    from minutekeeper.features.meetings.service import summarize_source as summarize_source
    from minutekeeper.features.meetings.store import find_meeting as find_meeting
    from minutekeeper.features.meetings.store import list_meetings as list_meetings
    from minutekeeper.features.meetings.store import save_meeting as save_meeting
    from minutekeeper.features.offers import Offers as Offers
    from minutekeeper.features.offers import Outcome as Outcome
    from minutekeeper.features.summary.service import SummaryRequest as SummaryRequest
    from minutekeeper.features.transcription.service import TranscribeRequest as TranscribeRequest
    from minutekeeper.features.transcription.source import Source as Source
    from minutekeeper.features.transcription.source import transcribe_source as transcribe_source

__all__, __getattr__ = public_api(__name__, __file__)
