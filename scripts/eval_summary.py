"""Summary and question-answering quality on QMSum val (a script, not a test).

1. ROUGE-1/2/Lsum (rouge-score, Porter stemming, F1, macro average, x100) of the overview
   plus key points, one sentence per line, against the "summarize the whole meeting"
   reference (split into sentences, one per line), as the QMSum paper scores. Two floors
   are computed in the same run: the first 250 words of the transcript, and 110 random
   utterance words (seed 0).
2. Citation support: the share of summary items (overview, key points, decisions, action
   items, open questions) whose citations pass the grounding check. Target 100 %.
3. `ask` on the specific queries: ROUGE-1 of the answer against the annotated answer, and
   how often a cited sentence lies in the annotated span ("span hit").

Engines: extractive by default; --engine llm / hybrid use the LLM (embedded Gemma 3 270M
unless --llm) and take minutes per meeting on 2 cores, so --limit helps.
Target for the default engine: R-1 >= 27. Exit status 1 when the default misses it.

    .venv/bin/python scripts/eval_summary.py [--engine extractive] [--limit N] [--skip-ask]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qmsum

from minutekeeper.core.settings import Settings
from minutekeeper.features.summary import service
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.llm_engine import ModelTally
from minutekeeper.features.summary.summary import ActionItem, Chapter, Point, Summary
from minutekeeper.features.summary.text import sentences
from minutekeeper.models.registry import build_embedder, build_generator

TARGET_R1 = 27.0
_SENTENCE = re.compile(r"(?<=[.?!])\s+")


def lines(text: str) -> str:
    return "\n".join(s for s in _SENTENCE.split(text.strip()) if s)


class Rouge:
    def __init__(self) -> None:
        from rouge_score import rouge_scorer

        self._scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
        self.rows: dict[str, list[tuple[float, float, float]]] = {}

    def add(self, name: str, reference: str, candidate: str) -> None:
        scores = self._scorer.score(lines(reference), candidate)
        row = tuple(100 * scores[k].fmeasure for k in ("rouge1", "rouge2", "rougeLsum"))
        self.rows.setdefault(name, []).append(row)  # type: ignore[arg-type]

    def mean(self, name: str) -> tuple[float, float, float]:
        return tuple(np.mean(self.rows[name], axis=0).round(2))  # type: ignore[return-value]


def first_words(meeting: qmsum.Meeting, count: int) -> str:
    words = meeting.transcript.text.split()[:count]
    return lines(" ".join(words))


def random_utterances(meeting: qmsum.Meeting, count: int, rng: random.Random) -> str:
    segments = list(meeting.transcript.segments)
    rng.shuffle(segments)
    picked, total = [], 0
    for segment in segments:
        if total >= count:
            break
        picked.append(segment.text)
        total += len(segment.text.split())
    return "\n".join(picked)


def supported_share(summary: Summary, grounder: Grounder) -> tuple[int, int]:
    items = [*summary.overview, *summary.key_points, *summary.decisions, *summary.open_questions]
    claims = [Claim(p.text, tuple(c.segment_id for c in p.citations)) for p in items]
    claims += [
        Claim(a.task, tuple(c.segment_id for c in a.citations))
        for a in summary.action_items
        if isinstance(a, ActionItem)
    ]
    return sum(grounder.supported(c) for c in claims), len(claims)


@dataclass
class EngineRun:
    """One engine's figures over the meetings."""

    seconds: list[float] = field(default_factory=list)
    made_by: Counter[str] = field(default_factory=Counter)
    supported: int = 0
    items: int = 0
    written: int = 0  # generated items shown (not sentences of the meeting)
    dropped: int = 0  # generated items the grounding check dropped
    titles: int = 0
    phrase_titles: int = 0  # chapter titles that are short phrases, not keyword lists
    tally: ModelTally = field(default_factory=ModelTally)


def summarize(  # type: ignore[no-untyped-def]
    meeting: qmsum.Meeting, engine: str, run: EngineRun, embedder, generator, grounder: Grounder,
    *, extracted: set[str],
) -> Summary:  # fmt: skip
    """Summarize with `engine`, adding to its figures; `extracted`: the texts of the
    extractive summary's items, so what else is shown counts as generated."""
    began = time.perf_counter()
    summary = service.summarize_meeting(
        meeting.transcript, embedder=embedder, generator=generator,
        request=service.SummaryRequest(engine=engine), tally=run.tally,
    )  # fmt: skip
    run.seconds.append(time.perf_counter() - began)
    run.made_by[summary.engine] += 1
    good, count = supported_share(summary, grounder)
    run.supported, run.items = run.supported + good, run.items + count
    claims = [item for item in summary.items() if not isinstance(item, Chapter)]
    run.written += sum(text(item) not in extracted for item in claims)
    run.dropped += summary.dropped_claims
    run.titles += len(summary.chapters)
    run.phrase_titles += sum(is_phrase(c.title) for c in summary.chapters)
    return summary


def text(item: Point | ActionItem | Chapter) -> str:
    if isinstance(item, Chapter):
        return item.title
    return item.task if isinstance(item, ActionItem) else item.text


def is_phrase(title: str) -> bool:
    """A short phrase, as opposed to the keyword title ("Thanks, let's, netlify")."""
    return "," not in title and len(title.split()) <= 6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default=service.DEFAULT_ENGINE, choices=service.ENGINES)
    parser.add_argument("--llm", default=None, help="LLM name or folder (default: settings)")
    parser.add_argument("--limit", type=int, default=None, help="first N meetings only")
    parser.add_argument("--every", type=int, default=1, help="every Nth meeting (spread)")
    parser.add_argument("--data", type=Path, default=qmsum.DATA, help="a QMSum split folder")
    parser.add_argument("--skip-ask", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    embedder = build_embedder(settings)
    generator = None
    if args.engine != "extractive":
        generator = build_generator(settings, model=args.llm)
    # The extractive engine runs on every meeting too: the baseline, measured in the same run.
    engines = dict.fromkeys(["extractive", args.engine])
    runs = {engine: EngineRun() for engine in engines}
    rouge, rng = Rouge(), random.Random(0)
    hits = asked = 0
    for meeting in qmsum.meetings(folder=args.data)[:: args.every][: args.limit]:
        grounder = Grounder(sentences(meeting.transcript), embedder)
        extracted: set[str] = set()
        for engine in engines:
            summary = summarize(meeting, engine, runs[engine], embedder, generator, grounder,
                                extracted=extracted)  # fmt: skip
            extracted = extracted or {text(item) for item in summary.items()}
            produced = "\n".join(p.text for p in (*summary.overview, *summary.key_points))
            rouge.add(engine, meeting.reference, produced)
            print(f"{meeting.name:<16} {engine:<10} R-1 {rouge.rows[engine][-1][0]:5.1f}  "
                  f"{len(produced.split()):4d} words  {runs[engine].seconds[-1]:6.1f} s  "
                  f"notes: {len(summary.notes)}", flush=True)  # fmt: skip
        rouge.add("first 250 words", meeting.reference, first_words(meeting, 250))
        rouge.add("random ~110 words", meeting.reference, random_utterances(meeting, 110, rng))
        if not args.skip_ask:
            found, queries = ask(meeting, embedder, generator, args.engine, rouge)
            hits, asked = hits + found, asked + queries
    report(rouge, runs)
    if asked:
        print(f"ask span hit: {hits}/{asked} = {hits / asked:.1%}")
    r1 = rouge.mean(args.engine)[0]
    if args.engine == service.DEFAULT_ENGINE and args.limit is None and r1 < TARGET_R1:
        print(f"MISSED: R-1 {r1} < {TARGET_R1}")
        return 1
    return 0


def report(rouge: Rouge, runs: dict[str, EngineRun]) -> None:
    count = len(next(iter(runs.values())).seconds)
    print(f"\n{'':<22} {'R-1':>6} {'R-2':>6} {'R-Lsum':>7}   ({count} meetings)")
    for name in rouge.rows:
        r1, r2, rl = rouge.mean(name)
        print(f"{name:<22} {r1:6.2f} {r2:6.2f} {rl:7.2f}")
    for engine, run in runs.items():
        made_by = ", ".join(f"{name} {n}" for name, n in run.made_by.most_common())
        print(f"\n{engine}: summaries made by {made_by}")
        print(f"  time per meeting: mean {np.mean(run.seconds):.1f} s, "
              f"max {np.max(run.seconds):.1f} s")  # fmt: skip
        print(f"  citation support: {run.supported}/{run.items} items shown = "
              f"{run.supported / max(run.items, 1):.1%}")  # fmt: skip
        print(f"  chapter titles that are short phrases: {run.phrase_titles}/{run.titles}")
        if run.tally.calls:
            generated = run.written + run.dropped
            print(f"  model calls with valid JSON: {run.tally.valid}/{run.tally.calls} = "
                  f"{run.tally.valid / run.tally.calls:.1%}")  # fmt: skip
            print(f"  generated claims shown: {run.written}; dropped by the grounding "
                  f"check: {run.dropped}/{generated}")  # fmt: skip


def ask(meeting: qmsum.Meeting, embedder, generator, engine: str, rouge: Rouge) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    hits = 0
    for query in meeting.queries:
        answer = service.answer_question(
            meeting.transcript, query["query"], embedder=embedder, generator=generator,
            engine=engine,
        )  # fmt: skip
        rouge.add(f"ask ({engine})", query["answer"], lines(answer.text))
        span = {
            f"s{i + 1:04d}"
            for begin, end in query["relevant_text_span"]
            for i in range(int(begin), int(end) + 1)
        }
        hits += any(c.segment_id in span for c in answer.citations)
    return hits, len(meeting.queries)


if __name__ == "__main__":
    sys.exit(main())
