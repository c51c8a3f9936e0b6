"""Who sees a saved meeting: its owner, and each member who confirmed that words in it are
theirs, for as long as that confirmation stands. Nobody else: another member's meeting
reads exactly as one that does not exist.

A speaker named after a member is only a claim (`features.attribution`); a name typed by
the owner shares nothing. The meeting is shared with a member while all of this holds:

- they answered "that's me" to the request about one of its speakers, and the ledger's
  newest answer on that request's binding is still that confirmation (`consent`'s
  `standing_confirmations`: a rename away voids it, a later "not me" replaces it);
- that speaker is still named as the member is called now (renamed away, it is not theirs);
- the speaker's words are still the words they confirmed (the binding holds them).

A person they share it with reads it (listed, searched, its page, transcript, summary,
recording, questions); renaming its speakers and deleting it stay its owner's
(`NotMeetingOwner`). Guests hold no token, so nothing is ever shared with one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from minutekeeper.consent import ConsentService, Principal
from minutekeeper.features.meetings.errors import MeetingNotFound, NotMeetingOwner
from minutekeeper.features.meetings.search import SearchHit, SearchQuery, find_hits
from minutekeeper.features.meetings.store import (
    LIST_LIMIT,
    MeetingInfo,
    StoredMeeting,
    find_meeting,
    list_meetings,
    transcripts_of,
)
from minutekeeper.features.offers import speaker_claims

MeetingRole = Literal["owner", "participant"]
OWNER: MeetingRole = "owner"
PARTICIPANT: MeetingRole = "participant"


def shared_with(service: ConsentService, person: Principal) -> frozenset[str]:
    """The ids of the other members' meetings shared with `person` now (module docstring)."""
    confirmed = service.standing_confirmations(person, "meeting")
    if not confirmed:
        return frozenset()
    name = service.find_subject(person.tenant_id, person.subject_id).display_name
    transcripts = transcripts_of(service.engine, person.tenant_id,
                                 {r.source_id for r in confirmed})  # fmt: skip
    shared = set()
    for request in confirmed:
        transcript = transcripts.get(request.source_id)
        if transcript is None or name is None:
            continue
        named = {s.id for s in transcript.speakers if (s.name or "").strip() == name}
        if request.label not in named:
            continue
        source = ("meeting", request.source_id)
        claims = speaker_claims(source, transcript, {request.label: person.subject_id})
        if any(service.binding(claim) == request.binding for claim in claims):
            shared.add(request.source_id)
    return frozenset(shared)


def visible_meeting(service: ConsentService, person: Principal, ref: str) -> StoredMeeting:
    """The person's meeting, or one shared with them, by id or id prefix; anyone else's
    reads as missing (`MeetingNotFound`)."""
    return find_meeting(service.engine, person.tenant_id, ref, owner_id=person.subject_id,
                        shared=shared_with(service, person))  # fmt: skip


def owned_meeting(
    service: ConsentService, person: Principal, ref: str, *, exact: bool = False
) -> StoredMeeting:
    """The person's own meeting (by id or, unless `exact`, id prefix), for what only its
    owner does: a meeting shared with them is refused (`NotMeetingOwner`), anyone else's
    reads as missing."""
    stored = visible_meeting(service, person, ref)
    if exact and stored.info.id != ref:
        raise MeetingNotFound(f"no meeting {ref!r}")
    if stored.owner_id != person.subject_id:
        raise NotMeetingOwner(
            f"meeting {stored.info.id} is shared with you: only its owner renames its "
            "speakers or deletes it"
        )
    return stored


def visible_meetings(
    service: ConsentService,
    person: Principal,
    *,
    after: str | None = None,
    limit: int | None = LIST_LIMIT,
) -> list[MeetingInfo]:
    """The person's meetings and those shared with them, newest first (`list_meetings`)."""
    return list_meetings(service.engine, person.tenant_id, owner_id=person.subject_id,
                         shared=shared_with(service, person), after=after,
                         limit=limit)  # fmt: skip


def search_meetings(
    service: ConsentService,
    person: Principal,
    query: SearchQuery,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Where `query` is said in the meetings the person sees, and only those (`find_hits`)."""
    return find_hits(service.engine, person.tenant_id, query, owner_id=person.subject_id,
                     shared=shared_with(service, person), after=after,
                     limit=limit)  # fmt: skip


def role_of(person: Principal, owner_id: str) -> MeetingRole:
    """`owner` for the person's own meeting, `participant` for one shared with them."""
    return OWNER if owner_id == person.subject_id else PARTICIPANT


def owner_names(
    service: ConsentService, person: Principal, owner_ids: Iterable[str]
) -> dict[str, str]:
    """The names of the owners of meetings shared with the person (their own left out)."""
    return {
        owner_id: service.find_subject(person.tenant_id, owner_id).display_name or "(erased)"
        for owner_id in set(owner_ids) - {person.subject_id}
    }
