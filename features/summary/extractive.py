"""The extractive engine: every line it writes is a sentence of the meeting.

- content: greedy concept coverage picks the sentences that together hold most of the
  meeting's recurring content words, per word of length (Gillick & Favre style);
- salience: a sentence's similarity to the meeting as a whole (the centroid of all sentence
  embeddings) scales its gain up, favouring what the meeting keeps coming back to;
- diversity: its similarity to sentences already chosen scales the gain down (MMR), so the
  summary does not say one thing three times in different words;
- chapters: topic boundaries where the similarity between the sentences before and after a
  point dips deepest (TextTiling on embeddings); a chapter's title is its most distinctive
  words, its key point its most central sentence.
"""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from minutekeeper.features.summary.summary import Chapter, Point
from minutekeeper.features.summary.text import Sentence

# Chosen on QMSum val (scripts/eval_summary.py): a sentence shorter than MIN_WORDS rarely
# carries a point ("Okay, let's do that."); overview and key points together stop at about
# SUMMARY_WORDS (the human references are ~110 words).
MIN_WORDS = 8
SUMMARY_WORDS = 150
SALIENCE_WEIGHT = 2.0
REDUNDANCY = 0.3
OVERVIEW_SENTENCES = (3, 6)
OVERVIEW_WORDS = 80  # the overview stops growing past this (after its minimum of 3)
KEY_POINTS_MAX = 8
_WINDOW = 6  # sentences on each side when measuring topic change
_MIN_CHAPTER = 12  # sentences
_MAX_CHAPTERS = 8
_STOP = frozenset(
    """a about above after again all also am an and any are as at be because been before being
    both but by can could did do does doing down during each few for from further get got
    had has have having he her here hers him his how i if in into is it its itself just know
    let like me more most my no nor not now of off okay on once only or other our ours out
    over own really right same she should so some something such than that the their them
    then there these they thing things think this those through to too uh um under until up
    very was we well were what when where which while who whom why will with would yeah yes
    you your going gonna want one two mean actually maybe sort kind lot need say said see
    look good sure probably stuff way go us oh wanna ok alright also quite much many""".split()  # noqa: SIM905 (a word list reads best as words)
)
_TOKEN = re.compile(r"[a-z][a-z'-]{2,}")


@dataclass(frozen=True)
class Selection:
    overview: tuple[Point, ...]
    key_points: tuple[Point, ...]
    chapters: tuple[Chapter, ...]
    spans: tuple[tuple[int, int], ...] = ()  # each chapter's [begin, end) sentence range
    picked: tuple[int, ...] = ()  # the sentences behind the overview and key points


def salience(sentences: Sequence[Sentence], vectors: np.ndarray) -> tuple[list[int], np.ndarray]:
    """The sentences long enough to carry a point (all of them in a meeting too short to
    have such), and every sentence's similarity to those sentences' centroid."""
    candidates = [i for i, s in enumerate(sentences) if s.words >= MIN_WORDS]
    if not candidates:  # a short meeting: every sentence may speak for it
        candidates = list(range(len(sentences)))
    return candidates, vectors @ vectors[candidates].mean(axis=0)


def select(sentences: Sequence[Sentence], vectors: np.ndarray, *, duration: float) -> Selection:
    """Overview, key points and chapters from sentences and their unit embeddings."""
    if not sentences:
        return Selection((), (), ())
    candidates, weights = salience(sentences, vectors)
    picked = _cover(sentences, vectors, weights, candidates)
    overview: list[int] = []
    words = 0
    for index in picked:  # the strongest picks, until the overview is long enough
        if len(overview) >= OVERVIEW_SENTENCES[1] or (
            len(overview) >= OVERVIEW_SENTENCES[0] and words >= OVERVIEW_WORDS
        ):
            break
        overview.append(index)
        words += sentences[index].words
    key_points = [i for i in picked if i not in overview][:KEY_POINTS_MAX]
    spans = chapter_bounds(vectors)
    return Selection(
        overview=tuple(_point(sentences[i]) for i in sorted(overview)),
        key_points=tuple(_point(sentences[i]) for i in sorted(key_points)),
        chapters=_chapters(sentences, vectors, weights, candidates, spans, duration),
        spans=tuple(spans),
        picked=tuple(sorted([*overview, *key_points])),
    )


def _cover(
    sentences: Sequence[Sentence], vectors: np.ndarray, salience: np.ndarray, candidates: list[int]
) -> list[int]:
    """Greedy concept coverage: each step takes the sentence that adds the most not yet
    covered content words (weighted by log frequency in the meeting) per word of length,
    scaled up by its salience and down by its similarity to what is already chosen (MMR)."""
    words = [set(content_words(sentences[i].text)) for i in candidates]
    frequency = Counter(w for ws in words for w in ws)
    weight = {w: math.log1p(f) for w, f in frequency.items() if f >= 2}
    holders: dict[str, list[int]] = {}  # word -> positions in `candidates` that hold it
    for position, ws in enumerate(words):
        for w in ws & weight.keys():
            holders.setdefault(w, []).append(position)
    uncovered = np.array([sum(weight.get(w, 0.0) for w in ws) for ws in words])
    boost = np.array([(1 + SALIENCE_WEIGHT * float(salience[i])) / sentences[i].words
                      for i in candidates])  # fmt: skip
    rows = vectors[candidates]
    closest = np.zeros(len(candidates))  # each one's highest similarity to a chosen one
    taken = np.zeros(len(candidates), dtype=bool)
    chosen: list[int] = []
    length = 0
    while length < SUMMARY_WORDS:
        gain = uncovered * boost * (1 - REDUNDANCY * closest) if chosen else uncovered * boost
        gain[taken] = 0.0
        position = int(np.argmax(gain))
        if gain[position] <= 0:
            break
        best = candidates[position]
        taken[position] = True
        chosen.append(best)
        for w in words[position] & weight.keys():
            for holder in holders.pop(w, []):  # each word counts once, for the first taker
                uncovered[holder] -= weight[w]
        closest = np.maximum(closest, rows @ vectors[best])
        length += sentences[best].words
    return chosen or [max(candidates, key=lambda i: float(salience[i]))]


def _chapters(
    sentences: Sequence[Sentence],
    vectors: np.ndarray,
    salience: np.ndarray,
    candidates: list[int],
    bounds: list[tuple[int, int]],
    duration: float,
) -> tuple[Chapter, ...]:
    names = {w for s in sentences for w in _TOKEN.findall(s.speaker.lower())}
    counts = [  # people's names say who spoke, not what about
        Counter(w for s in sentences[b:e] for w in content_words(s.text) if w not in names)
        for b, e in bounds
    ]
    chapters = []
    for begin, end in bounds:
        inside = [i for i in candidates if begin <= i < end] or list(range(begin, end))
        local = vectors[inside].mean(axis=0)
        central = max(inside, key=lambda i: float(vectors[i] @ local) + float(salience[i]))
        last = sentences[end - 1].end if end < len(sentences) else max(duration, sentences[-1].end)
        chapters.append(
            Chapter(
                title=_title(counts, bounds.index((begin, end))),
                start=round(sentences[begin].start, 2),
                end=round(last, 2),
                citations=(sentences[begin].citation, sentences[central].citation),
            )
        )
    return tuple(chapters)


def content_words(text: str) -> list[str]:
    return [w for w in _TOKEN.findall(text.lower()) if w not in _STOP]


def _point(sentence: Sentence) -> Point:
    return Point(sentence.text, (sentence.citation,))


def chapter_bounds(vectors: np.ndarray) -> list[tuple[int, int]]:
    """[begin, end) sentence ranges of topics, by TextTiling depth scores on embeddings."""
    n = len(vectors)
    if n < 2 * _MIN_CHAPTER:
        return [(0, n)]
    gaps = np.zeros(n)
    for gap in range(1, n):
        before = vectors[max(0, gap - _WINDOW) : gap].mean(axis=0)
        after = vectors[gap : gap + _WINDOW].mean(axis=0)
        gaps[gap] = before @ after / max(np.linalg.norm(before) * np.linalg.norm(after), 1e-9)
    depth = np.zeros(n)
    for gap in range(1, n):
        left = gaps[max(1, gap - 3 * _WINDOW) : gap + 1].max()
        right = gaps[gap : gap + 3 * _WINDOW + 1].max()
        depth[gap] = (left - gaps[gap]) + (right - gaps[gap])
    wanted = min(_MAX_CHAPTERS - 1, n // (2 * _MIN_CHAPTER))
    cut_at = float(depth[1:].mean() + 0.5 * depth[1:].std())
    cuts: list[int] = []
    for gap in np.argsort(-depth, kind="stable"):
        if len(cuts) >= wanted or depth[gap] <= cut_at:
            break
        if all(abs(int(gap) - c) >= _MIN_CHAPTER for c in [0, n, *cuts]):
            cuts.append(int(gap))
    edges = [0, *sorted(cuts), n]
    return list(itertools.pairwise(edges))


def _title(counts: list[Counter[str]], chapter: int) -> str:
    """The chapter's most distinctive content words (frequent here, rare in other chapters)."""
    here = counts[chapter]
    spread = Counter(w for c in counts for w in c)

    def weight(word: str) -> float:
        return here[word] * math.log(1 + len(counts) / spread[word])

    ranked = sorted((w for w in here if here[w] >= 2 or len(here) < 12), key=lambda w: -weight(w))
    words = ranked[:3] or ["discussion"]
    return ", ".join(words).capitalize()
