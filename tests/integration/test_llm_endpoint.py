"""The 'openai' LLM backend against a real HTTP server (`tests/openai_server.py`): what it
sends, what it makes of the answers, retries, timeouts, and errors that name the endpoint
but never the key."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from minutekeeper.core.errors import ConfigurationError
from minutekeeper.core.settings import Settings
from minutekeeper.models import registry
from minutekeeper.models.errors import EndpointUnavailable, ModelError
from minutekeeper.models.llm import ChatMessage, TextGenerator
from minutekeeper.models.openai_generator import OpenAICompatibleGenerator, estimate_tokens
from tests.openai_server import FakeOpenAI, closed_port_url, fake_openai

KEY = "sk-test-6f1d2c9e0b7a"
CHAT = [ChatMessage("system", "You write short replies."), ChatMessage("user", "Hello there team")]


def generator(tmp_path: Path, url: str, **settings: object) -> TextGenerator:
    given: dict[str, object] = {"llm_model": "team-model", "llm_api_key": KEY, **settings}
    chosen = Settings(data_dir=tmp_path, llm_backend="openai", llm_base_url=url, **given)
    return registry.build_generator(chosen)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai(key=KEY) as running:
        yield running


def test_chat_messages_go_as_messages_with_the_key_and_the_decoding_settings(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    out = generator(tmp_path, server.url).generate(
        CHAT, max_new_tokens=40, temperature=0.0, stop=["\nBen:", ""]
    )
    assert out.text == "Sure: there team"
    assert (out.prompt_tokens, out.completion_tokens, out.finish_reason) == (7, 3, "stop")
    [sent] = server.received
    assert sent.path == "/v1/chat/completions" and sent.authorization == f"Bearer {KEY}"
    assert sent.body == {
        "model": "team-model",
        "max_tokens": 40,
        "temperature": 0.0,
        "messages": [
            {"role": "system", "content": "You write short replies."},
            {"role": "user", "content": "Hello there team"},
        ],
        "stop": ["\nBen:"],
    }


def test_a_repetition_penalty_goes_as_vllms_field_and_only_when_set(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    made = generator(tmp_path, server.url)
    assert isinstance(made, OpenAICompatibleGenerator)
    made.generate(CHAT, repetition_penalty=1.15, no_repeat_ngram=3)
    made.generate(CHAT)
    assert server.received[0].body["repetition_penalty"] == 1.15
    assert "repetition_penalty" not in server.received[1].body
    assert not {"no_repeat_ngram", "no_repeat_ngram_size"} & set(server.received[0].body)


def test_a_raw_prompt_is_continued_through_completions(tmp_path: Path, server: FakeOpenAI) -> None:
    out = generator(tmp_path, server.url).generate("The plan is", max_new_tokens=3)
    assert server.received[0].path == "/v1/completions"
    assert server.received[0].body["prompt"] == "The plan is"
    assert out.text == " and then it" and out.finish_reason == "length"
    assert (out.prompt_tokens, out.completion_tokens) == (3, 3)


def test_on_token_streams_and_counts_from_the_final_usage(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    seen: list[int] = []
    out = generator(tmp_path, server.url).generate(CHAT, max_new_tokens=40, on_token=seen.append)
    assert out.text == "Sure: there team" and seen == [1, 2, 3]
    assert (out.prompt_tokens, out.completion_tokens) == (7, 3)
    body = server.received[0].body
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


def test_a_stop_string_the_server_leaves_in_is_cut(tmp_path: Path) -> None:
    with fake_openai(reply=lambda body: "Fine.\nAnn: and more", honours_stop=False) as server:
        out = generator(tmp_path, server.url).generate(CHAT, stop=["\nAnn:"])
    assert server.received[0].body["stop"] == ["\nAnn:"]
    assert out.text == "Fine." and out.finish_reason == "stop"


def test_a_500_then_an_answer_is_retried(tmp_path: Path, server: FakeOpenAI) -> None:
    server.script += ["500", "429"]
    out = generator(tmp_path, server.url).generate(CHAT)
    assert out.text == "Sure: there team" and len(server.received) == 3


def test_5xx_past_the_retries_is_one_line_naming_the_url(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    server.script += ["500"] * 3
    with pytest.raises(EndpointUnavailable) as caught:
        generator(tmp_path, server.url, llm_retries=1).generate(CHAT)
    assert len(server.received) == 2
    assert caught.value.message == (
        f"the LLM endpoint {server.url} answered 500 to /chat/completions: "
        "the engine is restarting, 2 tries"
    )


def test_connection_refused_is_retried_then_reported(tmp_path: Path) -> None:
    url = closed_port_url()
    started = time.monotonic()
    with pytest.raises(EndpointUnavailable) as caught:
        generator(tmp_path, url).generate(CHAT)
    assert time.monotonic() - started >= 1.5  # waited 0.5 s, then 1 s, between the 3 tries
    assert caught.value.message.startswith(f"the LLM endpoint {url} is unreachable after 3 tries")
    assert "\n" not in caught.value.message and caught.value.code == "llm_endpoint_unavailable"


def test_a_slow_answer_times_out_once_without_retrying(tmp_path: Path, server: FakeOpenAI) -> None:
    server.script.append("slow")
    started = time.monotonic()
    with pytest.raises(EndpointUnavailable) as caught:
        generator(tmp_path, server.url, llm_timeout_s=1).generate(CHAT)
    assert time.monotonic() - started < 2.5 and len(server.received) == 1
    assert caught.value.message == (
        f"the LLM endpoint {server.url} did not answer /chat/completions within 1 s "
        "(MINUTEKEEPER_LLM_TIMEOUT_S)"
    )


@pytest.mark.parametrize(
    ("step", "said"),
    [
        ("garbage", "with something that is not JSON: '<html><body>Gateway says hello"),
        ("no-choices", "with JSON that holds no completion (no choices)"),
    ],
)
def test_an_answer_that_is_no_completion_is_named(
    tmp_path: Path, server: FakeOpenAI, step: str, said: str
) -> None:
    server.script.append(step)
    with pytest.raises(EndpointUnavailable) as caught:
        generator(tmp_path, server.url).generate(CHAT)
    assert caught.value.message.startswith(f"the LLM endpoint {server.url} answered /chat/")
    assert said in caught.value.message and len(server.received) == 1


def test_a_wrong_key_or_model_is_not_retried_and_says_what_to_check(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    wrong = Settings(data_dir=tmp_path, llm_backend="openai", llm_base_url=server.url,
                     llm_model="team-model", llm_api_key="sk-wrong-key")  # fmt: skip
    with pytest.raises(EndpointUnavailable) as caught:
        registry.build_generator(wrong).generate(CHAT)
    assert "answered 401 to /chat/completions: invalid api key" in caught.value.message
    assert "check MINUTEKEEPER_LLM_API_KEY" in caught.value.message
    assert "sk-wrong-key" not in caught.value.message
    with pytest.raises(EndpointUnavailable) as missing:
        generator(tmp_path, server.url, llm_model="other").generate(CHAT)
    assert "answered 404" in missing.value.message and "'other' not found" in missing.value.message
    assert len(server.received) == 2


def test_a_prompt_over_the_servers_window_is_refused_once(
    tmp_path: Path, server: FakeOpenAI
) -> None:
    server.context = 20
    with_slash = generator(tmp_path, server.url + "/")
    assert with_slash.generate(CHAT, max_new_tokens=10).text == "Sure: there team"
    with pytest.raises(ModelError) as caught:
        with_slash.generate(CHAT, max_new_tokens=40)
    assert not isinstance(caught.value, EndpointUnavailable)  # the request, not the server
    assert caught.value.message == (
        f"the LLM endpoint {server.url} answered 400 to /chat/completions: This model's "
        "maximum context length is 20 tokens."
    )
    assert len(server.received) == 2


def test_the_key_is_in_no_log_record_nor_error(
    tmp_path: Path, server: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server.script += ["500", "garbage"]
    with pytest.raises(EndpointUnavailable) as caught:
        generator(tmp_path, server.url).generate(CHAT)
    assert caplog.records and KEY not in caplog.text and KEY not in str(caught.value)
    assert "trying again in 0.5 s" in caplog.text
    settings = Settings(data_dir=tmp_path, llm_api_key=KEY)
    assert KEY not in repr(settings) and KEY not in settings.model_dump_json()


def test_the_openai_backend_needs_a_base_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="MINUTEKEEPER_LLM_BASE_URL"):
        registry.build_generator(Settings(data_dir=tmp_path, llm_backend="openai"))


def test_counts_without_a_tokenizer_are_a_conservative_estimate(tmp_path: Path) -> None:
    made = generator(tmp_path, closed_port_url(), llm_context_length=8192)
    assert made.context_length == 8192
    # English runs about 4 characters a token; the estimate counts one per 3 bytes.
    assert made.count_tokens("We ship the release on Friday.") == 10
    assert estimate_tokens("[s0012] at 10") == 6 + 3  # digits count one each
    assert estimate_tokens("会议") == 2
