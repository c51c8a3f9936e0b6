"""`ask`'s retrieval on hand-made sentences and scores (no model): what a question is about,
when a sentence counts as answering it, and decisions first when it asks what was decided."""

from __future__ import annotations

import numpy as np
import pytest

from minutekeeper.features.summary import retrieval
from minutekeeper.features.summary.text import Sentence
from tests.unit.test_summary_items import said


def test_a_question_is_about_its_topic_words_not_its_framing_or_the_speakers() -> None:
    speakers = ["Marketing", "Project Manager"]
    question = "What did Marketing think about the LCD screen when discussing the remote?"
    assert retrieval.topic_words(question, speakers) == {"lcd", "scree", "remot"}
    assert retrieval.topic_words("Summarize the whole meeting.", speakers) == set()


@pytest.mark.parametrize(
    ("question", "decision"),
    [
        ("What did we decide about the venue?", True),
        ("What was agreed on pricing?", True),
        ("What's the decision on hiring?", True),
        ("Which option did they go with?", True),
        ("When does calendar sync ship?", False),
        ("Who raised the venue?", False),
    ],
)
def test_a_question_asks_for_a_decision_by_its_words(question: str, decision: bool) -> None:
    assert retrieval.asks_for_decision(question) is decision


def sentences(*texts: str) -> list[Sentence]:
    return said(*(("Ann", text) for text in texts))


def test_a_sentence_saying_the_questions_rare_word_outranks_an_equally_close_one() -> None:
    meeting = sentences("The budget is fine.", "Marketing needs a budget.", "We met on Monday.")
    cosine = np.array([0.40, 0.40, 0.40])
    scores = retrieval.relevance("What is the marketing budget?", meeting, cosine, speakers=[])
    assert scores[1] > scores[0] > scores[2] == pytest.approx(0.40)
    assert scores[1] >= retrieval.RELEVANCE > scores[2]
    # A question without topic words is judged by closeness alone.
    same = retrieval.relevance("What did we say?", meeting, cosine, speakers=[])
    assert list(same) == list(cosine)


def test_nothing_answers_below_the_threshold_even_a_decision() -> None:
    scores = np.array([0.30, 0.20, 0.45])
    assert retrieval.answering(scores, decisions=[2]) == []
    assert retrieval.answering(scores, threshold=0.44) == [2]


def test_a_relevant_decision_comes_first() -> None:
    scores = np.array([0.10, 0.70, 0.60, 0.20])
    assert retrieval.answering(scores) == [1, 2]
    assert retrieval.answering(scores, decisions=[2]) == [2, 1]


def test_the_decision_that_settles_a_relevant_discussion_comes_first() -> None:
    scores = np.full(20, 0.10)
    scores[[1, 10]] = 0.70, 0.60  # two relevant sentences, each opening a discussion
    scores[[3, 13]] = 0.20, 0.30  # decisions after them, neither relevant by itself
    assert retrieval.answering(scores) == [1, 10]
    assert retrieval.answering(scores, decisions=[3]) == [3, 1, 10]
    # Of two settling decisions, the likelier one; a later decision settles nothing.
    assert retrieval.answering(scores, decisions=[3, 13]) == [13, 1, 10]
    assert retrieval.answering(scores, decisions=[1 + retrieval.DECISION_REACH + 1]) == [1, 10]
