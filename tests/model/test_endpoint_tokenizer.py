"""The 'openai' backend with a local copy of the served model's tokenizer
(`llm_tokenizer`): exact counts for chunking, and a prompt over the window refused before
anything is sent, as the local backends refuse it."""

from __future__ import annotations

from pathlib import Path

import pytest

from minutekeeper.core.settings import Settings
from minutekeeper.models import registry
from minutekeeper.models.errors import ModelError, ModelUnavailable
from minutekeeper.models.llm import ChatMessage
from tests.model.tiny_llm import TEMPLATE, build_tokenizer
from tests.openai_server import fake_openai


def endpoint_settings(tmp_path: Path, url: str, tokenizer: Path) -> Settings:
    return Settings(data_dir=tmp_path, llm_backend="openai", llm_base_url=url,
                    llm_model="team-model", llm_tokenizer=tokenizer,
                    llm_context_length=256)  # fmt: skip


def test_a_local_tokenizer_counts_exactly_and_guards_the_window(tmp_path: Path) -> None:
    folder = tmp_path / "tokenizer"
    build_tokenizer(TEMPLATE).save_pretrained(str(folder))  # tokenizer files only
    with fake_openai() as server:
        generator = registry.build_generator(endpoint_settings(tmp_path, server.url, folder))
        assert generator.count_tokens("the meeting starts at nine") == 5  # one a word
        short = [ChatMessage("user", "the meeting starts at nine")]
        assert generator.generate(short, max_new_tokens=8).text == "Sure: meeting starts at nine"
        long = [ChatMessage("user", " ".join(["budget"] * 200))]
        with pytest.raises(ModelError, match="exceeds the model's context of 256 tokens"):
            generator.generate(long, max_new_tokens=64)
    assert len(server.received) == 1  # the long prompt was never sent


def test_a_missing_tokenizer_folder_is_named(tmp_path: Path) -> None:
    settings = endpoint_settings(tmp_path, "http://127.0.0.1:9/v1", tmp_path / "nope")
    with pytest.raises(ModelUnavailable, match="MINUTEKEEPER_LLM_TOKENIZER"):
        registry.build_generator(settings)
