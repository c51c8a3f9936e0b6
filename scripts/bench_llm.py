"""Load time and tokens/s (prefill and decode apart) of the two LLM backends on the same
model and prompt, in one run: CTranslate2 int8 against transformers float32 on CPU.

    .venv/bin/python scripts/bench_llm.py [--model gemma3-270m] [--threads 2]

Prefill rate: prompt tokens / time of a one-token generation. Decode rate: the further
tokens / the extra time of a longer generation. Medians of --repeats runs. The target is
at least 20 tokens/s decode for CTranslate2 on 2 cores.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minutekeeper.core.settings import Settings
from minutekeeper.models.gemma_embedded import EMBEDDED_LLM
from minutekeeper.models.llm import TextGenerator
from minutekeeper.models.locate import resolve_model_path

T = TypeVar("T")
PROMPT = (
    "Meeting notes. Alice opened the weekly planning meeting and asked for updates. Bob "
    "said the release candidate passed the test suite, but two bugs in the export remain "
    "open. Carol reported that the budget review moved to Thursday and that the vendor "
    "contract needs a signature by the end of the month. The team agreed to ship the "
    "release on Friday if the export bugs are fixed by Wednesday, and Alice will write "
    "the announcement. Summary of the meeting:"
)


def _timed(action: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def measure(generator: TextGenerator, *, new_tokens: int, repeats: int) -> dict[str, float]:
    """Median prefill and decode rates (tokens/s) of one backend."""
    generator.generate(PROMPT, max_new_tokens=4)  # warm-up
    prefill_times, decode_rates = [], []
    prompt_tokens = 0
    for _ in range(repeats):
        first, one = _timed(lambda: generator.generate(PROMPT, max_new_tokens=1))
        total, many = _timed(lambda: generator.generate(PROMPT, max_new_tokens=new_tokens))
        prompt_tokens = one.prompt_tokens
        produced = many.completion_tokens
        prefill_times.append(first)
        decode_rates.append((produced - 1) / max(total - first, 1e-9))
    return {
        "prompt_tokens": prompt_tokens,
        "prefill_tps": prompt_tokens / statistics.median(prefill_times),
        "decode_tps": statistics.median(decode_rates),
    }


def _build(backend: str, model: str, cache: Path, threads: int) -> TextGenerator:
    if backend == "ctranslate2":
        from minutekeeper.models.ctranslate2_generator import CTranslate2Generator

        return CTranslate2Generator(model, cache_dir=cache, threads=threads)
    from minutekeeper.models.transformers_generator import TransformersGenerator

    return TransformersGenerator(model, cache_dir=cache, threads=threads)


def _bench(backend: str, args: argparse.Namespace, cache: Path, source: Path) -> dict[str, float]:
    if backend == "ctranslate2":  # convert once, outside the timed load
        from minutekeeper.models.conversion import convert, is_ctranslate2_folder

        if not is_ctranslate2_folder(source):
            seconds, _ = _timed(functools.partial(convert, source, cache_dir=cache))
            print(f"ctranslate2 int8 conversion (cached after the first run): {seconds:.1f} s")
    build = functools.partial(_build, backend, args.model, cache, args.threads)
    load, generator = _timed(build)
    rates = measure(generator, new_tokens=args.new_tokens, repeats=args.repeats)
    print(
        f"{backend:>12}: load {load:6.2f} s, prompt {rates['prompt_tokens']:.0f} tokens, "
        f"prefill {rates['prefill_tps']:8.1f} tok/s, decode {rates['decode_tps']:6.1f} tok/s"
    )
    return {"load_s": load, **rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=EMBEDDED_LLM)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cache = args.cache_dir or Settings().resolved_model_cache_dir()
    prep, source = _timed(functools.partial(resolve_model_path, args.model, cache_dir=cache))
    print(f"model {args.model}: {source} (prepared in {prep:.1f} s), threads {args.threads}")
    ct2 = _bench("ctranslate2", args, cache, source)
    hf = _bench("transformers", args, cache, source)
    print(
        f"CT2/transformers: prefill x{ct2['prefill_tps'] / hf['prefill_tps']:.2f}, "
        f"decode x{ct2['decode_tps'] / hf['decode_tps']:.2f}, "
        f"load x{ct2['load_s'] / hf['load_s']:.2f}"
    )
    target = "meets" if ct2["decode_tps"] >= 20 else "MISSES"
    print(f"CTranslate2 decode {ct2['decode_tps']:.1f} tok/s {target} the 20 tok/s target")


if __name__ == "__main__":
    main()
