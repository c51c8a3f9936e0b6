"""Prompts for compose: the chat template when the model has one (the generator applies
it), two short worked replies first (they show a base model the format), stop strings that
end the draft before the model starts the next turn."""

from __future__ import annotations

from collections.abc import Sequence

from minutekeeper.features.compose.thread import Message
from minutekeeper.models.llm import ChatMessage

PROMPT_VERSION = "compose-v2"
STOP = ["\nUser:", "\nSystem:", "\nAssistant:", "\nThread:", "\n\n\n"]

_TONES = {
    "neutral": "in a neutral, clear tone",
    "friendly": "in a warm, friendly tone",
    "formal": "in a formal, polite tone",
    "concise": "as briefly as possible",
}
_LENGTHS = {
    "short": "one to three sentences",
    "medium": "a short paragraph",
    "long": "a few paragraphs",
}
# Two worked replies, one with an instruction and one without: with a single example the
# embedded 270M model copied its answer into most drafts (scripts/eval_compose.py on a
# development draw of IRC threads: 1/24 drafts passed every check with one example, 12/24
# with two, 10/24 with none).
_EXAMPLE = [
    ChatMessage(
        "user",
        "Thread:\nLee: Is the venue booked for Friday?\n"
        "Write Dana's reply in a neutral, clear tone, in one to three sentences. "
        "Instruction: say yes, for 40 people.",
    ),
    ChatMessage("assistant", "Yes, the venue is booked for Friday, for 40 people."),
    ChatMessage(
        "user",
        "Thread:\nSam: did the backup job run last night?\nRi: no idea, check the logs\n"
        "Write Kim's reply in a neutral, clear tone, in one to three sentences.",
    ),
    ChatMessage("assistant", "It ran at 2:00 and finished fine; the log shows no errors."),
]


def system(user: str) -> ChatMessage:
    return ChatMessage(
        "system",
        f"You write chat messages for {user}, in the first person, as {user}. Write only the "
        "message itself: no greeting line for yourself, no labels, no quotes around it.",
    )


def lines(messages: Sequence[Message]) -> str:
    return "\n".join(f"{m.author}: {m.text}" for m in messages)


def _reply_ask(user: str, tone: str, length: str) -> str:
    return f"Write {user}'s reply {_TONES[tone]}, in {_LENGTHS[length]}."


def _followup_ask(user: str, tone: str, length: str) -> str:
    return (
        f"Write {user}'s follow-up message to the meeting's participants {_TONES[tone]}, in "
        f"{_LENGTHS[length]}: what was decided and who does what by when."
    )


def _rewrite_ask(user: str, tone: str, length: str) -> str:
    return f"Rewrite this message by {user} {_TONES[tone]}, in {_LENGTHS[length]}, same facts:"


def scaffolding(mode: str, *, user: str, tone: str, length: str) -> list[str]:
    """The prompt's own words, without the user's content (thread, notes, instruction): a
    draft that repeats them echoes the prompt instead of answering it. Repeating the
    content is often right (the instruction says what to say)."""
    ask = {"reply": _reply_ask, "followup": _followup_ask, "rewrite": _rewrite_ask}[mode]
    example = [m.content for m in _EXAMPLE] if mode == "reply" else []
    return [system(user).content, ask(user, tone, length), *example]


def reply(messages: Sequence[Message], *, user: str, instruction: str, tone: str,
          length: str) -> list[ChatMessage]:  # fmt: skip
    ask = _reply_ask(user, tone, length)
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}"
    return [system(user), *_EXAMPLE, ChatMessage("user", f"Thread:\n{lines(messages)}\n{ask}")]


def followup(notes: str, *, user: str, instruction: str, tone: str,
             length: str) -> list[ChatMessage]:  # fmt: skip
    ask = _followup_ask(user, tone, length)
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}"
    return [system(user), ChatMessage("user", f"Meeting notes:\n{notes}\n{ask}")]


def rewrite(text: str, *, user: str, tone: str, length: str) -> list[ChatMessage]:
    ask = _rewrite_ask(user, tone, length)
    return [system(user), ChatMessage("user", f"{ask}\n{text.strip()}")]
