"""Redaction before candidates are kept: roster people who are not the author and pattern
PII become placeholders, offline (no socket is opened), and a failure is REDACTION_FAILED."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from minutekeeper.consent.redaction import Person, RedactionFailed, Redactor

BOB = Person("Bob Stone", "bob.stone@example.com")


@pytest.fixture(scope="module")
def opened() -> Iterator[list[object]]:
    """Every network connection attempted while the module's tests run (none may be)."""
    attempts: list[object] = []
    connect, lookup = socket.socket.connect, socket.getaddrinfo

    def refuse_connect(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("network is off in this test")

    def refuse_lookup(host: object, *args: object, **kwargs: object) -> list[object]:
        attempts.append(host)
        raise OSError("network is off in this test")

    socket.socket.connect = refuse_connect  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = refuse_lookup  # type: ignore[assignment]
    yield attempts
    socket.socket.connect, socket.getaddrinfo = connect, lookup  # type: ignore[method-assign]


@pytest.fixture(scope="module")
def redactor(opened: list[object], tmp_path_factory: pytest.TempPathFactory) -> Redactor:
    return Redactor(tmp_path_factory.mktemp("models"))


def test_roster_people_other_than_the_author_become_placeholders(redactor: Redactor) -> None:
    text = "Bob Stone will send it. Alice agreed with bob; mail bob.stone@example.com."
    assert redactor.redact(text, others=[BOB]) == (
        "<PERSON> will send it. Alice agreed with <PERSON>; mail <EMAIL>."
    )


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ("write to carol@example.org today", "write to <EMAIL> today"),
        ("call me on +1 415 555 0100", "call me on <PHONE>"),
        ("the server at 10.0.0.12 is down", "the server at <IP_ADDRESS> is down"),
        ("card 4111 1111 1111 1111 expired", "card <CARD_NUMBER> expired"),
        ("IBAN DE89370400440532013000 please", "IBAN <ACCOUNT_NUMBER> please"),
        ("see https://example.com/users/carol", "see <URL>"),
        ("our site example.com is up", "our site example.com is up"),  # a domain names no one
        ("Release 2.6.31 ships Friday, 300 euros", "Release 2.6.31 ships Friday, 300 euros"),
        ('Newlines\n"quotes" and ünïcode ✓ stay', 'Newlines\n"quotes" and ünïcode ✓ stay'),
    ],
)
def test_pattern_pii_is_replaced_and_the_rest_kept(
    redactor: Redactor, text: str, redacted: str
) -> None:
    assert redactor.redact(text) == redacted


def test_no_network_was_used(redactor: Redactor, opened: list[object]) -> None:
    redactor.redact("mail dana@example.co.uk or see https://example.com/u/dana")
    assert opened == []


def test_the_blank_pipeline_is_written_once_and_reused(tmp_path: Path, opened: object) -> None:
    Redactor(tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing loads until something is redacted
    Redactor(tmp_path).redact("x")
    Redactor(tmp_path).redact("y")
    assert [p.name for p in tmp_path.iterdir()] == [next(tmp_path.iterdir()).name]


def test_a_redaction_error_is_redaction_failed(redactor: Redactor) -> None:
    with pytest.raises(RedactionFailed) as caught:
        redactor.redact("Bob is here", others=[Person(None)])  # type: ignore[arg-type]
    assert caught.value.code == "REDACTION_FAILED"
