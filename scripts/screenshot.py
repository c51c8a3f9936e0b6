"""Make docs/meeting-page.png, the README's picture of the meeting page, from a real server.

It starts `minutekeeper serve` on a throwaway data folder, publishes the notice, makes an
admin token, uploads the example recording through the API as `scripts/example.sh`
summarizes it (the same meeting date and speaker names), waits for its job, then signs in
with headless Chromium (Debian's /usr/bin/chromium, as the browser tests use) and takes the
first screen of the meeting's page. Only the prepared models are shared with your install
(its model cache), as `scripts/example.sh` shares them; the folder is removed at the end.
About two minutes on 2 CPU cores, nearly all of it transcription.

    .venv/bin/python scripts/screenshot.py [--out docs/meeting-page.png]
        [--recording examples/meeting.flac] [--width 1200] [--height 1250]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import expect, sync_playwright

from minutekeeper.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.integration.test_web_e2e import ARGS, CHROMIUM  # noqa: E402
from tests.live_server import live_server  # noqa: E402

# As scripts/example.sh summarizes the example meeting.
FIELDS = {"title": "Planning call", "meeting_date": "2026-11-23",
          "hotwords": "Tallyloop, diarization, Grafana",
          "speaker": ["S1=Alice", "S2=Bob", "S3=Carol"]}  # fmt: skip
SIZE_GOAL = 200_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "meeting-page.png")
    parser.add_argument("--recording", type=Path, default=ROOT / "examples" / "meeting.flac")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=1250)
    args = parser.parse_args()
    if not CHROMIUM.exists():
        print(f"error: needs Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        return 1
    models = str(Settings().resolved_model_cache_dir())
    work = Path(tempfile.mkdtemp(prefix="minutekeeper-screenshot."))
    try:
        with live_server(work / "data", MINUTEKEEPER_MODEL_CACHE_DIR=models) as server:
            server.cli("consent", "notice", "publish")
            token = server.token("admin", "Dana Smith")
            meeting = upload(server.url, token, args.recording)
            shoot(server.url, token, meeting, args.out, args.width, args.height)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({size / 1000:.0f} kB)", file=sys.stderr)
    if size > SIZE_GOAL:
        print(f"warning: over {SIZE_GOAL / 1000:.0f} kB: try a smaller --height", file=sys.stderr)
    return 0


def upload(url: str, token: str, recording: Path) -> str:
    """Upload the recording and wait for its summary; the meeting's id."""
    headers = {"Authorization": f"Bearer {token}"}
    with (
        httpx.Client(base_url=url, headers=headers, timeout=60) as client,
        recording.open("rb") as audio,
    ):
        answer = client.post("/v1/meetings", files={"recording": (recording.name, audio)},
                             data=FIELDS)  # fmt: skip
        if answer.status_code != 202:
            raise SystemExit(f"error: upload refused: {answer.text}")
        meeting = str(answer.json()["meeting_id"])
        print(f"uploaded {recording.name}: transcribing and summarizing …", file=sys.stderr)
        deadline = time.monotonic() + 1800
        while (job := client.get(f"/v1/jobs/{meeting}").json())["status"] != "succeeded":
            if job["status"] == "failed" or time.monotonic() > deadline:
                raise SystemExit(f"error: the job did not finish: {job}")
            time.sleep(1)
    return meeting


def shoot(url: str, token: str, meeting: str, out: Path, width: int, height: int) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            context = browser.new_context(base_url=url, viewport={"width": width, "height": height})
            page = context.new_page()
            page.goto("/signin")
            page.get_by_label("Token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/meetings")  # where signing in lands
            page.goto(f"/meetings/{meeting}")
            expect(page.get_by_role("heading", name="Decisions")).to_be_visible()
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), animations="disabled", caret="hide")
        finally:
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
