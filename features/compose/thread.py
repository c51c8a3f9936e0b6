"""A chat thread: the messages a draft answers, read from JSON or from `Name: text` lines.

JSON is `{"messages": [{"author", "text", "time"?, "id"?, "reply_to"?, "shown"?}]}` (or the
list alone). `shown: false` marks a message the requesting user was not shown (a private
reply, a message from before they joined): drafts must not use it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minutekeeper.features.compose.errors import InvalidThread

_LINE = re.compile(
    r"^\s*(?:\[(?P<time>[^\]]+)\]\s*)?(?P<author>[^:\[\]]{1,60}?):\s+(?P<text>\S.*)$"
)


@dataclass(frozen=True)
class Message:
    id: str
    author: str
    text: str
    time: str | None = None
    reply_to: str | None = None
    shown: bool = True


@dataclass(frozen=True)
class Thread:
    messages: tuple[Message, ...]

    def visible(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if m.shown)

    def hidden(self) -> tuple[Message, ...]:
        return tuple(m for m in self.messages if not m.shown)


def load_thread(path: Path) -> Thread:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as error:
        raise InvalidThread(f"{path}: no such file") from error
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidThread(f"{path}: cannot read it as UTF-8 text ({error})") from error
    if path.suffix.lower() == ".json":
        return parse_json(raw, where=str(path))
    return parse_lines(raw, where=str(path))


def parse_json(raw: str, *, where: str = "thread") -> Thread:
    try:
        data = json.loads(raw)
    except ValueError as error:
        raise InvalidThread(f"{where}: not valid JSON ({error})") from error
    items = data.get("messages") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise InvalidThread(f"{where}: expected a list of messages under 'messages'")
    return parse_messages(items, where=where)


def parse_messages(items: Sequence[Any], *, where: str = "thread") -> Thread:
    """Messages as JSON objects (a request body's, a file's) as a thread."""
    return Thread(tuple(_message(item, i, where) for i, item in enumerate(items)))


def _message(item: Any, index: int, where: str) -> Message:
    at = f"{where}: messages[{index}]"
    if not isinstance(item, dict):
        raise InvalidThread(f"{at}: expected an object with author and text")
    for key in ("author", "text"):
        if not isinstance(item.get(key), str) or not item[key].strip():
            raise InvalidThread(f"{at}.{key}: expected a non-empty string")
    for key in ("time", "id", "reply_to"):
        if item.get(key) is not None and not isinstance(item[key], str | int):
            raise InvalidThread(f"{at}.{key}: expected a string")
    if not isinstance(item.get("shown", True), bool):
        raise InvalidThread(f"{at}.shown: expected true or false")
    reply_to = item.get("reply_to")
    return Message(
        id=str(item.get("id", f"m{index + 1}")),
        author=item["author"].strip(),
        text=item["text"].strip(),
        time=str(item["time"]) if item.get("time") is not None else None,
        reply_to=str(reply_to) if reply_to is not None else None,
        shown=item.get("shown", True),
    )


def parse_lines(raw: str, *, where: str = "thread") -> Thread:
    """`Name: text` per line (optionally `[time] Name: text`); blank lines are skipped."""
    found: list[Message] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise InvalidThread(f"{where}: line {number} is not 'Name: text'")
        found.append(
            Message(
                id=f"m{len(found) + 1}",
                author=match.group("author").strip(),
                text=match.group("text").strip(),
                time=match.group("time"),
            )
        )
    return Thread(tuple(found))
