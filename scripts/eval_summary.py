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
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qmsum

from minutekeeper.core.settings import Settings
from minutekeeper.features.summary import service
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.summary import ActionItem, Summary
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


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default=service.DEFAULT_ENGINE, choices=service.ENGINES)
    parser.add_argument("--llm", default=None, help="LLM name or folder (default: settings)")
    parser.add_argument("--limit", type=int, default=None, help="first N meetings only")
    parser.add_argument("--skip-ask", action="store_true")
    args = parser.parse_args()
    settings = Settings()
    embedder = build_embedder(settings)
    generator = None
    if args.engine != "extractive":
        generator = build_generator(settings, model=args.llm)
    rouge, rng = Rouge(), random.Random(0)
    supported = total = hits = asked = dropped = 0
    seconds = []
    engines: Counter[str] = Counter()
    for meeting in qmsum.meetings(args.limit):
        began = time.perf_counter()
        summary = service.summarize_meeting(
            meeting.transcript,
            embedder=embedder,
            generator=generator,
            request=service.SummaryRequest(engine=args.engine),
        )
        seconds.append(time.perf_counter() - began)
        engines[summary.engine] += 1
        dropped += summary.dropped_claims
        produced = "\n".join(p.text for p in (*summary.overview, *summary.key_points))
        rouge.add(args.engine, meeting.reference, produced)
        rouge.add("first 250 words", meeting.reference, first_words(meeting, 250))
        rouge.add("random ~110 words", meeting.reference, random_utterances(meeting, 110, rng))
        good, count = supported_share(summary, Grounder(sentences(meeting.transcript), embedder))
        supported, total = supported + good, total + count
        words = len(produced.split())
        print(f"{meeting.name:<28} R-1 {rouge.rows[args.engine][-1][0]:5.1f}  {words:4d} words  "
              f"{seconds[-1]:5.1f} s  notes: {len(summary.notes)}", flush=True)  # fmt: skip
        if not args.skip_ask:
            found, queries = ask(meeting, embedder, generator, args.engine, rouge)
            hits, asked = hits + found, asked + queries
    print()
    print(f"{'':<22} {'R-1':>6} {'R-2':>6} {'R-Lsum':>7}   ({len(seconds)} meetings)")
    for name in rouge.rows:
        r1, r2, rl = rouge.mean(name)
        print(f"{name:<22} {r1:6.2f} {r2:6.2f} {rl:7.2f}")
    print(f"citation support: {supported}/{total} items = {supported / max(total, 1):.1%}")
    print(f"time per meeting: mean {np.mean(seconds):.1f} s, max {np.max(seconds):.1f} s")
    made_by = ", ".join(f"{name} {count}" for name, count in engines.most_common())
    print(f"summaries made by: {made_by}; generated claims dropped by grounding: {dropped}")
    if asked:
        print(f"ask span hit: {hits}/{asked} = {hits / asked:.1%}")
    r1 = rouge.mean(args.engine)[0]
    if args.engine == service.DEFAULT_ENGINE and args.limit is None and r1 < TARGET_R1:
        print(f"MISSED: R-1 {r1} < {TARGET_R1}")
        return 1
    return 0


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
