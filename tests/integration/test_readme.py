"""The README, followed from the top on a fresh data folder (issue 23). The commands come
from README.md itself, so the test breaks when the README stops working: the first fenced
block (`bash scripts/setup.sh && bash scripts/example.sh`, `bash scripts/test.sh`), then
the fenced bash blocks under "Use it in your browser", in order and as written, with
`.venv/bin/minutekeeper` meaning this environment's console script. Only set-up and the
test run itself are left out (they made this run). `serve` starts on a free port, and the
browser steps the README numbers are done in headless Chromium: sign in with the token the
README's `tokens create` printed, give consent on My consent (checked on the page, through
`GET /v1/consent/me` and by the command line, which acts as the same person), and upload a
meeting on Meetings. A README command that fails, or a step that goes missing (no notice
published: nothing to consent to; no token: no sign-in), fails the test."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.conftest import cli_env
from tests.integration.test_web_e2e import ARGS, CHROMIUM, STATE
from tests.live_server import free_port, stop

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
QUICKSTART = "## Use it in your browser"
MINUTEKEEPER = Path(sys.executable).with_name("minutekeeper")
# Done before this test could run: setting up, and the test run this test is part of.
ALREADY_DONE = {"bash scripts/setup.sh", "bash scripts/test.sh"}
# What the test presses in the browser, in order: the README's steps must say the same.
PRESSED = ["Sign in", "My consent", "Give consent", "Meetings", "Upload"]
STEP_MS = 15_000


def _bash_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```bash\n(.*?)^```$", markdown, re.DOTALL | re.MULTILINE)


def _quickstart(readme: str) -> str:
    """The quickstart section: from its heading to the next second-level heading."""
    assert QUICKSTART in readme, f"the README has no section {QUICKSTART!r}"
    return readme.split(QUICKSTART, 1)[1].split("\n## ", 1)[0]


def readme_steps(readme: str) -> list[str]:
    """The README's commands in order: the first block, then the quickstart's blocks; each
    line one command (a trailing backslash joins lines), `a && b` two."""
    first = _bash_blocks(readme.split("\n## ", 1)[0])
    assert first, "the README does not begin with its commands"
    blocks = first[:1] + _bash_blocks(_quickstart(readme))
    steps = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            if shlex.split(line, comments=True):
                steps += [part.strip() for part in re.split(r"\s&&\s", line)]
    return steps


def _words(step: str) -> list[str]:
    return shlex.split(step, comments=True)


def _ours(step: str) -> str:
    """The step as written, with the README's console script meaning this environment's."""
    words = _words(step)
    if words[0] == ".venv/bin/minutekeeper":
        return shlex.quote(str(MINUTEKEEPER)) + step.split(".venv/bin/minutekeeper", 1)[1]
    return step


def _run(step: str, env: dict[str, str]) -> str:
    """Run one README step in bash from the repository's root; its stdout."""
    done = subprocess.run(["bash", "-c", _ours(step)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=400, check=False)  # fmt: skip
    assert done.returncode == 0, f"README step failed: {step}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@contextmanager
def _serving(step: str, env: dict[str, str], log: Path) -> Iterator[str]:
    """Start the README's `serve` step on a free port; yields the address it prints."""
    words = _words(step)
    assert not any("$" in word for word in words), "serve is started without a shell"
    command = [str(MINUTEKEEPER), *words[1:], "--port", str(free_port())]  # the last one wins
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)  # fmt: skip
    try:
        url = _wait_for_address(process, log)
        yield url
    finally:
        stop(process)


def _wait_for_address(process: subprocess.Popen[bytes], log: Path) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"serve exited: {log.read_text()}"
        printed = re.search(r"minutekeeper: (http://\S+?)/? ", log.read_text())
        if printed:
            try:
                if httpx.get(f"{printed.group(1)}/health", timeout=2).status_code == 200:
                    return printed.group(1)
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"serve did not answer in 60 s: {log.read_text()}")


def _browser_steps(page: Page, token: str) -> None:
    """The README's numbered steps, as a person follows them."""
    page.goto("/")
    page.get_by_label("Token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/meetings")  # where signing in lands
    page.get_by_role("link", name="My consent").click()
    expect(page.get_by_role("heading", name="My consent", exact=True)).to_be_visible()
    expect(page.locator("#notice-title")).to_be_visible()  # a published notice to read
    page.get_by_role("button", name="Give consent").click()
    expect(page.locator(STATE)).to_have_text("given", timeout=STEP_MS)
    said = re.compile(r"^Consent given: recorded \d.*, in the receipt below\.$")
    expect(page.locator("#decide-message")).to_have_text(said)
    page.reload()  # recorded on the server, not only shown
    expect(page.locator(STATE)).to_have_text("given")
    page.get_by_role("link", name="Meetings").click()
    page.wait_for_url("**/meetings")
    # The README suggests the example recording; its subtitles make the same meeting in
    # seconds (the recording's upload is tests/integration/test_web_e2e.py's subject).
    page.locator("#recording").set_input_files(ROOT / "examples" / "meeting.vtt")
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url(re.compile(r"/meetings/[0-9a-f-]{36}$"), timeout=120_000)
    expect(page.get_by_role("heading", name="Decisions")).to_be_visible()
    expect(page.locator("#summary a.cite").first).to_be_visible()


def test_the_readme_steps_are_read_in_order_from_the_readme() -> None:
    steps = readme_steps(README.read_text())
    assert steps[:3] == ["bash scripts/setup.sh", "bash scripts/example.sh", "bash scripts/test.sh"]
    numbered = re.findall(r"^\d+\. (.*(?:\n {3}.*)*)", _quickstart(README.read_text()), re.M)
    said = re.findall(r"\*\*(.+?)\*\*", " ".join(numbered))
    at = [said.index(label) for label in PRESSED if label in said]
    assert len(at) == len(PRESSED) and at == sorted(at), (
        f"the README's browser steps no longer say {PRESSED} in this order: {said}"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"needs Chromium at {CHROMIUM}")
def test_following_the_readme_on_a_fresh_data_folder_ends_with_consent_given(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = {**cli_env(), "MINUTEKEEPER_DATA_DIR": str(data_dir), "TMPDIR": str(tmp_path)}
    steps = [s for s in readme_steps(README.read_text()) if s not in ALREADY_DONE]
    with _steps_run(steps, env, tmp_path / "serve.log") as (token, url):
        assert token, "the README's steps make no token to sign in with"
        assert url, "the README's steps start no server"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            try:
                page = browser.new_context(base_url=url).new_page()
                page.set_default_timeout(STEP_MS)
                _browser_steps(page, token)
            finally:
                browser.close()
        me = httpx.get(f"{url}/v1/consent/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200, me.text
        assert {c["purpose"]: c["state"] for c in me.json()["consent"]} == {
            "train_ai_system": "given"
        }
    # The token was the command line's own person: it reads the consent given on the web.
    status = _run(".venv/bin/minutekeeper consent status", env)
    assert re.search(r"^train_ai_system: given ", status, re.MULTILINE), status


@contextmanager
def _steps_run(
    steps: list[str], env: dict[str, str], log: Path
) -> Iterator[tuple[str | None, str | None]]:
    """Run the steps in order; yields the token the last `tokens create` printed and the
    address `serve` printed, with the server still running."""
    token: str | None = None
    for index, step in enumerate(steps):
        words = _words(step)
        if words[:2] == [".venv/bin/minutekeeper", "serve"]:
            assert index == len(steps) - 1, "serve runs until stopped: nothing after it runs"
            with _serving(step, env, log) as url:
                yield token, url
            return
        out = _run(step, env)
        if words == ["bash", "scripts/example.sh"]:
            assert "## Action items" in out and "[[00:" in out, out  # the cited summary
        if words[:3] == [".venv/bin/minutekeeper", "tokens", "create"]:
            token = out.strip().splitlines()[-1]
    yield token, None
