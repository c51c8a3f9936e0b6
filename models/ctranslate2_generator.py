"""`CTranslate2Generator`: a causal LM on CTranslate2 (int8 on CPU), greedy by default.

A Hugging Face model folder is converted once into the model cache (`models.conversion`);
a folder that already holds a CTranslate2 model is used as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minutekeeper.models.conversion import convert, is_ctranslate2_folder
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


class CTranslate2Generator(TokenizedGenerator):
    """Loads (and if needed converts) the model once; `generate` can be called repeatedly."""

    def __init__(
        self,
        model: str,
        *,
        cache_dir: Path,
        device: str = "cpu",
        compute_type: str = "int8",
        threads: int = 0,
    ) -> None:
        import ctranslate2

        located = locate_llm(model, cache_dir=cache_dir, form="ctranslate2")
        self.name = located.name
        source = folder = located.folder
        if not is_ctranslate2_folder(source):
            folder = convert(source, cache_dir=cache_dir, quantization=compute_type)
        self._tokenizer = load_tokenizer(folder)
        self._ends = end_token_ids(self._tokenizer, folder)
        self.context_length = context_length_of(source, self._tokenizer)
        try:
            self._generator = ctranslate2.Generator(
                str(folder), device=device, compute_type=compute_type, intra_threads=threads
            )
        except (OSError, RuntimeError, ValueError) as error:
            reason = str(error).splitlines()[0]
            raise ModelUnavailable(f"cannot load LLM {model!r} ({folder}): {reason}") from error

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
        prompt = self.prompt_ids(messages)
        check_fits(len(prompt), max_new_tokens, self.context_length)
        sampling: dict[str, Any] = {"sampling_topk": 1}
        if temperature > 0:
            sampling = {"sampling_topk": 0, "sampling_temperature": temperature}
        sampling.update(repetition_penalty=repetition_penalty, no_repeat_ngram_size=no_repeat_ngram)
        ids, stopped = self._decode(prompt, max_new_tokens, sampling, stop, on_token)
        return self._finish(prompt, ids, ended=stopped, stop=stop, max_new_tokens=max_new_tokens)

    def _decode(
        self,
        prompt: list[int],
        limit: int,
        sampling: dict[str, Any],
        stop: list[str] | None,
        on_token: OnToken | None,
    ) -> tuple[list[int], bool]:
        """Generated ids (end token excluded), stopping early once a stop string appears."""
        steps = self._generator.generate_tokens(
            self._tokenizer.convert_ids_to_tokens(prompt),
            max_length=limit,  # counts new tokens only
            **sampling,
        )
        ids: list[int] = []
        for step in steps:
            if step.token_id in self._ends:
                return ids, True
            ids.append(step.token_id)
            if on_token is not None:
                on_token(len(ids))
            if stop_reached(self._tokenizer, ids, stop):
                return ids, True
            if len(ids) >= limit:
                break
        return ids, False
