"""Whose words are whose, as the people named confirm it: what a rename does to the claims
about a meeting, and offering a meeting again once everyone named in it has confirmed.

A rename is the owner's new claim: each renamed label's words are released from whoever
held them (their confirmation voided, what was kept on it tombstoned at once) and claimed
for the member now named, who is asked (or, naming yourself, confirms). The answers
themselves are the named person's own act (`ConsentService.answer_attribution`).
"""

from __future__ import annotations

from minutekeeper.consent import AttributionRequest, ConsentService, Principal
from minutekeeper.features.compose.store import draft_author, get_draft
from minutekeeper.features.meetings.store import StoredMeeting, find_meeting
from minutekeeper.features.offers import (
    Offers,
    Outcome,
    Provenance,
    speaker_claims,
    speaker_subjects,
    thread_authors,
    thread_claims,
)


def renamed(
    service: ConsentService,
    before: StoredMeeting,
    after: StoredMeeting,
    *,
    renamer: Principal,
    via: str,
) -> None:
    """Bring the claims about a meeting in line with its speakers' new names."""
    source = ("meeting", after.info.id)
    old = speaker_subjects(service, after.tenant_id, before.transcript)
    new = speaker_subjects(service, after.tenant_id, after.transcript)
    changed = {label for label in new if old.get(label) != new[label]}
    if not changed:
        return
    was = {c.label: c for c in speaker_claims(source, before.transcript, old)}
    released = {
        service.binding(was[label]): new[label] for label in sorted(changed) if label in was
    }
    service.release(renamer, released, via=via)
    claims = [c for c in speaker_claims(source, after.transcript, new) if c.label in changed]
    service.attribute(after.tenant_id, claims, claimed_by=renamer, via=via)


def offer_again(
    service: ConsentService, offers: Offers, answered: AttributionRequest
) -> list[Outcome]:
    """After a person confirmed words are theirs: the saved meeting or draft they are in,
    offered again once no claim about it waits for an answer or was refused (an unsaved
    transcript has nothing saved to offer)."""
    if answered.status != "confirmed":
        return []
    if answered.source_kind == "meeting":
        return offer_when_confirmed(service, offers, answered.tenant_id, answered.source_id)
    if answered.source_kind == "draft":
        return _draft_when_confirmed(service, offers, answered.tenant_id, answered.source_id)
    return []


def _draft_when_confirmed(
    service: ConsentService, offers: Offers, tenant_id: str, draft_id: str
) -> list[Outcome]:
    """A draft offered again, at the time it was written, reading the claims made then;
    what was kept of it before is superseded so exports do not hold both."""
    author = draft_author(service.engine, tenant_id=tenant_id, draft_id=draft_id)
    if author is None or service.open_claims(tenant_id, "draft", draft_id):
        return []
    stored = get_draft(service.engine, tenant_id=tenant_id, author_id=author, draft_id=draft_id)
    claims = thread_claims(stored, thread_authors(service, stored))
    service.supersede(tenant_id, claims, actor_id="attribution")
    return offers.draft(tenant_id, author_id=author, draft_id=draft_id, via="attribution",
                        claims_made=True)  # fmt: skip


def offer_when_confirmed(
    service: ConsentService, offers: Offers, tenant_id: str, meeting_id: str
) -> list[Outcome]:
    """Offer a saved meeting again, at its original content time, once no claim about it
    waits for an answer or was refused: its speakers' confirmations may now let it in."""
    if service.open_claims(tenant_id, "meeting", meeting_id):
        return []
    stored = find_meeting(service.engine, tenant_id, meeting_id)
    if stored.summary is None:
        return []
    subjects = speaker_subjects(service, tenant_id, stored.transcript)
    claims = speaker_claims(("meeting", meeting_id), stored.transcript, subjects)
    service.supersede(tenant_id, claims, actor_id="attribution")
    return offers.summary(tenant_id, stored.transcript, stored.summary,
                          model_id=stored.summary.engine,
                          provenance=Provenance.of_meeting(stored))  # fmt: skip
