"""The LLM backends on a tiny random Llama built here (no hub, no download); the embedded
models are in test_embedded_llm.py."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest

from minutekeeper.models.conversion import converted_path
from minutekeeper.models.ctranslate2_generator import CTranslate2Generator
from minutekeeper.models.errors import ModelError, ModelUnavailable, UnknownModel
from minutekeeper.models.llm import ChatMessage, Generation, cut_at_stop, plain_prompt
from minutekeeper.models.transformers_generator import TransformersGenerator
from tests.model.tiny_llm import CHAT, PROMPT, TEMPLATE, build_tokenizer, tiny_llama


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"), chat_template=TEMPLATE)


@pytest.fixture(scope="module")
def plain_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_llama(tmp_path_factory.mktemp("tiny-plain"), chat_template=None)


@pytest.fixture(scope="module")
def eos_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny model with its end token's output row scaled from the greedy first token's,
    so it ends right away: the end token must be dropped and reported as a stop."""
    import torch
    from transformers import LlamaForCausalLM

    folder = tiny_llama(tmp_path_factory.mktemp("tiny-eos"), chat_template=None)
    model = LlamaForCausalLM.from_pretrained(str(folder))
    tokenizer = build_tokenizer(None)
    with torch.no_grad():
        logits = model(torch.tensor([tokenizer(PROMPT)["input_ids"]])).logits[0, -1]
        head = model.lm_head.weight
        head[tokenizer.eos_token_id] = head[int(logits.argmax())] * 2
    model.save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llm-cache")


@pytest.fixture(scope="module")
def reference(tiny_model: Path, cache: Path) -> TransformersGenerator:
    return TransformersGenerator(str(tiny_model), cache_dir=cache, threads=2)


def test_transformers_greedy_generation_is_deterministic(
    reference: TransformersGenerator,
) -> None:
    first = reference.generate(PROMPT, max_new_tokens=8)
    second = reference.generate(PROMPT, max_new_tokens=8)
    assert first == second
    assert first.text.strip()
    assert first.prompt_tokens == len(PROMPT.split()) + 1  # the <s> token
    assert first.completion_tokens <= 8
    assert first.finish_reason in {"stop", "length"}


def test_ctranslate2_float32_matches_transformers_greedy_tokens(
    tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    ct2 = CTranslate2Generator(str(tiny_model), cache_dir=cache, compute_type="float32")
    for prompt in (PROMPT, CHAT):
        assert ct2.generate(prompt, max_new_tokens=10) == reference.generate(
            prompt, max_new_tokens=10
        )


def test_ctranslate2_int8_converts_once_and_carries_tokenizer_and_license(
    tiny_model: Path, cache: Path
) -> None:
    # int8 rounding may flip near-tied greedy choices, so only float32 must match exactly.
    first = CTranslate2Generator(str(tiny_model), cache_dir=cache, threads=2)
    folder = converted_path(tiny_model, cache_dir=cache, quantization="int8")
    assert {"model.bin", "tokenizer.json", "LICENSE", ".converted"} <= {
        p.name for p in folder.iterdir()
    }
    stamp = (folder / "model.bin").stat().st_mtime_ns
    again = CTranslate2Generator(str(tiny_model), cache_dir=cache)
    assert (folder / "model.bin").stat().st_mtime_ns == stamp
    result = first.generate(PROMPT, max_new_tokens=6)
    assert result == again.generate(PROMPT, max_new_tokens=6)
    assert 0 < result.completion_tokens <= 6
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]
    direct = CTranslate2Generator(str(folder), cache_dir=cache)  # a CT2 folder loads as is
    assert direct.generate(PROMPT, max_new_tokens=6) == result


def _backend(
    backend: str, tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> TransformersGenerator | CTranslate2Generator:
    if backend == "transformers":
        return reference
    return CTranslate2Generator(str(tiny_model), cache_dir=cache, compute_type="float32")


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_stop_sequence_cuts_text_at_first_occurrence(
    backend: str, tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    generator = _backend(backend, tiny_model, cache, reference)
    full = generator.generate(PROMPT, max_new_tokens=10).text
    words = full.split()
    assert len(words) >= 3
    stop = words[2]
    cut = generator.generate(PROMPT, max_new_tokens=10, stop=[stop, "never-generated"])
    assert cut.text == full[: full.find(stop)]
    assert cut.finish_reason == "stop"


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_on_token_is_called_once_per_generated_token_without_changing_the_text(
    backend: str, tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    generator = _backend(backend, tiny_model, cache, reference)
    counts: list[int] = []
    counted = generator.generate(PROMPT, max_new_tokens=7, on_token=counts.append)
    assert counted == generator.generate(PROMPT, max_new_tokens=7)
    assert counts == list(range(1, counted.completion_tokens + 1)) and counts


def test_chat_template_is_used_when_the_tokenizer_has_one(
    reference: TransformersGenerator,
) -> None:
    ids = reference.prompt_ids(CHAT)
    expected = "<system> summary </system> <user> the meeting starts at nine </user> <assistant>"
    assert ids == reference._tokenizer(expected, add_special_tokens=False)["input_ids"]


def test_plain_prompt_format_without_a_chat_template(plain_model: Path, cache: Path) -> None:
    generator = TransformersGenerator(str(plain_model), cache_dir=cache)
    expected = "System: summary\nUser: the meeting starts at nine\nAssistant:"
    assert plain_prompt(CHAT) == expected
    assert generator.prompt_ids(CHAT) == generator._tokenizer(expected)["input_ids"]
    assert generator.generate(CHAT, max_new_tokens=4).prompt_tokens == len(expected.split()) + 1


def test_a_final_assistant_message_is_continued_not_followed_by_a_new_turn(
    reference: TransformersGenerator,
) -> None:
    prefilled = [*CHAT, ChatMessage("assistant", "the meeting")]
    expected = (
        "<system> summary </system> <user> the meeting starts at nine </user> "
        "<assistant> the meeting"
    )
    assert (
        reference.prompt_ids(prefilled)
        == reference._tokenizer(expected, add_special_tokens=False)["input_ids"]
    )
    assert plain_prompt(prefilled).endswith(
        "User: the meeting starts at nine\nAssistant: the meeting"
    )


def test_token_count_and_context_length_for_chunking(reference: TransformersGenerator) -> None:
    assert reference.count_tokens("the meeting starts at nine") == 5
    assert reference.context_length == 256


def test_prompt_longer_than_the_context_is_refused_not_truncated(
    tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    long_prompt = " ".join(["the meeting"] * 200)
    ct2 = CTranslate2Generator(str(tiny_model), cache_dir=cache)
    for generator in (reference, ct2):
        with pytest.raises(ModelError, match="context of 256 tokens"):
            generator.generate(long_prompt, max_new_tokens=8)


def test_end_token_ends_generation_and_is_not_counted(eos_model: Path, cache: Path) -> None:
    for generator in (
        TransformersGenerator(str(eos_model), cache_dir=cache),
        CTranslate2Generator(str(eos_model), cache_dir=cache, compute_type="float32"),
    ):
        assert generator.generate(PROMPT, max_new_tokens=8) == Generation("", 7, 0, "stop")


@pytest.mark.parametrize("backend", ["transformers", "ctranslate2"])
def test_sampling_with_a_temperature_stays_within_the_token_budget(
    backend: str, tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    generator = (
        reference
        if backend == "transformers"
        else CTranslate2Generator(str(tiny_model), cache_dir=cache)
    )
    result = generator.generate(CHAT, max_new_tokens=5, temperature=0.8)
    assert result.completion_tokens <= 5
    assert result.finish_reason in {"stop", "length"}


def _repeated_pairs(text: str) -> set[tuple[str, str]]:
    words = text.split()  # the tiny tokenizer's tokens are words
    pairs = list(pairwise(words))
    return {pair for pair in pairs if pairs.count(pair) > 1}


def test_both_local_backends_apply_the_anti_loop_options(
    tiny_model: Path, cache: Path, reference: TransformersGenerator
) -> None:
    ct2 = CTranslate2Generator(str(tiny_model), cache_dir=cache, compute_type="float32")
    greedy = reference.generate(PROMPT, max_new_tokens=40)
    assert ct2.generate(PROMPT, max_new_tokens=40) == greedy
    assert _repeated_pairs(greedy.text), greedy.text  # a random model loops under greedy
    unlooped = reference.generate(PROMPT, max_new_tokens=40, no_repeat_ngram=2)
    assert not _repeated_pairs(unlooped.text), unlooped.text
    assert ct2.generate(PROMPT, max_new_tokens=40, no_repeat_ngram=2) == unlooped
    # The penalty reaches both; the libraries differ in which earlier tokens it counts.
    for generator in (reference, ct2):
        penalised = generator.generate(PROMPT, max_new_tokens=40, repetition_penalty=1.5)
        assert penalised.text != greedy.text


def test_cut_at_stop_picks_the_earliest_stop_string() -> None:
    assert cut_at_stop("a b. c\n\nd", ["\n\n", "."]) == ("a b", True)
    assert cut_at_stop("abc", None) == ("abc", False)


def test_unknown_model_name_lists_the_valid_ones(cache: Path) -> None:
    for backend in (TransformersGenerator, CTranslate2Generator):
        with pytest.raises(
            UnknownModel,
            match=r"valid: qwen2.5-coder-0.5b-instruct \(embedded, the default\), gemma3-270m",
        ):
            backend("no-such-llm", cache_dir=cache)


def test_a_hub_id_loads_from_the_model_cache_copy_without_a_network(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--acme--tiny-llm"
    shutil.copytree(tiny_model, repo / "snapshots" / revision)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    generator = TransformersGenerator("acme/tiny-llm", cache_dir=tmp_path, threads=1)
    assert generator.generate(PROMPT, max_new_tokens=2).completion_tokens >= 1
    with pytest.raises(ModelUnavailable, match=r"'acme/gone'.*hub models need a network"):
        CTranslate2Generator("acme/gone", cache_dir=tmp_path)


def test_missing_model_folder_is_unavailable(tmp_path: Path) -> None:
    for backend in (TransformersGenerator, CTranslate2Generator):
        with pytest.raises(ModelUnavailable, match="does not exist"):
            backend(str(tmp_path / "gone"), cache_dir=tmp_path)
    with pytest.raises(ModelUnavailable, match=r"no config\.json"):
        CTranslate2Generator(str(tmp_path), cache_dir=tmp_path / "cache")


def test_registry_builds_each_backend_and_refuses_an_unknown_one(tmp_path: Path) -> None:
    from minutekeeper.core.settings import Settings
    from minutekeeper.models import registry

    settings = Settings(data_dir=tmp_path)
    with pytest.raises(UnknownModel, match="valid: ctranslate2, openai, transformers"):
        registry.build_generator(settings, backend="vllm")
    with pytest.raises(ModelUnavailable):
        registry.build_generator(settings, model=str(tmp_path / "missing"), backend="transformers")
