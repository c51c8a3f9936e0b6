"""An OpenAI-compatible HTTP API (vLLM, llama.cpp's server, Ollama): JSON posted with the
bearer key, bounded retries with backoff where trying again can help, and one-line errors
that name the URL, never the key.

Retried: a refused, timed-out or dropped connection, and 429 or 5xx answers (after the
server's Retry-After when it sends one). Not retried: a call that connected but waited past
the timeout (the server may still be generating it; sending it again would queue the same
work behind itself), and any other answer (a wrong key, model name or request stays wrong).

Each call opens its own connection: a generation takes seconds, a connection on the local
network a millisecond, and nothing is left open between calls or when a process ends.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from minutekeeper.core.errors import ConfigurationError
from minutekeeper.core.settings import Settings
from minutekeeper.models.errors import EndpointUnavailable, ModelError

log = logging.getLogger(__name__)

BACKOFF_S = 0.5  # the first wait before trying again; doubled after each failure
MAX_WAIT_S = 30.0
CONNECT_S = 10.0
_DETAIL_CHARS = 200
# The request itself was refused (a prompt over the server's window, a parameter it rejects).
_BAD_REQUEST = {400, 413, 422}
# Trying again can help: nothing reached the server, or it dropped the connection unanswered.
_CONNECTION_FAILED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
_HINTS = {
    401: "check MINUTEKEEPER_LLM_API_KEY",
    403: "check MINUTEKEEPER_LLM_API_KEY",
    404: "check MINUTEKEEPER_LLM_BASE_URL, which usually ends in /v1, and MINUTEKEEPER_LLM_MODEL",
}


def shown_url(url: str) -> str:
    """`url` without a user name or password in it, for messages."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class Endpoint:
    """One server's API, from its base URL (up to and including /v1)."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        retries: int = 2,
        backoff_s: float = BACKOFF_S,
    ) -> None:
        self.url = base_url.rstrip("/")
        self.shown = shown_url(self.url)
        self.timeout_s = timeout_s
        self.retries = retries
        self._backoff_s = backoff_s
        self._key = api_key or None

    @classmethod
    def from_settings(cls, settings: Settings) -> Endpoint:
        """The server `llm_base_url` names, with its key, timeout and retries."""
        if not settings.llm_base_url:
            raise ConfigurationError(
                "llm_backend is 'openai' but no endpoint is set: MINUTEKEEPER_LLM_BASE_URL, "
                "such as http://gpu1:8000/v1"
            )
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(settings.llm_base_url, api_key=key, timeout_s=settings.llm_timeout_s,
                   retries=settings.llm_retries)  # fmt: skip

    def __repr__(self) -> str:
        return f"Endpoint({self.shown!r})"

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The JSON object the endpoint answers `body` with at `path`."""
        with self._opened(path, body) as response, self._reading(path):
            response.read()
        return self._object(response.text, path)

    def stream(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The events of a streamed answer (server-sent events), each a JSON object, up to
        the closing `[DONE]`."""
        with self._opened(path, body) as response, self._reading(path):
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue  # blank separators, ": keep-alive" comments, "event:" names
                data = line.removeprefix("data:").strip()
                if data == "[DONE]":
                    return
                yield self._object(data, path)

    def list_models(self, *, timeout_s: float) -> list[str]:
        """The model ids GET /models lists: one quick try, for `models list`."""
        try:
            with self._client(timeout_s) as client:
                response = client.get(f"{self.url}/models")
        except httpx.HTTPError as error:
            raise EndpointUnavailable(self._unreachable(error, tries=1)) from error
        if not response.is_success:
            raise self._refusal("models", response, tries=1)
        listed = self._object(response.text, "models").get("data")
        if not isinstance(listed, list):
            raise self.nonsense("models", "JSON without a list of models")
        return [str(m["id"]) for m in listed if isinstance(m, dict) and "id" in m]

    @contextmanager
    def _opened(self, path: str, body: dict[str, Any]) -> Iterator[httpx.Response]:
        """A 2xx response to `body`, its content not read yet, closed afterwards."""
        with self._client(self.timeout_s) as client:
            request = client.build_request("POST", f"{self.url}/{path}", json=body)
            response = self._send(client, request, path)
            try:
                yield response
            finally:
                response.close()

    def _send(self, client: httpx.Client, request: httpx.Request, path: str) -> httpx.Response:
        """A 2xx response to `request`, tried again where that can help."""
        tries = 0
        while True:
            tries += 1
            last = tries > self.retries
            try:
                response = client.send(request, stream=True)
            except _CONNECTION_FAILED as error:
                if last:
                    raise EndpointUnavailable(self._unreachable(error, tries=tries)) from error
                self._wait(tries, None, why=type(error).__name__)
                continue
            except httpx.TimeoutException as error:  # connected, then waited too long
                raise self._timeout(path) from error
            except httpx.HTTPError as error:
                raise EndpointUnavailable(self._unreachable(error, tries=tries)) from error
            if response.is_success:
                return response
            with self._reading(path):
                response.read()  # the error's own words; reading closes it
            if (response.status_code == 429 or response.status_code >= 500) and not last:
                self._wait(
                    tries, response.headers.get("retry-after"), why=str(response.status_code)
                )
                continue
            raise self._refusal(path, response, tries=tries)

    @contextmanager
    def _reading(self, path: str) -> Iterator[None]:
        """Failures while an answer is read, as one line each."""
        try:
            yield
        except httpx.TimeoutException as error:
            raise self._timeout(path) from error
        except httpx.HTTPError as error:
            raise EndpointUnavailable(
                f"the LLM endpoint {self.shown} broke off its answer to /{path} "
                f"({self._reason(error)})"
            ) from error

    def _client(self, timeout_s: float) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_S, timeout_s))
        return httpx.Client(headers=headers, timeout=timeout)

    def _wait(self, tries: int, retry_after: str | None, *, why: str) -> None:
        """Sleep before the next try: 0.5 s, 1 s, 2 s … or the server's Retry-After."""
        delay = self._backoff_s * 2 ** (tries - 1)
        if retry_after is not None and retry_after.strip().isdigit():
            delay = float(retry_after)
        delay = min(delay, MAX_WAIT_S)
        log.info("LLM endpoint %s: %s; trying again in %.1f s", self.shown, why, delay)
        time.sleep(delay)

    def _object(self, text: str, path: str) -> dict[str, Any]:
        try:
            data = json.loads(text)
        except ValueError as error:
            what = f"something that is not JSON: {_snippet(text, 80)!r}"
            raise self.nonsense(path, what) from error
        if not isinstance(data, dict):
            raise self.nonsense(path, f"JSON that is not an object: {_snippet(text, 80)!r}")
        return data

    def nonsense(self, path: str, what: str) -> EndpointUnavailable:
        """The error for an answer that is not what the API returns."""
        return EndpointUnavailable(
            f"the LLM endpoint {self.shown} answered /{path} with {self._scrub(what)}; is it "
            "an OpenAI-compatible API (vLLM, llama.cpp's server, Ollama), ending in /v1?"
        )

    def _timeout(self, path: str) -> EndpointUnavailable:
        return EndpointUnavailable(
            f"the LLM endpoint {self.shown} did not answer /{path} within {self.timeout_s:g} s "
            "(MINUTEKEEPER_LLM_TIMEOUT_S)"
        )

    def _unreachable(self, error: httpx.HTTPError, *, tries: int) -> str:
        after = f" after {tries} tries" if tries > 1 else ""
        return f"the LLM endpoint {self.shown} is unreachable{after}: {self._reason(error)}"

    def _refusal(self, path: str, response: httpx.Response, *, tries: int) -> ModelError:
        status = response.status_code
        detail = self._scrub(_server_message(response))
        message = f"the LLM endpoint {self.shown} answered {status} to /{path}"
        message += f": {detail}" if detail else f" ({response.reason_phrase})"
        if status in _HINTS:
            message += f" ({_HINTS[status]})"
        if tries > 1:
            message += f", {tries} tries"
        if status in _BAD_REQUEST:
            return ModelError(message)
        return EndpointUnavailable(message)

    def _reason(self, error: Exception) -> str:
        text = str(error).strip().splitlines()
        return self._scrub(text[0] if text else type(error).__name__)

    def _scrub(self, text: str) -> str:
        """`text` without the key, should a server or library ever quote it back."""
        return text.replace(self._key, "[key]") if self._key else text


def _server_message(response: httpx.Response) -> str:
    """The error's own words, or the body's first line."""
    try:
        found = error_detail(json.loads(response.text))
    except ValueError:
        found = None
    return _snippet(found or response.text)


def error_detail(data: Any) -> str | None:
    """What a JSON error body says: OpenAI's {"error": {"message"}}, llama.cpp's and
    Ollama's {"error": "..."}, FastAPI's {"detail"}; None when it is no such body."""
    if not isinstance(data, dict):
        return None
    error = data.get("error")
    if isinstance(error, dict):
        error = error.get("message")
    for found in (error, data.get("message"), data.get("detail")):
        if isinstance(found, str) and found.strip():
            return _snippet(found)
    return None


def _snippet(text: str, chars: int = _DETAIL_CHARS) -> str:
    """The start of `text` on one line."""
    line = " ".join(text.split())
    return line if len(line) <= chars else line[: chars - 1] + "…"
