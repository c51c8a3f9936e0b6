"""Prompts for compose: the chat template when the model has one (the generator applies
it), two short worked replies first (they show a small model the format), the terms the
draft must carry said outright, the length's word limit in numbers, stop strings that end
the draft before the model starts the next turn, and what to fix when a draft failed its
checks (`retry`)."""

from __future__ import annotations

from collections.abc import Sequence

from minutekeeper.features.compose import checks
from minutekeeper.features.compose.draft import LENGTH_WORDS
from minutekeeper.features.compose.thread import Message
from minutekeeper.models.llm import ChatMessage

PROMPT_VERSION = "compose-v3"
STOP = ["\nUser:", "\nSystem:", "\nAssistant:", "\nThread:", "\n\n\n"]

_TONES = {
    "neutral": "in a neutral, clear tone",
    "friendly": "in a warm, friendly tone",
    "formal": "in a formal, polite tone",
    "concise": "as briefly as possible",
}
_LENGTHS = {
    "short": f"one to three sentences (at most {LENGTH_WORDS['short'][1]} words)",
    "medium": f"a short paragraph (at most {LENGTH_WORDS['medium'][1]} words)",
    "long": f"a few paragraphs (at most {LENGTH_WORDS['long'][1]} words)",
}
# Two worked replies, one with an instruction and one without: with a single example the
# Gemma 3 270M base model copied its answer into most drafts (scripts/eval_compose.py on a
# development draw of IRC threads: 1/24 drafts passed every check with one example, 12/24
# with two, 10/24 with none). The Qwen2.5 0.5B instruction model refused more often
# without them ("I'm sorry, but I can't assist with that.").
_EXAMPLE = [
    ChatMessage(
        "user",
        "Thread:\nLee: Is the venue booked for Friday?\n"
        f"Write Dana's reply {_TONES['neutral']}, in {_LENGTHS['short']}. "
        "Instruction: say yes, for 40 people.",
    ),
    ChatMessage("assistant", "Yes, the venue is booked for Friday, for 40 people."),
    ChatMessage(
        "user",
        "Thread:\nSam: did the backup job run last night?\nRi: no idea, check the logs\n"
        f"Write Kim's reply {_TONES['neutral']}, in {_LENGTHS['short']}.",
    ),
    ChatMessage("assistant", "It ran at 2:00 and finished fine; the log shows no errors."),
]


# One worked follow-up: without it the 0.5B instruction model copied the notes, labels and
# all, or echoed the prompt (scripts/eval_compose.py, part 2).
_FOLLOWUP_NOTES = (
    "- Decided: The office plants get watered on Fridays from now on, by whoever is in.\n"
    "- Decided: The quiz night stays on the first Thursday of the month.\n"
    "- Sam: Order the new chairs for the meeting room, the grey ones we looked at, by "
    "Tuesday 24 February.\n"
    "- Lee: Ask the landlord about fixing the heating on the second floor by Friday 27 "
    "February.\n"
    "- I will write up the new booking rules for the meeting rooms and share them by Monday "
    "23 February."
)
_FOLLOWUP_DRAFT = (
    "Thanks, all! Plants get watered on Fridays now, and quiz night stays on the first "
    "Thursday. Next steps: Sam orders the grey chairs by Tuesday, Lee asks the landlord about "
    "the heating by Friday, and I will share the new booking rules by Monday."
)

# One worked rewrite: without it the model answered most messages it was to rewrite, or
# refused them (16 of 20 IRC lines lost their facts or wording, 5 with it; part 3).
_REWRITE_DRAFT = "I am going to be late because of traffic on the A4, so please start without me."


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
        f"{_LENGTHS[length]}: a short thanks, what was decided in a sentence, then "
        "'Next steps:' and each task in a few words: who does what by which day."
    )


def _rewrite_ask(user: str, tone: str, length: str) -> str:
    return (
        f"Rewrite this chat message of mine {_TONES[tone]}, in {_LENGTHS[length]}. Rewrite "
        "it, do not reply to it; keep every name, number and term."
    )


def _rewrite_example() -> list[ChatMessage]:
    ask = _rewrite_ask("Ana", "neutral", "short")
    return [
        ChatMessage("user", f"{ask}\nMessage: gonna be late, traffic on the A4... start w/o me"),
        ChatMessage("assistant", _REWRITE_DRAFT),
    ]


def scaffolding(mode: str, *, user: str, tone: str, length: str) -> list[str]:
    """The prompt's own words, without the user's content (thread, notes, instruction): a
    draft that repeats them echoes the prompt instead of answering it. Repeating the
    content is often right (the instruction says what to say)."""
    ask = {"reply": _reply_ask, "followup": _followup_ask, "rewrite": _rewrite_ask}[mode]
    example = {"reply": _EXAMPLE, "followup": _followup_example(), "rewrite": _rewrite_example()}[
        mode
    ]
    return [system(user).content, ask(user, tone, length), *(m.content for m in example)]


def _followup_example() -> list[ChatMessage]:
    ask = _followup_ask("Ana", "neutral", "medium")
    return [
        ChatMessage("user", f"Meeting notes:\n{_FOLLOWUP_NOTES}\n{ask}"),
        ChatMessage("assistant", _FOLLOWUP_DRAFT),
    ]


def _terms(instruction: str) -> str:
    """The terms the checks look for, said outright: small models paraphrase them."""
    terms = checks.required(instruction)
    return f" Use these exactly as written: {', '.join(terms)}." if terms else ""


def reply(messages: Sequence[Message], *, user: str, instruction: str, tone: str,
          length: str) -> list[ChatMessage]:  # fmt: skip
    ask = _reply_ask(user, tone, length)
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}{_terms(instruction)}"
    return [system(user), *_EXAMPLE, ChatMessage("user", f"Thread:\n{lines(messages)}\n{ask}")]


def followup(notes: str, *, user: str, instruction: str, tone: str,
             length: str) -> list[ChatMessage]:  # fmt: skip
    ask = _followup_ask(user, tone, length)
    if instruction.strip():
        ask += f" Instruction: {instruction.strip()}{_terms(instruction)}"
    return [system(user), *_followup_example(),
            ChatMessage("user", f"Meeting notes:\n{notes}\n{ask}")]  # fmt: skip


def rewrite(text: str, *, user: str, tone: str, length: str) -> list[ChatMessage]:
    ask = _rewrite_ask(user, tone, length)
    return [system(user), *_rewrite_example(),
            ChatMessage("user", f"{ask}\nMessage: {text.strip()}")]  # fmt: skip


def retry(messages: Sequence[ChatMessage], failed: Sequence[str], *, user: str,
          length: str) -> list[ChatMessage]:  # fmt: skip
    """The prompt again, its last turn ending with what to do differently from a draft
    that failed these checks, where a check says how: the terms it missed, the word limit
    it broke, the user's place it answered in as an assistant. The failed draft itself is
    not shown (a small model shown its own draft writes it again), nor are other problems,
    whose wording it copies into the draft. A draft that copied the worked examples is
    asked for without them."""
    if any(problem.startswith(checks.REPEATS_PROMPT) for problem in failed):
        messages = [messages[0], messages[-1]]  # it copied the worked examples: none now
    fixes = [fix for problem in failed if (fix := _fix(problem, user, length))]
    if not fixes:
        return list(messages)
    last = messages[-1]
    note = f"\nImportant: {'; '.join(fixes)}."
    return [*messages[:-1], ChatMessage(last.role, last.content + note)]


def _fix(problem: str, user: str, length: str) -> str:
    low, high = LENGTH_WORDS[length]
    if problem.startswith(checks.ASSISTANT):  # a refusal, as often as not
        return f"answer in {user}'s place, as a person in the chat"
    if problem.startswith(checks.MISSES):
        return f"include {problem.removeprefix(checks.MISSES)}, exactly as written"
    if problem.startswith(checks.TOO_LONG):
        return f"write at most {high} words"
    if problem.startswith(checks.TOO_SHORT):  # often the asked-for terms alone, as a list
        return f"write {low} to {high} words in full sentences, not a list"
    return ""
