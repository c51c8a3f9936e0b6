"""Checks every draft must pass: what the instruction asks for is in it, its length is in
the requested band, it does not leak messages the user was not shown, and it is a clean
message (no echo of the prompt, no role labels).

Each problem is said the way its user reads it, as what "this draft" does wrong ("misses:
Friday", "is too long: 120 words for short (at most 40)"): `headline` leads the draft with
them on every entry point (`Draft.headline`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from minutekeeper.features.compose.draft import LENGTH_WORDS
from minutekeeper.features.compose.thread import Message
from minutekeeper.features.summary.dates import PHRASE

_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*")
_QUOTED = re.compile(r"\"([^\"]{1,80})\"|\u201c([^\u201d]{1,80})\u201d")
# A token is a term to keep as written when it has a digit, an inner _ . / + = ~ or @,
# starts with / or -, or is an acronym: a version, a path, a file, an address, "HD". An
# inner hyphen alone is not enough ("follow-up"); quote a term like "apt-get".
_TERM = re.compile(r"\d|\w[_./+=~@]\w|^[/-]\w|^[A-Z]{2,}s?$")
_EDGES = "\"'`()[]{}<>,;:!?.\u201c\u201d\u2018\u2019"
_LABEL = re.compile(
    r"^\s*(?:system|user|assistant|instruction|thread|draft|answer|reply|response|message"
    r"|participant|author)\s*:",
    re.I | re.M,
)
# An instruction model's own voice (a refusal, "as an AI"), never the user's message.
_ASSISTANT = re.compile(
    r"\bsorry,? but I can(?:'|no)?t (?:assist|help)(?: you)? with (?:that|this)"
    r"|\bI can(?:'|no)?t assist(?: you)? with (?:that|this)|\bas an AI\b"
    r"|\bI'?m (?:just |only )?(?:an AI|a (?:computer program|language model))",
    re.I,
)
_LEAK_WORDS = 6  # a run this long copied from a hidden message is a leak
_NOT_NAMES = {"i", "me", "my", "you", "we", "us", "please"}
_SHORTHAND = {"asap", "afaik", "brb", "btw", "fyi", "idk", "iirc", "imho", "imo", "lol", "np",
              "ok", "omg", "pls", "plz", "tbh", "thx"}  # fmt: skip
# How the problems begin, for readers that sort them (scripts/eval_compose.py).
MISSES = "misses: "
THIRD_PERSON = "speaks of "
ASSISTANT = "answers as an AI assistant"
REPEATS_PROMPT = "repeats the prompt"
DROPS = "drops what your text says: "
TOO_LONG = "is too long: "
TOO_SHORT = "is too short: "


def required(instruction: str) -> list[str]:
    """Names, dates, numbers and terms the instruction asks for, which the draft must carry:
    quoted text, date phrases, capitalised names, and tokens such as 300, 2.6.31,
    /etc/fstab, ntfs-3g or HD, each as written."""
    found = [next(g for g in m.groups() if g) for m in _QUOTED.finditer(instruction)]
    found += [m.group("when") for m in PHRASE.finditer(instruction)]
    for token in instruction.split():
        term = token.strip(_EDGES)
        if term and _TERM.search(term) and not any(term in f for f in found):
            found.append(term)
    found += [n for n in _NAME.findall(instruction) if n.lower() not in _NOT_NAMES]
    return list(dict.fromkeys(f.strip() for f in found if f.strip()))


def facts(original: str) -> list[str]:
    """What a rewrite of `original` must keep: its required terms, less chat shorthand
    ("ASAP", "LOL"), which a change of tone may well spell out or drop."""
    return [term for term in required(original) if term.lower() not in _SHORTHAND]


def third_person(text: str, user: str, *, allowed: str = "") -> bool:
    """Whether the draft names its own author, as if someone else wrote it ("Priya will
    send it"), when the instruction does not name them itself."""
    name = user.strip()
    if len(name) < 2 or name.lower() in _NOT_NAMES:
        return False
    said = re.compile(rf"(?<![\w@]){re.escape(name)}(?!\w)", re.I)
    return bool(said.search(text)) and not said.search(allowed)


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
    prompt: Sequence[str] = (),
    user: str = "",
    expected: Sequence[str] = (),
    rewrite: bool = False,
) -> list[str]:
    """What is wrong with a draft; empty when it passes. `expected` adds what the task
    itself asks for (a follow-up's owners and due days); a `rewrite`'s instruction is the
    text it rewrites, whose facts it keeps."""
    found = []
    wanted = [*(facts(instruction) if rewrite else required(instruction)), *expected]
    missing = [e for e in dict.fromkeys(wanted) if e.lower() not in text.lower()]
    if missing:
        found.append(f"{MISSES}{', '.join(missing)}")
    if third_person(text, user, allowed=instruction):
        found.append(f"{THIRD_PERSON}{user} as someone else instead of as {user}")
    if _ASSISTANT.search(text):
        found.append(f"{ASSISTANT} instead of as {user or 'you'}")
    if band := length_problem(words(text), length):
        found.append(band)
    if _LABEL.search(text):
        found.append("carries a label such as 'Assistant:' or 'Reply:'")
    if any(_shares_run(text, part) for part in prompt):
        found.append(f"{REPEATS_PROMPT} instead of answering it")
    for message in hidden:
        if _shares_run(text, message.text):
            found.append(f"repeats a message you were not shown ({message.id})")
    return found


def length_problem(count: int, length: str) -> str:
    """'is too long: 120 words for short (at most 40)', or empty when the count is in band."""
    low, high = LENGTH_WORDS[length]
    counted = f"{count} word{'s' * (count != 1)} for {length}"
    if count > high:
        return f"{TOO_LONG}{counted} (at most {high})"
    if count < low:
        return f"{TOO_SHORT}{counted} (at least {low})"
    return ""


def _shares_run(text: str, source: str) -> bool:
    tokens = re.findall(r"\w+", text.lower())
    grams = {tuple(tokens[i : i + _LEAK_WORDS]) for i in range(len(tokens) - _LEAK_WORDS + 1)}
    other = re.findall(r"\w+", source.lower())
    return any(
        tuple(other[i : i + _LEAK_WORDS]) in grams for i in range(len(other) - _LEAK_WORDS + 1)
    )
