"""A small classifier over sentence embeddings: action item, decision, or neither.

It is trained when first used (a fraction of a second) on the hand-written, generic seed
sentences below, which come from no evaluation meeting. The cue patterns in `items.py` find
candidates and who owns them; the classifier confirms that a candidate reads like its kind,
and drops ones that only look like it on the surface ("I'll be honest with you").
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

import numpy as np

from minutekeeper.models.embeddings import Embedder

ACTION, DECISION, OTHER = "action", "decision", "other"
# A candidate is dropped only when the classifier is fairly sure it is something else.
MIN_PROBABILITY = 0.2

SEEDS: dict[str, tuple[str, ...]] = {
    ACTION: (
        "I'll send the updated report to the client by Friday.",
        "I will write up the meeting notes and share them tomorrow.",
        "Let me check with legal and get back to you next week.",
        "Can you prepare the slides for the board meeting?",
        "Could you fix the login bug before the release?",
        "I can take care of booking the venue.",
        "I'm going to draft the proposal over the weekend.",
        "She will call the supplier about the late delivery.",
        "I'll follow up with the vendor on the invoice.",
        "Can someone update the wiki page with the new process?",
        "I'll review your pull request this afternoon.",
        "Please send me the budget numbers by Monday.",
        "I will set up the test environment for the pilot.",
        "Let me schedule a call with their engineering team.",
        "I'll put together a short survey for the users.",
        "He is going to migrate the database next sprint.",
        "I'll ask finance for the quarterly figures.",
        "Could you book a room for the workshop on Thursday?",
    ),
    DECISION: (
        "We decided to postpone the launch until March.",
        "Let's go with the cheaper hosting option.",
        "So we agreed to keep the current pricing for now.",
        "Okay, it's decided, we hire the second candidate.",
        "We will use Postgres instead of MongoDB.",
        "Let's drop the mobile app from this release.",
        "The decision is to move the team meeting to Tuesdays.",
        "Agreed, we ship the feature behind a flag.",
        "Then we keep the old design and revisit it next quarter.",
        "We're going with vendor B for the printers.",
        "Let's make weekly releases the rule from now on.",
        "So the plan is final: two teams, one backlog.",
    ),
    OTHER: (
        "I'll be honest, I didn't expect that.",
        "Can you hear me okay?",
        "Could you share your screen?",
        "I can see the slides now.",
        "Let me think about it for a second.",
        "I sent the report to them yesterday.",
        "We could maybe look at caching someday.",
        "Good morning, everyone.",
        "That sounds really interesting.",
        "I think the numbers look fine.",
        "Yeah, I agree with that.",
        "The weather has been terrible this week.",
        "Sorry, I was on mute.",
        "The server crashed twice last month.",
        "How was your holiday?",
        "Customers complained about the speed.",
        "I don't know, it depends on the budget.",
        "Can you go back to the previous slide?",
        "I'll be quick, there is not much to report.",
        "It might be nice to have dark mode at some point.",
    ),
}


class ItemClassifier:
    """One logistic regression per kind (action or decision) against `OTHER`, balanced."""

    def __init__(self, embedder: Embedder) -> None:
        from sklearn.linear_model import LogisticRegression

        vectors = {label: embedder.embed(list(texts)) for label, texts in SEEDS.items()}
        self._models = {}
        for label in (ACTION, DECISION):
            rows = np.vstack([vectors[label], vectors[OTHER]])
            target = [1] * len(vectors[label]) + [0] * len(vectors[OTHER])
            model = LogisticRegression(C=4.0, max_iter=1000, class_weight="balanced")
            self._models[label] = model.fit(rows, target)

    def probability(self, vectors: np.ndarray, label: str) -> np.ndarray:
        """P(label) for each row, against small talk and other non-items."""
        if len(vectors) == 0:
            return np.zeros(0)
        scores: np.ndarray = self._models[label].predict_proba(vectors)[:, 1]
        return scores

    def confirms(self, vectors: np.ndarray, label: str) -> Sequence[bool]:
        return [bool(p >= MIN_PROBABILITY) for p in self.probability(vectors, label)]


_TRAINED: weakref.WeakKeyDictionary[Embedder, ItemClassifier] = weakref.WeakKeyDictionary()


def classifier_for(embedder: Embedder) -> ItemClassifier:
    """The classifier trained on this embedder's vectors, trained once per embedder."""
    if embedder not in _TRAINED:
        _TRAINED[embedder] = ItemClassifier(embedder)
    return _TRAINED[embedder]
