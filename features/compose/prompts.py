"""Prompts for compose: the chat template when the model has one (the generator applies
it), one short worked example first for base models, stop strings that end the draft
before the model starts the next turn."""

from __future__ import annotations

from collections.abc import Sequence

from features.compose.thread import Message
from models.llm import ChatMessage

PROMPT_VERSION = "compose-v1"
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
_EXAMPLE = [
    ChatMessage(
        "user",
        "Thread:\nLee: Is the venue booked for Friday?\n"
        "Write Dana's reply in a neutral, clear tone, in one to three sentences. "
        "Instruction: say yes, for 40 people.",
    ),
    ChatMessage("assistant", "Yes, the venue is booked for Friday, for 40 people."),
]


def system(user: str) -> ChatMessage:
    return ChatMessage(
        "system",
        f"You write chat messages for {user}, in the first person, as {user}. Write only the "
        "message itself: no greeting line for yourself, no labels, no quotes around it.",
    )


def lines(messages: Sequence[Message]) -> str:
    return "\n".join(f"{m.author}: {m.text}" for m in messages)


def reply(messages: Sequence[Message], *, user: str, instruction: str, tone: str,
          length: str) -> list[ChatMessage]:  # fmt: skip
    ask = f"Write {user}'s reply {_TONES[tone]}, in {_LENGTHS[length]}."
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}"
    return [system(user), *_EXAMPLE, ChatMessage("user", f"Thread:\n{lines(messages)}\n{ask}")]


def followup(notes: str, *, user: str, instruction: str, tone: str,
             length: str) -> list[ChatMessage]:  # fmt: skip
    ask = (
        f"Write {user}'s follow-up message to the meeting's participants {_TONES[tone]}, in "
        f"{_LENGTHS[length]}: what was decided and who does what by when."
    )
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}"
    return [system(user), ChatMessage("user", f"Meeting notes:\n{notes}\n{ask}")]


def rewrite(text: str, *, user: str, tone: str, length: str) -> list[ChatMessage]:
    ask = f"Rewrite this message by {user} {_TONES[tone]}, in {_LENGTHS[length]}, same facts:"
    return [system(user), ChatMessage("user", f"{ask}\n{text.strip()}")]
