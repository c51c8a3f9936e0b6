"""`erase_person`: a person's right to erasure across everything minutekeeper keeps.

The features delete the person's words from what they store (meetings, drafts), then the
consent module erases their training candidates and artifact content, removes their name
and tombstones published exports (rule 13). In that order: if something fails part-way, the
person's name is still there to run it again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    # The words deleted, for the callers that keep copies (stored answers, job messages) to
    # find them; never printed or stored.
    words: tuple[str, ...] = field(default=(), repr=False)


def erase_person(
    service: ConsentService,
    tenant_id: str,
    ref: str,
    *,
    actor_id: str,
    media_root: Path | None = None,
) -> ErasureReport:
    """Erase the tenant's person `ref` (an id, id prefix or name): their words wherever a
    claim attributed them to the person or their current name stands beside them, and the
    uploaded recordings of the meetings they spoke in, from `media_root`."""
    subject = service.find_subject(tenant_id, ref)
    name = subject.display_name
    claimed = service.claimed_sources(tenant_id, subject.id)
    by_kind: dict[str, dict[str, set[str]]] = {"meeting": {}, "draft": {}}
    for (kind, source_id), labels in claimed.items():
        by_kind.setdefault(kind, {})[source_id] = labels
    changed, said = erase_speaker(service.engine, tenant_id, name=name, labels=by_kind["meeting"])
    if media_root is not None:
        for meeting_id in changed:
            delete_media(media_root, meeting_id)
    drafts, wrote = erase_drafts(service.engine, tenant_id, subject_id=subject.id, name=name,
                                 labels=by_kind["draft"])  # fmt: skip
    erased = service.erase_subject(tenant_id, subject.id, actor_id=actor_id)
    return ErasureReport(
        subject.id, len(changed), drafts, erased.candidates, erased.artifacts, erased.exports,
        words=tuple(dict.fromkeys([*said, *wrote, *([name] if name else [])])),
    )  # fmt: skip
