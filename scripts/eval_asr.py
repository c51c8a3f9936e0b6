"""Evaluation of minutekeeper's transcription against raw faster-whisper (a script, not a test).

What it measures, on the real public audio in `../shared/data` (read-only, never copied):

1. WER, minutekeeper beside raw faster-whisper, per file and pooled over all files. Text is
   normalised the way Whisper's published WER figures are (`EnglishTextNormalizer`: lower
   case, bracketed and parenthesised text and fillers removed, contractions expanded,
   punctuation and diacritics removed, British spellings mapped to American with
   `asr_normalizer/english.json`, whitespace collapsed); jiwer computes the WER.
   - jfk.flac (44.1 kHz stereo FLAC) and jfk.wav (16 kHz mono): `transcribe_recording`.
   - pyannote sample.wav (reference: sample.stm): `transcribe_recording`.
   - stereo_diarization.wav, one speaker per channel: `transcribe_channels` (C1 = left,
     C2 = right); raw: `faster_whisper.decode_audio(split_stereo=True)`, each channel.
   Raw faster-whisper is `WhisperModel(<the product's prepared model folder>, device="cpu",
   compute_type="int8", cpu_threads=<the product's>)` and `transcribe(audio,
   vad_filter=True, word_timestamps=True)`, fed the samples the product decoded.
   Targets: WER <= 5 % on jfk; minutekeeper within 0.5 points of raw on every file.
2. DER (pyannote.metrics, collar 0.25 s, scored inside the UEM, or the whole file without
   one) on the ten AMI clips (debug.train.rttm/.uem) and the pyannote sample (sample.rttm):
   - transcript: the full product path `transcribe_recording(..., diarizer=...)`, each
     transcript segment (start, end, speaker) as a turn (speaker-attributed transcript);
   - diarizer: `diarizer.diarize(decode(path)[0])`, its turns as they are.
   Overall DER is total error over total reference speech, not a mean of ratios.

The model is the embedded Whisper base, prepared into `<data-dir>/models` on first use.
Exit status 1 when a target is missed.

    .venv/bin/python scripts/eval_asr.py [--data ../shared/data] [--data-dir DIR]
        [--skip-wer] [--skip-der]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jiwer
import numpy as np
from pyannote.core import Annotation, Segment, Timeline
from pyannote.metrics.diarization import DiarizationErrorRate

from minutekeeper.core.settings import Settings
from minutekeeper.features.transcription import audio, service
from minutekeeper.models.asr import SAMPLE_RATE
from minutekeeper.models.registry import build_diarizer, build_transcriber

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
JFK_TARGET = 0.05
GAP_TARGET = 0.005  # minutekeeper may trail raw faster-whisper by half a WER point at most
COLLAR = 0.25
WER_FILES = (
    "openai_whisper/jfk.flac",
    "whisper_cpp/jfk.wav",
    "pyannote_sample/sample.wav",
    "faster_whisper/stereo_diarization.wav",
)
AMI_CLIPS = tuple(f"trn{i:02d}" for i in range(10))

# --- Whisper's EnglishTextNormalizer, step by step (see the module docstring) ---

_FILLERS = r"\b(hmm|mm|mhm|mmm|uh|um)\b"
_WORDS = {
    "won't": "will not", "can't": "can not", "let's": "let us", "ain't": "aint",
    "y'all": "you all", "wanna": "want to", "gotta": "got to", "gonna": "going to",
    "i'ma": "i am going to", "imma": "i am going to", "woulda": "would have",
    "coulda": "could have", "shoulda": "should have", "ma'am": "madam",
}  # fmt: skip
_TITLES = {
    "mr": "mister", "mrs": "missus", "st": "saint", "dr": "doctor", "prof": "professor",
    "capt": "captain", "gov": "governor", "ald": "alderman", "gen": "general",
    "sen": "senator", "rep": "representative", "pres": "president", "rev": "reverend",
    "hon": "honorable", "asst": "assistant", "assoc": "associate", "lt": "lieutenant",
    "col": "colonel", "jr": "junior", "sr": "senior", "esq": "esquire",
}  # fmt: skip
_SUFFIXES = (
    (r"'d been\b", " had been"), (r"'s been\b", " has been"), (r"'d gone\b", " had gone"),
    (r"'s gone\b", " has gone"), (r"'d done\b", " had done"), (r"'s got\b", " has got"),
    (r"n't\b", " not"), (r"'re\b", " are"), (r"'s\b", " is"), (r"'d\b", " would"),
    (r"'ll\b", " will"), (r"'t\b", " not"), (r"'ve\b", " have"), (r"'m\b", " am"),
)  # fmt: skip
_LETTERS = {"œ": "oe", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "ð": "d", "þ": "th", "ł": "l"}
_KEEP = ".%$¢€£"


class EnglishNormalizer:
    """Whisper's English WER normaliser, minus its spelled-number rewriting (no reference
    or hypothesis here holds a number; both sides go through the same steps anyway)."""

    def __init__(self, spelling_map: Path) -> None:
        self.spellings: dict[str, str] = json.loads(spelling_map.read_text(encoding="utf-8"))
        self.replacers = [(rf"\b{re.escape(k)}\b", v) for k, v in _WORDS.items()]
        self.replacers += [(rf"\b{k}\b", f"{v} ") for k, v in _TITLES.items()]
        self.replacers += list(_SUFFIXES)

    def __call__(self, text: str) -> str:
        s = text.lower()
        s = re.sub(r"[<\[][^>\]]*[>\]]", "", s)  # [noise], <unk>
        s = re.sub(r"\(([^)]+?)\)", "", s)  # (laughs)
        s = re.sub(_FILLERS, "", s)
        s = re.sub(r"\s+'", "'", s)
        for pattern, replacement in self.replacers:
            s = re.sub(pattern, replacement, s)
        s = re.sub(r"(\d),(\d)", r"\1\2", s)  # 1,000 -> 1000
        s = re.sub(r"\.([^0-9]|$)", r" \1", s)  # a full stop, not a decimal point
        s = _strip_symbols(s)
        s = " ".join(self.spellings.get(word, word) for word in s.split())
        s = re.sub(r"([$¢€£])\s+([0-9])", r"\1\2", s)
        s = re.sub(r"([0-9])\s+%", r"\1%", s)
        s = re.sub(r"[.$¢€£]([^0-9])", r" \1", s)  # symbols not attached to a number
        s = re.sub(r"([^0-9])%", r"\1 ", s)
        return re.sub(r"\s+", " ", s).strip()


def _strip_symbols(text: str) -> str:
    """Marks, symbols and punctuation become spaces; diacritics go (NFKD, then drop Mn)."""
    out = []
    for char in unicodedata.normalize("NFKD", text):
        category = unicodedata.category(char)
        if char in _KEEP:
            out.append(char)
        elif char in _LETTERS:
            out.append(_LETTERS[char])
        elif category != "Mn":
            out.append(" " if category[0] in "MSP" else char)
    return "".join(out)


# --- the two systems under test ---


@dataclass
class Systems:
    settings: Settings
    transcriber: Any
    raw_model: Any
    diarizer: Any = None


def load_systems(settings: Settings, *, with_diarizer: bool) -> Systems:
    """The product's transcriber (and diarizer) from the registry, and raw faster-whisper on
    the very model folder the product prepared, with the same thread count."""
    from faster_whisper import WhisperModel

    from minutekeeper.models.faster_whisper_backend import resolve_model

    transcriber = build_transcriber(settings)
    folder = resolve_model(settings.asr_model, cache_dir=settings.resolved_model_cache_dir())
    raw = WhisperModel(folder, device="cpu", compute_type="int8", cpu_threads=settings.asr_threads)
    diarizer = build_diarizer(settings) if with_diarizer else None
    print(f"model: {settings.asr_model} at {folder} (threads {settings.asr_threads or 'auto'})")
    return Systems(settings, transcriber, raw, diarizer)


def raw_text(model: Any, samples: np.ndarray) -> str:
    """Raw faster-whisper with the product's settings; the generator fully consumed."""
    segments, _ = model.transcribe(samples, vad_filter=True, word_timestamps=True)
    return " ".join(segment.text.strip() for segment in segments)


# --- WER ---


@dataclass
class WerRow:
    file: str
    product: float
    raw: float
    raw_own_decode: float
    words: int
    note: str


@dataclass
class Texts:
    """One file's references and hypotheses (one entry per channel)."""

    refs: list[str]
    product: list[str]
    raw: list[str]  # raw faster-whisper on the samples the product decoded
    raw_own_decode: list[str]  # raw faster-whisper on its own `decode_audio`
    decoder_gap: float  # max |sample difference| between the two decoders


def references(data: Path) -> dict[str, dict[str, Any]]:
    entries = json.loads((data / "audio" / "references.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in entries["files"]}


def stm_text(path: Path) -> str:
    """The transcript of an STM file, turns in time order (fields 4-5 are start, end)."""
    turns = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) == 6 and not line.startswith(";;"):
            turns.append((float(fields[3]), fields[5]))
    return " ".join(text for _, text in sorted(turns))


def wer_pair(refs: list[str], hyps: list[str], norm: EnglishNormalizer) -> float:
    """Corpus WER over aligned (reference, hypothesis) pairs, after normalisation."""
    return float(jiwer.wer([norm(r) for r in refs], [norm(h) or "" for h in hyps]))


def wer_mono(path: Path, ref: str, systems: Systems) -> Texts:
    """Both systems on one single-channel recording; raw also on its own decoder."""
    from faster_whisper import decode_audio

    transcript = service.transcribe_recording(
        path,
        transcriber=systems.transcriber,
        diarizer=None,
        request=service.TranscribeRequest(diarize=False),
    )
    (samples,) = audio.decode(path)
    own = decode_audio(str(path))
    size = min(len(own), len(samples))
    gap = float(np.abs(own[:size] - samples[:size]).max()) if size else 0.0
    theirs = raw_text(systems.raw_model, samples)
    own_text = raw_text(systems.raw_model, own) if gap else theirs
    return Texts([ref], [transcript.text], [theirs], [own_text], gap)


def wer_channels(path: Path, refs: list[str], systems: Systems) -> Texts:
    """Per channel (left = C1, right = C2); raw splits with `decode_audio(split_stereo=True)`."""
    from faster_whisper import decode_audio

    transcript = service.transcribe_channels(
        path, transcriber=systems.transcriber, request=service.TranscribeRequest()
    )
    product = [
        " ".join(s.text for s in transcript.segments if s.speaker == label)
        for label in ("C1", "C2")
    ]
    planes = decode_audio(str(path), split_stereo=True)
    mine = audio.decode(path, split_channels=True)
    gap = max(
        float(np.abs(a[: len(b)] - b[: len(a)]).max()) for a, b in zip(planes, mine, strict=True)
    )
    raw = [raw_text(systems.raw_model, plane) for plane in planes]
    return Texts(refs, product, raw, raw, gap)


def evaluate_wer(data: Path, systems: Systems, norm: EnglishNormalizer) -> list[WerRow]:
    meta = references(data)
    rows, pooled = [], Texts([], [], [], [], 0.0)
    for name in WER_FILES:
        path, entry = data / "audio" / name, meta[name]
        reference = entry["reference_text"]
        if isinstance(reference, dict):
            texts = wer_channels(path, [reference["left"], reference["right"]], systems)
        else:
            stm = path.with_suffix(".stm")
            texts = wer_mono(path, stm_text(stm) if stm.is_file() else reference, systems)
        _print_texts(name, texts, norm)
        rows.append(_wer_row(name, texts, norm, entry["reference_kind"]))
        for column in ("refs", "product", "raw", "raw_own_decode"):
            getattr(pooled, column).extend(getattr(texts, column))
    return [*rows, _wer_row("overall (pooled)", pooled, norm, "")]


def _wer_row(name: str, texts: Texts, norm: EnglishNormalizer, note: str) -> WerRow:
    words = sum(len(norm(r).split()) for r in texts.refs)
    systems = (texts.product, texts.raw, texts.raw_own_decode)
    scores = (wer_pair(texts.refs, hyps, norm) for hyps in systems)
    return WerRow(name, *scores, words, note)


def _print_texts(name: str, texts: Texts, norm: EnglishNormalizer) -> None:
    print(f"  {name}  (decoders differ by max |sample diff| {texts.decoder_gap:.1e})")
    for i, ref in enumerate(texts.refs):
        if len(texts.refs) > 1:
            print(f"   channel {i + 1}")
        mine = norm(texts.product[i])
        print(f"    ref:          {norm(ref)}")
        print(f"    minutekeeper: {mine}")
        for label, hyps in (("raw", texts.raw), ("raw own dec.", texts.raw_own_decode)):
            other = norm(hyps[i])
            print(f"    {label + ':':<13} {'(same as minutekeeper)' if other == mine else other}")


def example_meeting_wer(systems: Systems, norm: EnglishNormalizer) -> None:
    """WER on the project's example meeting, without and with its glossary as hotwords."""
    script = json.loads((EXAMPLES / "meeting_script.json").read_text(encoding="utf-8"))
    reference = " ".join(t["text"] for t in script["turns"])
    glossary = ", ".join(script["glossary"])
    for hotwords in (None, glossary):
        transcript = service.transcribe_recording(
            EXAMPLES / "meeting.flac",
            transcriber=systems.transcriber,
            diarizer=None,
            request=service.TranscribeRequest(diarize=False, hotwords=hotwords),
        )
        found = [w for w in script["glossary"] if w.lower() in transcript.text.lower()]
        label = f"hotwords {glossary!r}" if hotwords else "no hotwords"
        print(
            f"  examples/meeting.flac, {label}: WER "
            f"{wer_pair([reference], [transcript.text], norm):.1%}; glossary words heard: {found}"
        )


def report_wer(rows: list[WerRow]) -> list[str]:
    """Prints the WER table; returns the targets missed."""
    print(
        f"\n{'file':<38} {'words':>5} {'minutekeeper':>12} {'raw f-w':>8} {'gap':>7}"
        f" {'raw, f-w decoder':>16}"
    )
    missed = []
    for row in rows:
        gap = row.product - row.raw
        print(
            f"{row.file:<38} {row.words:>5} {row.product:>12.2%} {row.raw:>8.2%} {gap:>+7.2%}"
            f" {row.raw_own_decode:>16.2%}"
        )
        if row.note:
            print(f"    reference: {row.note}")
        if "jfk" in row.file and row.product > JFK_TARGET:
            missed.append(f"WER on {row.file} {row.product:.2%} > {JFK_TARGET:.0%}")
        if gap > GAP_TARGET:
            missed.append(f"minutekeeper trails raw on {row.file} by {gap:.2%} > 0.5 points")
    jfk = [r.product for r in rows if "jfk" in r.file]
    print(f"target: WER on jfk <= 5 %: {_verdict(max(jfk) <= JFK_TARGET)}")
    worst = max(r.product - r.raw for r in rows)
    print(
        "target: minutekeeper within 0.5 points of raw on every file "
        f"(worst gap {worst:+.2%}): {_verdict(worst <= GAP_TARGET)}"
    )
    return missed


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


# --- DER ---


def load_rttm(path: Path) -> dict[str, Annotation]:
    """RTTM SPEAKER lines as one Annotation per file id (type, file, channel, start, dur,
    ortho, stype, name, ...)."""
    found: dict[str, Annotation] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) < 8 or fields[0] != "SPEAKER":
            continue
        uri, start, duration, speaker = fields[1], float(fields[3]), float(fields[4]), fields[7]
        annotation = found.setdefault(uri, Annotation(uri=uri))
        annotation[Segment(start, start + duration), len(annotation)] = speaker
    return found


def load_uem(path: Path) -> dict[str, Timeline]:
    found: dict[str, Timeline] = {}
    if not path.is_file():
        return found
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if len(fields) == 4:
            timeline = found.setdefault(fields[0], Timeline(uri=fields[0]))
            timeline.add(Segment(float(fields[2]), float(fields[3])))
    return found


def turns_annotation(turns: list[tuple[float, float, str]], uri: str) -> Annotation:
    annotation = Annotation(uri=uri)
    for i, (start, end, speaker) in enumerate(turns):
        if end > start:
            annotation[Segment(start, end), i] = speaker
    return annotation


def der_cases(data: Path) -> list[tuple[str, Path, Annotation, Timeline]]:
    """(uri, wav, reference, scored region) for the AMI clips and the pyannote sample."""
    ami = data / "audio" / "pyannote_ami_clips"
    refs = load_rttm(ami / "debug.train.rttm")
    uems = load_uem(ami / "debug.train.uem")
    cases = []
    for uri in AMI_CLIPS:
        wav = ami / f"{uri}.wav"
        region = uems.get(uri) or _whole(wav, uri)
        cases.append((uri, wav, refs[uri], region))
    sample = data / "audio" / "pyannote_sample"
    uems = load_uem(sample / "sample.uem")
    wav = sample / "sample.wav"
    region = uems.get("sample") or _whole(wav, "sample")
    cases.append(("sample", wav, load_rttm(sample / "sample.rttm")["sample"], region))
    wav = EXAMPLES / "meeting.flac"  # the project's own three-person example
    cases.append(
        ("meeting", wav, load_rttm(EXAMPLES / "meeting.rttm")["meeting"], _whole(wav, "meeting"))
    )
    return cases


def _whole(wav: Path, uri: str) -> Timeline:
    seconds = len(audio.decode(wav)[0]) / SAMPLE_RATE
    return Timeline([Segment(0.0, seconds)], uri=uri)


def evaluate_der(data: Path, systems: Systems) -> None:
    """Per file DER of the speaker-attributed transcript and of the diarizer, pooled over the
    AMI clips (the number to beat) and over every file."""
    pools = {
        pool: {name: DiarizationErrorRate(collar=COLLAR) for name in ("transcript", "diarizer")}
        for pool in ("AMI", "overall")
    }
    head = f"{'DER':>6} {'spk':>3} {'miss/fa/conf s':<16}"
    print(f"\n{'':<16} | {'transcript':<27} | {'diarizer':<27}")
    print(f"{'file':<8} {'ref spk':>7} | {head} | {head}")
    for uri, wav, reference, region in der_cases(data):
        hypotheses = _der_hypotheses(wav, uri, systems)
        for pool, metrics in pools.items():
            if pool == "AMI" and uri not in AMI_CLIPS:
                continue
            for name, hypothesis in hypotheses.items():
                metrics[name](reference, hypothesis, uem=region)
        cells = [
            _der_cell(DiarizationErrorRate(collar=COLLAR)(reference, h, uem=region, detailed=True),
                      len(h.labels()))
            for h in hypotheses.values()
        ]  # fmt: skip
        print(f"{uri:<8} {len(reference.labels()):>7} | " + " | ".join(cells))
    for pool, metrics in pools.items():
        cells = [_der_cell(m.accumulated_, None) for m in metrics.values()]
        print(f"{pool:<8} {'':>7} | " + " | ".join(cells))
    print(
        f"  collar {COLLAR} s, inside the UEM; pooled = total error / total reference speech; "
        "spk = speakers found"
    )


def _der_cell(parts: Any, speakers: int | None) -> str:
    rate = (parts["missed detection"] + parts["false alarm"] + parts["confusion"]) / parts["total"]
    found = "" if speakers is None else str(speakers)
    detail = f"{parts['missed detection']:.1f}/{parts['false alarm']:.1f}/{parts['confusion']:.1f}"
    return f"{rate:>6.1%} {found:>3} {detail:<16}"


def _der_hypotheses(wav: Path, uri: str, systems: Systems) -> dict[str, Annotation]:
    transcript = service.transcribe_recording(
        wav,
        transcriber=systems.transcriber,
        diarizer=systems.diarizer,
        request=service.TranscribeRequest(),
    )
    spans = [(s.start, s.end, s.speaker) for s in transcript.segments]
    turns = systems.diarizer.diarize(audio.decode(wav)[0])
    return {
        "transcript": turns_annotation(spans, uri),
        "diarizer": turns_annotation([(t.start, t.end, t.speaker) for t in turns], uri),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=REPO.parent / "shared" / "data", help="shared data folder"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "minutekeeper-asr-eval",
        help="minutekeeper data dir (the model is prepared under it)",
    )
    parser.add_argument("--skip-wer", action="store_true")
    parser.add_argument("--skip-der", action="store_true")
    args = parser.parse_args(argv)
    if not (args.data / "audio" / "references.json").is_file():
        sys.exit(
            f"no evaluation data at {args.data} (expected audio/references.json); "
            "give the shared data folder with --data"
        )
    systems = load_systems(Settings(data_dir=args.data_dir), with_diarizer=not args.skip_der)
    missed: list[str] = []
    if not args.skip_wer:
        print("\n== WER (Whisper English normaliser) ==")
        norm = EnglishNormalizer(args.data / "asr_normalizer" / "english.json")
        missed = report_wer(evaluate_wer(args.data, systems, norm))
        example_meeting_wer(systems, norm)
    if not args.skip_der:
        print(f"\n== DER (pyannote.metrics, collar {COLLAR} s) ==")
        evaluate_der(args.data, systems)
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
