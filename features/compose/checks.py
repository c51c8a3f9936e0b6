"""Checks every draft must pass: what the instruction asks for is in it, its length is in
the requested band, it does not leak messages the user was not shown, and it is a clean
message (no echo of the prompt, no role labels)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from features.compose.draft import LENGTH_WORDS
from features.compose.thread import Message
from features.summary.dates import PHRASE

_NUMBER = re.compile(r"\b\d+(?:[.,:]\d+)*%?")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_LABEL = re.compile(r"^\s*(?:system|user|assistant|instruction|thread|draft)\s*:", re.I | re.M)
_LEAK_WORDS = 6  # a run this long copied from a hidden message is a leak


def required(instruction: str) -> list[str]:
    """Names, dates and numbers the instruction asks for, which the draft must carry."""
    found = [m.group("when") for m in PHRASE.finditer(instruction)]
    found += _NUMBER.findall(instruction)
    found += [n for n in _NAME.findall(instruction) if n.lower() not in {"i", "please"}]
    return list(dict.fromkeys(found))


def lost_words(original: str, text: str) -> list[str]:
    """A rewrite keeps the facts: the original's longer words (4+ letters) it dropped, when
    it dropped more than half of them."""
    wanted = list(dict.fromkeys(w for w in re.findall(r"[a-z]{4,}", original.lower())))
    said = set(re.findall(r"[a-z]+", text.lower()))
    missing = [w for w in wanted if w not in said]
    return missing if len(missing) * 2 > len(wanted) else []


def words(text: str) -> int:
    return len(re.findall(r"\S+", text))


def problems(
    text: str,
    *,
    instruction: str,
    length: str,
    hidden: Sequence[Message],
    check_entities: bool,
    prompt: Sequence[str] = (),
) -> list[str]:
    """What is wrong with a draft; empty when it passes."""
    found = []
    if check_entities:
        missing = [e for e in required(instruction) if e.lower() not in text.lower()]
        if missing:
            found.append(f"missing what the instruction asks for: {', '.join(missing)}")
    low, high = LENGTH_WORDS[length]
    if not low <= words(text) <= high:
        found.append(f"{words(text)} words, outside the {length} band ({low}-{high})")
    if _LABEL.search(text):
        found.append("contains a role or prompt label")
    if any(_shares_run(text, part) for part in prompt):
        found.append("repeats the prompt instead of answering it")
    for message in hidden:
        if _shares_run(text, message.text):
            found.append(f"repeats a message the user was not shown ({message.id})")
    return found


def _shares_run(text: str, source: str) -> bool:
    tokens = re.findall(r"\w+", text.lower())
    grams = {tuple(tokens[i : i + _LEAK_WORDS]) for i in range(len(tokens) - _LEAK_WORDS + 1)}
    other = re.findall(r"\w+", source.lower())
    return any(
        tuple(other[i : i + _LEAK_WORDS]) in grams for i in range(len(other) - _LEAK_WORDS + 1)
    )
