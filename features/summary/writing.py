"""Written overview sentences and chapter titles from the extractive selection: a few
small model calls per chapter.

A small model on two CPU cores cannot read a whole meeting in reasonable time, and loses
the JSON shape in long answers. So each chapter's call shows it only the chapter's
strongest sentences (about `PASSAGE_WORDS` words: the extractive picks in it first, then
the most central sentences) and asks for one written sentence on what was discussed
(three, one call each, for a meeting of one chapter, so that the overview has a few);
a second call names the chapter from that sentence. Each call's answer is one JSON string
decoded under a constraint (`llm_engine.generate_string`). Each written sentence goes
through the grounding check against the sentences shown and cites those that support it;
one they do not support is dropped and counted. A title is kept only if it is a short
phrase that names something the chapter says; otherwise the chapter keeps its keyword
title."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from minutekeeper.features.summary import extractive, prompts
from minutekeeper.features.summary.errors import InvalidModelOutput
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.llm_engine import ModelTally, generate_string
from minutekeeper.features.summary.summary import Point
from minutekeeper.features.summary.text import Sentence
from minutekeeper.models.llm import ChatMessage, TextGenerator

PASSAGE_WORDS = 120
OVERVIEW_SENTENCES = 3  # at least, when the chapters allow; one per chapter otherwise
SENTENCE_TOKENS = 64  # 25 words take about 35
TITLE_TOKENS = 16
CITED_MAX = 3
TITLE_WORDS = 6
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")
_NOT_A_PHRASE = re.compile(r"[{}\[\]\n]")
# Words that fit any chapter: a title must name something besides them ("Meeting minutes").
_GENERIC = frozenset(
    {"meeting", "minutes", "discussion", "discussed", "summary", "overview", "agenda", "notes"}
    | {"update", "updates", "topic", "topics", "part", "team", "group"}
)
_JOINING = frozenset({"and", "for", "in", "of", "on", "with", "to", "from", "about", "at"})


@dataclass
class Written:
    """What the model wrote and the grounding check kept."""

    overview: list[Point] = field(default_factory=list)  # what each chapter was about
    titles: list[str | None] = field(default_factory=list)  # per chapter; None: keep keywords
    dropped: int = 0
    failed: int = 0  # chapters whose answer was not the JSON asked for, even when retried


class ChapterWriter:
    def __init__(
        self, generator: TextGenerator, grounder: Grounder, *, tally: ModelTally | None = None
    ) -> None:
        self._generator = generator
        self._grounder = grounder
        self._tally = tally if tally is not None else ModelTally()

    def write(
        self, said: Sequence[Sentence], vectors: np.ndarray, selection: extractive.Selection
    ) -> Written:
        candidates, weights = extractive.salience(said, vectors)
        picked = set(selection.picked)
        order = sorted(candidates, key=lambda i: (i not in picked, -float(weights[i])))
        per_chapter = max(1, OVERVIEW_SENTENCES // max(len(selection.spans), 1))
        written = Written()
        for begin, end in selection.spans:
            shown = sorted(_passage([i for i in order if begin <= i < end], said))
            if not shown:  # only short remarks ("Okay.", "Right, yeah."): nothing to write from
                written.titles.append(None)
                continue
            lines = [f"{said[i].speaker}: {said[i].text}" for i in shown]
            told = self._sentences(prompts.chapter_messages(lines, sentences=per_chapter),
                                   count=per_chapter, written=written)  # fmt: skip
            written.titles.append(self._title(told[0], said[begin:end], written) if told else None)
            cited = tuple(dict.fromkeys(said[i].segment_id for i in shown))
            for sentence in told:
                if any(p.text == sentence.strip() for p in written.overview):
                    continue  # a model may say the same of two chapters
                point = self._grounded(sentence, cited)
                if point is None:
                    written.dropped += 1
                else:
                    written.overview.append(point)
        return written

    def _sentences(self, messages: list[ChatMessage], *, count: int, written: Written) -> list[str]:
        """Up to `count` sentences, one call each, each call continuing the last: a stop
        at each sentence's end keeps a looping model from running on."""
        told: list[str] = []
        try:
            while len(told) < count:
                more = generate_string(self._generator, messages, key="summary", sentence=True,
                                       begun=" ".join(told), max_new=SENTENCE_TOKENS,
                                       tally=self._tally)  # fmt: skip
                if not more:
                    break
                told.append(more)
        except InvalidModelOutput:
            written.failed += 1
        return told

    def _title(self, summary: str, chapter: Sequence[Sentence], written: Written) -> str | None:
        try:
            title = generate_string(self._generator, prompts.title_messages(summary), key="title",
                                    max_new=TITLE_TOKENS, tally=self._tally)  # fmt: skip
        except InvalidModelOutput:
            written.failed += 1
            return None
        return title_phrase(title, chapter)

    def _grounded(self, text: str, shown: tuple[str, ...]) -> Point | None:
        """The sentence citing the shown segments that support it, or None if none does."""
        supporting = self._grounder.supporting(Claim(text, shown))[:CITED_MAX]
        if not supporting:
            return None
        in_order = [s for s in shown if s in supporting]
        return Point(text.strip(), self._grounder.citations(in_order))


def _passage(ranked: Sequence[int], said: Sequence[Sentence]) -> list[int]:
    """The first of `ranked` until they hold `PASSAGE_WORDS` words."""
    chosen: list[int] = []
    words = 0
    for index in ranked:
        if words >= PASSAGE_WORDS:
            break
        chosen.append(index)
        words += said[index].words
    return chosen


def title_phrase(text: str, chapter: Sequence[Sentence]) -> str | None:
    """A short phrase (not a list of keywords) naming something said in the chapter, or
    None. A word counts as said when a word of the chapter starts with its first five
    letters ("designs" matches "design"); words that fit any chapter ("meeting", "topic")
    do not count. A long answer is cut to its head: before a colon
    or comma, or before a joining word ("Word sequences for annotation and time
    differences in diff" -> "Word sequences for annotation")."""
    said = {w[:5] for s in chapter for w in extractive.content_words(s.text)}
    for part in re.split(r"[:,;]", text):
        words = part.strip().strip("\"'.*#").split()
        while len(words) > TITLE_WORDS:
            joins = [i for i in range(2, TITLE_WORDS + 1) if words[i].lower() in _JOINING]
            words = words[: joins[-1]] if joins else []
        title = " ".join(words)
        if len(words) < 2 or _NOT_A_PHRASE.search(title):
            continue
        named = [w for w in extractive.content_words(title) if w not in _GENERIC]
        if any(w[:5] in said for w in named):
            return title[0].upper() + title[1:]
    return None
