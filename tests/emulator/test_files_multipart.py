"""The emulator's one multipart/form-data parser: parts, names, limits while the body arrives."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from bigin_emulator import BiginEmulator
from bigin_emulator.ops.multipart import (
    MAX_HEAD_BYTES,
    FormParser,
    FormTooLarge,
    MalformedForm,
    TooManyParts,
    boundary_of,
    declared_length,
    parse_form,
    read_form,
)
from tests.helpers.bulk_uploads import authorised, upload

CT = "multipart/form-data; boundary=xyz"


def _encoded(files: Any = None, data: Any = None) -> tuple[bytes, str]:
    """A body as httpx writes it, and its content type."""
    request = httpx.Request("POST", "http://127.0.0.1/", files=files, data=data)
    return request.read(), request.headers["content-type"]


def _part(headers: str, content: bytes) -> bytes:
    return b"--xyz\r\n" + headers.encode("utf-8") + b"\r\n\r\n" + content + b"\r\n"


def test_several_parts_text_fields_and_files_in_order() -> None:
    body, content_type = _encoded(
        files=[("file", ("a.txt", b"A\r\n--xy", "text/plain")), ("file", ("b.bin", b"", "application/x"))],
        data={"title": "Prix é"},
    )
    parts = parse_form(body, content_type)
    assert [(p.name, p.filename, p.content_type, bytes(p.content)) for p in parts] == [
        ("title", None, None, "Prix é".encode()),
        ("file", "a.txt", "text/plain", b"A\r\n--xy"),
        ("file", "b.bin", "application/x", b""),
    ]
    assert parts[0].text() == "Prix é" and not parts[0].is_file and parts[1].is_file and parts[2].size == 0


def test_fed_one_byte_at_a_time_the_parts_are_the_same() -> None:
    body, content_type = _encoded(files=[("file", ("a.txt", b"x" * 300 + b"\r\n-", "text/plain"))])
    boundary = boundary_of(content_type)
    assert boundary is not None
    parser = FormParser(boundary)
    for index in range(len(body)):
        parser.feed(body[index : index + 1])
    assert [bytes(p.content) for p in parser.finish()] == [b"x" * 300 + b"\r\n-"]


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('form-data; name="file"; filename="caf\u00e9 %22q%22.pdf"', 'café "q".pdf'),
        ('form-data; name="file"; filename*=UTF-8\'\'%E2%82%AC%20x.pdf; filename="x.pdf"', "€ x.pdf"),
        ('form-data; name="file"; filename="x.pdf"; filename*=utf-8\'\'%C3%A9.pdf', "é.pdf"),
        ("form-data; name=file; filename=plain.txt", "plain.txt"),
        ('form-data; name="file"; filename="a\\b.txt"', "a\\b.txt"),
        ('form-data; name="file"; filename="dir\\"; x=1', "dir\\"),
        ('form-data; name="file"; filename="x.pdf"; filename*=nonsense\'\'%FF', "x.pdf"),
        ('form-data; name="file"; filename="x.pdf"; filename*=utf-8\'\'%FF', "x.pdf"),
        ('form-data; name="file"', None),
    ],
)
def test_file_names_plain_escaped_and_extended(disposition: str, expected: str | None) -> None:
    (part,) = parse_form(_part(f"Content-Disposition: {disposition}", b"1") + b"--xyz--", CT)
    assert part.name == "file" and part.filename == expected


def test_a_name_in_latin_1_headers_is_read_not_refused() -> None:
    body = b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="\xe9.txt"\r\n\r\n1\r\n--xyz--'
    assert parse_form(body, CT)[0].filename == "é.txt"


def test_a_content_type_with_control_characters_is_not_taken() -> None:
    body = _part(
        'Content-Disposition: form-data; name="file"; filename="a"\r\nContent-Type: text/x\nX: y', b"1"
    )
    assert parse_form(body + b"--xyz--", CT)[0].content_type is None


def test_preamble_epilogue_padding_and_parts_without_headers() -> None:
    body = (
        b"a preamble no one reads\r\n--xyz  \r\n\r\nno headers\r\n"
        + _part('Content-Disposition: form-data; name="t"', b"")
        + b"--xyz--\r\nan epilogue --xyz\r\n"
    )
    parts = parse_form(body, CT)
    assert [(p.name, bytes(p.content)) for p in parts] == [(None, b"no headers"), ("t", b"")]


def test_what_is_not_a_closed_part_is_left_out() -> None:
    assert parse_form(b"no delimiter at all", CT) == []
    assert parse_form(b"--xyz\r\nbroken", CT) == []
    assert parse_form(_part('Content-Disposition: form-data; name="a"', b"1")[:-2] + b"more", CT) == []
    assert parse_form(b"--xyz", CT) == []
    assert parse_form(b"anything", "application/json") == []
    assert parse_form(b"anything", "multipart/form-data") == []
    assert boundary_of('multipart/form-data; boundary="q r"') == b"q r"


def test_a_part_header_block_past_its_bound_is_malformed() -> None:
    with pytest.raises(MalformedForm):
        parse_form(b"--xyz\r\n" + b"X" * (MAX_HEAD_BYTES + 1), CT)
    with pytest.raises(MalformedForm):
        parse_form(b"--xyz" + b" " * (MAX_HEAD_BYTES + 1), CT)


def test_limits_on_a_part_and_on_the_parts_are_met_while_feeding() -> None:
    body, content_type = _encoded(files=[("file", ("a", b"x" * 101))])
    with pytest.raises(FormTooLarge) as too_large:
        parse_form(body, content_type, max_part_bytes=100)
    assert (too_large.value.limit, too_large.value.what) == (100, "part")
    assert parse_form(body, content_type, max_part_bytes=101)[0].size == 101
    many, many_type = _encoded(files=[("file", (f"{n}", b"1")) for n in range(3)])
    with pytest.raises(TooManyParts) as too_many:
        parse_form(many, many_type, max_parts=2)
    assert too_many.value.limit == 2
    assert len(parse_form(many, many_type, max_parts=3)) == 3


def test_the_parser_holds_no_more_than_a_boundary_between_feeds() -> None:
    """A 10 MB part in 64 KiB chunks: what waits between feeds stays shorter than the delimiter."""
    body, content_type = _encoded(files=[("file", ("big.bin", b"\r\n-" * (10 * 1024 * 1024 // 3)))])
    boundary = boundary_of(content_type)
    assert boundary is not None
    parser = FormParser(boundary)
    waiting = []
    for start in range(0, len(body), 65536):
        parser.feed(body[start : start + 65536])
        waiting.append(len(parser._buffer))
    assert max(waiting[1:-1]) < len(boundary) + 4
    assert parser.finish()[0].size == 3 * (10 * 1024 * 1024 // 3)


def test_declared_length_reads_a_plain_number_only() -> None:
    assert declared_length([(b"Content-Length", b" 12 ")]) == 12
    assert declared_length([(b"content-length", b"-1")]) is None
    assert declared_length([(b"content-type", b"x")]) is None


class Arrivals:
    """An ASGI ``receive`` handing out ``chunks`` (endlessly, when ``endless``), counting reads."""

    def __init__(self, chunks: list[bytes], *, endless: bool = False, then: str | None = None) -> None:
        self.chunks = chunks
        self.endless = endless
        self.then = then
        self.reads = 0

    async def __call__(self) -> dict[str, Any]:
        self.reads += 1
        if self.endless:
            return {"type": "http.request", "body": self.chunks[0], "more_body": True}
        if not self.chunks:
            return {"type": self.then or "http.disconnect"}
        chunk = self.chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(self.chunks) or bool(self.then)}


async def test_a_declared_length_past_the_limit_is_refused_before_a_byte_is_read() -> None:
    arrivals = Arrivals([b"never"])
    with pytest.raises(FormTooLarge) as error:
        await read_form(arrivals, CT, declared=1001, max_body_bytes=1000)
    assert arrivals.reads == 0 and error.value.what == "body"


async def test_a_body_growing_past_the_limit_is_cut_as_it_arrives_whatever_it_declared() -> None:
    """No Content-Length, or one that lies (10 bytes declared): reading stops once past the limit."""
    for declared in (None, 10):
        arrivals = Arrivals([b"x" * 1000], endless=True)
        with pytest.raises(FormTooLarge):
            await read_form(arrivals, CT, declared=declared, max_body_bytes=10_000)
        assert arrivals.reads == 11


async def test_a_client_leaving_mid_body_leaves_no_part_at_all() -> None:
    whole = _part('Content-Disposition: form-data; name="file"; filename="f"', b"one")
    half = _part('Content-Disposition: form-data; name="file"; filename="g"', b"half")[:-2]
    for sent in ([whole, half], [whole]):
        arrivals = Arrivals(sent, then="http.disconnect")
        assert await read_form(arrivals, CT, declared=None, max_body_bytes=10**6) == []
    ended = await read_form(Arrivals([whole + b"--xyz--"]), CT, declared=None, max_body_bytes=10**6)
    assert [p.filename for p in ended] == ["f"]  # the same part, its body ended: kept


async def test_a_body_that_is_not_a_form_is_read_within_the_limit_and_has_no_parts() -> None:
    arrivals = Arrivals([b"{}", b"[]"])
    assert await read_form(arrivals, "application/json", declared=None, max_body_bytes=10) == []
    assert arrivals.reads == 2


def _chunks(body: bytes, size: int) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_read_form_parses_what_arrives_in_pieces() -> None:
    body, content_type = _encoded(files=[("file", ("a.txt", b"abc" * 1000))], data={"title": "t"})
    parts = await read_form(
        Arrivals(list(_chunks(body, 7))), content_type, declared=len(body), max_body_bytes=len(body)
    )
    assert [(p.name, p.size) for p in parts] == [("title", 1), ("file", 3000)]


async def test_the_file_host_reads_its_zip_with_the_same_parser(emulator: BiginEmulator) -> None:
    """A part whose headers never end is not a form: 400 ``INVALID_DATA``, nothing kept."""
    body = b"--xyz\r\nContent-Disposition: form-data; name=file" + b"x" * (MAX_HEAD_BYTES + 10)
    async with authorised(emulator) as http:
        answer = await http.post(
            "http://127.0.0.2/bigin/v2/upload",
            content=body,
            headers={"feature": "bulk-write", "X-CRM-ORG": "900000001", "content-type": CT},
        )
        assert answer.status_code == 400 and answer.json()["code"] == "INVALID_DATA", answer.text
        extended = await http.post(
            "http://127.0.0.2/bigin/v2/upload",
            content=b"--xyz\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''%C3%A9.zip"
            b"\r\n\r\nnot a zip\r\n--xyz--\r\n",
            headers={"feature": "bulk-write", "X-CRM-ORG": "900000001", "content-type": CT},
        )
        assert extended.json()["code"] == "INVALID_FILE"  # the part was found, its zip refused
        assert (await upload(http, b"PK")).json()["code"] == "INVALID_FILE"
    assert emulator.files.files == {}


@pytest.mark.parametrize("name", ['a"b\\c.txt', "line\r\nbreak\t.txt", "C:\\dir\\", "契約.pdf"])
def test_a_name_as_httpx_writes_it_reads_back_as_sent(name: str) -> None:
    """httpx %-escapes ``"`` and control characters and doubles backslashes."""
    body, content_type = _encoded(files={"file": (name, b"1")})
    assert parse_form(body, content_type)[0].filename == name


@pytest.mark.parametrize(
    ("written", "read"), [("a%22b\\c.txt", 'a"b\\c.txt'), ("C:\\dir\\", "C:\\dir\\"), ("%0D%0A", "\r\n")]
)
def test_a_name_as_browsers_and_the_sdk_write_it_keeps_its_lone_backslashes(written: str, read: str) -> None:
    body = f'--xyz\r\nContent-Disposition: form-data; name="file"; filename="{written}"\r\n\r\n1\r\n--xyz--'
    assert parse_form(body.encode(), CT)[0].filename == read
