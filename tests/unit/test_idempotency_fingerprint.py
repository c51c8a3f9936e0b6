"""The Idempotency-Key fingerprint: the same request hashes the same however its body is
chunked and whatever multipart boundary the client picked; another body differs."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from minutekeeper.api.idempotency import Fingerprint


def multipart(boundary: bytes, content: bytes) -> bytes:
    return (b"--" + boundary + b"\r\nContent-Disposition: form-data; name=\"recording\"; "
            b"filename=\"a.wav\"\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n")  # fmt: skip


def digest(body: bytes, boundary: bytes, cuts: list[int]) -> str:
    fingerprint = Fingerprint("POST", "/v1/meetings", boundary)
    start = 0
    for cut in sorted({c % (len(body) + 1) for c in cuts}):
        fingerprint.update(body[start:cut])
        start = cut
    fingerprint.update(body[start:])
    return fingerprint.hexdigest()


# What clients send (RFC 2046): a random token that never occurs in the content.
boundaries = st.text(string.ascii_letters + string.digits, min_size=16, max_size=40).map(str.encode)


@given(content=st.binary(max_size=300), first=boundaries, second=boundaries,
       cuts=st.lists(st.integers(min_value=0), max_size=8))  # fmt: skip
def test_the_same_upload_with_another_boundary_and_chunking_hashes_the_same(
    content: bytes, first: bytes, second: bytes, cuts: list[int]
) -> None:
    one = digest(multipart(first, content), first, [])
    assert digest(multipart(second, content), second, cuts) == one


@given(content=st.binary(max_size=200), other=st.binary(max_size=200))
def test_another_file_hashes_differently(content: bytes, other: bytes) -> None:
    boundary = b"XyZ123boundary"
    same = digest(multipart(boundary, content), boundary, []) == digest(
        multipart(boundary, other), boundary, [])  # fmt: skip
    assert same == (content == other)


def test_method_and_path_are_part_of_the_request() -> None:
    one, two = Fingerprint("POST", "/v1/consent", b""), Fingerprint("POST", "/v1/compose", b"")
    one.update(b"{}")
    two.update(b"{}")
    assert one.hexdigest() != two.hexdigest()
