"""`OpenAICompatibleGenerator`: generation on a server that speaks OpenAI's API (vLLM,
llama.cpp's server, Ollama), so a team's GPU machines write the drafts and summaries.

- Chat messages go to /chat/completions as messages: the server renders them with the
  model's own chat template. A raw string goes to /completions and is continued as it is,
  which is what the protocol promises and what the local backends do (sent as a user turn
  it would be answered instead, and a prompt that opens the answer itself, such as a
  prefilled JSON object, would lose its point).
- With `on_token` the answer is streamed and `on_token` called for each streamed piece
  (one token per event on these servers), so progress and the time to the first token mean
  what they mean locally; without it, one plain request.
- Token counts (for metrics) come from the answer's `usage`. `count_tokens` (for fitting
  threads and transcripts into the window) uses the model's tokenizer when a local copy is
  named (`llm_tokenizer`), else `estimate_tokens`. The servers' /tokenize is no help: it is
  not part of the API (Ollama has none), and the features count line by line, hundreds of
  round trips per meeting.
- The context window is a setting (`llm_context_length`): the API does not state it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from minutekeeper.core.settings import Settings
from minutekeeper.models.endpoint import Endpoint, error_detail
from minutekeeper.models.errors import EndpointUnavailable, ModelError, ModelUnavailable
from minutekeeper.models.llm import (
    ChatMessage,
    Generation,
    OnToken,
    check_fits,
    cut_at_stop,
    encode,
    load_tokenizer,
)

BYTES_PER_TOKEN = 3
MESSAGE_TOKENS = 4  # what a chat template adds around each message, for the estimate


def estimate_tokens(text: str) -> int:
    """A count above the true one for ordinary text and the usual tokenizers: one token per
    digit (several tokenizers split numbers into digits) and per 3 bytes of the rest in
    UTF-8 (English runs about 4 characters a token; a 3-byte CJK character is about one)."""
    digits = sum(c.isdigit() for c in text)
    rest = len(text.encode("utf-8")) - digits
    return digits + -(-rest // BYTES_PER_TOKEN)


@dataclass(frozen=True)
class _Answer:
    text: str
    finish_reason: str | None
    prompt_tokens: int | None  # None where the server sent no usage
    completion_tokens: int | None


class OpenAICompatibleGenerator:
    """A model served at an OpenAI-compatible endpoint under the name `model`."""

    def __init__(
        self,
        model: str,
        *,
        endpoint: Endpoint,
        context_length: int,
        tokenizer_folder: Path | None = None,
    ) -> None:
        self.name = model
        self.context_length = context_length
        self._endpoint = endpoint
        self._tokenizer: Any = None
        if tokenizer_folder is not None:
            if not tokenizer_folder.is_dir():
                raise ModelUnavailable(
                    f"the LLM tokenizer folder {tokenizer_folder} does not exist "
                    "(MINUTEKEEPER_LLM_TOKENIZER)"
                )
            self._tokenizer = load_tokenizer(tokenizer_folder)

    @classmethod
    def from_settings(cls, settings: Settings, model: str) -> OpenAICompatibleGenerator:
        """`model` on the endpoint the settings name (`llm_base_url` and the rest)."""
        return cls(model, endpoint=Endpoint.from_settings(settings),
                   context_length=settings.llm_context_length,
                   tokenizer_folder=settings.llm_tokenizer)  # fmt: skip

    def __repr__(self) -> str:
        return f"OpenAICompatibleGenerator({self.name!r}, {self._endpoint.shown!r})"

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is None:
            return estimate_tokens(text)
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

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
        """`no_repeat_ngram` is not applied: no OpenAI-compatible API has it (the server's
        own settings, such as llama.cpp's DRY sampler, are what it has instead)."""
        if self._tokenizer is not None:  # exact counts: refuse as the local backends do
            check_fits(len(encode(self._tokenizer, messages)), max_new_tokens, self.context_length)
        # Without a tokenizer the server, which counts exactly, refuses an over-long prompt.
        raw = isinstance(messages, str)
        path = "completions" if raw else "chat/completions"
        body = self._body(messages, max_new_tokens=max_new_tokens, temperature=temperature,
                          stop=stop, repetition_penalty=repetition_penalty)  # fmt: skip
        if on_token is None:
            answer = self._answer(self._endpoint.post(path, body), path, raw=raw)
        else:
            answer = self._streamed(path, body, raw=raw, on_token=on_token)
        text, cut = cut_at_stop(answer.text, stop)  # should a server leave a stop string in
        reason = "length" if answer.finish_reason == "length" and not cut else "stop"
        prompt_tokens = answer.prompt_tokens
        if prompt_tokens is None:
            prompt_tokens = self._prompt_estimate(messages)
        completion_tokens = answer.completion_tokens
        if completion_tokens is None:
            completion_tokens = self.count_tokens(answer.text)
        return Generation(text, prompt_tokens, completion_tokens, reason)

    def _body(
        self,
        messages: list[ChatMessage] | str,
        *,
        max_new_tokens: int,
        temperature: float,
        stop: list[str] | None,
        repetition_penalty: float,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.name,
            "max_tokens": max_new_tokens,
            "temperature": temperature,  # 0 is greedy on all three servers
        }
        if repetition_penalty != 1.0:
            # vLLM's extra field, the same penalty as the local backends' (on every token of
            # the prompt and the output); llama.cpp's server and Ollama ignore it and keep
            # their own (repeat_penalty). OpenAI's presence and frequency penalties are
            # another, additive formula, so the value is not translated into them.
            body["repetition_penalty"] = repetition_penalty
        if isinstance(messages, str):
            body["prompt"] = messages
        else:
            body["messages"] = [{"role": m.role, "content": m.content} for m in messages]
        if stop := [s for s in stop or () if s]:
            body["stop"] = stop
        return body

    def _answer(self, data: dict[str, Any], path: str, *, raw: bool) -> _Answer:
        """The text, finish reason and usage of a whole (not streamed) answer."""
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._endpoint.nonsense(path, "JSON that holds no completion (no choices)")
        choice = choices[0]
        text = _text(choice, "text" if raw else "message")
        if text is not None and not isinstance(text, str):
            raise self._endpoint.nonsense(path, "a completion whose text is not a string")
        return _Answer(text or "", choice.get("finish_reason"), *_usage(data))

    def _streamed(
        self, path: str, body: dict[str, Any], *, raw: bool, on_token: OnToken
    ) -> _Answer:
        """The answer streamed piece by piece, `on_token` told after each."""
        body = {**body, "stream": True, "stream_options": {"include_usage": True}}
        pieces: list[str] = []
        finish: str | None = None
        usage: tuple[int | None, int | None] = (None, None)
        for event in self._endpoint.stream(path, body):
            if "error" in event:  # vLLM reports a failure after the stream began this way
                detail = error_detail(event) or "an error"
                raise EndpointUnavailable(
                    f"the LLM endpoint {self._endpoint.shown} broke off its answer to "
                    f"/{path}: {detail}"
                )
            if isinstance(event.get("usage"), dict):
                usage = _usage(event)
            for choice in event.get("choices") or ():
                if not isinstance(choice, dict):
                    raise self._endpoint.nonsense(path, "a streamed event without choices")
                delta = _text(choice, "text" if raw else "delta")
                if isinstance(delta, str) and delta:
                    pieces.append(delta)
                    on_token(len(pieces))
                finish = choice.get("finish_reason") or finish
        return _Answer("".join(pieces), finish, *usage)

    def _prompt_estimate(self, messages: list[ChatMessage] | str) -> int:
        if isinstance(messages, str):
            return self.count_tokens(messages)
        return sum(self.count_tokens(m.content) + MESSAGE_TOKENS for m in messages)


def catalog_row(settings: Settings) -> tuple[str, str, str, str]:
    """`models list`'s line for the endpoint's model: whether the server lists it, after one
    quick look (llama.cpp's server answers any name with the one model it loaded)."""
    model = settings.llm_model
    if not settings.llm_base_url:
        return ("llm", model, "no endpoint", "llm_backend is openai: set MINUTEKEEPER_LLM_BASE_URL")
    endpoint = Endpoint.from_settings(settings)
    where = f"OpenAI-compatible endpoint {endpoint.shown}"
    try:
        served = endpoint.list_models(timeout_s=min(3.0, settings.llm_timeout_s))
    except ModelError as error:
        return ("llm", model, "endpoint unreachable", error.message)
    if model in served:
        return ("llm", model, "served", where)
    listed = ", ".join(served[:5]) + (", …" if len(served) > 5 else "") or "nothing"
    return ("llm", model, "not listed", f"{where} lists {listed}")


def _usage(data: dict[str, Any]) -> tuple[int | None, int | None]:
    """(prompt tokens, completion tokens) from an answer's `usage`, where it has them."""
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None, None
    return _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _text(choice: dict[str, Any], key: str) -> Any:
    """The text of a choice: `text` (/completions) or `message`/`delta` `content` (chat)."""
    if key == "text":
        return choice.get("text")
    part = choice.get(key)
    return part.get("content") if isinstance(part, dict) else None
