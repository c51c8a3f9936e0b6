"""`erase_person`: a person's right to erasure across everything minutekeeper keeps.

The features delete the person's words from what they store (meetings, drafts), then the
consent module erases their training candidates and artifact content, removes their name
and tombstones published exports (rule 13). In that order: if something fails part-way, the
person's name is still there to run it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from minutekeeper.consent import ConsentService
from minutekeeper.features.compose.store import erase_person as erase_drafts
from minutekeeper.features.meetings.media import delete_media
from minutekeeper.features.meetings.store import erase_speaker


@dataclass(frozen=True)
class ErasureReport:
    subject_id: str
    meetings: int
    drafts: int
    candidates: int
    artifacts: int
    exports: tuple[str, ...]


def erase_person(
    service: ConsentService,
    tenant_id: str,
    ref: str,
    *,
    actor_id: str,
    media_root: Path | None = None,
) -> ErasureReport:
    """Erase the tenant's person `ref` (an id, id prefix or name); the uploaded recordings
    of meetings they spoke in are deleted from `media_root`."""
    subject = service.find_subject(tenant_id, ref)
    name = subject.display_name
    changed = erase_speaker(service.engine, tenant_id, name) if name else []
    if media_root is not None:
        for meeting_id in changed:
            delete_media(media_root, meeting_id)
    drafts = erase_drafts(service.engine, tenant_id, subject_id=subject.id, name=name)
    erased = service.erase_subject(tenant_id, subject.id, actor_id=actor_id)
    return ErasureReport(
        subject.id, len(changed), drafts, erased.candidates, erased.artifacts, erased.exports
    )
