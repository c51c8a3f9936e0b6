"""Redaction before anything is kept as a training candidate (rule 9), offline.

Microsoft Presidio finds what to hide and replaces it with a placeholder: the names and
emails of the people on the roster who are not the consenting author (a deny-list
recognizer), and pattern PII: emails, phone numbers, URLs with a path (a domain alone is
kept), IP addresses, card numbers (Luhn-checked), IBANs and long account numbers.

Presidio's default set-up downloads a spaCy model and its email recognizer asks the
network for the public suffix list; neither works on an offline install. Here the NLP
engine is a blank English spaCy pipeline saved once into the model cache (tokenizer only:
names come from the roster, not from a statistical model), and email domains are checked
against tldextract's bundled suffix list. Any failure is `RedactionFailed`: the record is
excluded, never kept unredacted.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from minutekeeper.consent.errors import ConsentError

PROFILE = "presidio-offline-v1"  # recorded with every candidate: what was redacted, how
PLACEHOLDERS = {
    "PERSON": "<PERSON>",
    "EMAIL_ADDRESS": "<EMAIL>",
    "PHONE_NUMBER": "<PHONE>",
    "URL": "<URL>",
    "IP_ADDRESS": "<IP_ADDRESS>",
    "CREDIT_CARD": "<CARD_NUMBER>",
    "IBAN_CODE": "<ACCOUNT_NUMBER>",
    "ACCOUNT_NUMBER": "<ACCOUNT_NUMBER>",
}
MIN_SCORE = 0.3


class RedactionFailed(ConsentError):
    code = "REDACTION_FAILED"


@dataclass(frozen=True)
class Person:
    """Someone on the roster: their name, and their email when known."""

    name: str
    email: str | None = None

    def terms(self) -> list[str]:
        """The full name, each part of it (two letters or more), and the email."""
        parts = [p for p in self.name.split() if len(p) >= 2]
        found = [self.name.strip(), *(parts if len(parts) > 1 else []), self.email or ""]
        return [t for t in dict.fromkeys(found) if t]


class Redactor:
    """Presidio, loaded on first use (about 3 s) and kept; creating one costs nothing, so
    a capture that the gate denies never loads it."""

    def __init__(self, cache_dir: Path) -> None:
        self._cache_dir = cache_dir
        self._engines: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._engines is None:
            try:
                from presidio_anonymizer import AnonymizerEngine

                analyzer = _analyzer(_blank_pipeline(self._cache_dir))
                self._engines = analyzer, AnonymizerEngine()  # type: ignore[no-untyped-call]
            except Exception as error:  # any set-up failure means nothing can be redacted
                raise RedactionFailed(f"cannot set up redaction: {error}") from error
        return self._engines

    def redact(self, text: str, *, others: Sequence[Person] = ()) -> str:
        """`text` with `others` (roster people who are not the consenting author) and
        pattern PII replaced by placeholders."""
        if not text.strip():
            return text
        try:
            return self._redact(text, others)
        except Exception as error:
            raise RedactionFailed(f"redaction failed: {type(error).__name__}: {error}") from error

    def _redact(self, text: str, others: Sequence[Person]) -> str:
        from presidio_analyzer import PatternRecognizer
        from presidio_anonymizer.entities import OperatorConfig

        analyzer, anonymizer = self._load()
        terms = [t for person in others for t in person.terms()]
        extra = [PatternRecognizer(supported_entity="PERSON", deny_list=terms)] if terms else []
        found = analyzer.analyze(
            text=text, language="en", ad_hoc_recognizers=extra, score_threshold=MIN_SCORE
        )
        found = [r for r in found if r.entity_type != "URL" or _has_path(text[r.start : r.end])]
        operators = {
            entity: OperatorConfig("replace", {"new_value": placeholder})
            for entity, placeholder in PLACEHOLDERS.items()
        }
        return str(anonymizer.anonymize(text, found, operators).text)


def _has_path(url: str) -> bool:
    """Whether a URL points below its domain (which can name a person); a bare domain
    ("example.com", "https://example.com/") says nothing about anyone."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    return bool(parts.path.strip("/") or parts.query or parts.fragment)


def _blank_pipeline(cache_dir: Path) -> Path:
    """A blank English spaCy pipeline in the model cache, written once, atomically."""
    import spacy

    target = cache_dir / f"spacy-blank-en-{version('spacy')}"
    if (target / "config.cfg").is_file():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".spacy-blank-", dir=cache_dir))
    spacy.blank("en").to_disk(staging)
    try:
        os.replace(staging, target)
    except OSError:  # another process published it first
        if not (target / "config.cfg").is_file():
            raise
    return target


def _analyzer(pipeline: Path) -> Any:
    import tldextract
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import SpacyNlpEngine
    from presidio_analyzer.predefined_recognizers import (
        CreditCardRecognizer,
        EmailRecognizer,
        IbanRecognizer,
        IpRecognizer,
        PhoneRecognizer,
        UrlRecognizer,
    )

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio's email recognizer, its domain check on the bundled suffix list."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).fqdn)

    accounts = PatternRecognizer(
        supported_entity="ACCOUNT_NUMBER",
        patterns=[Pattern("digits", r"\b\d(?:[ -]?\d){7,17}\b", 0.4)],
        context=["account", "acct", "iban", "routing", "sort code", "bank"],
    )
    registry = RecognizerRegistry(supported_languages=["en"])
    for recognizer in (
        OfflineEmailRecognizer(),
        PhoneRecognizer(),
        UrlRecognizer(),
        IpRecognizer(),
        CreditCardRecognizer(),
        IbanRecognizer(),
        accounts,
    ):
        registry.add_recognizer(recognizer)
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": str(pipeline)}])
    return AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])
