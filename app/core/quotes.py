"""Finding and removing copies of a person's words in stored values (rule 13): an erasure
deletes the words where they live, then asks the stores that may quote them (stored API
answers, job messages) to drop every string that holds one."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

ERASED = "[erased]"
SHORTEST = 3  # shorter "words" (an initial, a stray letter) would match everything
WINDOW = 6  # a copy quoting this many words in a row of what was erased is a copy


def needles(words: Iterable[str]) -> list[str]:
    """What to look for: each short text (a name, a brief remark) whole, and every run of
    `WINDOW` words of a longer one, so a message quoting part of a sentence is found."""
    found: list[str] = []
    for text in words:
        tokens = text.split()
        if len(tokens) <= WINDOW:
            found.append(" ".join(tokens))
        else:
            found += [" ".join(tokens[i : i + WINDOW]) for i in range(len(tokens) - WINDOW + 1)]
    return list(dict.fromkeys(n for n in found if len(n) >= SHORTEST))


def quotes(text: str, found: list[str]) -> bool:
    return any(word in text for word in found)


def scrub(value: Any, found: list[str]) -> tuple[Any, bool]:
    """`value` (JSON-like) with every string quoting one of `found` replaced by `ERASED`,
    and whether anything was."""
    if isinstance(value, str):
        return (ERASED, True) if quotes(value, found) else (value, False)
    if isinstance(value, list):
        items = [scrub(v, found) for v in value]
        return [v for v, _ in items], any(c for _, c in items)
    if isinstance(value, dict):
        pairs = {k: scrub(v, found) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(c for _, c in pairs.values())
    return value, False
