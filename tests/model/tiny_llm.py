"""A tiny random Llama with a word-level tokenizer, built in a temporary folder (no hub,
no download): the real generation backends run on it in a fraction of a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from minutekeeper.models.llm import ChatMessage

SENTENCES = (
    "the meeting starts at nine and ends at ten",
    "we agreed to ship the release on friday",
    "alice will write the notes bob reviews the budget carol asks about risks",
    "system user assistant : summary action decision",
)
WORDS = " ".join(SENTENCES).split()
TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}> {{ m['content'] }} </{{ m['role'] }}> "
    "{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
)
PROMPT = "the meeting starts at nine and"
CHAT = [ChatMessage("system", "summary"), ChatMessage("user", "the meeting starts at nine")]


def build_tokenizer(chat_template: str | None) -> Any:
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["<unk>", "<s>", "</s>", "<pad>"]
    roles = [f"<{r}>" for r in ("system", "user", "assistant")]
    roles += [f"</{r}>" for r in ("system", "user", "assistant")]
    vocab = {t: i for i, t in enumerate(dict.fromkeys([*specials, *roles, *WORDS]))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", vocab["<s>"])]
    )
    fast: Any = PreTrainedTokenizerFast  # untyped constructor
    return fast(
        tokenizer_object=core,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        chat_template=chat_template,
    )


def tiny_llama(folder: Path, *, chat_template: str | None, context: int = 256) -> Path:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(chat_template)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=context,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # larger weights make the random model's greedy choices clear-cut
        for parameter in model.parameters():
            parameter.mul_(8.0 if parameter.dim() > 1 else 1.0)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    (folder / "LICENSE").write_text("test weights, no rights reserved\n")
    return folder
