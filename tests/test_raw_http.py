"""Bad input beyond what a client library sends: raw bytes over a socket to each app under its real server.

Every request is answered with a 4xx, or the connection is closed where HTTP allows it, never a 5xx; the app
is healthy afterwards. Requests that reach the app get byte-identical answers from all three. Requests refused
by the HTTP layer itself (uvicorn's httptools, gunicorn, Tornado's HTTP1Connection) are answered in each
server's own way: those cases are listed in ``SERVER_LEVEL`` with what differs, as the README documents.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from bench.registry import BUILT_IN, FRAMEWORKS
from tests.servers import served

HOST = b"Host: 127.0.0.1\r\n"
TIMEOUT = 5.0


@dataclass(frozen=True)
class RawCase:
    name: str
    payload: bytes
    half_close: bool = False  # the client ends its side after sending: nothing more will come


def get(target: str, headers: bytes = b"") -> bytes:
    return b"GET " + target.encode("latin-1") + b" HTTP/1.1\r\n" + HOST + headers + b"\r\n"


def put(body: bytes, content_type: bytes = b"application/json", length: int | None = None) -> bytes:
    declared = str(len(body) if length is None else length).encode()
    headers = b"Content-Type: " + content_type + b"\r\nContent-Length: " + declared + b"\r\n"
    return b"PUT /predict HTTP/1.1\r\n" + HOST + headers + b"\r\n" + body


def put_headers(headers: bytes, body: bytes) -> bytes:
    return b"PUT /predict HTTP/1.1\r\n" + HOST + headers + b"\r\n" + body


CASES = [
    # request lines
    RawCase("not HTTP at all", b"GARBAGE\r\n\r\n"),
    RawCase("method only", b"GET\r\n\r\n"),
    RawCase("unknown HTTP version", b"GET /predict?age=1&sex=M HTTP/9.9\r\n" + HOST + b"\r\n"),
    RawCase("HTTP/1.1 without Host", b"GET /predict?age=x&sex=M HTTP/1.1\r\n\r\n"),
    RawCase("space inside the path", get("/pre dict?age=1&sex=M")),
    RawCase("100 KB request target", get("/predict?age=1&sex=" + "M" * 100_000)),
    RawCase("lower-case method", b"get /predict?age=1&sex=M HTTP/1.1\r\n" + HOST + b"\r\n"),
    RawCase("unknown method", b"BREW /predict HTTP/1.1\r\n" + HOST + b"\r\n"),
    RawCase("NUL byte in the path", get("/predict\x00?age=1&sex=M")),
    # headers
    RawCase("header line without a colon", get("/predict?age=x&sex=M", b"Bogus header line\r\n")),
    RawCase("space before a header's colon", get("/predict?age=x&sex=M", b"Foo : bar\r\n")),
    RawCase("100 KB header", get("/predict?age=x&sex=M", b"X-Big: " + b"a" * 100_000 + b"\r\n")),
    RawCase("1,000 headers", get("/predict?age=x&sex=M", b"".join(b"X-H%d: v\r\n" % i for i in range(1000)))),
    RawCase("8-bit bytes in a header", get("/predict?age=x&sex=M", b"X-U: \xff\xfe\r\n")),
    # percent-encoding
    RawCase("bad percent-escape", get("/predict?age=%ZZ&sex=M")),
    RawCase("lone percent sign", get("/predict?age=%&sex=M")),
    RawCase("percent-encoded NUL for sex", get("/predict?age=1&sex=%00")),
    RawCase("truncated UTF-8 for sex", get("/predict?age=1&sex=%C3")),
    RawCase("invalid UTF-8 for sex", get("/predict?age=1&sex=%FF")),
    RawCase("non-ASCII parameter name", get("/predict?age=1&sex=M&%C3%A9t%C3%A9=1")),
    RawCase("invalid UTF-8 parameter name", get("/predict?age=1&sex=M&%FF=1")),
    # duplicate and odd parameters
    RawCase("repeated age, last one bad", get("/predict?age=10&age=x&sex=M")),
    RawCase("repeated sex, last one bad", get("/predict?sex=M&sex=Q&age=10")),
    RawCase("array-style parameter", get("/predict?age[]=10&sex=M")),
    # numbers that are not ages
    RawCase("40-digit age", get("/predict?age=" + "9" * 40 + "&sex=M")),
    RawCase("4,301-digit age", get("/predict?age=" + "9" * 4301 + "&sex=M")),
    RawCase("exponent age", get("/predict?age=1e3&sex=M")),
    RawCase("hexadecimal age", get("/predict?age=0x10&sex=M")),
    RawCase("NaN age", get("/predict?age=NaN&sex=M")),
    RawCase("infinite age", get("/predict?age=inf&sex=M")),
    RawCase("boolean age", get("/predict?age=true&sex=M")),
    RawCase("null age", get("/predict?age=null&sex=M")),
    RawCase("ANSI escape for sex", get("/predict?age=1&sex=%1B%5B31m")),
    RawCase("combining accent on sex", get("/predict?age=1&sex=M%CC%81")),
    # JSON bodies
    RawCase("age 1e400 in a body", put(b'{"age": 1e400, "sex": "M"}')),
    RawCase("NaN age in a body", put(b'{"age": NaN, "sex": "M"}')),
    RawCase("Infinity age in a body", put(b'{"age": Infinity, "sex": "M"}')),
    RawCase("5,000-digit age in a body", put(b'{"age": ' + b"9" * 5000 + b', "sex": "M"}')),
    RawCase("fractional age in a body", put(b'{"age": 10.5, "sex": "M"}')),
    RawCase("boolean age in a body", put(b'{"age": false, "sex": "M"}')),
    RawCase("nulls in a body", put(b'{"age": null, "sex": null}')),
    RawCase("escaped NUL for sex", put(b'{"age": 1, "sex": "\\u0000"}')),
    RawCase("lone surrogate for sex", put(b'{"age": 1, "sex": "\\ud800"}')),
    RawCase("raw control character in a string", put(b'{"age": 1, "sex": "\x07"}')),
    RawCase("right-to-left override before sex", put('{"age": 1, "sex": "\u202eM"}'.encode())),
    RawCase("JSON nested 2,000 deep", put(b'{"age": ' + b"[" * 2000 + b"]" * 2000 + b', "sex": "M"}')),
    RawCase("JSON nested 30,000 deep", put(b'{"age": ' + b"[" * 30000 + b"]" * 30000 + b', "sex": "M"}')),
    RawCase("JSON 4,000 keys wide", put(("{" + ",".join(f'"k{i}": {i}' for i in range(4000)) + "}").encode())),
    RawCase("duplicate keys, last one bad", put(b'{"age": 10, "age": "x", "sex": "M"}')),
    RawCase("garbage after the JSON", put(b'{"age": 10, "sex": "M"}x')),
    RawCase("Latin-1 body", put(b'{"age": 10, "sex": "\xe9"}')),
    RawCase("1 MB body", put(b" " * 1_000_000)),
    RawCase("body shorter than its Content-Length", put(b'{"age": 10', length=100), half_close=True),
    # Content-Types
    RawCase("XML Content-Type", put(b'{"age": 10, "sex": "F"}', b"application/xml")),
    RawCase("form Content-Type", put(b"age=10&sex=F", b"application/x-www-form-urlencoded")),
    RawCase(
        "multipart Content-Type",
        put(
            b'--x\r\nContent-Disposition: form-data; name="age"\r\n\r\n10\r\n--x--\r\n',
            b"multipart/form-data; boundary=x",
        ),
    ),
    RawCase("unparsable Content-Type", put(b'{"age": 10, "sex": "F"}', b";;;")),
    # framing
    RawCase("negative Content-Length", put_headers(b"Content-Length: -1\r\n", b"{}")),
    RawCase("Content-Length not a number", put_headers(b"Content-Length: abc\r\n", b"{}")),
    RawCase("two different Content-Lengths", put_headers(b"Content-Length: 2\r\nContent-Length: 3\r\n", b"{}x")),
    RawCase(
        "Content-Length and chunked together",
        put_headers(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n", b"2\r\n{}\r\n0\r\n\r\n"),
    ),
    RawCase("bad chunk size", put_headers(b"Transfer-Encoding: chunked\r\n", b"zz\r\n{}\r\n0\r\n\r\n")),
    RawCase("unsupported Transfer-Encoding", put_headers(b"Transfer-Encoding: gzip\r\n", b"{}"), half_close=True),
]

# Refused by the server's HTTP layer before the app sees them, each server its own way: uvicorn answers
# 400 in plain text, gunicorn in HTML (and 414/431 for long lines and many headers), Tornado with an empty
# 400 or by closing the connection. All are 4xx or a close; they are not expected to be identical.
SERVER_LEVEL = {
    "not HTTP at all", "method only", "unknown HTTP version", "space inside the path", "NUL byte in the path",
    "header line without a colon", "space before a header's colon", "negative Content-Length",
    "Content-Length not a number", "two different Content-Lengths", "Content-Length and chunked together",
    "unsupported Transfer-Encoding",
    # Tornado refuses HTTP/1.1 without Host (400); uvicorn and gunicorn pass it to the app (422).
    "HTTP/1.1 without Host",
    # uvicorn 400, gunicorn 414 (request line over 4,094 bytes), Tornado closes (over its 64 KiB header limit).
    "100 KB request target", "4,301-digit age",
    # httptools refuses a lower-case or unknown method (400); gunicorn and Tornado let the app answer 405,
    # except that gunicorn also refuses a lower-case one (400).
    "lower-case method", "unknown method",
    # uvicorn accepts it (422 from the app), gunicorn 431, Tornado closes (over 64 KiB of headers).
    "100 KB header",
    # gunicorn allows 100 header fields (431); uvicorn and Tornado let the app answer 422.
    "1,000 headers",
    # gunicorn gives the app the short body (422 json_invalid); uvicorn and Tornado close the connection.
    "body shorter than its Content-Length",
    # uvicorn and Tornado answer 400 themselves; gunicorn's error reaches Flask, which answers a JSON 400.
    "bad chunk size",
}  # fmt: skip
ClosedOrAnswer = tuple[int, str, bytes] | None  # None: the server closed the connection without answering


def exchange(address: tuple[str, int], case: RawCase) -> ClosedOrAnswer:
    """Send the raw bytes, read one response; None if the server closed the connection instead."""
    with socket.create_connection(address, timeout=TIMEOUT) as connection:
        try:
            connection.sendall(case.payload)
            if case.half_close:
                connection.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):  # the server answered and closed before reading it all
            pass
        response = http.client.HTTPResponse(connection, method="PUT" if b"PUT" in case.payload[:4] else "GET")
        try:
            response.begin()
            return response.status, response.getheader("Content-Type") or "", response.read()
        except (http.client.RemoteDisconnected, ConnectionResetError):
            return None


def is_json_object(answer: tuple[int, str, bytes]) -> bool:
    return answer[1] == "application/json" and isinstance(json.loads(answer[2]), dict)


def healthy(address: tuple[str, int], timeout: float = TIMEOUT) -> bool:
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        connection.request("GET", "/health")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@pytest.fixture(scope="module", params=FRAMEWORKS)
def app_address(request: pytest.FixtureRequest) -> Iterator[tuple[str, tuple[str, int]]]:
    with served(request.param) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        yield request.param, (parts.hostname, parts.port)


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 50 and len({case.name for case in CASES}) == len(CASES)
    assert {case.name for case in CASES} >= SERVER_LEVEL


def test_every_bad_request_gets_a_4xx_or_a_close(app_address: tuple[str, tuple[str, int]]) -> None:
    framework, address = app_address
    wrong = []
    for case in CASES:
        answer = exchange(address, case)
        if answer is None and case.name not in SERVER_LEVEL:
            wrong.append(f"{case.name}: connection closed, but the app should have answered")
        elif answer is not None and not 400 <= answer[0] < 500:
            wrong.append(f"{case.name}: {answer[0]} {answer[2][:120]!r}")
        elif answer is not None and case.name not in SERVER_LEVEL and not is_json_object(answer):
            wrong.append(f"{case.name}: not a JSON answer: {answer[1]} {answer[2][:120]!r}")
    assert not wrong, f"{framework}:\n" + "\n".join(wrong)
    assert healthy(address), f"{framework} is not healthy after the corpus"


@pytest.fixture(scope="module")
def fastapi_answers() -> dict[str, ClosedOrAnswer]:
    """The corpus as FastAPI answers it, where the app (not its server) answers."""
    with served("fastapi") as url:
        parts = urlsplit(url)
        assert parts.hostname is not None and parts.port is not None
        address = (parts.hostname, parts.port)
        return {case.name: exchange(address, case) for case in CASES if case.name not in SERVER_LEVEL}


def test_apps_answer_identically_where_the_app_answers(
    app_address: tuple[str, tuple[str, int]], fastapi_answers: dict[str, ClosedOrAnswer]
) -> None:
    framework, address = app_address
    differences = [
        f"{name}: {framework} {answer} != fastapi {fastapi_answers[name]}"
        for case in CASES
        if (name := case.name) in fastapi_answers and (answer := exchange(address, case)) != fastapi_answers[name]
    ]
    assert not differences, "\n".join(differences)


@pytest.mark.parametrize(
    "stalled",
    [b"GET /predict?age=1&sex=M HTTP/1.1\r\nHost: 127", put(b'{"age"', length=30)],
    ids=["headers", "body"],
)
def test_a_sender_that_stops_mid_request(app_address: tuple[str, tuple[str, int]], stalled: bytes) -> None:
    """Served alongside by the async servers; gunicorn's one sync worker waits for it (documented)."""
    framework, address = app_address
    with socket.create_connection(address, timeout=TIMEOUT) as connection:
        connection.sendall(stalled)
        time.sleep(0.5)
        served_meanwhile = healthy(address, timeout=2.0)
    one_at_a_time = not BUILT_IN.config(BUILT_IN.defaults[framework]).keeps_connections_alive  # gunicorn's sync worker
    assert served_meanwhile != one_at_a_time, "only gunicorn's sync worker is held by a stalled client"
    deadline = time.monotonic() + TIMEOUT
    while not healthy(address) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert healthy(address), f"{framework} did not recover once the stalled client left"
