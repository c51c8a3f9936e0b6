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
    assert retrieval.answering(np.array([])) == []


def test_once_answered_the_quotes_come_from_different_moments_a_little_below_the_bar() -> None:
    scores = np.full(40, 0.10)
    scores[[5, 6]] = 0.70, 0.69  # one moment: the second sentence adds nothing new
    scores[20] = retrieval.RELEVANCE - retrieval.NEAR / 2  # another moment, nearly as close
    scores[35] = retrieval.RELEVANCE - retrieval.NEAR * 2  # too far below to quote
    assert retrieval.answering(scores) == [5, 20]
    # Without a sentence reaching the threshold, the nearly-relevant ones answer nothing.
    scores[[5, 6]] = 0.10
    assert retrieval.answering(scores) == []


def test_a_named_speakers_sentence_ranks_first_but_must_still_be_relevant() -> None:
    scores = np.full(40, 0.10)
    scores[[2, 14, 26]] = 0.80, 0.62, 0.60
    scores[38] = retrieval.RELEVANCE - retrieval.NEAR / 2  # said by the named speaker
    named = np.zeros(40, dtype=bool)
    named[[30, 38]] = True  # 30 is theirs but irrelevant
    assert retrieval.answering(scores) == [2, 14, 26]
    assert retrieval.answering(scores, named=named) == [2, 38, 14]
    scores[[2, 14, 26]] = 0.10  # their sentence alone does not make the question answered
    assert retrieval.answering(scores, named=named) == []


@pytest.mark.parametrize(
    ("question", "named"),
    [
        ("What did Alice think about the budget?", {"Alice Moreau"}),
        ("what did the project manager say about the LCD?", {"Project Manager"}),
        ("What did F think about the XML format?", {"PhD F"}),
        ("What did the Professor think about hiring?", {"Professor B"}),
        ("Was a decision made about the buttons?", set()),  # "a" is not "PhD A"
        ("What did the PhD students say?", set()),  # two speakers are PhDs
        ("How was the marketing plan received?", set()),  # "Marketing" is a role
    ],
)
def test_a_question_names_a_speaker_by_a_word_only_they_have_or_their_whole_name(
    question: str, named: set[str]
) -> None:
    speakers = ["Alice Moreau", "Project Manager", "Marketing", "PhD A", "PhD F", "Professor B"]
    assert retrieval.named_speakers(question, speakers) == named


def test_a_relevant_decision_comes_first() -> None:
    scores = np.full(20, 0.10)
    scores[[1, 12]] = 0.70, 0.60
    assert retrieval.answering(scores) == [1, 12]
    assert retrieval.answering(scores, decisions=[12]) == [12, 1]


def test_the_decision_that_settles_a_relevant_discussion_comes_first() -> None:
    scores = np.full(30, 0.10)
    scores[[1, 15]] = 0.70, 0.60  # two relevant sentences, each opening a discussion
    scores[[3, 18]] = 0.20, 0.30  # decisions after them, neither relevant by itself
    assert retrieval.answering(scores) == [1, 15]
    assert retrieval.answering(scores, decisions=[3]) == [3, 1, 15]
    # Of two settling decisions, the likelier one; a later decision settles nothing.
    assert retrieval.answering(scores, decisions=[3, 18]) == [18, 1, 15]
    assert retrieval.answering(scores, decisions=[1 + retrieval.DECISION_REACH + 1]) == [1, 15]
