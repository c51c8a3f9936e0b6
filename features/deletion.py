"""`delete_meeting`: a meeting is taken back, and everything kept of it goes with it.

In one database transaction: the meeting (transcript, summary, speaker names), the drafts
written from it and the feedback on them, what the shell keeps of it (`hold`: the upload's
job row), and on the consent side (`ConsentService.delete_source`) the artifacts made from
it, emptied, their kept candidates, retired, their records in published exports,
tombstoned with reason `deleted`, and the words of the requests asking people about it.
The recording or tracks are set aside in that transaction and their bytes removed once it
has committed.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection

from minutekeeper.consent import ConsentService, Removal
from minutekeeper.features.compose.store import TakenDrafts, take_drafts_of
from minutekeeper.features.meetings.errors import MeetingNotFound
from minutekeeper.features.meetings.media import put_back, set_aside, set_aside_folders
from minutekeeper.features.meetings.store import StoredMeeting, existing, lookup, remove_meeting
from minutekeeper.features.offers import speaker_claims

log = logging.getLogger("minutekeeper.deletion")

# Run in the deleting transaction with the meeting's id, before anything is deleted.
Hold = Callable[[Connection, str], None]


def _nothing_held(conn: Connection, meeting_id: str) -> None:
    return None


@dataclass(frozen=True)
class MeetingDeleted:
    meeting_id: str
    drafts: tuple[str, ...]
    artifacts: int  # emptied
    candidates: int  # kept ones retired
    exports: tuple[str, ...]  # published exports whose records got tombstones
    # Who may hold copies of its words elsewhere (its owner, the drafts' authors) and the
    # words, for the stores that keep copies (stored API answers); never printed or kept.
    people: tuple[str, ...] = ()
    words: tuple[str, ...] = field(default=(), repr=False)


def delete_meeting(
    service: ConsentService,
    tenant_id: str,
    ref: str,
    *,
    owner_id: str | None,
    actor_id: str,
    media_root: Path | None,
    hold: Hold = _nothing_held,
    exact: bool = False,
) -> MeetingDeleted:
    """Delete the tenant's meeting `ref` (its id, or unless `exact` a prefix only it
    starts with; with `owner_id`, only that person's meetings are looked at, so anyone
    else's reads as missing) and everything kept of it (see the module docstring).

    All or nothing. The database changes are one transaction: anything raised in it
    (`hold` refusing, a database error) leaves every row as it was, and the recording,
    set aside in it, is put back. Its bytes are removed only after the commit; a crash in
    between leaves them set aside (`.deleted-<id>`, never served), and the next deletion
    removes them. `hold(conn, meeting_id)` runs first in the transaction: the shell
    refuses there while a job still works on the meeting, and deletes the job's row."""
    if media_root is not None:
        _sweep(service, media_root)
    taken: list[tuple[StoredMeeting, TakenDrafts]] = []
    aside: list[Path] = []

    def remove(conn: Connection) -> Removal:
        stored = lookup(conn, tenant_id, ref, owner_id=owner_id, lock=True)
        meeting_id = stored.info.id
        if exact and meeting_id != ref:
            raise MeetingNotFound(f"no meeting {ref!r}")
        hold(conn, meeting_id)
        drafts = take_drafts_of(conn, tenant_id, meeting_id)
        remove_meeting(conn, tenant_id, meeting_id)
        taken.append((stored, drafts))
        if media_root is not None and (folder := set_aside(media_root, meeting_id)):
            aside.append(folder)
        return Removal(("meeting", meeting_id), tuple(("draft", d) for d in drafts.ids),
                       bindings=_bindings(stored))  # fmt: skip

    try:
        deleted = service.delete_source(tenant_id, actor_id=actor_id, remove=remove)
    except BaseException:
        for folder in aside:
            put_back(folder)
        raise
    for folder in aside:
        _remove(folder)
    stored, drafts = taken[0]
    said = [s.text for s in stored.transcript.segments]
    return MeetingDeleted(
        stored.info.id, drafts.ids, len(deleted.artifacts), len(deleted.candidates),
        deleted.exports, people=tuple(dict.fromkeys([stored.owner_id, *drafts.authors])),
        words=tuple(dict.fromkeys([*said, *drafts.words])),
    )  # fmt: skip


def _bindings(stored: StoredMeeting) -> tuple[str, ...]:
    """The bindings of the claims any speaker of the meeting could have been named by (a
    binding holds the meeting, the label and its words, not the person named)."""
    anyone = {s.id: f"named {s.id}" for s in stored.transcript.speakers}  # never UNKNOWN
    claims = speaker_claims(("meeting", stored.info.id), stored.transcript, anyone)
    return tuple(ConsentService.binding(claim) for claim in claims)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    if folder.exists():  # left for the next deletion's sweep
        log.warning("could not remove the recording set aside at %s", folder.name)


def _sweep(service: ConsentService, media_root: Path) -> None:
    """Remove recordings set aside by deletions that committed but did not get to remove
    them; those of a deletion still under way (its meeting still there) are left to it."""
    found = set_aside_folders(media_root)
    if not found:
        return
    still = existing(service.engine, list(found))
    for meeting_id, folder in found.items():
        if meeting_id not in still:
            _remove(folder)
