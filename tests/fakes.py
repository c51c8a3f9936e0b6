"""Fakes that are real classes satisfying the project's protocols (no mocks)."""

from __future__ import annotations

from collections.abc import Callable

from minutekeeper.models.llm import ChatMessage, Generation, OnToken


class ScriptedGenerator:
    """Answers each call with the next scripted reply (a function of the prompt)."""

    name = "scripted"

    def __init__(self, *replies: str | Callable[[str], str], context_length: int = 8192) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.context_length = context_length

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def generate(
        self,
        messages: list[ChatMessage] | str,
        *,
        max_new_tokens: int = 256,
        temperature: float = 0.0,
        stop: list[str] | None = None,
        on_token: OnToken | None = None,
        repetition_penalty: float = 1.0,
        no_repeat_ngram: int = 0,
    ) -> Generation:
        prompt = messages if isinstance(messages, str) else "\n".join(m.content for m in messages)
        self.prompts.append(prompt)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        text = reply(prompt) if callable(reply) else reply
        for count in range(1, len(text.split()) + 1):
            if on_token is not None:
                on_token(count)
        return Generation(text, self.count_tokens(prompt), len(text.split()), "stop")
