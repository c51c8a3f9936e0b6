"""Text generation behind the `TextGenerator` protocol.

Prompts come in as chat messages (rendered with the tokenizer's chat template when it has
one, otherwise as a plain "System: …\\nUser: …\\nAssistant:" prompt) or as a raw string that
is continued as it is. Results cross the package boundary as the frozen `Generation`;
tensors and CTranslate2 objects never leave `models/`.

Which folder a model name means (embedded, fine-tuned, a folder, a hub id) is decided in
one place, `models.locate`; the backends load the folder it gives.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from minutekeeper.models.errors import ModelError, ModelUnavailable

DEFAULT_CONTEXT = 2048
_ROLES = {"system": "System", "user": "User", "assistant": "Assistant"}


@dataclass(frozen=True)
class ChatMessage:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True)
class Generation:
    text: str
    prompt_tokens: int
    completion_tokens: int
    finish_reason: str  # "stop" (end token or stop string) or "length"


# Called after each generated token with the number generated so far (progress, and the
# time to the first token); it sees no text, so a caller cannot show an unchecked draft.
OnToken = Callable[[int], None]


class TextGenerator(Protocol):
    """Continues a prompt; greedy (deterministic) at temperature 0.

    `repetition_penalty` (> 1 discourages any token already in the prompt or the output,
    1 is off) and `no_repeat_ngram` (no n-gram of that many tokens twice in the output, 0
    is off) keep greedy decoding out of loops; each feature chooses them for its own
    output (a JSON answer repeats its punctuation by design, a chat message should not)."""

    name: str
    context_length: int

    def count_tokens(self, text: str) -> int: ...

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
    ) -> Generation: ...


class TokenizedGenerator:
    """What both backends share: counting and encoding with the model's tokenizer, and
    turning generated ids into a `Generation`."""

    _tokenizer: Any

    def count_tokens(self, text: str) -> int:
        return len(self._tokenizer(text, add_special_tokens=False)["input_ids"])

    def prompt_ids(self, messages: list[ChatMessage] | str) -> list[int]:
        return encode(self._tokenizer, messages)

    def _finish(
        self,
        prompt: Sequence[int],
        ids: Sequence[int],
        *,
        ended: bool,
        stop: Sequence[str] | None,
        max_new_tokens: int,
    ) -> Generation:
        text, cut = cut_at_stop(self._tokenizer.decode(list(ids), skip_special_tokens=True), stop)
        reason = "stop" if ended or cut or len(ids) < max_new_tokens else "length"
        return Generation(text, len(prompt), len(ids), reason)


def plain_prompt(messages: Sequence[ChatMessage]) -> str:
    """The few-shot-free fallback format for tokenizers without a chat template."""
    lines = [f"{_ROLES.get(m.role, m.role.title())}: {m.content}" for m in messages]
    return "\n".join([*lines, "Assistant:"])


def render_prompt(tokenizer: Any, messages: list[ChatMessage] | str) -> tuple[str, bool]:
    """(prompt text, whether it already holds the special tokens a template adds)."""
    if isinstance(messages, str):
        return messages, False
    if getattr(tokenizer, "chat_template", None):
        chat = [{"role": m.role, "content": m.content} for m in messages]
        text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        return str(text), True
    return plain_prompt(messages), False


def encode(tokenizer: Any, messages: list[ChatMessage] | str) -> list[int]:
    text, templated = render_prompt(tokenizer, messages)
    return list(tokenizer(text, add_special_tokens=not templated)["input_ids"])


def end_token_ids(tokenizer: Any, folder: Path | None = None) -> set[int]:
    """The tokenizer's end token and those in the folder's generation_config.json (chat
    models often end a turn with a token other than the tokenizer's eos)."""
    found: set[int] = set()
    extra = _read_json(folder / "generation_config.json") if folder else {}
    for eos in (tokenizer.eos_token_id, extra.get("eos_token_id")):
        if isinstance(eos, int):
            found.add(eos)
        elif isinstance(eos, list):
            found.update(i for i in eos if isinstance(i, int))
    return found


def cut_at_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """The text up to the earliest stop string, and whether one was found."""
    hits = [i for s in stop or () if s and (i := text.find(s)) >= 0]
    return (text[: min(hits)], True) if hits else (text, False)


def stop_reached(tokenizer: Any, ids: Sequence[int], stop: Sequence[str] | None) -> bool:
    """Whether the newest tokens complete a stop string; decodes only a short tail, so the
    check stays cheap per step (earlier tokens were checked at their own step)."""
    if not stop or not ids:
        return False
    window = max(len(s) for s in stop) + 2  # a token yields at least one character
    return cut_at_stop(tokenizer.decode(list(ids[-window:])), stop)[1]


def check_fits(prompt_tokens: int, max_new_tokens: int, context_length: int) -> None:
    """Refuse a prompt the model cannot see whole, rather than truncate it silently."""
    if prompt_tokens + max_new_tokens > context_length:
        raise ModelError(
            f"the prompt ({prompt_tokens} tokens) plus {max_new_tokens} new tokens exceeds "
            f"the model's context of {context_length} tokens; split the input into chunks"
        )


def context_length_of(folder: Path, tokenizer: Any = None) -> int:
    """The model's context window from its config.json (or the tokenizer), for chunking."""
    # A CTranslate2 folder's config.json does not say; the one it was converted from does.
    for name in ("config.json", "source_config.json"):
        config = _read_json(folder / name)
        config = config.get("text_config", config)
        for key in ("max_position_embeddings", "n_positions", "max_sequence_length"):
            if isinstance(config.get(key), int):
                return int(config[key])
    limit = getattr(tokenizer, "model_max_length", None)
    return int(limit) if isinstance(limit, int) and limit < 10**7 else DEFAULT_CONTEXT


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    options: dict[str, Any] = {}
    if "model_type" not in _read_json(folder / "config.json"):
        # A CTranslate2 folder's config.json names no model type, which transformers 5
        # mistakes for an old Mistral tokenizer and warns about on every load.
        options["fix_mistral_regex"] = False
    try:
        return AutoTokenizer.from_pretrained(str(folder), **options)
    except (OSError, ValueError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(f"cannot load the tokenizer in {folder}: {reason}") from error


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
