"""Supervised fine-tuning of a causal LM on chat examples, loss on the assistant turns only.

An example is a list of {"role", "content"} messages (a training export's `messages`). It
is tokenized the way the generators prompt the model: with the tokenizer's chat template
when it has one, else the plain "System: …\\nUser: …\\nAssistant:" format of `models.llm`.
Each assistant turn's prompt is tokenized as a whole, as at inference, and the turn after
it separately; only the turn's tokens (its end-of-turn token included) carry labels, so the
model learns to answer, not to repeat transcripts. An example longer than `max_length`
tokens is left out and counted, never cut: a truncated answer would teach the model to
stop mid-sentence.

Training is transformers' `Trainer` (full fine-tuning, or LoRA adapters through peft that
are merged back before saving), on CUDA when there is one, else on the CPU. The loss over
the assistant tokens is measured before and after on the training examples and on the
held-out ones, so a run says what it changed. The result is a plain Hugging Face folder the
CTranslate2 backend converts like any other.
"""

from __future__ import annotations

import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from minutekeeper.models.conversion import quiet_transformers
from minutekeeper.models.errors import ModelError, ModelUnavailable
from minutekeeper.models.llm import ChatMessage, end_token_ids, load_tokenizer, plain_prompt

IGNORE = -100  # the label PyTorch's cross-entropy skips
_NOTICE_PREFIXES = ("license", "notice", "gemma_terms", "readme", "use_policy")

Messages = Sequence[Mapping[str, str]]
# Called after each optimizer step with (steps done, steps in all, the step's training loss).
OnStep = Callable[[int, int, float], None]


@dataclass(frozen=True)
class TrainingConfig:
    epochs: float = 1.0
    max_steps: int | None = None  # overrides epochs when given
    learning_rate: float = 5e-5
    batch_size: int = 4
    gradient_accumulation: int = 1
    max_length: int = 2048
    lora: bool = False
    lora_rank: int = 16
    lora_alpha: int = 32
    seed: int = 0
    threads: int = 0  # CPU threads; 0: torch's default


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE outside the assistant turns

    @property
    def targets(self) -> int:
        return sum(1 for label in self.labels if label != IGNORE)


@dataclass
class FinetuneResult:
    device: str
    steps: int
    examples: int  # trained on
    heldout: int
    too_long: int  # left out of training and held-out sets, longer than max_length
    train_loss_before: float
    train_loss_after: float
    heldout_loss_before: float | None
    heldout_loss_after: float | None
    seconds: float
    log: list[dict[str, float]] = field(default_factory=list)


def encode_chat(tokenizer: Any, messages: Messages, ends: set[int]) -> Encoded:
    """Token ids and labels for one example (see the module docstring)."""
    if not any(m["role"] == "assistant" for m in messages):
        raise ModelError("a training example needs at least one assistant message")
    templated = bool(getattr(tokenizer, "chat_template", None))
    ids: list[int] = []
    labels: list[int] = []
    consumed = ""
    for i, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        prompt = _render(tokenizer, messages[:i], templated=templated, generation=True)
        full = _render(tokenizer, messages[: i + 1], templated=templated, generation=False)
        if not prompt.startswith(consumed) or not full.startswith(prompt):
            raise ModelError(
                "the chat template does not render a conversation as the continuation of its "
                "first turns, so the assistant turns cannot be told apart; use --plain-prompt"
            )
        first = not ids
        asked = tokenizer(prompt[len(consumed) :], add_special_tokens=first and not templated)
        answer = list(tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"])
        if not templated or not ends.intersection(answer):
            answer.append(_eos(tokenizer, ends))  # the model must learn where to stop
        ids += asked["input_ids"]
        labels += [IGNORE] * len(asked["input_ids"])
        ids += answer
        labels += answer
        consumed = full
    return Encoded(ids, labels)


def _eos(tokenizer: Any, ends: set[int]) -> int:
    if tokenizer.eos_token_id is not None:
        return int(tokenizer.eos_token_id)
    if ends:
        return min(ends)
    raise ModelError("the tokenizer has no end token, so the model could not learn to stop")


def _render(tokenizer: Any, messages: Messages, *, templated: bool, generation: bool) -> str:
    if templated:
        chat = [{"role": m["role"], "content": m["content"]} for m in messages]
        text = tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=generation)
        return str(text)
    turns = [ChatMessage(m["role"], m["content"]) for m in messages]
    if generation:
        return plain_prompt(turns)
    # "…\nAssistant: answer": the generation prompt followed by the answer after a space.
    return "\n".join(plain_prompt([t]).removesuffix("\nAssistant:") for t in turns)


def finetune(
    base: Path,
    train: Sequence[Messages],
    heldout: Sequence[Messages],
    out: Path,
    config: TrainingConfig,
    *,
    plain_prompt_format: bool = False,
    on_step: OnStep | None = None,
) -> FinetuneResult:
    """Fine-tune the Hugging Face model in `base` on `train` and save it into `out`."""
    import torch
    from transformers import AutoModelForCausalLM, set_seed

    started = time.monotonic()
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    set_seed(config.seed)
    tokenizer = load_tokenizer(base)
    if plain_prompt_format:
        tokenizer.chat_template = None
    ends = end_token_ids(tokenizer, base)
    encoded_train, long_train = _encode_all(tokenizer, train, ends, config.max_length)
    encoded_heldout, long_heldout = _encode_all(tokenizer, heldout, ends, config.max_length)
    if not encoded_train:
        raise ModelError(
            f"no training example fits in {config.max_length} tokens "
            f"({long_train} longer); raise --max-length"
        )
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        with quiet_transformers():
            loaded = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    except (OSError, ValueError, KeyError, RuntimeError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelUnavailable(f"cannot load the model in {base}: {reason}") from error
    model: Any = cast(Any, loaded).to(device)
    pad = _pad_id(tokenizer, ends)
    train_before = mean_loss(model, encoded_train, pad, config.batch_size)
    heldout_before = mean_loss(model, encoded_heldout, pad, config.batch_size)
    if config.lora:
        model = _with_lora(model, config)
    log = _train(model, encoded_train, pad, config, out / ".trainer", device, on_step)
    if config.lora:
        model = model.merge_and_unload()
    train_after = mean_loss(model, encoded_train, pad, config.batch_size)
    heldout_after = mean_loss(model, encoded_heldout, pad, config.batch_size)
    shutil.rmtree(out / ".trainer", ignore_errors=True)
    _save(model, tokenizer, base, out)
    return FinetuneResult(
        device=device,
        steps=int(log[-1]["step"]) if log else 0,
        examples=len(encoded_train),
        heldout=len(encoded_heldout),
        too_long=long_train + long_heldout,
        train_loss_before=cast(float, train_before),
        train_loss_after=cast(float, train_after),
        heldout_loss_before=heldout_before,
        heldout_loss_after=heldout_after,
        seconds=time.monotonic() - started,
        log=log,
    )


def _encode_all(
    tokenizer: Any, examples: Sequence[Messages], ends: set[int], max_length: int
) -> tuple[list[Encoded], int]:
    kept: list[Encoded] = []
    too_long = 0
    for messages in examples:
        encoded = encode_chat(tokenizer, messages, ends)
        if len(encoded.input_ids) > max_length:
            too_long += 1
        else:
            kept.append(encoded)
    return kept, too_long


def _pad_id(tokenizer: Any, ends: set[int]) -> int:
    pad = tokenizer.pad_token_id
    return int(pad) if pad is not None else _eos(tokenizer, ends)


def collate(batch: Sequence[Encoded], pad: int) -> dict[str, Any]:
    """Right-padded tensors; padding is masked out of attention and labels."""
    import torch

    width = max(len(e.input_ids) for e in batch)
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for row, example in enumerate(batch):
        n = len(example.input_ids)
        ids[row, :n] = torch.tensor(example.input_ids)
        labels[row, :n] = torch.tensor(example.labels)
        mask[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": mask}


def mean_loss(
    model: Any, examples: Sequence[Encoded], pad: int, batch_size: int, *, trim: bool = True
) -> float | None:
    """Cross-entropy per assistant token (nats), over all the examples; None when empty.

    With `trim`, logits are computed only from the batch's first assistant token on
    (`logits_to_keep`): the prompt's positions need none, and with a large vocabulary (Gemma:
    262k) the output layer is most of the work. A model whose forward does not take
    `logits_to_keep` gets all of them.
    """
    import torch

    if not examples:
        return None
    model.eval()
    total, count = 0.0, 0
    device = next(model.parameters()).device
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = collate(examples[start : start + batch_size], pad)
            ids, mask, labels = (chunk[k].to(device) for k in ("input_ids", "attention_mask",
                                                               "labels"))  # fmt: skip
            width = ids.shape[1]
            first = max(int((labels != IGNORE).int().argmax(dim=1).min()), 1)
            keep = width - first + 1 if trim else width
            try:
                logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
            except TypeError:
                keep, logits = width, model(input_ids=ids, attention_mask=mask).logits
            shifted = logits[:, :-1].reshape(-1, logits.shape[-1]).float()
            targets = labels[:, width - keep + 1 :].reshape(-1)
            loss = torch.nn.functional.cross_entropy(
                shifted, targets, ignore_index=IGNORE, reduction="sum"
            )
            total += float(loss)
            count += int((targets != IGNORE).sum())
    return total / count if count else None


def _with_lora(model: Any, config: TrainingConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_rank,
        lora_alpha=config.lora_alpha,
        lora_dropout=0.0,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    with warnings.catch_warnings():
        # peft 0.21 still asks for transformers' deprecated `is_gradient_checkpointing`.
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing`", FutureWarning)
        return get_peft_model(model, lora)


def _train(
    model: Any,
    examples: list[Encoded],
    pad: int,
    config: TrainingConfig,
    work: Path,
    device: str,
    on_step: OnStep | None,
) -> list[dict[str, float]]:
    import torch
    from transformers import PrinterCallback, Trainer, TrainerCallback, TrainingArguments

    class _Progress(TrainerCallback):
        """Reports each step with its loss (logged every step, after the step ends)."""

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any) -> None:
            if on_step is not None and logs and "loss" in logs:
                on_step(int(state.global_step), int(state.max_steps), float(logs["loss"]))

    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    args = TrainingArguments(
        output_dir=str(work),
        per_device_train_batch_size=config.batch_size,
        gradient_accumulation_steps=config.gradient_accumulation,
        learning_rate=config.learning_rate,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps is not None else -1,
        lr_scheduler_type="linear",
        warmup_steps=0,
        weight_decay=0.0,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        seed=config.seed,
        use_cpu=device == "cpu",
        bf16=bf16,
        dataloader_num_workers=0,
        remove_unused_columns=False,
        disable_tqdm=True,
    )
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=cast(Any, examples),  # a list is a map-style dataset
        data_collator=lambda batch: collate(batch, pad),
        callbacks=[_Progress()],
    )
    trainer.remove_callback(PrinterCallback)  # it prints every log line on stdout
    with quiet_transformers():
        trainer.train()
    return [
        {k: float(v) for k, v in entry.items() if isinstance(v, int | float)}
        for entry in trainer.state.log_history
        if "loss" in entry
    ]


def _save(model: Any, tokenizer: Any, base: Path, out: Path) -> None:
    """The plain checkpoint (float32, safetensors), its tokenizer, and the base model's
    license and notice files, which bind the fine-tuned weights too."""
    out.mkdir(parents=True, exist_ok=True)
    with quiet_transformers():
        model.save_pretrained(str(out))
        tokenizer.save_pretrained(str(out))
    for item in base.iterdir():
        if item.is_file() and item.name.lower().startswith(_NOTICE_PREFIXES):
            shutil.copyfile(item, out / item.name)
