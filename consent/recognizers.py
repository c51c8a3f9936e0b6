"""Presidio's side of redaction: what each recognizer finds, on one spaCy pipeline.

Imported only when something is first redacted (Presidio takes a second to import);
`consent.redaction` says what is hidden and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from presidio_analyzer import (
    AnalyzerEngine,
    EntityRecognizer,
    Pattern,
    PatternRecognizer,
    RecognizerRegistry,
    RecognizerResult,
)
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

from minutekeeper.consent.gazetteer import load_gazetteer
from minutekeeper.consent.ner_pipeline import dictionary_words
from minutekeeper.consent.people import PeopleRecognizer

# An ID or account pattern alone scores below the threshold; one of these words just
# before it lifts it above (Presidio's context enhancer).
ID_CONTEXT = [
    "employee",
    "badge",
    "staff",
    "personnel",
    "payroll",
    "eid",
    "emp",
    "id",
    "ssn",
    "social",
    "security",
]
ACCOUNT_CONTEXT = ["account", "acct", "iban", "routing", "sort", "bank", "wire"]
DATE_SHAPES = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
EMAIL_DOMAIN_END = re.compile(r"\.[^\W\d_]{2,}$")


class Analysis:
    """Presidio's analyzer on a loaded pipeline, with the pipeline's dictionary words."""

    def __init__(self, nlp: Any, *, min_score: float) -> None:
        self._words = dictionary_words(nlp)
        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizer in (
            PeopleRecognizer(nlp, self._words, load_gazetteer()),
            AnyDomainEmailRecognizer(),
            PhoneRecognizer(),
            # A number written in international form ("+44 7700 900123") is a phone number
            # whether or not its range is assigned: the phone library rejects reserved and
            # fictional ranges, which people still read out. A date or an amount never
            # starts with "+" and eight digits.
            PatternRecognizer(
                supported_entity="PHONE_NUMBER",
                patterns=[Pattern("international", r"(?<![\w+])\+(?:[ .()-]?\d){8,15}(?!\d)", 0.6)],
            ),
            UsSsnRecognizer(),
            PatternRecognizer(
                supported_entity="ID_NUMBER",
                patterns=[
                    Pattern("id", r"\b(?:[A-Z]{1,4}[- ]?)?\d{4,12}\b", 0.1),
                    Pattern("ssn", r"\b\d{3}[- .]\d{2}[- .]\d{4}\b", 0.1),
                ],
                context=ID_CONTEXT,
            ),
            AccountRecognizer(),
            UrlRecognizer(),
            IpRecognizer(),
            CreditCardRecognizer(),
            IbanRecognizer(),
        ):
            registry.add_recognizer(recognizer)
        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "en_core_web_sm"}])
        # Already loaded by path, verified and smoke-tested: Presidio must not load it again.
        engine.nlp = {"en": nlp}  # type: ignore[assignment]
        self._engine = AnalyzerEngine(
            nlp_engine=engine, registry=registry, supported_languages=["en"]
        )
        self._min_score = min_score

    def analyze(self, text: str, terms: Sequence[str]) -> list[RecognizerResult]:
        """Everything found in `text`, the deny-list `terms` (names, emails) included."""
        roster = RosterRecognizer(_roster_patterns(tuple(terms), self._words))
        found: list[RecognizerResult] = self._engine.analyze(
            text=text, language="en", ad_hoc_recognizers=[roster], score_threshold=self._min_score
        )
        return found


class AnyDomainEmailRecognizer(EmailRecognizer):
    """Presidio's email pattern, accepting any domain whose last label is letters: the
    public suffix list would reject `.example`, `.internal`, `.corp` and `.local`, and
    those are exactly the addresses inside a company."""

    def validate_result(self, pattern_text: str) -> bool:
        return bool(EMAIL_DOMAIN_END.search(pattern_text.rpartition("@")[2]))


class AccountRecognizer(PatternRecognizer):
    """Long digit runs with an account word near; never a date ("due 2026-12-18")."""

    def __init__(self) -> None:
        super().__init__(
            supported_entity="ACCOUNT_NUMBER",
            patterns=[Pattern("digits", r"\b\d(?:[ -]?\d){7,17}\b", 0.1)],
            context=ACCOUNT_CONTEXT,
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        return bool(DATE_SHAPES.fullmatch(pattern_text.strip()))


@dataclass(frozen=True)
class RosterPatterns:
    """The deny-list as three expressions: names matched as written (full names with a
    word in them), as written and read as a proper noun (single names that are also words),
    and in any case (names that are no word, and emails)."""

    exact: re.Pattern[str] | None
    proper: re.Pattern[str] | None
    any_case: re.Pattern[str] | None


class RosterRecognizer(EntityRecognizer):
    """The deny-list: the tenant's members and the meeting's guests, by name and email."""

    def __init__(self, patterns: RosterPatterns) -> None:
        super().__init__(supported_entities=["PERSON"], name="roster")
        self._patterns = patterns

    def load(self) -> None:
        """Nothing to load: the patterns are compiled already."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        doc = nlp_artifacts.tokens if nlp_artifacts is not None else None
        found = []
        for pattern, check in (
            (self._patterns.exact, False),
            (self._patterns.proper, True),
            (self._patterns.any_case, False),
        ):
            for match in pattern.finditer(text) if pattern is not None else ():
                if check and not _proper_noun(doc, match.start(), match.end()):
                    continue
                found.append(RecognizerResult("PERSON", match.start(), match.end(), 1.0))
        return found


def _proper_noun(doc: Any, start: int, end: int) -> bool:
    """Whether the tagger reads text[start:end] as a name: a proper noun, or a PERSON."""
    if doc is None:
        return True  # no tagger: redact rather than keep
    span = doc.char_span(start, end, alignment_mode="expand")
    return span is not None and any(t.pos_ == "PROPN" or t.ent_type_ == "PERSON" for t in span)


def _alternation(terms: Iterable[str], flags: int = 0) -> re.Pattern[str] | None:
    ordered = sorted(set(terms), key=lambda t: (-len(t), t))
    if not ordered:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, ordered)) + r")(?!\w)", flags)


# Words a name may have ("The Chair") that the dictionary of `words` does not list: like
# its words, they count only where the tagger reads them as a name.
_FUNCTION_WORDS = frozenset(
    {"the", "a", "an", "of", "and", "or", "for", "in", "on", "at", "to", "by", "with", "from"}
)


@lru_cache(maxsize=64)
def _roster_patterns(terms: tuple[str, ...], words: frozenset[str]) -> RosterPatterns:
    exact, proper, any_case = [], [], []
    for term in terms:
        parts = [p.lower() for p in re.findall(r"\w+", term)]
        if "@" in term or not any(p in words or p in _FUNCTION_WORDS for p in parts):
            any_case.append(term)
        elif len(parts) > 1:
            exact.append(term)
        else:
            proper.append(term)
    return RosterPatterns(
        _alternation(exact), _alternation(proper), _alternation(any_case, re.IGNORECASE)
    )
