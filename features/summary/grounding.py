"""The grounding check: a claim stays only if what it cites says it.

Support is the highest cosine similarity between the claim's embedding and the embedding
of any cited segment or of any sentence in one. A claim with no valid citation, or whose
support is below `SUPPORT_THRESHOLD`, is unsupported and dropped.

The threshold comes from the QMSum validation split (scripts/calibrate_grounding.py):
answer sentences written by annotators against the transcript span they cite (supported)
and against a span of the same meeting far from it (unsupported); the threshold is the one
that separates the two best (Youden's J). Re-run the script after changing the embedder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from minutekeeper.features.summary.summary import Citation
from minutekeeper.features.summary.text import Sentence
from minutekeeper.models.embeddings import Embedder

_JOINED_MAX = 4  # sentences; longer segments pass the embedder's 128-token window
SUPPORT_THRESHOLD = 0.43  # calibrate_grounding.py: keeps 77 % supported, 15 % unsupported


@dataclass(frozen=True)
class Claim:
    text: str
    segment_ids: tuple[str, ...]


class Grounder:
    """Checks claims against the meeting, embedding each cited source once."""

    def __init__(
        self,
        sentences: Sequence[Sentence],
        embedder: Embedder,
        *,
        vectors: np.ndarray | None = None,
    ) -> None:
        """`vectors`: the sentences' embeddings when the caller has them already."""
        self._embedder = embedder
        self._vectors = vectors
        self._by_segment: dict[str, list[Sentence]] = {}
        for sentence in sentences:
            self._by_segment.setdefault(sentence.segment_id, []).append(sentence)
        self._cache: dict[str, np.ndarray] = {}

    def known(self, segment_id: str) -> bool:
        return segment_id in self._by_segment

    def citations(self, segment_ids: Sequence[str]) -> tuple[Citation, ...]:
        return tuple(
            self._by_segment[s][0].citation for s in dict.fromkeys(segment_ids) if self.known(s)
        )

    def support(self, claim: Claim) -> float:
        return max(self._scores(claim).values(), default=0.0)

    def supported(self, claim: Claim, threshold: float = SUPPORT_THRESHOLD) -> bool:
        return self.support(claim) >= threshold

    def supporting(self, claim: Claim, threshold: float = SUPPORT_THRESHOLD) -> tuple[str, ...]:
        """The cited segments that support the claim each on its own, strongest first: a
        claim written from several segments then cites those that say it, not all it was
        shown. Empty exactly when `supported` is False."""
        scores = self._scores(claim)
        strong = [s for s in scores if scores[s] >= threshold]
        return tuple(sorted(strong, key=lambda s: -scores[s]))

    def _scores(self, claim: Claim) -> dict[str, float]:
        """Each valid cited segment's support for the claim."""
        cited = [s for s in dict.fromkeys(claim.segment_ids) if self.known(s)]
        if not cited or not claim.text.strip():
            return {}
        (vector,) = self._embedder.embed([claim.text])
        return {s: float(np.max(self._sources(s) @ vector)) for s in cited}

    def _sources(self, segment_id: str) -> np.ndarray:
        """Each sentence of the segment, and the segment whole when it is short enough for
        the embedder to read all of it (a claim may join two of its sentences)."""
        if segment_id not in self._cache:
            said = self._by_segment[segment_id]
            joined = [" ".join(s.text for s in said)] if 1 < len(said) <= _JOINED_MAX else []
            if self._vectors is not None:
                known = self._vectors[[s.index for s in said]].copy()
                missing = [i for i, row in enumerate(known) if not row.any()]  # not embedded
                if missing:
                    known[missing] = self._embedder.embed([said[i].text for i in missing])
                self._cache[segment_id] = np.vstack([known, self._embedder.embed(joined)])
            else:
                self._cache[segment_id] = self._embedder.embed([*joined, *(s.text for s in said)])
        return self._cache[segment_id]
