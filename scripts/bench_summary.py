"""Time and peak memory to summarize the longest QMSum val meeting (a script, not a test).

Each configuration runs in its own process (so peak RSS is its own), timed five times after
loading the models; the median counts (wall time on a shared 2-core machine varies by
+-20 % from run to run, so the fastest run is printed too). Configurations:
- extractive, embeddings on CTranslate2 int8 (the default; target <= 5 s on 2 cores);
- extractive, embeddings on sentence-transformers (PyTorch float32): the baseline;
- with --llm: hybrid and llm on the embedded Gemma 3 270M (one run each; minutes).

    .venv/bin/python scripts/bench_summary.py [--llm]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 5.0
CONFIGS = {
    "extractive/ctranslate2": ("extractive", "ctranslate2", 5),
    "extractive/sentence-transformers": ("extractive", "sentence-transformers", 5),
    "hybrid/ctranslate2": ("hybrid", "ctranslate2", 1),
    "llm/ctranslate2": ("llm", "ctranslate2", 1),
}


def longest():  # type: ignore[no-untyped-def]
    import qmsum

    return max(qmsum.meetings(), key=lambda m: len(m.transcript.text.split()))


def one(name: str) -> dict[str, object]:
    from minutekeeper.core.settings import Settings
    from minutekeeper.features.summary import service
    from minutekeeper.models.registry import build_embedder, build_generator

    engine, backend, runs = CONFIGS[name]
    meeting = longest()
    began = time.perf_counter()
    settings = Settings(embedding_backend=backend)
    embedder = build_embedder(settings)
    generator = build_generator(settings) if engine != "extractive" else None
    load = time.perf_counter() - began
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        summary = service.summarize_meeting(
            meeting.transcript,
            embedder=embedder,
            generator=generator,
            request=service.SummaryRequest(engine=engine),
        )
        times.append(time.perf_counter() - began)
    return {
        "meeting": meeting.name,
        "words": len(meeting.transcript.text.split()),
        "segments": len(meeting.transcript.segments),
        "load_s": round(load, 2),
        "summarize_s": round(statistics.median(times), 2),
        "fastest_s": round(min(times), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "engine_used": summary.engine,
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--llm", action="store_true", help="also hybrid and llm (Gemma)")
    parser.add_argument("--one", choices=CONFIGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return 0
    names = [n for n in CONFIGS if args.llm or n.startswith("extractive")]
    results = {}
    for name in names:
        done = subprocess.run(
            [sys.executable, __file__, "--one", name], capture_output=True, text=True, check=True
        )
        results[name] = json.loads(done.stdout.strip().splitlines()[-1])
    first = results[names[0]]
    print(f"meeting: {first['meeting']} ({first['words']} words, {first['segments']} segments)")
    base = results["extractive/sentence-transformers"]["summarize_s"]
    for name, row in results.items():
        ratio = float(row["summarize_s"]) / float(base)  # type: ignore[arg-type]
        print(f"{name:<34} load {row['load_s']:>6} s  summarize {row['summarize_s']:>7} s "
              f"(fastest {row['fastest_s']} s) "
              f"({ratio:.2f}x baseline)  peak RSS {row['peak_rss_mb']} MB  "
              f"[{row['engine_used']}]")  # fmt: skip
    default = float(results["extractive/ctranslate2"]["summarize_s"])  # type: ignore[arg-type]
    print(f"target: extractive <= {TARGET_S} s: {'met' if default <= TARGET_S else 'MISSED'}")
    return 0 if default <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
