"""Drafts written by a model behind an OpenAI-compatible endpoint (the 'openai' LLM backend,
`tests/openai_server.py`): through the installed console script and through the API, with
its token counts in the metrics, and one clear error when the endpoint fails."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from minutekeeper.core.settings import Settings
from tests.conftest import cli_env
from tests.integration.api_support import running_api
from tests.openai_server import FakeOpenAI, closed_port_url, fake_openai

MINUTEKEEPER = str(Path(sys.executable).parent / "minutekeeper")
KEY = "sk-team-0d9c8b7a6f5e"
THREAD = "Ann: Is the deck ready?\nBen: Dana has it.\nAnn: Dana, can you confirm?\n"
REPLY = "Yes, the deck is ready and it costs 300 euros."


def mk(data_dir: Path, url: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The console script with the 'openai' backend pointed at `url` (the key set)."""
    environment = cli_env() | {
        "MINUTEKEEPER_LLM_BACKEND": "openai",
        "MINUTEKEEPER_LLM_BASE_URL": url,
        "MINUTEKEEPER_LLM_API_KEY": KEY,
    }
    environment |= {f"MINUTEKEEPER_{k.upper()}": v for k, v in env.items()}
    command = [MINUTEKEEPER, "--data-dir", str(data_dir), *args]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def endpoint_settings(settings: Settings, url: str, **more: object) -> Settings:
    """`settings` with the 'openai' backend pointed at `url` (the key set)."""
    update = {"llm_backend": "openai", "llm_base_url": url, "llm_api_key": SecretStr(KEY)}
    return settings.model_copy(update=update | more)


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with fake_openai(key=KEY, reply=lambda body: REPLY) as running:
        yield running


@pytest.fixture
def thread(tmp_path: Path) -> str:
    path = tmp_path / "thread.txt"
    path.write_text(THREAD)
    return str(path)


def compose(data_dir: Path, url: str, thread: str, **env: str) -> subprocess.CompletedProcess[str]:
    asked = ["--instruction", "say it costs 300 euros", "--user", "Dana", "--llm", "team-model"]
    return mk(data_dir, url, "compose", "--thread", thread, *asked, "--format", "json", **env)


def test_compose_drafts_on_the_endpoint_after_a_retry(
    tmp_path: Path, server: FakeOpenAI, thread: str
) -> None:
    server.script.append("500")  # the first call fails; the second is answered
    result = compose(tmp_path, server.url, thread)
    assert result.returncode == 0, result.stderr
    draft = json.loads(result.stdout)
    assert draft["text"] == REPLY and draft["failed_checks"] == []
    assert draft["written_by"] == "team-model"
    first, second = server.received
    assert first.body == second.body and second.authorization == f"Bearer {KEY}"
    sent = second.body
    assert sent["model"] == "team-model" and sent["temperature"] == 0.0
    assert [m["role"] for m in sent["messages"]][-1] == "user"
    assert "Ann: Is the deck ready?" in "\n".join(m["content"] for m in sent["messages"])
    assert "\nAnn:" in sent["stop"]  # the thread's next turn ends the draft
    assert KEY not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("trouble", "settings", "said"),
    [
        ("down", {}, "is unreachable after 3 tries: [Errno 111] Connection refused"),
        ("slow", {"llm_timeout_s": "1"}, "did not answer /chat/completions within 1 s"),
        ("garbage", {}, "answered /chat/completions with something that is not JSON"),
    ],
)
def test_a_failing_endpoint_is_one_line_naming_it(
    tmp_path: Path, server: FakeOpenAI, thread: str, trouble: str, settings: dict[str, str],
    said: str
) -> None:  # fmt: skip
    url = closed_port_url() if trouble == "down" else server.url
    server.script.append(trouble)
    result = compose(tmp_path, url, thread, **settings)
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: the LLM endpoint {url} ")
    assert said in result.stderr and result.stderr.count("\n") == 1
    assert KEY not in result.stdout + result.stderr


def test_models_list_shows_the_endpoint_model(tmp_path: Path, server: FakeOpenAI) -> None:
    listed = mk(tmp_path, server.url, "models", "list", llm_model="team-model")
    row = next(line for line in listed.stdout.splitlines() if "team-model" in line)
    assert row.split()[:3] == ["llm", "team-model", "served"]
    assert row.endswith(f"OpenAI-compatible endpoint {server.url}")
    down = mk(tmp_path, closed_port_url(), "models", "list", llm_model="team-model")
    assert down.returncode == 0 and "team-model" in down.stdout
    assert "endpoint unreachable" in down.stdout and KEY not in down.stdout + down.stderr


def test_the_api_drafts_on_the_endpoint_and_counts_its_tokens(
    settings: Settings, server: FakeOpenAI
) -> None:
    chosen = endpoint_settings(settings, server.url, llm_model="team-model")
    thread = [{"id": "m1", "author": "Ann", "text": "Is the deck ready? What does it cost?"}]
    body = {"thread": thread, "instruction": "say it costs 300 euros"}
    with running_api(chosen) as api:
        made = api.client.post("/v1/compose", headers=api.auth(), json=body)
        assert made.status_code == 201, made.text
        assert made.json()["text"] == REPLY and made.json()["written_by"] == "team-model"
        metrics = api.client.get("/metrics").text
    [used] = server.received
    prompt_words = sum(len(m["content"].split()) for m in used.body["messages"])
    assert _counted(metrics, "prompt") == prompt_words
    assert _counted(metrics, "completion") == len(REPLY.split())


def test_the_api_answers_503_naming_the_endpoint_when_it_is_down(settings: Settings) -> None:
    url = closed_port_url()
    chosen = endpoint_settings(settings, url, llm_retries=0)
    with running_api(chosen) as api:
        failed = api.client.post("/v1/compose", headers=api.auth(), json={"thread": [
            {"id": "m1", "author": "Ann", "text": "Ready?"}]})  # fmt: skip
    assert failed.status_code == 503
    error = failed.json()["error"]
    assert error["code"] == "llm_endpoint_unavailable"
    assert error["message"].startswith(f"the LLM endpoint {url} is unreachable: ")
    assert KEY not in failed.text


def _counted(metrics: str, direction: str) -> float:
    found = re.search(rf'^minutekeeper_llm_tokens_total\{{direction="{direction}"\}} (\S+)$',
                      metrics, re.MULTILINE)  # fmt: skip
    assert found, metrics
    return float(found.group(1))
