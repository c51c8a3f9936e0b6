"""Recall and precision of redaction on the frozen labelled set, per class and split.

The set (`scripts/data/redaction_eval.jsonl`, made by `scripts/make_redaction_eval.py`) is
frozen: its SHA-256 is pinned below and the script refuses any other file. Its `dev` half
is the one to look at while tuning; score `test` only at the end (`--split test`).

Span level. A gold span is found when the redaction hides every non-space character of it
(any placeholder); recall per class (PERSON, EMAIL, PHONE, ID_NUMBER). A redacted span is
right when it overlaps a gold span; precision per placeholder label. KEEP spans (dates,
amounts, products, "Will"/"May" used as words) must survive: "kept" is the share that does.
No name in the set is on any roster: this measures what the model finds alone.

`--baseline` also scores the old profile (Presidio on a blank spaCy pipeline, the
deny-list alone) in the same run. `--qmsum DIR` runs the redactor over real meeting
transcripts (QMSum JSON files) for throughput and prints a sample of what it hid.

    .venv/bin/python scripts/eval_redaction.py --split dev --baseline
    .venv/bin/python scripts/eval_redaction.py --split test
    .venv/bin/python scripts/eval_redaction.py --qmsum ../shared/data/qmsum/val
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from minutekeeper.consent.redaction import Redactor

DATA = Path(__file__).parent / "data" / "redaction_eval.jsonl"
FROZEN_SHA256 = "491544aee96fdc9dde5134e468950ead2b776235267122605dc1d520fc561003"
CLASSES = ("PERSON", "EMAIL", "PHONE", "ID_NUMBER")
TARGETS = {"PERSON": 0.95, "EMAIL": 0.99, "PHONE": 0.99, "ID_NUMBER": 0.99}

Finder = Callable[[str], list[tuple[int, int, str]]]


def load(split: str) -> list[dict[str, object]]:
    raw = DATA.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != FROZEN_SHA256:
        sys.exit(f"{DATA} is not the frozen set: sha256 {digest}, expected {FROZEN_SHA256}")
    items = [json.loads(line) for line in raw.decode("utf-8").splitlines()]
    return [i for i in items if split == "all" or i["split"] == split]


def score(items: Sequence[dict[str, object]], find: Finder) -> dict[str, object]:
    """Recall per gold class, precision per predicted label, KEEP spans kept, misses."""
    found, total, right, predicted = Counter[str](), Counter[str](), Counter[str](), Counter[str]()
    kept = [0, 0]
    misses: list[str] = []
    started = time.perf_counter()
    chars = 0
    for item in items:
        text = str(item["text"])
        chars += len(text)
        spans = find(text)
        hidden = {i for start, end, _ in spans for i in range(start, end)}
        gold = item["spans"]
        assert isinstance(gold, list)
        for g in gold:
            inside = [i for i in range(g["start"], g["end"]) if not text[i].isspace()]
            covered = all(i in hidden for i in inside)
            if g["label"] == "KEEP":
                kept[0] += not any(i in hidden for i in inside)
                kept[1] += 1
                continue
            total[g["label"]] += 1
            found[g["label"]] += covered
            if not covered:
                misses.append(f"{g['label']}: {text!r}")
        for start, end, label in spans:
            predicted[label] += 1
            right[label] += any(g["label"] != "KEEP" and start < g["end"] and g["start"] < end
                                for g in gold)  # fmt: skip
    elapsed = time.perf_counter() - started
    return {
        "recall": {c: (found[c], total[c]) for c in CLASSES},
        "precision": {label: (right[label], predicted[label]) for label in sorted(predicted)},
        "kept": tuple(kept),
        "ms_per_1000_chars": 1000 * elapsed / max(chars, 1) * 1000,
        "misses": misses,
    }


def report(name: str, result: dict[str, object], *, show_misses: int) -> None:
    print(f"\n== {name}")
    recall = result["recall"]
    assert isinstance(recall, dict)
    for cls, (hit, n) in recall.items():
        rate = hit / n if n else float("nan")
        mark = "ok" if rate >= TARGETS[cls] else f"BELOW target {TARGETS[cls]}"
        print(f"  recall    {cls:<10} {rate:6.3f}  ({hit}/{n})  {mark}")
    precision = result["precision"]
    assert isinstance(precision, dict)
    for label, (hit, n) in precision.items():
        print(f"  precision {label:<14} {hit / n:6.3f}  ({hit}/{n})")
    kept, of = result["kept"]  # type: ignore[misc]
    print(f"  KEEP spans kept {kept / of:6.3f}  ({kept}/{of})")
    print(f"  {result['ms_per_1000_chars']:.1f} ms per 1000 characters")
    misses = result["misses"]
    assert isinstance(misses, list)
    for line in misses[:show_misses]:
        print(f"    missed {line}")


def finder(redactor: Redactor) -> Finder:
    def find(text: str) -> list[tuple[int, int, str]]:
        return [(f.start, f.end, f.label) for f in redactor.find(text)]

    return find


def baseline_finder(cache: Path) -> Finder:
    """The old profile: Presidio on a blank pipeline with the old pattern recognizers."""
    import spacy
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

    class OfflineEmail(EmailRecognizer):  # type: ignore[misc]
        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline(pattern_text).fqdn)

    accounts = PatternRecognizer(
        supported_entity="ACCOUNT_NUMBER",
        patterns=[Pattern("digits", r"\b\d(?:[ -]?\d){7,17}\b", 0.4)],
        context=["account", "acct", "iban", "routing", "sort code", "bank"],
    )
    registry = RecognizerRegistry(supported_languages=["en"])
    for r in (OfflineEmail(), PhoneRecognizer(), UrlRecognizer(), IpRecognizer(),
              CreditCardRecognizer(), IbanRecognizer(), accounts):  # fmt: skip
        registry.add_recognizer(r)
    blank = cache / "spacy-blank-en"
    if not (blank / "config.cfg").is_file():
        spacy.blank("en").to_disk(blank)
    engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": str(blank)}])
    analyzer = AnalyzerEngine(nlp_engine=engine, registry=registry, supported_languages=["en"])

    def find(text: str) -> list[tuple[int, int, str]]:
        found = analyzer.analyze(text=text, language="en", score_threshold=0.3)
        return [(r.start, r.end, r.entity_type) for r in found]

    return find


def qmsum(folder: Path, redactor: Redactor, *, sample: int, meetings: int) -> None:
    """Throughput over real meetings, each redacted as one text of "Speaker: words" lines
    as a summary's example holds it, and a sample of what was hidden, to read by eye."""
    from qmsum import detokenize

    chars, seconds, hidden = 0, 0.0, Counter[str]()
    shown: list[str] = []
    for path in sorted(folder.glob("*.json"))[:meetings]:
        turns = json.loads(path.read_text(encoding="utf-8"))["meeting_transcripts"]
        text = "\n".join(f"{t['speaker']}: {detokenize(t['content'])}" for t in turns)
        started = time.perf_counter()
        spans = redactor.find(text)
        seconds += time.perf_counter() - started
        chars += len(text)
        for span in spans:
            hidden[span.label] += 1
            around = text[max(0, span.start - 25) : span.start], text[span.end : span.end + 25]
            shown.append(
                f"{span.label}: {around[0]!r} [{text[span.start : span.end]}] {around[1]!r}"
            )
    print(f"\n== QMSum ({folder}, {meetings} meetings): {chars} characters, "
          f"{1000 * seconds / max(chars, 1) * 1000:.1f} ms per 1000 characters")  # fmt: skip
    print("  hidden:", dict(hidden))
    for line in random.Random(0).sample(shown, min(sample, len(shown))):
        print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test", "all"), default="dev")
    parser.add_argument("--baseline", action="store_true", help="also score the old profile")
    parser.add_argument("--misses", type=int, default=15, help="missed spans to print")
    parser.add_argument("--qmsum", type=Path, help="a folder of QMSum meeting JSON files")
    parser.add_argument("--sample", type=int, default=40, help="QMSum spans to print")
    parser.add_argument("--meetings", type=int, default=5, help="QMSum meetings to run")
    args = parser.parse_args()
    redactor = Redactor()
    started = time.perf_counter()
    redactor.prepare()
    print(f"model verified and loaded in {time.perf_counter() - started:.1f} s")
    if args.qmsum:
        qmsum(args.qmsum, redactor, sample=args.sample, meetings=args.meetings)
        return
    items = load(args.split)
    print(f"{len(items)} items, split {args.split}")
    report(f"new profile ({args.split})", score(items, finder(redactor)), show_misses=args.misses)
    if args.baseline:
        import tempfile

        with tempfile.TemporaryDirectory() as cache:
            old = baseline_finder(Path(cache))
            report(f"old profile, blank pipeline ({args.split})", score(items, old),
                   show_misses=0)  # fmt: skip


if __name__ == "__main__":
    main()
