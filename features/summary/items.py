"""Decisions, action items and open questions, found by cue patterns over the sentences of a
meeting and confirmed by a classifier over their embeddings.

Cue patterns find the candidates and say who is meant:
- a commitment ("I'll send…", "let me add…", "I can take…"): the speaker owns it;
- a request ("Carol, can you finish…?") answered yes in the next turn: the addressee owns it
  (a request answered "no" is not an action item);
- an offer taken ("Can someone…?" / "I'll do it."): whoever took it owns the asked-for task;
- a third person ("Raj is going to change…"), when the name is on the roster.
A hedge ("maybe", "at some point") or a past tense is not a commitment. The classifier
(`classifier.py`) drops candidates whose embedding reads like small talk.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from minutekeeper.features.summary.dates import PHRASE, Due, find_due
from minutekeeper.features.summary.summary import ActionItem, Point
from minutekeeper.features.summary.text import Sentence

_FLAGS = re.IGNORECASE
_COMMIT = re.compile(
    r"\b(?:I'll|I will|I'm going to|I am going to|I'm gonna|I can|let me|I shall)\s+"
    r"(?:also\s+|just\s+|then\s+|quickly\s+|still\s+|definitely\s+)?(?P<task>[a-z].*)",
    _FLAGS,
)
_REQUEST = re.compile(
    r"\b(?:can|could|would|will)\s+you\s+(?:please\s+|also\s+|maybe\s+)*(?P<task>[a-z].*)",
    _FLAGS,
)
_SOMEONE = re.compile(
    r"\b(?:can|could|would)\s+(?:someone|somebody|anyone|one of you)\s+(?P<task>[a-z].*)", _FLAGS
)
_HEDGE = re.compile(
    r"\b(?:maybe|might|perhaps|someday|at some point|one day|if we|would be nice|not sure|"
    r"i guess|i think i)\b",
    _FLAGS,
)
# Verbs after "I'll"/"I can" that do not commit to work ("I'll be honest", "I can see").
_NOT_TASKS = re.compile(
    r"^(?:be|see|say|tell you|imagine|think|guess|agree|live with|hear|only|not|never|try to "
    r"remember|admit|understand|start with|go first|just say|bet|wait|pass|stay on mute|"
    r"mute|unmute|"
    r"hear|share (?:my|your) screen|walk (?:us|you) through|repeat|go ahead|continue|"
    r"read (?:out|that out)|pull (?:up|that up)|scroll|show us|go back|unmute)\b",
    _FLAGS,
)
_ANAPHORIC = re.compile(
    r"^(?:do|take|handle|own|grab|pick up|pick)\s+(?:it|that|this)(?:\s+one)?(?:\s+up)?\s*[.!]?$",
    _FLAGS,
)
_CONTENT = re.compile(
    r"\b(?!(?:it|that|this|them|him|her|a|an|the|to|so|and|or|as|is)\b)[a-z]{2,}\b", _FLAGS
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|sure|okay|ok|of course|absolutely|no problem|will do|can do|on it|"
    r"sounds good|that's doable|happy to|definitely|i can|i'll|i will|fine)\b",
    _FLAGS,
)
_NO = re.compile(r"^(?:no\b|nope|sorry|i can't|i cannot|can't|not this|unfortunately)", _FLAGS)
_DECISION = re.compile(
    r"\b(?:we(?:'ve| have)? decided|decided to|it's decided|the decision is|we agreed|"
    r"we decide\b|(?:so |then )?we(?: all)? agree\b|"
    r"(?:that's|it's|that is|it is) (?:decided|settled|final)|"
    r"we're going with|then we're (?:doing|going)|let's go ahead with|we'll keep|"
    r"let's (?:just )?(?:go with|ship|use|keep|drop|move|make|demo|stick|launch|say|do)|"
    r"we(?:'ll| will) go with|we go with|agreed\.?\s+so|so we(?:'ll| will) (?:ship|go|use|move)|"
    r"make that the rule|we move the|then we)\b",
    _FLAGS,
)
_CONFIRM_ASK = re.compile(
    r"\b(?:everyone okay with that|is everyone okay with that|does that work for everyone|"
    r"all agreed|agreed)\?|^okay\?$",
    _FLAGS,
)
_AGREED = re.compile(r"^(?:okay,?\s+)?(?:agreed|settled|decided|deal)[.!]?$", _FLAGS)
_WE_DO = re.compile(r"we\s+(?!could|might|should|may|need)\w+", _FLAGS)  # "Agreed. We apply…"
_NOT_DECISION = re.compile(
    r"\blet's (?:get going|get started|keep this short|move on|start)\b", _FLAGS
)
_UNSURE = re.compile(
    r"\b(?:don't know|no idea|not sure|open question|leave (?:it|that) (?:open|as)|still open|"
    r"can't answer|real question|take it to|come back to|revisit|park (?:it|that)|tbd|"
    r"to be decided|question for|product call|nobody knows)\b",
    _FLAGS,
)
_TAG_QUESTION = re.compile(
    r"^(?:right|okay|ok|yeah|no|agreed|everyone okay with that|any questions|anything else)\b"
    r".{0,20}\?$",
    _FLAGS,
)


@dataclass(frozen=True)
class Turn:
    """Consecutive sentences of one speaker (a speaker turn, across segments)."""

    speaker: str
    sentences: tuple[Sentence, ...]

    @property
    def first(self) -> str:
        return self.sentences[0].text


def turns(sentences: Sequence[Sentence]) -> list[Turn]:
    found: list[Turn] = []
    for sentence in sentences:
        if found and found[-1].speaker == sentence.speaker:
            found[-1] = Turn(sentence.speaker, (*found[-1].sentences, sentence))
        else:
            found.append(Turn(sentence.speaker, (sentence,)))
    return found


def action_items(
    sentences: Sequence[Sentence], *, meeting_date: date | None, roster: Sequence[str]
) -> list[tuple[ActionItem, Sentence]]:
    """(item, the sentence it was found in), in meeting order."""
    found: list[tuple[ActionItem, Sentence]] = []
    spoken = turns(sentences)
    for number, turn in enumerate(spoken):
        reply = spoken[number + 1] if number + 1 < len(spoken) else None
        previous = spoken[number - 1] if number else None
        for sentence in turn.sentences:
            item = _item(sentence, turn, reply, previous, meeting_date, roster)
            if item is not None and not _repeats(item, found):
                found.append((item, sentence))
    return found


def _item(
    sentence: Sentence,
    turn: Turn,
    reply: Turn | None,
    previous: Turn | None,
    meeting_date: date | None,
    roster: Sequence[str],
) -> ActionItem | None:
    text = sentence.text
    if _HEDGE.search(text):
        return None
    cites = [sentence.citation]
    owner: str | None = None
    task: str | None = None
    if (request := _REQUEST.search(text)) and text.rstrip().endswith("?"):
        if reply is None or _NO.search(reply.first) or not _YES.search(reply.first):
            return None
        if _NOT_TASKS.search(request.group("task")):
            return None
        owner = _addressee(text, roster, exclude=turn.speaker) or reply.speaker
        task = request.group("task")
        cites.append(reply.sentences[0].citation)
    elif commit := _COMMIT.search(text):
        if text.rstrip().endswith("?") or _NOT_TASKS.search(commit.group("task")):
            return None
        owner, task = turn.speaker, commit.group("task")
        if _ANAPHORIC.search(task):  # "I'll do it." takes the task someone just asked for
            asked = _asked_task(previous)
            if asked is None:
                return None
            task, cites = asked[0], [asked[1].citation, *cites]
    elif named := _third_person(text, roster, exclude=turn.speaker):
        owner, task = named
    elif told := _told(text, roster, exclude=turn.speaker):
        owner, task = told
    if owner is None or task is None or len(_CONTENT.findall(_tidy(task))) < 2:
        return None  # "I'll wait", "Tell her": no task anyone could act on
    due = _due(sentence, turn, reply if owner == getattr(reply, "speaker", None) else None,
               meeting_date)  # fmt: skip
    return ActionItem(
        _tidy(task),
        owner,
        due.date if due else None,
        due.phrase if due else None,
        tuple(cites),
    )


def _due(
    sentence: Sentence, turn: Turn, reply: Turn | None, meeting_date: date | None
) -> Due | None:
    """The deadline in the sentence, else in the rest of the turn ("I'll do it by Tuesday"),
    else in the owner's reply to a request (without a meeting date, its day left open)."""
    after = turn.sentences[turn.sentences.index(sentence) :][:3]
    for candidate in [*after, *(reply.sentences[:2] if reply else ())]:
        if due := find_due(candidate.text, meeting_date):
            return due
    return None


def _asked_task(previous: Turn | None) -> tuple[str, Sentence] | None:
    if previous is None:
        return None
    for sentence in reversed(previous.sentences):
        if (asked := _SOMEONE.search(sentence.text)) or (asked := _REQUEST.search(sentence.text)):
            task = asked.group("task")
            if len(_CONTENT.findall(_tidy(task))) < 2:  # "grab that": the whole request says what
                task = re.sub(r"^(?:and|so|okay|also),?\s+", "", sentence.text, flags=_FLAGS)
            return task, sentence
    return None


def _mentioned(text: str, roster: Sequence[str], exclude: str) -> list[str]:
    """Roster names that occur in the text (a cheap test before the name patterns)."""
    lowered = text.lower()
    return [name for name in roster if name != exclude and name.lower() in lowered]


def _addressee(text: str, roster: Sequence[str], *, exclude: str) -> str | None:
    for name in _mentioned(text, roster, exclude):
        if re.search(rf"(?:^|,\s*){re.escape(name)}\b|\b{re.escape(name)}\?", text):
            return name
    return None


def _third_person(text: str, roster: Sequence[str], *, exclude: str) -> tuple[str, str] | None:
    for name in _mentioned(text, roster, exclude):
        pattern = (
            rf"\b{re.escape(name)}(?:\s+is|'s)\s+(?:going to|gonna)\s+(?P<task>[a-z].*)"
            rf"|\b{re.escape(name)}(?:\s+will|'ll)\s+(?P<task2>[a-z].*)"
        )
        if match := re.search(pattern, text, _FLAGS):
            return name, match.group("task") or match.group("task2")
    return None


_NOT_IMPERATIVE = re.compile(
    r"^(?:can|could|would|will|do|did|does|are|is|was|were|what|how|why|where|when|who|i|you|"
    r"we|it|that|this|there|thanks|thank|sorry|yes|yeah|no|okay|ok|right|hi|hello|good|great|"
    r"the|a|an|our|my|your|these|those|about|if|and|but|so|just)\b",
    _FLAGS,
)


def _told(text: str, roster: Sequence[str], *, exclude: str) -> tuple[str, str] | None:
    """ "Diego, set up a prep call by Tuesday." -- a task given by name, in the imperative."""
    if text.rstrip().endswith("?"):
        return None
    for name in _mentioned(text, roster, exclude):
        lead = rf"^(?:(?:okay|so|and|then|right),?\s+)?{re.escape(name)},\s+(?:please\s+)?"
        match = re.match(lead + r"(?P<task>(?-i:[a-z])[a-z'-]*\s.*)", text, _FLAGS)
        if match and not _NOT_IMPERATIVE.match(match.group("task")):
            return name, match.group("task")
    return None


def _repeats(item: ActionItem, found: list[tuple[ActionItem, Sentence]]) -> bool:
    """A reply that confirms a request ("Yes, I'll get it signed off") is the same item."""
    cited = {c.segment_id for c in item.citations}
    for earlier, _ in found[-3:]:
        if earlier.owner == item.owner and cited & {c.segment_id for c in earlier.citations}:
            return True
    return False


def _tidy(task: str) -> str:
    """The task as an imperative: the verb phrase, without its due phrase or trailing clause."""
    task = PHRASE.sub("", task)
    task = re.split(r"[!.;]|\?\s|,\s*(?:so|once|after|because|and then|but)\b", task + " ")[0]
    task = re.sub(r"\s+", " ", task).strip(" ,")
    return task[:1].upper() + task[1:]


def decisions(sentences: Sequence[Sentence]) -> list[tuple[Point, Sentence]]:
    found: list[tuple[Point, Sentence]] = []
    spoken = turns(sentences)
    for number, turn in enumerate(spoken):
        reply = spoken[number + 1] if number + 1 < len(spoken) else None
        for position, sentence in enumerate(turn.sentences):
            confirmed = bool(
                _CONFIRM_ASK.search(sentence.text) and reply and _YES.search(reply.first)
            ) or bool(
                position
                and _AGREED.match(turn.sentences[position - 1].text)
                and _WE_DO.match(sentence.text)
            )
            if not (_DECISION.search(sentence.text) or confirmed) or _HEDGE.search(sentence.text):
                continue
            if _NOT_DECISION.search(sentence.text) or _UNSURE.search(sentence.text):
                continue
            if "?" in sentence.text and not confirmed:
                continue
            chosen = list(turn.sentences[max(0, position - 1) : position + 1] if confirmed
                          else turn.sentences[position : position + 2])  # fmt: skip
            chosen = [s for s in chosen if not _CONFIRM_ASK.search(s.text)] or [sentence]
            if len(chosen) == 2 and (chosen[0].words >= 8 or chosen[1].text.endswith("?")):
                chosen = chosen[:1]
            text = " ".join(s.text for s in chosen)
            point = Point(text, tuple(s.citation for s in chosen))
            if not any(set(p.citations) & set(point.citations) for p, _ in found[-2:]):
                found.append((point, sentence))
    return found


def open_questions(sentences: Sequence[Sentence]) -> list[tuple[Point, Sentence]]:
    found: list[tuple[Point, Sentence]] = []
    spoken = turns(sentences)
    for number, turn in enumerate(spoken):
        for position, sentence in enumerate(turn.sentences):
            text = sentence.text
            if not text.endswith("?") or sentence.words < 5 or _TAG_QUESTION.search(text):
                continue
            if _REQUEST.search(text) or _SOMEONE.search(text):
                continue
            nearby = [*turn.sentences[max(0, position - 1) : position]]
            for later in spoken[number + 1 : number + 3]:
                nearby += later.sentences[:3]
            support = [s for s in nearby if _UNSURE.search(s.text)]
            if support:
                cited = sorted({sentence.citation, support[0].citation}, key=lambda c: c.start)
                found.append((Point(text, tuple(cited)), sentence))
    return found
