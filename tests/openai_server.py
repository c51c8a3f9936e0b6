"""A small OpenAI-compatible server for tests, on a free local port in a thread:
`/v1/chat/completions`, `/v1/completions` (both streamed on request) and `/v1/models`.

It answers deterministically: `reply(body)` gives the text (by default the last message
with its first word replaced by "Sure:"), cut at the first stop string and at `max_tokens`
words, like a real server; `usage` counts words (prompt: the words of every message or of
the prompt), and a prompt over `context` words is refused with 400. Each request is
recorded with its Authorization header. `script` lists what the next requests get instead
of an answer, one entry each: "500", "429" (Retry-After: 0), "slow" (no answer for `slow_s`
seconds), "garbage" (an HTML page with status 200), "no-choices" (JSON that is not a
completion).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = Callable[[dict[str, Any]], str]


def echo_reply(body: dict[str, Any]) -> str:
    if "prompt" in body:
        return " and then it ends."
    words = str(body["messages"][-1]["content"]).split()
    return " ".join(["Sure:", *words[1:]])


@dataclass
class Received:
    path: str
    body: dict[str, Any]
    authorization: str | None


@dataclass
class FakeOpenAI:
    """What the server answers and what it received."""

    model: str = "team-model"
    key: str | None = None  # when set, any other bearer key gets 401
    reply: Reply = echo_reply
    slow_s: float = 3.0
    context: int = 10**6  # a prompt plus max_tokens over this many words gets 400, as vLLM does
    honours_stop: bool = True
    script: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_step(self) -> str | None:
        with self._lock:
            return self.script.pop(0) if self.script else None

    def answer(self, body: dict[str, Any]) -> tuple[list[str], str, dict[str, int]]:
        """The reply's pieces (one per word, as a server streams tokens), its finish reason
        and its usage."""
        text = self.reply(body)
        stop = [s for s in body.get("stop") or [] if s and s in text and self.honours_stop]
        if stop:
            text = text[: min(text.index(s) for s in stop)]
        pieces = re.findall(r"\s*\S+", text) or [""]  # words with their leading space
        finish = "stop"
        if len(pieces) > int(body.get("max_tokens", 16)):
            pieces, finish = pieces[: int(body["max_tokens"])], "length"
        prompt = body.get("prompt") or " ".join(m["content"] for m in body["messages"])
        used = {"prompt_tokens": len(prompt.split()), "completion_tokens": len(pieces)}
        return pieces, finish, used


def _handler(server: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_GET(self) -> None:
            if self.path != "/v1/models":
                return self._json(404, {"error": {"message": f"no route {self.path}"}})
            return self._json(200, {"object": "list", "data": [{"id": server.model}]})

        def do_POST(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(size))
            server.received.append(Received(self.path, body, self.headers.get("Authorization")))
            if (
                server.key is not None
                and self.headers.get("Authorization") != f"Bearer {server.key}"
            ):
                return self._json(401, {"error": {"message": "invalid api key"}})
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                return self._json(404, {"error": {"message": f"no route {self.path}"}})
            if body.get("model") != server.model:
                return self._json(
                    404, {"error": {"message": f"model {body.get('model')!r} not found"}}
                )
            prompt = body.get("prompt") or " ".join(m["content"] for m in body["messages"])
            if len(prompt.split()) + int(body.get("max_tokens", 16)) > server.context:
                message = f"This model's maximum context length is {server.context} tokens."
                return self._json(400, {"error": {"message": message}})
            step = server.next_step()
            if step == "500":
                return self._json(500, {"error": {"message": "the engine is restarting"}})
            if step == "429":
                return self._json(429, {"error": {"message": "busy"}}, {"Retry-After": "0"})
            if step == "slow":
                time.sleep(server.slow_s)
            if step == "garbage":
                return self._raw(200, b"<html><body>Gateway says hello</body></html>", "text/html")
            if step == "no-choices":
                return self._json(200, {"object": "chat.completion", "note": "empty"})
            chat = self.path.endswith("/chat/completions")
            if body.get("stream"):
                return self._stream(body, chat=chat)
            pieces, finish, usage = server.answer(body)
            text = "".join(pieces)
            choice = {"index": 0, "finish_reason": finish}
            choice |= (
                {"message": {"role": "assistant", "content": text}} if chat else {"text": text}
            )
            return self._json(200, {"id": "x", "object": "chat.completion", "model": server.model,
                                    "choices": [choice], "usage": usage})  # fmt: skip

        def _stream(self, body: dict[str, Any], *, chat: bool) -> None:
            pieces, finish, usage = server.answer(body)
            events = [
                {
                    "choices": [
                        {
                            "index": 0,
                            "finish_reason": None,
                            **({"delta": {"content": p}} if chat else {"text": p}),
                        }
                    ]
                }
                for p in pieces
            ]
            last = {"delta": {}} if chat else {"text": ""}
            events.append({"choices": [{"index": 0, "finish_reason": finish, **last}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                events.append({"choices": [], "usage": usage})
            lines = [f"data: {json.dumps(e)}\n\n" for e in events] + ["data: [DONE]\n\n"]
            self._raw(200, "".join(lines).encode(), "text/event-stream")

        def _json(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
            self._raw(status, json.dumps(data).encode(), "application/json", headers)

        def _raw(
            self, status: int, data: bytes, kind: str, headers: dict[str, str] | None = None
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that gave up (the timeout test) closed its end: nothing to report


@contextmanager
def fake_openai(**options: Any) -> Iterator[FakeOpenAI]:
    """The server, running until the block ends; its base URL is `.url` (ends in /v1)."""
    fake = FakeOpenAI(**options)
    httpd = _Server(("127.0.0.1", 0), _handler(fake))
    fake.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def closed_port_url() -> str:
    """A base URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
