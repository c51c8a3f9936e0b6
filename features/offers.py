"""What the features produce, offered to the consent gate as training data.

Each function turns a feature's result into `consent.capture.Offer`s: the example as chat
messages (system, user, assistant), its contributors as subjects, and the roster whose
names redaction hides. `Offers.offer_safely` hands them to the gate, and it is the one
place a failure to do so is caught: the feature's own result (a summary, an answer, a draft) never
depends on what the gate decides, nor on whether the gate could be asked.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from minutekeeper.consent import (
    UNKNOWN_SPEAKER,
    ArtifactKind,
    Claim,
    ConsentService,
    DataClass,
    Item,
    Offer,
    Person,
    Principal,
    Redactor,
    Role,
    Utterance,
    capture_offer,
)
from minutekeeper.features.compose.store import StoredDraft, get_draft
from minutekeeper.features.meetings.store import StoredMeeting, find_meeting
from minutekeeper.features.summary.prompts import PROMPT_VERSION as SUMMARY_PROMPT
from minutekeeper.features.summary.render import to_markdown
from minutekeeper.features.summary.summary import Answer, Summary
from minutekeeper.features.transcription.transcript import Segment, Transcript

log = logging.getLogger("minutekeeper.offers")
CAPTURE_FAILED = "CAPTURE_FAILED"

ANSWER_SYSTEM = "Answer the question from the meeting transcript excerpts."
SUMMARY_SYSTEM = (
    "Summarize the meeting transcript: an overview, key points, decisions, action items "
    "with owners and due dates, and open questions."
)


# A stated day starts earliest in the earliest time zone: content said to be from that day
# can be no older than this (a later real time only makes it newer).
EARLIEST_ZONE = timezone(timedelta(hours=14))


@dataclass(frozen=True)
class Provenance:
    """Where offered content came from: who uploaded it (they vouch for its time: their own
    words), the day it was said to be from (a claim: it only ever makes content older), and
    when it reached the server (None: now)."""

    uploader: str | None
    meeting_date: date | None = None
    received_at: datetime | None = None
    # What the words belong to, for the claims that name people in it ("meeting", id);
    # None: an unsaved transcript. `via`: what the uploader came through.
    source: tuple[str, str] | None = None
    via: str = "system"
    # Whether the uploader acted in their own session (a token, the web, a single-user
    # install's owner): only then does naming a speaker as themselves confirm it.
    speaks_for_self: bool = True
    # A saved source's claims were made when it was saved: offering it again only reads
    # them (it never confirms or asks anything anew).
    claims_made: bool = False
    # A time stated for the content other than a day (a thread message's timestamp).
    stated_at: datetime | None = None

    @property
    def stated(self) -> datetime | None:
        """The content's stated time: the start of its day in the earliest time zone."""
        stated = [self.stated_at] if self.stated_at is not None else []
        if self.meeting_date is not None:
            stated.append(datetime.combine(self.meeting_date, time.min, tzinfo=EARLIEST_ZONE))
        return min(stated, default=None)

    @classmethod
    def of_meeting(cls, stored: StoredMeeting) -> Provenance:
        """A saved meeting's: its owner uploaded it, on its stated day, when it was saved.
        Its claims were made then; offering it again confirms nothing new."""
        return cls(stored.owner_id, stored.info.meeting_date, stored.info.created_at,
                   source=("meeting", stored.info.id), claims_made=True)  # fmt: skip

    def timed(self, offer: Offer, attributions: Mapping[str, tuple[tuple[str, str], ...]]) -> Offer:
        """`offer` with this content time, arrival and voucher, the claims that name its
        contributors, and the saved source it was made from (deleting that deletes it)."""
        return replace(
            offer,
            content_time=self.stated,
            received_at=self.received_at,
            vouched_by=(self.uploader,) if self.uploader else (),
            attributions={s: c for s, c in attributions.items() if s in offer.contributors},
            source=offer.source or self.source,
        )


def voices(segment: Segment, subjects: Mapping[str, str]) -> tuple[str, ...]:
    """Whose words a segment may hold: its speaker's, and where another track was louder
    over it (microphone bleed), that person's too."""
    labels = (segment.speaker,) if segment.louder is None else (segment.speaker, segment.louder)
    return tuple(subjects.get(label, UNKNOWN_SPEAKER) for label in labels)


def speaker_claims(
    source: tuple[str, str], transcript: Transcript, subjects: Mapping[str, str]
) -> list[Claim]:
    """Each named speaker's segments, claimed to be that person's words. A segment another
    track was louder over is nobody's to claim: it is most likely the louder one's words."""
    claims = []
    for speaker in transcript.speakers:
        subject = subjects.get(speaker.id, UNKNOWN_SPEAKER)
        if subject == UNKNOWN_SPEAKER:
            continue
        items = tuple(
            Item(s.id, s.text, s.start, s.end)
            for s in transcript.segments
            if s.speaker == speaker.id and s.louder is None
        )
        if items:
            claims.append(Claim(source[0], source[1], speaker.id, subject, items))
    return claims


def transcript_source(transcript: Transcript) -> tuple[str, str]:
    """An unsaved transcript's source: its words' hash."""
    return "transcript", hashlib.sha256(transcript.text.encode("utf-8")).hexdigest()[:32]


def speaker_subjects(
    service: ConsentService, tenant_id: str, transcript: Transcript
) -> dict[str, str]:
    """Speaker id -> subject: members by name, other named speakers as guests, unnamed
    speakers as UNKNOWN."""
    names = [s.name for s in transcript.speakers]
    subjects = service.subjects_for_names(tenant_id, names)
    return {s.id: subject for s, subject in zip(transcript.speakers, subjects, strict=True)}


def meeting_offers(
    transcript: Transcript,
    summary: Summary,
    subjects: Mapping[str, str],
    *,
    model_id: str,
) -> list[Offer]:
    """The summary (a whole example: every speaker must consent, and the person whose track
    was louder over a segment too) and the transcript (segment-level: the consenting
    speakers' segments alone, never one another track was louder over)."""
    names = {s.id: s.name or s.id for s in transcript.speakers}
    lines = "\n".join(f"{names[s.speaker]}: {s.text}" for s in transcript.segments)
    spoke = tuple(dict.fromkeys(v for s in transcript.segments for v in voices(s, subjects)))
    # A segment heard louder on another track is no one's own words: unknown, so dropped.
    said = tuple(
        Utterance(subjects[s.speaker] if s.louder is None else UNKNOWN_SPEAKER, s.text)
        for s in transcript.segments
    )
    roster = {subjects[s.id]: Person(s.name) for s in transcript.speakers if s.name}
    summary_text = to_markdown(summary)
    return [
        Offer(
            kind=ArtifactKind.MEETING_SUMMARY,
            data_class=DataClass.DERIVED_CONTENT,
            task="meeting_summary",
            input={"transcript": lines},
            output={"summary": summary_text},
            contributors=spoke,
            messages=(
                {"role": "system", "content": SUMMARY_SYSTEM},
                {"role": "user", "content": lines},
                {"role": "assistant", "content": summary_text},
            ),
            roster=roster,
            model_id=model_id,
            prompt_version=SUMMARY_PROMPT,
        ),
        Offer(
            kind=ArtifactKind.TRANSCRIPT,
            data_class=DataClass.CUSTOMER_CONTENT,
            task="transcript",
            input={"source": transcript.source},
            output={"segments": [{"id": s.id, "text": s.text} for s in transcript.segments]},
            contributors=tuple(dict.fromkeys([*spoke, *(u.contributor for u in said)])),
            utterances=said,
            roster=roster,
            model_id=model_id,
        ),
    ]


def answer_offer(
    transcript: Transcript,
    answer: Answer,
    subjects: Mapping[str, str],
    *,
    asker: str,
    model_id: str,
) -> Offer | None:
    """An answer as an example: the cited segments and the question in, the answer out.
    The contributors are the person who asked and the speakers of the cited segments. An
    answer that found nothing teaches nothing and is not offered."""
    if not answer.found or not answer.citations:
        return None
    names = {s.id: s.name or s.id for s in transcript.speakers}
    by_id = {s.id: s for s in transcript.segments}
    cited = [by_id[c.segment_id] for c in answer.citations if c.segment_id in by_id]
    excerpt = "\n".join(f"{names[s.speaker]}: {s.text}" for s in cited)
    asked = f"{excerpt}\nQuestion: {answer.question}"
    roster = {subjects[s.id]: Person(s.name) for s in transcript.speakers if s.name}
    return Offer(
        kind=ArtifactKind.MEETING_ANSWER,
        data_class=DataClass.DERIVED_CONTENT,
        task="meeting_answer",
        input={"question": answer.question, "segments": [s.id for s in cited]},
        output={"answer": answer.text},
        contributors=tuple(
            dict.fromkeys([asker, *(v for s in cited for v in voices(s, subjects))])
        ),
        messages=(
            {"role": "system", "content": ANSWER_SYSTEM},
            {"role": "user", "content": asked},
            {"role": "assistant", "content": answer.text},
        ),
        author=asker,
        roster=roster,
        model_id=model_id,
        prompt_version=SUMMARY_PROMPT,
    )


def draft_offer(
    stored: StoredDraft,
    authors: Mapping[str, str],
    *,
    meeting_contributors: Sequence[str] = (),
) -> Offer:
    """A draft as an example: the thread and instruction in, the text the user actually
    sent out (CHAT_FINAL) when there is feedback, else the draft (CHAT_DRAFT). The
    contributors are the requesting user, the authors of the messages the prompt showed
    (`authors`: name -> subject), and for a follow-up the meeting's speakers."""
    request = stored.request
    thread = "\n".join(f"{m.author}: {m.text}" for m in stored.thread)
    ask = f"Write {request.user}'s {request.mode} in a {request.tone} tone ({request.length})."
    if request.instruction.strip():
        ask += f" Instruction: {request.instruction.strip()}"
    final = stored.feedback is not None
    target = stored.feedback.sent_text if stored.feedback is not None else stored.draft.text
    contributors = (
        stored.author_id,
        *(authors[m.author] for m in stored.thread),
        *meeting_contributors,
    )
    roster = {subject: Person(name) for name, subject in authors.items()}
    return Offer(
        kind=ArtifactKind.CHAT_FINAL if final else ArtifactKind.CHAT_DRAFT,
        data_class=DataClass.CUSTOMER_CONTENT if final else DataClass.DERIVED_CONTENT,
        task="chat_draft",
        input={"draft_id": stored.id, "thread": thread, "ask": ask},
        output={"text": target},
        contributors=tuple(dict.fromkeys(contributors)),
        messages=(
            {"role": "system", "content": f"You write chat messages for {request.user}."},
            {"role": "user", "content": f"{thread}\n{ask}".strip()},
            {"role": "assistant", "content": target},
        ),
        author=stored.author_id,
        roster=roster,
        model_id=stored.model_id,
        prompt_version=stored.prompt_version,
        source=("draft", stored.id),
    )


def thread_authors(service: ConsentService, stored: StoredDraft) -> dict[str, str]:
    """Each typed author's name in the draft's thread -> subject (members by name, others
    as guests)."""
    names = list(dict.fromkeys(m.author for m in stored.thread))
    subjects = service.subjects_for_names(stored.tenant_id, names)
    return dict(zip(names, subjects, strict=True))


def thread_claims(stored: StoredDraft, authors: Mapping[str, str]) -> list[Claim]:
    """Each typed author's messages in the draft's thread, claimed to be theirs."""
    return [
        Claim("draft", stored.id, name, subject,
              tuple(Item(m.id, m.text) for m in stored.thread if m.author == name))
        for name, subject in authors.items()
    ]  # fmt: skip


def stored_draft_offers(
    service: ConsentService,
    tenant_id: str,
    *,
    author_id: str,
    draft_id: str,
    via: str,
    speaks_for_self: bool = True,
    claims_made: bool = False,
) -> list[Offer]:
    """The offer for a kept draft (or, once it has feedback, the text actually sent), at
    the time it was written. The thread was pasted and its authors typed: each member
    named is asked whether those messages are theirs (the user's own confirm at once);
    offered again (`claims_made`), the claims are only read. A follow-up's contributors
    include its meeting's speakers, as that meeting's uploader claimed them; one written
    from a summary that names no meeting has no known speakers, so they count as unknown."""
    stored = get_draft(service.engine, tenant_id=tenant_id, author_id=author_id, draft_id=draft_id)
    authors = thread_authors(service, stored)
    claims = thread_claims(stored, authors)
    user = Principal(tenant_id, author_id, Role.MEMBER)
    attributions = (
        service.claimed(tenant_id, claims)
        if claims_made
        else service.attribute(tenant_id, claims, claimed_by=user, via=via,
                               speaks_for_self=speaks_for_self)
    )  # fmt: skip
    heard: list[str] = []
    # Written when the draft was made, its author vouching for that (the text sent later
    # is judged at that earlier time); a pasted message's own timestamp only ever makes
    # the content older.
    provenance = Provenance(author_id, received_at=stored.created_at,
                            stated_at=_earliest(m.time for m in stored.thread))  # fmt: skip
    if stored.request.mode == "followup" and stored.meeting_id is not None:
        meeting = find_meeting(service.engine, tenant_id, stored.meeting_id)
        subjects = speaker_subjects(service, tenant_id, meeting.transcript)
        heard = list(subjects.values())
        # The meeting's words, as its uploader claimed them when it was saved, at its time.
        said = speaker_claims(("meeting", meeting.info.id), meeting.transcript, subjects)
        for subject, pairs in service.claimed(tenant_id, said).items():
            attributions[subject] = (*attributions.get(subject, ()), *pairs)
        provenance = replace(provenance, meeting_date=meeting.info.meeting_date,
                             received_at=meeting.info.created_at)  # fmt: skip
    elif stored.request.mode == "followup":
        heard = [UNKNOWN_SPEAKER]
    offer = draft_offer(stored, authors, meeting_contributors=heard)
    return [provenance.timed(offer, attributions)]


def _earliest(stamps: Iterable[str | None]) -> datetime | None:
    """The earliest of a thread's message times that parse (ISO 8601; no zone: UTC+14,
    the earliest reading)."""
    parsed = []
    for stamp in stamps:
        try:
            moment = datetime.fromisoformat((stamp or "").strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        parsed.append(moment if moment.tzinfo else moment.replace(tzinfo=EARLIEST_ZONE))
    return min(parsed, default=None)


@dataclass(frozen=True)
class Outcome:
    """What the gate did with one offer: kept as a training candidate, or why not."""

    kind: str  # the artifact kind, or "all" when capture failed before any decision
    kept: bool
    reasons: tuple[str, ...] = ()
    error: str | None = None  # the failure's type, never its message (it may quote content)


class Offers:
    """Offers a process's results to the consent gate: every entry point's one way in.
    Nothing here ever raises: the user already has their result, whatever the gate says
    and whether or not it could be asked."""

    def __init__(self, service: ConsentService, redactor: Callable[[], Redactor]) -> None:
        self._service = service
        self._redactor = redactor  # built on first use: it costs a second

    def offer_safely(self, tenant_id: str, offers: Callable[[], Sequence[Offer]]) -> list[Outcome]:
        """Capture what `offers` makes; a failure is logged by its type alone and returned
        as an outcome."""
        try:
            made = offers()
            if not made:  # an answer that found nothing: no redactor loaded for it
                return []
            redactor = self._redactor()
            captured = [capture_offer(self._service, redactor, tenant_id, o) for o in made]
        except Exception as error:
            log.warning("training capture failed: %s", type(error).__name__)
            failed = Outcome(
                "all", kept=False, reasons=(CAPTURE_FAILED,), error=type(error).__name__
            )
            return [failed]
        return [
            Outcome(
                c.artifact.kind.value, kept=c.candidate_id is not None, reasons=tuple(c.excluded)
            )
            for c in captured
        ]

    def summary(
        self,
        tenant_id: str,
        transcript: Transcript,
        summary: Summary,
        *,
        model_id: str,
        provenance: Provenance,
    ) -> list[Outcome]:
        """A summarized meeting: its summary and its transcript."""

        def offers() -> list[Offer]:
            subjects = self._subjects(tenant_id, transcript)
            claims = self._claims(tenant_id, transcript, subjects, provenance)
            made = meeting_offers(transcript, summary, subjects, model_id=model_id)
            return [provenance.timed(offer, claims) for offer in made]

        return self.offer_safely(tenant_id, offers)

    def answer(
        self,
        tenant_id: str,
        transcript: Transcript,
        answer: Answer,
        *,
        asker: str,
        model_id: str,
        provenance: Provenance,
    ) -> list[Outcome]:
        """An answer about a meeting (one that found nothing is not offered); the
        meeting's `provenance` times it."""

        def offers() -> list[Offer]:
            subjects = self._subjects(tenant_id, transcript)
            offer = answer_offer(transcript, answer, subjects, asker=asker, model_id=model_id)
            if offer is None:
                return []
            claims = self._claims(tenant_id, transcript, subjects, provenance)
            return [provenance.timed(offer, claims)]

        return self.offer_safely(tenant_id, offers)

    def draft(
        self,
        tenant_id: str,
        *,
        author_id: str,
        draft_id: str,
        via: str,
        speaks_for_self: bool = True,
        claims_made: bool = False,
    ) -> list[Outcome]:
        """A kept draft, or once it has feedback, the text actually sent."""
        return self.offer_safely(
            tenant_id,
            lambda: stored_draft_offers(
                self._service,
                tenant_id,
                author_id=author_id,
                draft_id=draft_id,
                via=via,
                speaks_for_self=speaks_for_self,
                claims_made=claims_made,
            ),
        )

    def _subjects(self, tenant_id: str, transcript: Transcript) -> dict[str, str]:
        return speaker_subjects(self._service, tenant_id, transcript)

    def _claims(
        self,
        tenant_id: str,
        transcript: Transcript,
        subjects: Mapping[str, str],
        provenance: Provenance,
    ) -> dict[str, tuple[tuple[str, str], ...]]:
        """The uploader's claims about who spoke: confirmed for themselves, asked of the
        other members named."""
        if provenance.uploader is None:
            return {}
        source = provenance.source or transcript_source(transcript)
        uploader = Principal(tenant_id, provenance.uploader, Role.MEMBER)
        claims = speaker_claims(source, transcript, subjects)
        if provenance.claims_made:
            return self._service.claimed(tenant_id, claims)
        return self._service.attribute(tenant_id, claims, claimed_by=uploader,
                                       via=provenance.via,
                                       speaks_for_self=provenance.speaks_for_self)  # fmt: skip
