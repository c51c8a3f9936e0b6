"""Speed of minutekeeper's transcription against raw faster-whisper (a benchmark, not a test).

Same audio, same model folder (the embedded Whisper base the product prepares), same
settings (device cpu, int8, the product's `cpu_threads`, `vad_filter=True`,
`word_timestamps=True`, faster-whisper's other defaults), measured in one run:

a. raw faster-whisper in this process: `WhisperModel(...)` load, then `decode_audio` and
   `transcribe` with the generator consumed (compute = decode + transcribe);
b. the product path without diarization: `build_transcriber(settings)` (load), then
   `transcribe_recording(path, diarizer=None, ...)` (compute = decode + transcribe + the
   transcript); target: compute(b) / compute(a) <= 1.05;
c. end to end in a fresh process, start-up and model load included:
   `minutekeeper transcribe FILE --no-diarize --quiet -o OUT` against a raw faster-whisper
   script doing load + decode + transcribe + writing the text;
d. diarization's extra cost: `transcribe_recording` with `build_diarizer(settings)` (its
   encoder loaded beforehand) minus (b);
e. a note: faster-whisper's `BatchedInferencePipeline` (batch_size 8, same settings).

The audio is >= 5 minutes: the ten 30 s AMI clips of `../shared/data` joined (300 s), or
the project's `examples/meeting.flac` twice (306 s), written to a temporary 16 kHz mono
16-bit WAV. Each variant runs `--repeats` times (default 2) in alternating order, so that
no variant always runs on warm or cold caches; the best time counts. RTF = seconds of
compute per second of audio (lower is faster).

    .venv/bin/python scripts/bench_asr.py [--audio ami|example] [--data ../shared/data]
        [--data-dir DIR] [--threads N] [--repeats N] [--skip-cli] [--skip-diarize]
        [--skip-batched]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from minutekeeper.core.settings import Settings
from minutekeeper.features.transcription import audio, service
from minutekeeper.models.asr import SAMPLE_RATE
from minutekeeper.models.registry import build_diarizer, build_transcriber

REPO = Path(__file__).resolve().parent.parent
RATIO_TARGET = 1.05
MIN_SECONDS = 300.0

# Raw faster-whisper in a fresh process: argv = model folder, audio, threads, output.
RAW_SCRIPT = """
import sys
from faster_whisper import WhisperModel, decode_audio
folder, path, threads, out = sys.argv[1:]
model = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=int(threads))
segments, _ = model.transcribe(decode_audio(path), vad_filter=True, word_timestamps=True)
with open(out, "w", encoding="utf-8") as f:
    f.write("\\n".join(s.text.strip() for s in segments))
"""


@dataclass
class Bench:
    settings: Settings
    folder: str
    path: Path
    seconds: float
    scratch: Path
    best: dict[str, float] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    diarizer: Any = None

    def record(self, key: str, value: float) -> None:
        self.best[key] = min(value, self.best.get(key, float("inf")))


def build_audio(source: str, data: Path, out: Path) -> float:
    """Writes the >= 5 minute benchmark recording; returns its length in seconds."""
    if source == "ami":
        clips = sorted((data / "audio" / "pyannote_ami_clips").glob("trn*.wav"))
        if len(clips) != 10:
            sys.exit(f"expected the ten AMI clips under {data}/audio/pyannote_ami_clips")
        planes = [audio.decode(clip)[0] for clip in clips]
    else:
        planes = [audio.decode(REPO / "examples" / "meeting.flac")[0]] * 2
    joined = np.concatenate(planes)
    pcm = (np.clip(joined, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(out), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(SAMPLE_RATE)
        handle.writeframes(pcm.tobytes())
    return len(joined) / SAMPLE_RATE


def timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


# --- the variants; each records its times into `bench.best` ---


def run_raw(bench: Bench) -> None:
    """(a) raw faster-whisper: load, then decode + transcribe (generator consumed)."""
    from faster_whisper import WhisperModel, decode_audio

    threads = bench.settings.asr_threads
    load, model = timed(
        lambda: WhisperModel(bench.folder, device="cpu", compute_type="int8", cpu_threads=threads)
    )

    def work() -> str:
        segments, _ = model.transcribe(
            decode_audio(str(bench.path)), vad_filter=True, word_timestamps=True
        )
        return " ".join(segment.text.strip() for segment in segments)

    compute, text = timed(work)
    bench.record("raw load", load)
    bench.record("raw compute", compute)
    bench.texts["raw"] = text


def run_product(bench: Bench) -> None:
    """(b) the product path without diarization."""
    load, transcriber = timed(lambda: build_transcriber(bench.settings))
    compute, transcript = timed(
        lambda: service.transcribe_recording(
            bench.path,
            transcriber=transcriber,
            diarizer=None,
            request=service.TranscribeRequest(diarize=False),
        )
    )
    bench.record("product load", load)
    bench.record("product compute", compute)
    bench.texts["product"] = transcript.text


def run_product_diarized(bench: Bench) -> None:
    """(d) the product path with the diarizer (encoder already loaded)."""
    transcriber = build_transcriber(bench.settings)
    compute, transcript = timed(
        lambda: service.transcribe_recording(
            bench.path,
            transcriber=transcriber,
            diarizer=bench.diarizer,
            request=service.TranscribeRequest(),
        )
    )
    (samples,) = audio.decode(bench.path)
    alone, _ = timed(lambda: bench.diarizer.diarize(samples))
    bench.record("diarized compute", compute)
    bench.record("diarizer alone", alone)
    bench.texts["speakers"] = ", ".join(s.id for s in transcript.speakers)


def run_cli(bench: Bench) -> None:
    """(c) `minutekeeper transcribe` in a fresh process, wall time."""
    env = {**os.environ, "MINUTEKEEPER_ASR_THREADS": str(bench.settings.asr_threads)}
    command = [
        str(REPO / ".venv" / "bin" / "minutekeeper"),
        "--data-dir",
        str(bench.settings.data_dir),
        "transcribe",
        str(bench.path),
        "--no-diarize",
        "--quiet",
        "-o",
        str(bench.scratch / "cli.json"),
    ]
    wall, _ = timed(lambda: subprocess.run(command, check=True, env=env))
    bench.record("cli wall", wall)


def run_raw_process(bench: Bench) -> None:
    """(c) raw faster-whisper in a fresh process, wall time."""
    command = [
        sys.executable,
        "-c",
        RAW_SCRIPT,
        bench.folder,
        str(bench.path),
        str(bench.settings.asr_threads),
        str(bench.scratch / "raw.txt"),
    ]
    wall, _ = timed(lambda: subprocess.run(command, check=True))
    bench.record("raw process wall", wall)


def run_batched(bench: Bench) -> None:
    """(e) faster-whisper's batched pipeline, batch_size 8, same settings."""
    from faster_whisper import BatchedInferencePipeline, WhisperModel, decode_audio

    threads = bench.settings.asr_threads
    model = WhisperModel(bench.folder, device="cpu", compute_type="int8", cpu_threads=threads)
    pipeline = BatchedInferencePipeline(model=model)

    def work() -> str:
        segments, _ = pipeline.transcribe(
            decode_audio(str(bench.path)), batch_size=8, vad_filter=True, word_timestamps=True
        )
        return " ".join(segment.text.strip() for segment in segments)

    compute, text = timed(work)
    bench.record("batched compute", compute)
    bench.texts["batched"] = text


# --- driving and reporting ---


def run_all(bench: Bench, variants: list[Callable[[Bench], None]], repeats: int) -> None:
    """Every variant `repeats` times, the order reversed every other round."""
    for round_ in range(repeats):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for variant in order:
            print(
                f"  round {round_ + 1}: {variant.__doc__.split(')')[0].strip('(')}"
                f" {variant.__name__}",
                flush=True,
            )
            variant(bench)


def warm_diarizer(bench: Bench) -> None:
    """Builds the diarizer and loads its encoder on the first 20 s, timed apart."""
    bench.diarizer = build_diarizer(bench.settings)
    (samples,) = audio.decode(bench.path)
    load, _ = timed(lambda: bench.diarizer.diarize(samples[: 20 * SAMPLE_RATE]))
    print(f"  diarizer encoder load + 20 s warm-up: {load:.2f} s")


def report(bench: Bench) -> bool:
    """Prints the table; returns whether (b)/(a) met its target."""
    best, seconds = bench.best, bench.seconds
    print(f"\naudio: {seconds:.1f} s; best of the rounds; RTF = compute s / audio s")
    print(f"{'variant':<52} {'seconds':>8} {'RTF':>7}")
    rows = [
        ("(a) raw faster-whisper: decode + transcribe", "raw compute"),
        ("(b) minutekeeper transcribe_recording, no diarizer", "product compute"),
        ("(a) raw model load", "raw load"),
        ("(b) minutekeeper build_transcriber (model load)", "product load"),
        ("(c) raw faster-whisper process, wall (incl. load)", "raw process wall"),
        ("(c) minutekeeper transcribe CLI, wall (incl. load)", "cli wall"),
        ("(d) minutekeeper transcribe_recording + diarizer", "diarized compute"),
        ("(d) diarizer.diarize alone", "diarizer alone"),
        ("(e) faster-whisper BatchedInferencePipeline bs=8", "batched compute"),
    ]
    for label, key in rows:
        if key in best:
            print(f"{label:<52} {best[key]:>8.2f} {best[key] / seconds:>7.4f}")
    ratio = best["product compute"] / best["raw compute"]
    print(
        f"\n(b)/(a) compute ratio: {ratio:.3f} (target <= {RATIO_TARGET}): "
        f"{'PASS' if ratio <= RATIO_TARGET else 'MISS'}"
    )
    _report_extras(bench)
    return ratio <= RATIO_TARGET


def _report_extras(bench: Bench) -> None:
    best, texts = bench.best, bench.texts
    same = "identical" if texts["product"] == texts["raw"] else "DIFFERENT"
    print(f"(a) vs (b) transcript text: {same} ({len(texts['raw'].split())} words)")
    if "cli wall" in best:
        ratio = best["cli wall"] / best["raw process wall"]
        print(f"(c) CLI / raw process wall ratio: {ratio:.3f}")
    if "diarized compute" in best:
        extra = best["diarized compute"] - best["product compute"]
        print(
            f"(d) diarization's extra cost: {extra:.2f} s (RTF {extra / bench.seconds:.4f}, "
            f"{extra / best['product compute']:+.0%} on (b)); speakers: {texts['speakers']}"
        )
    if "batched compute" in best:
        import jiwer

        speedup = best["raw compute"] / best["batched compute"]
        differ = jiwer.wer(texts["raw"], texts["batched"])
        print(
            f"(e) batched is {speedup:.2f}x the speed of sequential (a); its words differ "
            f"from (a)'s by {differ:.1%} (WER of batched against sequential)"
        )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(data_dir=args.data_dir, asr_threads=args.threads)
    from minutekeeper.models.faster_whisper_backend import resolve_model

    folder = resolve_model(settings.asr_model, cache_dir=settings.resolved_model_cache_dir())
    with tempfile.TemporaryDirectory(prefix="bench-asr-") as scratch:
        path = Path(scratch) / f"bench-{args.audio}.wav"
        seconds = build_audio(args.audio, args.data, path)
        if seconds < MIN_SECONDS:
            sys.exit(f"benchmark audio is {seconds:.0f} s; it must be >= {MIN_SECONDS:.0f} s")
        bench = Bench(settings, folder, path, seconds, Path(scratch))
        print(
            f"model {folder}; cpu_threads {args.threads} (0 = CTranslate2's default) "
            f"for both; {os.cpu_count()} CPUs; audio {args.audio}, {seconds:.1f} s"
        )
        variants = [run_raw, run_product]
        if not args.skip_cli:
            variants += [run_cli, run_raw_process]
        if not args.skip_diarize:
            warm_diarizer(bench)
            variants.append(run_product_diarized)
        if not args.skip_batched:
            variants.append(run_batched)
        run_all(bench, variants, args.repeats)
        return 0 if report(bench) else 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio", choices=("ami", "example"), default="ami")
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO.parent / "shared" / "data",
        help="shared data folder (for --audio ami)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "minutekeeper-asr-eval",
        help="minutekeeper data dir (the model is prepared under it)",
    )
    parser.add_argument(
        "--threads", type=int, default=0, help="cpu_threads for both (0 = CTranslate2's default)"
    )
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-cli", action="store_true")
    parser.add_argument("--skip-diarize", action="store_true")
    parser.add_argument("--skip-batched", action="store_true")
    args = parser.parse_args(argv)
    if args.audio == "ami" and not (args.data / "audio" / "pyannote_ami_clips").is_dir():
        sys.exit(f"no AMI clips under {args.data}; give --data or use --audio example")
    return args


if __name__ == "__main__":
    sys.exit(main())
