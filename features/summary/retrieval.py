"""`ask`'s retrieval: which sentences of a meeting answer a question, and when none does.

A sentence's relevance is its cosine similarity to the question plus a lexical share: how
much of what the question names (its content words, each weighted by how rare it is in the
meeting) the sentence says. A question whose words the meeting never uses needs a sentence
very close in meaning to count as answered; one whose words a sentence repeats needs less.
Question framing ("what did … think about", "summarize the discussion") and the speakers'
names (who, not what) are not content words.

When the question names a speaker ("What did Marketing think about the buttons?"), that
speaker's sentences rank higher; what they said still has to be relevant. Once a sentence
answers, the answer quotes up to QUOTED sentences from different moments (APART sentences
apart), which may be a little less relevant (NEAR) than the first.

"What did we decide about X" prefers decision sentences (found by the summary's cue patterns
and classifier): a relevant decision comes first, and so does the decision that settles what
a relevant sentence opened ("Second topic, pricing." ... "So let's go with a single annual
plan."), which rarely repeats the topic's words itself.

RELEVANCE, LEXICAL, SPEAKER, NEAR and APART were chosen on the QMSum train split, with
questions borrowed from meetings of another domain as real negatives
(`scripts/eval_summary.py --ask-only`; figures at neighbouring thresholds and on val in the
README): LEXICAL, SPEAKER, NEAR and APART from plateaus (each within a point of span hit over
a range at least twice as wide), RELEVANCE where both targets hold with room on each side.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Collection, Sequence

import numpy as np

from minutekeeper.features.summary.extractive import content_words
from minutekeeper.features.summary.text import Sentence

RELEVANCE = 0.51  # the best sentence scoring less: the question is not answered
LEXICAL = 0.3  # the weight of the lexical share beside the cosine
SPEAKER = 0.2  # added to the rank (not the relevance) of a named speaker's sentences
NEAR = 0.1  # once answered, quoted sentences may score this much below RELEVANCE
APART = 10  # quoted sentences are at least this many sentences apart (different moments)
RETRIEVE = 6  # sentences considered
QUOTED = 3  # sentences an answer quotes or builds on
DECISION_REACH = 6  # sentences after a relevant one in which a decision may settle it
_STEM = 5  # words are compared by their first letters ("decided", "decision")
_FRAME = frozenset(
    """summarize summarise summary describe discuss discussed discussing discussion
    discussions talk talked talking mention mentioned thought thinks opinion opinions view
    views meeting meetings group team everyone people please tell whole overall give made
    decide decided decides deciding decision decisions agree agreed agreement conclude
    concluded conclusion outcome settle settled choose chose chosen did didn't does doesn't
    don't what's who's how's where's when's why's was wasn't were weren't is isn't are
    aren't we'll we've we're they're it's that's there's let's""".split()  # noqa: SIM905 (a word list reads best as words)
)
_DECISION_QUESTION = re.compile(
    r"\b(?:decid\w*|decisions?|agree(?:d|ment)?|conclu\w+|settled?|outcome|chose|choose|"
    r"chosen|go(?:ing)? with)\b",
    re.IGNORECASE,
)


def asks_for_decision(question: str) -> bool:
    """Whether the question asks what was decided ("what did we decide about X")."""
    return bool(_DECISION_QUESTION.search(question))


def _stems(text: str, *, leave_out: Collection[str] = ()) -> set[str]:
    return {
        word.split("'")[0][:_STEM]
        for word in content_words(text)
        if word not in _FRAME and word not in leave_out
    }


def named_speakers(question: str, speakers: Collection[str]) -> set[str]:
    """The speakers the question names: by a word of their name that no other speaker's
    name has, as written ("What did Alice think", "the Professor", "What did F think" of
    "PhD F"; "a" is not "PhD A", "marketing plan" not "Marketing"), or by their whole name
    of two words or more in any case ("project manager")."""
    owners: dict[str, set[str]] = {}
    for name in speakers:
        for word in re.findall(r"[\w'-]+", name):
            owners.setdefault(word, set()).add(name)
    named = {name for word, (name, *rest) in owners.items() if not rest and _says(question, word)}
    lowered = question.lower()
    whole = {name for name in speakers if len(name.split()) > 1 and _says(lowered, name.lower())}
    return named | whole


def _says(text: str, words: str) -> bool:
    return re.search(rf"(?<![\w'-]){re.escape(words)}(?![\w'-])", text) is not None


def topic_words(question: str, speakers: Collection[str]) -> set[str]:
    """What the question is about: its content words (by their first letters), without
    the framing and the speakers' names."""
    return _stems(question, leave_out={word for name in speakers for word in content_words(name)})


def relevance(
    question: str, said: Sequence[Sentence], cosine: np.ndarray, *, speakers: Collection[str]
) -> np.ndarray:
    """Each sentence's relevance to the question: its cosine plus LEXICAL times the share
    of the question's content words (weighted by rarity in the meeting) it says."""
    asked = topic_words(question, speakers)
    if not asked:
        return cosine
    spoken = [_stems(s.text) for s in said]
    found = Counter(stem for stems in spoken for stem in stems & asked)
    rarity = {stem: math.log((len(said) + 1) / (found[stem] + 0.5)) for stem in asked}
    total = sum(rarity.values())
    share = np.array([sum(rarity[stem] for stem in stems & asked) for stems in spoken]) / total
    scores: np.ndarray = cosine + LEXICAL * share
    return scores


def answering(
    scores: np.ndarray,
    *,
    decisions: Collection[int] = (),
    threshold: float = RELEVANCE,
    named: np.ndarray | None = None,
) -> list[int]:
    """The sentences that answer, best first; none when no sentence reaches `threshold`.
    Then up to RETRIEVE sentences within NEAR of it, APART from each other, ranked with
    SPEAKER added for those of `named` (a mask of the sentences of the speakers the
    question names). With `decisions`, those come first: the relevant ones, and the
    likeliest of those that settle a quoted sentence's discussion (the first decision after
    it)."""
    if not len(scores) or scores.max() < threshold:
        return []
    rank = scores + SPEAKER * named if named is not None else scores
    hits: list[int] = []
    for i in (int(i) for i in np.argsort(-rank, kind="stable")):
        if len(hits) == RETRIEVE or rank[i] < threshold - NEAR:
            break
        if scores[i] >= threshold - NEAR and all(abs(i - hit) >= APART for hit in hits):
            hits.append(i)
    relevant = sorted((d for d in decisions if scores[d] >= threshold), key=lambda d: -scores[d])
    settling = [d for hit in hits if (d := _settles(hit, decisions)) is not None]
    best = [max(settling, key=lambda d: scores[d])] if settling else []
    return list(dict.fromkeys([*relevant, *best, *hits]))[:QUOTED]


def _settles(sentence: int, decisions: Collection[int]) -> int | None:
    """The first decision in the DECISION_REACH sentences after `sentence`, if any."""
    after = [d for d in decisions if 0 < d - sentence <= DECISION_REACH]
    return min(after, default=None)
