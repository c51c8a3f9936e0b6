"""Before and after fine-tuning, side by side, on the held-out part of the training export.

    .venv/bin/python scripts/eval_finetune.py MODEL_ID [--limit N] [--backend ctranslate2]
    .venv/bin/python scripts/eval_finetune.py --demo [--examples 120] [--max-steps 30]

MODEL_ID is a model `minutekeeper train` registered (MINUTEKEEPER_* settings pick the
install, as for the CLI). Its held-out records (their ids are in the model's metadata) are
read again from the export, which must still be usable: a revoked export is not evaluated
on. For each held-out example the prompt is its system and user messages and the reference
is the assistant message; the base model and the fine-tuned one each answer it (greedy,
same backend), and the metrics of the summary and compose evaluations are printed for both:

- summary tasks (meeting_summary, meeting_answer): ROUGE-1/2/Lsum F1 x100 against the
  reference, as scripts/eval_summary.py scores;
- chat_draft: ROUGE-L, the cosine (project embedder) to the text actually sent, as
  scripts/eval_compose.py scores replies, prompt leakage (a role-label line, or a 6-word run
  copied from the system text or the ask) and empty answers;
- for all: mean words, empty answers, looping answers (a run of 4 words said 3 times or
  more: greedy decoding of a small model falls into loops), and the loss per assistant
  token on the held-out set before and after training (from the training run).

--demo needs ../shared/data: in a throwaway install it makes an export the way the product
would, through the real capture path (consent gate and Presidio redaction), from one of two
real sources, whose people are all members who consented:

- `--demo irc` (the default): Ubuntu IRC threads (scripts/eval_compose.py's reply targets);
  the reply actually sent is the example (CHAT_FINAL);
- `--demo qmsum`: QMSum's specific queries (../shared/data/qmsum/val); the query's relevant
  transcript span and the query are the prompt, as `ask` offers an answer (the cited
  segments, then "Question: …"), and the human-written answer is the example
  (MEETING_ANSWER). Only spans short enough for --max-length are drawn.

Then it trains the embedded Gemma 3 270M on it (features.finetune, as `minutekeeper train`
does) and evaluates it as above.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from eval_summary import lines as sentence_lines

from minutekeeper.consent.capture import Offer, capture_offer
from minutekeeper.consent.domain import (
    ArtifactKind,
    ConsentState,
    DataClass,
    Principal,
    Role,
    SubjectKind,
)
from minutekeeper.consent.exports.create import create_export
from minutekeeper.consent.exports.lineage import TrainingExample
from minutekeeper.consent.notices import load_notice_file
from minutekeeper.consent.redaction import Person, Redactor
from minutekeeper.consent.service import ConsentService
from minutekeeper.core.db import create_db_engine, migrate
from minutekeeper.core.errors import AppError
from minutekeeper.core.settings import Settings
from minutekeeper.features.finetune import TrainRequest, heldout_examples, train_on_export
from minutekeeper.features.offers import ANSWER_SYSTEM
from minutekeeper.models.embedded_llm import GEMMA, prepare_checkpoint
from minutekeeper.models.embeddings import Embedder
from minutekeeper.models.finetune import TrainingConfig
from minutekeeper.models.llm import ChatMessage, TextGenerator
from minutekeeper.models.registry import build_embedder, build_generator

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SUMMARY_TASKS = ("meeting_summary", "meeting_answer")
ROUGE_KEYS = (("1", "rouge1"), ("2", "rouge2"), ("Lsum", "rougeLsum"))  # shown, rouge-score's
RUN = 6  # words in a row copied from the prompt's own text count as leakage
LOOP = (4, 3)  # a run of 4 words said 3 times or more is a loop
SHARES = ("empty", "looping", "prompt leakage")  # per-answer yes/no, shown as percentages
_LABEL = re.compile(r"^\W*(?:system|user|assistant|instruction|thread|draft)\s*:", re.I | re.M)


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def grams(text: str, size: int = RUN) -> list[tuple[str, ...]]:
    tokens = words(text)
    return [tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def loops(answer: str) -> bool:
    size, times = LOOP
    return any(n >= times for n in Counter(grams(answer, size)).values())


def leaks(answer: str, example: TrainingExample) -> bool:
    """A role-label line, or a run of words copied from the system text or the ask (the
    last line of the user message); the thread's own words may be quoted."""
    scaffold = [m["content"] for m in example.messages if m["role"] == "system"]
    users = [m["content"] for m in example.messages if m["role"] == "user"]
    scaffold += [users[-1].rsplit("\n", 1)[-1]] if users else []
    copied = set(grams(answer)) & {run for text in scaffold for run in grams(text)}
    return bool(_LABEL.search(answer)) or bool(copied)


class Scores:
    def __init__(self, embedder: Embedder) -> None:
        from rouge_score import rouge_scorer

        self._rouge = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
        self._embedder = embedder

    def score(self, example: TrainingExample, answer: str) -> dict[str, float]:
        reference = example.messages[-1]["content"]
        row = {"words": float(len(answer.split())), "empty": float(not answer.strip()),
               "looping": float(loops(answer))}  # fmt: skip
        if example.task in SUMMARY_TASKS:  # one sentence a line, as eval_summary.py scores
            rouge = self._rouge.score(sentence_lines(reference), sentence_lines(answer))
            row |= {f"ROUGE-{name}": 100 * rouge[key].fmeasure for name, key in ROUGE_KEYS}
        else:
            rouge = self._rouge.score(reference, answer)
            a, b = self._embedder.embed([answer or " ", reference])
            row |= {"ROUGE-L": 100 * rouge["rougeLsum"].fmeasure,
                    "cosine to sent text": float(np.dot(a, b)),
                    "prompt leakage": float(leaks(answer, example))}  # fmt: skip
        return row


@dataclass(frozen=True)
class Decoding:
    """Greedy decoding with the backends' anti-loop options (`TextGenerator.generate`)."""

    repetition_penalty: float = 1.0
    no_repeat_ngram: int = 0

    @classmethod
    def parse(cls, spec: str) -> Decoding:
        """A spec: greedy, or penalty=1.2, ngram=4, penalty=1.2,ngram=4."""
        if spec == "greedy":
            return cls()
        fields = {"penalty": "repetition_penalty", "ngram": "no_repeat_ngram"}
        values: dict[str, Any] = {}
        for part in spec.split(","):
            key, _, value = part.partition("=")
            if key not in fields or not value:
                raise argparse.ArgumentTypeError(
                    f"{spec!r}: give greedy, or penalty=P and/or ngram=N, comma-separated"
                )
            values[fields[key]] = float(value) if key == "penalty" else int(value)
        return cls(**values)

    def __str__(self) -> str:
        shown = [f"penalty={self.repetition_penalty:g}"] if self.repetition_penalty != 1 else []
        shown += [f"ngram={self.no_repeat_ngram}"] if self.no_repeat_ngram else []
        return ",".join(shown) or "greedy"


def answer(
    generator: TextGenerator, example: TrainingExample, max_new_tokens: int, decoding: Decoding
) -> str:
    prompt = [ChatMessage(m["role"], m["content"]) for m in example.messages[:-1]]
    room = generator.context_length - max_new_tokens
    if generator.count_tokens("\n".join(m.content for m in prompt)) > room:
        return ""  # the model cannot see it whole; counts as an empty answer
    return generator.generate(prompt, max_new_tokens=max_new_tokens,
                              repetition_penalty=decoding.repetition_penalty,
                              no_repeat_ngram=decoding.no_repeat_ngram).text.strip()  # fmt: skip


def evaluate(
    settings: Settings,
    metadata: dict[str, Any],
    examples: Sequence[TrainingExample],
    *,
    backend: str | None,
    max_new_tokens: int,
    show: int,
    decodings: Sequence[Decoding] = (Decoding(),),
) -> None:
    """Both models' answers under each of `decodings`, one table per decoding."""
    embedder = build_embedder(settings)
    scores = Scores(embedder)
    columns: dict[tuple[Decoding, str], list[dict[str, float]]] = {}
    for label, name in (("base", metadata["base_model"]), ("fine-tuned", metadata["model_id"])):
        generator = build_generator(settings, model=name, backend=backend)
        for decoding in decodings:
            began = time.perf_counter()
            answers = [answer(generator, e, max_new_tokens, decoding) for e in examples]
            columns[decoding, label] = [
                scores.score(e, a) for e, a in zip(examples, answers, strict=True)
            ]
            spent = time.perf_counter() - began
            print(f"{label} ({name}), {decoding}: {len(examples)} answers in {spent:.0f} s",
                  flush=True)  # fmt: skip
            for example, text in list(zip(examples, answers, strict=True))[:show]:
                print(f"  [{example.task}] REFERENCE: {example.messages[-1]['content'][:200]!r}")
                print(f"  {label.upper()}: {text[:200]!r}")
    for decoding in decodings:
        chosen = {label: columns[decoding, label] for label in ("base", "fine-tuned")}
        table(metadata, examples, chosen, decoding)


def table(
    metadata: dict[str, Any],
    examples: Sequence[TrainingExample],
    columns: dict[str, list[dict[str, float]]],
    decoding: Decoding,
) -> None:
    tasks = [e.task for e in examples]
    result = metadata.get("result", {})
    reference = np.mean([len(e.messages[-1]["content"].split()) for e in examples])
    print(f"\nheld-out examples: {len(examples)} ({', '.join(sorted(set(tasks)))}), "
          f"{reference:.1f} words per reference answer; decoding: {decoding}")  # fmt: skip
    print(f"model "
          f"{metadata['model_id']} from {metadata['base_model']} on export "
          f"v{metadata['export_version']}, {result.get('steps')} steps")  # fmt: skip
    print(f"{'metric':<34}{'base':>12}{'fine-tuned':>12}{'change':>10}")
    loss = (result.get("heldout_loss_before"), result.get("heldout_loss_after"))
    if None not in loss:
        print(f"{'loss per assistant token (nats)':<34}{loss[0]:>12.3f}{loss[1]:>12.3f}"
              f"{loss[1] - loss[0]:>+10.3f}")  # fmt: skip
    for task in sorted(set(tasks)):
        rows = [i for i, t in enumerate(tasks) if t == task]
        keys = sorted(columns["base"][rows[0]], key=lambda k: (k in SHARES, k == "words"))
        print(f"  {task} ({len(rows)})")
        for key in keys:
            before = float(np.mean([columns["base"][i][key] for i in rows]))
            after = float(np.mean([columns["fine-tuned"][i][key] for i in rows]))
            share = key in SHARES
            print(f"    {key:<30}{shown(key, before):>12}{shown(key, after):>12}"
                  f"{(after - before) * (100 if share else 1):>+10.2f}")  # fmt: skip


def shown(key: str, value: float) -> str:
    if key in SHARES:
        return f"{value:.0%}"
    return f"{value:.3f}" if key.startswith("cosine") else f"{value:.1f}"


# Makes (or finds) the consenting member for a key, named as given: (key, name) -> subject id.
Member = Callable[[str, str], str]


def irc_offers(args: argparse.Namespace, person: Member) -> list[Offer]:
    """Replies actually sent in real IRC threads, as `feedback` offers them (CHAT_FINAL)."""
    from eval_compose import pick_threads

    logs = sorted((args.data / "chat_irc" / "logs").glob("*.raw.txt"))
    if not logs:
        raise SystemExit(f"no IRC logs in {args.data / 'chat_irc' / 'logs'} (see ../shared/data)")
    offers = []
    for case in pick_threads(logs, args.examples, args.seed):
        user = case.target.author
        thread = "\n".join(f"{m.author}: {m.text}" for m in case.thread)
        ask = f"Write {user}'s reply in a neutral tone (short)."
        ask += f" Instruction: {case.instruction}" if case.instruction else ""
        authors = {m.author: person(m.author, m.author) for m in case.thread}
        authors[user] = person(user, user)
        offers.append(Offer(
            kind=ArtifactKind.CHAT_FINAL, data_class=DataClass.CUSTOMER_CONTENT,
            task="chat_draft", input={"thread": thread, "ask": ask},
            output={"text": case.target.text},
            contributors=tuple(dict.fromkeys([authors[user], *authors.values()])),
            messages=(
                {"role": "system", "content": f"You write chat messages for {user}."},
                {"role": "user", "content": f"{thread}\n{ask}"},
                {"role": "assistant", "content": case.target.text},
            ),
            author=authors[user], roster={s: Person(n) for n, s in authors.items()},
            model_id="irc", prompt_version="demo",
        ))  # fmt: skip
    return offers


def qmsum_offers(args: argparse.Namespace, person: Member) -> list[Offer]:
    """QMSum's specific queries answered by people, as `ask` offers an answer: the cited
    transcript lines and the question in, the answer out (MEETING_ANSWER). Each meeting's
    speakers are its own members; a span whose words and answer's pass --max-words is
    not drawn."""
    from qmsum import detokenize

    found = []
    for path in sorted((args.data / "qmsum" / "val").glob("*.json")):
        data = json.loads(path.read_text())
        turns = data["meeting_transcripts"]
        for query in data["specific_query_list"]:
            cited = [(turns[i]["speaker"], detokenize(turns[i]["content"]))
                     for begin, end in query["relevant_text_span"]
                     for i in range(int(begin), min(int(end) + 1, len(turns)))]  # fmt: skip
            lines = [(speaker, text) for speaker, text in cited if text]
            size = sum(len(text.split()) for _, text in lines) + len(query["answer"].split())
            if lines and size <= args.max_words:
                found.append((path.stem, query, lines))
    if not found:
        raise SystemExit(f"no QMSum queries in {args.data / 'qmsum' / 'val'} (see ../shared/data)")
    random.Random(args.seed).shuffle(found)
    offers = []
    for meeting, query, lines in found[: args.examples]:
        speakers = {s: person(f"{meeting}/{s}", s) for s, _ in lines}
        asker = person(f"{meeting}/asker", "Analyst")
        asked = "\n".join(f"{s}: {text}" for s, text in lines) + f"\nQuestion: {query['query']}"
        offers.append(Offer(
            kind=ArtifactKind.MEETING_ANSWER, data_class=DataClass.DERIVED_CONTENT,
            task="meeting_answer", input={"question": query["query"]},
            output={"answer": query["answer"]},
            contributors=tuple(dict.fromkeys([asker, *speakers.values()])),
            messages=(
                {"role": "system", "content": ANSWER_SYSTEM},
                {"role": "user", "content": asked},
                {"role": "assistant", "content": query["answer"]},
            ),
            author=asker, roster={s: Person(n) for n, s in speakers.items()},
            model_id="qmsum", prompt_version="demo",
        ))  # fmt: skip
    return offers


def demo(args: argparse.Namespace) -> int:
    began = time.perf_counter()
    home = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="mk-finetune-"))
    try:
        cache = home / "models"
        cache.mkdir(parents=True, exist_ok=True)
        shared_cache = Settings().resolved_model_cache_dir()
        prepare_checkpoint(GEMMA, shared_cache)  # once per machine; the demo's cache links to it
        if not GEMMA.checkpoint_path(cache).exists():
            GEMMA.checkpoint_path(cache).symlink_to(GEMMA.checkpoint_path(shared_cache))
        settings = Settings(data_dir=home / "data", model_cache_dir=cache,
                            llm_threads=args.cpu_threads)  # fmt: skip
        engine = create_db_engine(settings)
        migrate(engine)
        service = ConsentService.from_settings(engine, settings)
        admin = service.local_principal(tenant_name=settings.local_tenant, user_name="admin",
                                        role=Role.ADMIN)  # fmt: skip
        service.set_switches(admin, training_sharing_enabled=True)
        service.publish_notice(admin, load_notice_file(None))
        notice = service.current_notice(admin.tenant_id)
        redactor = Redactor()
        people: dict[str, str] = {}

        def person(key: str, name: str) -> str:
            if key not in people:
                subject = service.add_subject(admin.tenant_id, kind=SubjectKind.MEMBER,
                                              display_name=name)  # fmt: skip
                member = Principal(admin.tenant_id, subject.id, Role.MEMBER)
                service.serve_notice(member, notice, surface="web")
                service.record(
                    member, ConsentState.GIVEN, notice_version_id=notice.id, via="script"
                )
                people[key] = subject.id
            return people[key]

        offers = (qmsum_offers if args.demo == "qmsum" else irc_offers)(args, person)
        kept = sum(capture_offer(service, redactor, admin.tenant_id, offer).candidate_id is not None
                   for offer in offers)  # fmt: skip
        info = create_export(engine, service.writer, admin.tenant_id, requested_by="demo",
                             exports_dir=settings.resolved_export_dir())  # fmt: skip
        spent = time.perf_counter() - began
        print(f"export v{info.version}: {kept} {args.demo} examples kept of {len(offers)}, "
              f"{len(people)} people ({spent:.0f} s)", flush=True)  # fmt: skip
        exporter = service.local_principal(tenant_name=settings.local_tenant, user_name="ml",
                                           role=Role.ML_EXPORTER)  # fmt: skip
        config = TrainingConfig(max_steps=args.max_steps, learning_rate=args.learning_rate,
                                batch_size=args.batch_size, max_length=args.max_length,
                                lora=args.lora, threads=args.cpu_threads)  # fmt: skip

        def step(done: int, steps: int, loss: float) -> None:
            print(f"  step {done}/{steps} loss {loss:.3f} ({time.perf_counter() - began:.0f} s)",
                  flush=True)  # fmt: skip

        report = train_on_export(service, settings, exporter,
                                 TrainRequest(str(info.version), heldout_share=args.heldout,
                                              model_id="demo-ft", config=config),
                                 on_step=step)  # fmt: skip
        result = report.result
        print(f"trained {report.model_id}: {result.examples} examples ({result.too_long} too "
              f"long), {result.steps} steps on {result.device} in {result.seconds:.0f} s; "
              f"training loss {result.train_loss_before:.3f} -> "
              f"{result.train_loss_after:.3f}", flush=True)  # fmt: skip
        metadata, examples = heldout_examples(settings, service, exporter, report.model_id)
        evaluate(settings, metadata, examples[: args.limit], backend=args.backend,
                 max_new_tokens=args.max_new_tokens, show=args.show,
                 decodings=args.decoding or [Decoding()])  # fmt: skip
        print(f"\nwall time {time.perf_counter() - began:.0f} s")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", nargs="?", help="a fine-tuned model's id")
    parser.add_argument(
        "--demo",
        nargs="?",
        const="irc",
        choices=("irc", "qmsum"),
        help="export, train and evaluate on real IRC replies or QMSum answers",
    )
    parser.add_argument("--limit", type=int, default=None, help="held-out examples to use")
    parser.add_argument("--backend", default=None, help="LLM backend (default: settings)")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--show", type=int, default=2, help="answers printed per model")
    parser.add_argument("--decoding", type=Decoding.parse, action="append", default=None,
                        help="greedy (the default), or penalty=P and/or ngram=N; repeat the "
                             "option to compare several in one run")  # fmt: skip
    demo_args = parser.add_argument_group("--demo")
    demo_args.add_argument("--data", type=Path, default=DATA, help="the shared data folder")
    demo_args.add_argument("--examples", type=int, default=120, help="examples to export")
    demo_args.add_argument("--seed", type=int, default=0, help="which threads are drawn")
    demo_args.add_argument("--heldout", type=float, default=0.2)
    demo_args.add_argument("--max-steps", type=int, default=30)
    demo_args.add_argument("--learning-rate", type=float, default=5e-5)
    demo_args.add_argument("--batch-size", type=int, default=4)
    demo_args.add_argument("--max-length", type=int, default=512)
    demo_args.add_argument(
        "--max-words", type=int, default=360, help="qmsum: longest span plus answer drawn, in words"
    )
    demo_args.add_argument("--lora", action="store_true")
    demo_args.add_argument("--cpu-threads", type=int, default=0)
    demo_args.add_argument("--keep", default=None, help="keep the install in this folder")
    args = parser.parse_args()
    if args.demo:
        return demo(args)
    if not args.model:
        parser.error("give a fine-tuned model's id, or --demo")
    settings = Settings()
    engine = create_db_engine(settings)
    migrate(engine)
    service = ConsentService.from_settings(engine, settings)
    exporter = service.local_principal(
        tenant_name=settings.local_tenant, user_name=settings.local_user, role=Role.ML_EXPORTER
    )
    try:
        metadata, examples = heldout_examples(settings, service, exporter, args.model)
    except AppError as error:  # a revoked or altered export, an unknown model
        print(f"error: {error.message}", file=sys.stderr)
        return 1
    if not examples:
        print(f"model {args.model} has no held-out examples (trained with --heldout 0)",
              file=sys.stderr)  # fmt: skip
        return 2
    evaluate(settings, metadata, examples[: args.limit], backend=args.backend,
             max_new_tokens=args.max_new_tokens, show=args.show,
             decodings=args.decoding or [Decoding()])  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
