"""Redaction before anything is kept as a training candidate (rule 9), offline.

Microsoft Presidio finds what to hide, on spaCy's en_core_web_sm pipeline with its
named-entity recognizer (`consent/ner_pipeline.py`: a pinned, verified, smoke-tested
model), and every span it finds becomes a placeholder:

- People: whoever the model reads as a PERSON, what else reads as a name by the rules of
  `consent.people.PeopleRecognizer` (a proper noun no dictionary lists, a given name
  from Faker's lists of many countries, in lowercase speech too), and every name on the
  deny-list: the tenant's members and the meeting's guests (full names, each part,
  emails), the consenting author and every contributor included, since a string cannot
  tell two Carols apart.
  The deny-list is case-sensitive; a name part that is also an English word ("Will",
  "May", "Mark": the model's own WordNet index) counts only where the tagger reads it as a
  proper noun, and a part that is no word ("ingrid") counts in any case.
- Pattern PII: emails (any dotted domain with a letters-only last label, so `.example`,
  `.internal`, `.corp` and `.local` too), phone numbers, US social security numbers and
  employee or badge numbers (`<ID_NUMBER>`), account numbers with an account word near,
  URLs with a path (a domain alone is kept), IP addresses, Luhn-checked card numbers, IBANs.
- Dates and amounts are the meeting's content, not anyone's data: they stay.

Spans that overlap are merged into one placeholder, the most specific label winning (an
SSN is never `<PHONE>`). Any failure is `RedactionFailed`: the record is excluded, never
kept unredacted.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from minutekeeper.consent.errors import RedactionFailed
from minutekeeper.consent.ner_pipeline import EN_CORE_WEB_SM, PipelineSpec, load_pipeline

__all__ = ["PROFILE", "Found", "Person", "RedactionFailed", "Redactor"]

# Recorded with every candidate: what was redacted, and how. Candidates kept under any
# other profile are re-redacted (`minutekeeper candidates reredact`). v3: name lists
# (consent/gazetteer.py) and the article rule changed what is found.
PROFILE = "presidio-spacy-sm-v3"
# Label -> placeholder, in order of precedence when spans overlap.
PLACEHOLDERS = {
    "EMAIL_ADDRESS": "<EMAIL>",
    "URL": "<URL>",
    "US_SSN": "<ID_NUMBER>",
    "ID_NUMBER": "<ID_NUMBER>",
    "CREDIT_CARD": "<CARD_NUMBER>",
    "IBAN_CODE": "<ACCOUNT_NUMBER>",
    "ACCOUNT_NUMBER": "<ACCOUNT_NUMBER>",
    "PHONE_NUMBER": "<PHONE>",
    "IP_ADDRESS": "<IP_ADDRESS>",
    "PERSON": "<PERSON>",
}
MIN_SCORE = 0.3


@dataclass(frozen=True)
class Person:
    """Someone whose name must not be kept: their name, and their email when known."""

    name: str
    email: str | None = None

    def terms(self) -> list[str]:
        """The full name, each part of it (two letters or more, not one written in
        lowercase: "Leader of the Opposition" must not hide every "the"), and the email."""
        parts = [p for p in self.name.split() if len(p) >= 2]
        named = [p for p in parts if not p.islower()]
        found = [self.name.strip(), *(named if len(parts) > 1 else []), self.email or ""]
        return [t for t in dict.fromkeys(found) if t]


@dataclass(frozen=True)
class Found:
    """A span to hide: text[start:end] and what it is (a key of PLACEHOLDERS)."""

    start: int
    end: int
    label: str


class Redactor:
    """Presidio on the verified spaCy pipeline, loaded on first use (a few seconds) and
    kept; creating one costs nothing, so a capture the gate denies never loads it."""

    def __init__(self, pipeline: PipelineSpec = EN_CORE_WEB_SM) -> None:
        self._pipeline = pipeline
        self._analysis: Any = None

    def prepare(self) -> None:
        """Load and check the model now (`minutekeeper models prepare`)."""
        self._load()

    def _load(self) -> Any:
        """Presidio's analysis on the pipeline (`consent.recognizers.Analysis`)."""
        if self._analysis is None:
            try:
                from minutekeeper.consent.recognizers import Analysis

                self._analysis = Analysis(load_pipeline(self._pipeline), min_score=MIN_SCORE)
            except RedactionFailed:
                raise
            except Exception as error:  # any set-up failure means nothing can be redacted
                raise RedactionFailed(f"cannot set up redaction: {error}") from error
        return self._analysis

    def redact(self, text: str, *, people: Sequence[Person] = ()) -> str:
        """`text` with `people`'s names, anyone else the model finds, and pattern PII
        replaced by placeholders."""
        out = text
        for span in reversed(self.find(text, people=people)):
            out = out[: span.start] + PLACEHOLDERS[span.label] + out[span.end :]
        return out

    def find(self, text: str, *, people: Sequence[Person] = ()) -> list[Found]:
        """What `redact` hides, in order, overlaps merged."""
        try:
            if not text.strip():
                return []
            terms = tuple(term for person in people for term in person.terms())
            results = self._load().analyze(text, terms)
        except RedactionFailed:
            raise
        except Exception as error:
            raise RedactionFailed(f"redaction failed: {type(error).__name__}: {error}") from error
        spans = [
            Found(r.start, r.end, r.entity_type)
            for r in results
            if r.entity_type in PLACEHOLDERS
            and (r.entity_type != "URL" or _has_path(text[r.start : r.end]))
        ]
        return _merged(spans)


def _merged(spans: Iterable[Found]) -> list[Found]:
    """Overlapping spans as one, labelled by the most specific of them."""
    rank = {label: i for i, label in enumerate(PLACEHOLDERS)}
    merged: list[Found] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            label = min(last.label, span.label, key=rank.__getitem__)
            merged[-1] = Found(last.start, max(last.end, span.end), label)
        else:
            merged.append(span)
    return merged


def _has_path(url: str) -> bool:
    """Whether a URL points below its domain (which can name a person); a bare domain
    ("example.com", "https://example.com/") says nothing about anyone."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return bool(parts.path.strip("/") or parts.query or parts.fragment)
