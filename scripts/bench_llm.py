"""The embedded language model on this machine's CPU: what a fresh install pays once, and
what each generation costs, through the product's path and through CTranslate2 directly.

    .venv/bin/python scripts/bench_llm.py [--model qwen2.5-coder-0.5b-instruct] [--threads 2]
        [--repeats 3] [--new-tokens 64] [--skip-prepare]

1. First-run preparation (unless --skip-prepare): a child process prepares the model into an
   empty cache, as the first `compose` after set-up does (join, check, dequantize, convert);
   its wall time and peak RSS, and the cache's size afterwards with the embedded speech and
   embedding models prepared beside it (target: under 1.5 GB in all).
2. Serving, each in its own child process so the peak RSS is its own: load time; prefill
   tokens/s (prompt tokens / time of a one-token generation); decode tokens/s (the further
   tokens / the extra time of a longer generation); time to the first token. Medians of
   --repeats. "product" is `ModelCache.generator()` (prompt rendering, stop-string checks,
   token counting for metrics); "raw" is `ctranslate2.Generator.generate_tokens` on the
   same token ids with the same decoding options. Target: product decode >= 0.95 x raw.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minutekeeper.core.settings import Settings
from minutekeeper.models.llm import ChatMessage

PROMPT = [
    ChatMessage("system", "You are a helpful assistant that summarises meetings."),
    ChatMessage(
        "user",
        "Alice opened the weekly planning meeting and asked for updates. Bob said the release "
        "candidate passed the test suite, but two bugs in the export remain open. Carol "
        "reported that the budget review moved to Thursday and that the vendor contract needs "
        "a signature by the end of the month. The team agreed to ship the release on Friday if "
        "the export bugs are fixed by Wednesday, and Alice will write the announcement. Write "
        "a detailed summary of the meeting in several paragraphs.",
    ),
]
DECODING = {"repetition_penalty": 1.1}


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _folder_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1e6


def _child(args: argparse.Namespace, role: str, cache: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", role, "--model", args.model,
               "--cache-dir", str(cache), "--threads", str(args.threads),
               "--repeats", str(args.repeats), "--new-tokens", str(args.new_tokens)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{role} failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def child_prepare(args: argparse.Namespace) -> dict[str, Any]:
    from minutekeeper.models.embedded import WHISPER_BASE, prepare
    from minutekeeper.models.locate import locate_llm

    start = time.perf_counter()
    located = locate_llm(args.model, cache_dir=args.cache_dir, form="ctranslate2")
    seconds = time.perf_counter() - start
    peak = _peak_rss_mb()
    prepare(WHISPER_BASE, args.cache_dir)
    settings = Settings(model_cache_dir=args.cache_dir, data_dir=args.cache_dir.parent)
    from minutekeeper.models.registry import build_embedder

    build_embedder(settings).embed(["warm"])
    return {"seconds": seconds, "peak_rss_mb": peak, "model": located.name}


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def child_product(args: argparse.Namespace) -> dict[str, Any]:
    from minutekeeper.models.cache import ModelCache

    settings = Settings(model_cache_dir=args.cache_dir, llm_model=args.model,
                        llm_threads=args.threads)  # fmt: skip
    load, generator = _timed(ModelCache(settings).generator)

    def run(tokens: int) -> tuple[float, float, int, int]:
        first: list[float] = []
        start = time.perf_counter()

        def on_token(count: int) -> None:
            if not first:
                first.append(time.perf_counter() - start)

        out = generator.generate(PROMPT, max_new_tokens=tokens, on_token=on_token, **DECODING)
        return time.perf_counter() - start, first[0], out.prompt_tokens, out.completion_tokens

    return _rates(load, run, args)


def child_raw(args: argparse.Namespace) -> dict[str, Any]:
    import ctranslate2

    from minutekeeper.models.llm import encode, load_tokenizer
    from minutekeeper.models.locate import locate_llm

    folder = locate_llm(args.model, cache_dir=args.cache_dir, form="ctranslate2").folder
    start = time.perf_counter()
    tokenizer = load_tokenizer(folder)
    generator = ctranslate2.Generator(str(folder), device="cpu", compute_type="int8",
                                      intra_threads=args.threads)  # fmt: skip
    load = time.perf_counter() - start
    ends = {tokenizer.eos_token_id}
    tokens = tokenizer.convert_ids_to_tokens(encode(tokenizer, PROMPT))

    def run(limit: int) -> tuple[float, float, int, int]:
        first = 0.0
        produced = 0
        start = time.perf_counter()
        for step in generator.generate_tokens(tokens, max_length=limit, sampling_topk=1,
                                              repetition_penalty=1.1):  # fmt: skip
            if step.token_id in ends:
                break
            produced += 1
            if produced == 1:
                first = time.perf_counter() - start
        return time.perf_counter() - start, first, len(tokens), produced

    return _rates(load, run, args)


def _rates(
    load: float, run: Callable[[int], tuple[float, float, int, int]], args: argparse.Namespace
) -> dict[str, Any]:
    run(4)  # warm-up
    prefill, decode, ttft = [], [], []
    prompt_tokens = produced = 0
    for _ in range(args.repeats):
        one, _, prompt_tokens, _ = run(1)
        many, first, _, produced = run(args.new_tokens)
        prefill.append(prompt_tokens / one)
        decode.append((produced - 1) / max(many - one, 1e-9))
        ttft.append(first)
    return {
        "load_s": load,
        "prompt_tokens": prompt_tokens,
        "new_tokens": produced,
        "prefill_tps": statistics.median(prefill),
        "decode_tps": statistics.median(decode),
        "ttft_s": statistics.median(ttft),
        "peak_rss_mb": _peak_rss_mb(),
    }


CHILDREN = {"prepare": child_prepare, "product": child_product, "raw": child_raw}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=Settings().llm_model)
    parser.add_argument("--cache-dir", type=Path, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-prepare", action="store_true")
    parser.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](args)))
        return
    cache = args.cache_dir or Settings().resolved_model_cache_dir()
    if not args.skip_prepare:
        fresh = Path(tempfile.mkdtemp(prefix="mk-bench-llm-"))
        try:
            prep = _child(args, "prepare", fresh / "models")
            size = _folder_mb(fresh / "models")
            print(f"first-run preparation of {prep['model']}: {prep['seconds']:.1f} s, peak RSS "
                  f"{prep['peak_rss_mb']:.0f} MB; embedded models' cache afterwards "
                  f"{size:.0f} MB ({'meets' if size < 1500 else 'MISSES'} < 1500 MB)")  # fmt: skip
            for item in sorted((fresh / "models").iterdir()):
                print(f"  {item.name}: {_folder_mb(item):.0f} MB")
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
    _child(args, "prepare", cache)  # so that neither serving child pays (or measures) it
    rows = {role: _child(args, role, cache) for role in ("raw", "product")}
    print(f"model {args.model}, {args.threads} threads, prompt {rows['raw']['prompt_tokens']} "
          f"tokens, {args.new_tokens} new, medians of {args.repeats}")  # fmt: skip
    for role, row in rows.items():
        print(f"{role:>8}: load {row['load_s']:5.2f} s, prefill {row['prefill_tps']:7.1f} tok/s, "
              f"decode {row['decode_tps']:5.1f} tok/s, first token {row['ttft_s']:.3f} s, "
              f"peak RSS {row['peak_rss_mb']:.0f} MB")  # fmt: skip
    ratio = rows["product"]["decode_tps"] / rows["raw"]["decode_tps"]
    verdict = "meets" if ratio >= 0.95 else "MISSES"
    print(f"product/raw decode x{ratio:.3f} ({verdict} >= 0.95), prefill "
          f"x{rows['product']['prefill_tps'] / rows['raw']['prefill_tps']:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
