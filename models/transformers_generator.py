"""`TransformersGenerator`: plain `model.generate` on CPU (float32), for architectures
CTranslate2 does not convert and as the reference the faster backend is checked against."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from minutekeeper.models.errors import ModelUnavailable
from minutekeeper.models.llm import (
    ChatMessage,
    Generation,
    OnToken,
    TokenizedGenerator,
    check_fits,
    context_length_of,
    end_token_ids,
    load_tokenizer,
    stop_reached,
)
from minutekeeper.models.locate import locate_llm


class TransformersGenerator(TokenizedGenerator):
    """Loads the model once; `generate` can then be called any number of times."""

    def __init__(self, model: str, *, cache_dir: Path, threads: int = 0) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        located = locate_llm(model, cache_dir=cache_dir, form="checkpoint")
        self.name = located.name
        folder = located.folder
        if threads > 0:
            torch.set_num_threads(threads)
        self._tokenizer = load_tokenizer(folder)
        self._ends = end_token_ids(self._tokenizer, folder)
        try:
            loaded = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32)
        except (OSError, ValueError, KeyError, RuntimeError) as error:
            reason = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise ModelUnavailable(f"cannot load LLM {model!r} ({folder}): {reason}") from error
        self._model: Any = cast(Any, loaded).eval()
        self.context_length = context_length_of(folder, self._tokenizer)

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
        import torch

        prompt = self.prompt_ids(messages)
        check_fits(len(prompt), max_new_tokens, self.context_length)
        inputs = torch.tensor([prompt], dtype=torch.long)
        with torch.inference_mode():
            output = self._model.generate(
                inputs,
                attention_mask=torch.ones_like(inputs),
                max_new_tokens=max_new_tokens,
                **_sampling(temperature),
                repetition_penalty=repetition_penalty,
                no_repeat_ngram_size=no_repeat_ngram,
                pad_token_id=self._pad_id(),
                stopping_criteria=_stop_criteria(self._tokenizer, stop, len(prompt)),
                streamer=_counter(on_token) if on_token is not None else None,
            )
        ids = [int(i) for i in output[0, len(prompt) :]]
        ended = bool(ids) and ids[-1] in self._ends
        ids = ids[:-1] if ended else ids
        return self._finish(prompt, ids, ended=ended, stop=stop, max_new_tokens=max_new_tokens)

    def _pad_id(self) -> int | None:
        pad = self._tokenizer.pad_token_id
        if pad is not None:
            return int(pad)
        ends = sorted(self._ends)
        return ends[0] if ends else None


def _sampling(temperature: float) -> dict[str, Any]:
    if temperature > 0:
        return {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
    return {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}


def _stop_criteria(tokenizer: Any, stop: list[str] | None, prompt_length: int) -> Any:
    """Ends generation once the new text holds a stop string (checked on decoded text,
    which works for any tokenizer, unlike transformers' token-level `stop_strings`)."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _StopStrings(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            import torch

            hit = stop_reached(tokenizer, input_ids[0, prompt_length:].tolist(), stop)
            return torch.full((input_ids.shape[0],), hit, dtype=torch.bool)

    return StoppingCriteriaList([_StopStrings()] if stop else [])


def _counter(on_token: OnToken) -> Any:
    """A transformers streamer that reports each new token's count (its first `put` is the
    prompt, which is skipped)."""
    from transformers.generation.streamers import BaseStreamer

    class _Counter(BaseStreamer):
        def __init__(self) -> None:
            self.seen = -1  # the prompt arrives first

        def put(self, value: Any) -> None:
            self.seen += 1
            if self.seen > 0:
                on_token(self.seen)

        def end(self) -> None:
            pass

    return _Counter()
