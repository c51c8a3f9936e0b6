"""Set the grounding check's threshold on the QMSum validation split.

Supported pairs: each sentence of an annotator's answer to a specific query, against the
utterances of the transcript span the annotation cites. Unsupported pairs: the same
sentence against a span of the same length from the same meeting that does not overlap it
(the farthest such span). Prints both distributions and the threshold with the best
Youden's J (true-positive rate minus false-positive rate).

    .venv/bin/python scripts/calibrate_grounding.py
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import qmsum

from minutekeeper.core.settings import Settings
from minutekeeper.features.summary.grounding import Claim, Grounder
from minutekeeper.features.summary.text import sentences
from minutekeeper.models.registry import build_embedder


def main() -> None:
    embedder = build_embedder(Settings())
    positive, negative = [], []
    for meeting in qmsum.meetings():
        grounder = Grounder(sentences(meeting.transcript), embedder)
        ids = [s.id for s in meeting.transcript.segments]
        index = {s: i for i, s in enumerate(ids)}
        for query in meeting.queries:
            for begin, end in query["relevant_text_span"][:1]:
                span = [f"s{int(i) + 1:04d}" for i in range(int(begin), int(end) + 1)]
                span = [s for s in span if s in index][:40]
                if not span:
                    continue
                far = _far_span(len(span), index[span[0]], len(ids))
                other = ids[far : far + len(span)]
                for text in re.split(r"(?<=[.?!])\s+", query["answer"]):
                    if len(text.split()) < 5:
                        continue
                    positive.append(grounder.support(Claim(text, tuple(span))))
                    negative.append(grounder.support(Claim(text, tuple(other))))
    pos, neg = np.array(positive), np.array(negative)
    print(f"pairs: {len(pos)} supported, {len(neg)} unsupported")
    for name, values in (("supported", pos), ("unsupported", neg)):
        quantiles = np.percentile(values, [5, 25, 50, 75, 95]).round(3)
        print(f"{name:<12} p5/p25/p50/p75/p95 {quantiles}")
    best = max(np.arange(0.2, 0.8, 0.01), key=lambda t: (pos >= t).mean() - (neg >= t).mean())
    print(
        f"threshold {best:.2f}: keeps {(pos >= best).mean():.1%} of supported claims, "
        f"{(neg >= best).mean():.1%} of unsupported ones"
    )


def _far_span(length: int, start: int, total: int) -> int:
    """The start of a span of `length` as far from `start` as the meeting allows."""
    return 0 if start > total / 2 else max(total - length, 0)


if __name__ == "__main__":
    main()
