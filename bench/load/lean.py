"""A lean Locust user for this workload: keep-alive HTTP/1.1 on gevent sockets, the request encoded once,
the answer read by httptools' C parser (Content-Length, chunked, or to the close) and checked for its status
and body.

Stock FastHttpUser spends most of a core on generality (URL building, header dicts, decompression,
redirects, cookie jars). This user does only what these measurements need, so one client core can drive
several times more requests, and the figures measure the server instead of the load generator.
It reconnects whenever the server closes (gunicorn's sync worker does after every answer), and with
``new_connection = True`` it opens a connection per request on purpose.

How it closes a connection that carries one request is a measured dimension (``--close-style``): with
``half_close = True`` (the prompt style) it shuts its write side right after sending the request, so a
server that waits for the client's FIN before taking the next connection (gunicorn's sync worker since
26.0.0) is never kept waiting by the client; without it (the lazy style) it closes after reading the
answer, as most clients do.
"""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import urlsplit

import gevent
import httptools
from locust import User
from locust.env import Environment
from locust.exception import LocustError

RECEIVE_BYTES = 65536
BATCH = 100
FRAMING_HEADERS = (b"content-length", b"transfer-encoding")


class ResponseError(Exception):
    """The answer was not the expected one: wrong status, truncated, or a closed connection."""


def encode_request(method: str, path: str, host: str, body: bytes = b"", close: bool = False) -> bytes:
    headers = [f"{method} {path} HTTP/1.1", f"Host: {host}", "User-Agent: titanic-bench-lean"]
    if body:
        headers += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if close:
        headers.append("Connection: close")
    return ("\r\n".join(headers) + "\r\n\r\n").encode("ascii") + body


class LeanHttpUser(User):
    """Subclasses set ``method``, ``path``, ``body`` and ``name``, and call ``send_back_to_back()`` in a task."""

    abstract = True
    method: ClassVar[str] = "GET"
    path: ClassVar[str] = "/"
    body: ClassVar[bytes] = b""
    name: ClassVar[str] = "GET /"
    expected_status: ClassVar[int] = 200
    expected_body_prefix: ClassVar[bytes] = b""
    new_connection: ClassVar[bool] = False
    half_close: ClassVar[bool] = False  # one request per connection, the write side shut right after it
    # Open loop (send_on_schedule): the total arrival rate shared by schedule_users users.
    arrival_rate: ClassVar[float] = 0.0
    schedule_users: ClassVar[int] = 1
    schedule_origin: ClassVar[float | None] = None
    schedule_slots: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError("LeanHttpUser needs a host, e.g. --host http://127.0.0.1:8000")
        url = urlsplit(self.host)
        if url.scheme != "http" or url.hostname is None:
            raise LocustError(f"LeanHttpUser speaks plain http only, not {self.host!r}")
        port = url.port or 80
        # Resolve the name once: connecting by address, not by name, on every reconnect.
        family, _, _, _, address = socket.getaddrinfo(url.hostname, port, type=socket.SOCK_STREAM)[0]
        self.family = family
        self.address: tuple[str, int] = (str(address[0]), int(address[1]))
        self.one_request_per_connection = self.new_connection or self.half_close
        self.request_bytes = encode_request(
            self.method, self.path, url.netloc, self.body, close=self.one_request_per_connection
        )
        self.url = f"{self.host}{self.path}"
        self.connection: socket.socket | None = None
        self.answer = Answer()
        self.fire = environment.events.request.fire

    def on_stop(self) -> None:
        self.disconnect()

    def disconnect(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def send_back_to_back(self) -> None:
        """``BATCH`` requests in a row: no think time, and Locust's per-task scheduling paid once per batch."""
        for _ in range(BATCH):
            self.send()

    def send_on_schedule(self) -> None:
        """Open loop: this user's share of a fixed arrival rate, each request due at a planned moment.

        The users' schedules interleave evenly. A request that is due while the previous answer is still
        awaited goes out as soon as it can, and its latency still counts from when it was due (as wrk2
        does), so a slow server cannot hide its queueing by delaying the load (coordinated omission).
        """
        cls = type(self)
        interval = cls.schedule_users / cls.arrival_rate
        if cls.schedule_origin is None:
            cls.schedule_origin = time.perf_counter()
        due = cls.schedule_origin + interval * next(cls.schedule_slots) / cls.schedule_users
        while True:
            wait = due - time.perf_counter()
            if wait > 0:
                gevent.sleep(wait)
            self.send(due)
            due += interval

    def send(self, due: float | None = None) -> None:
        """One request and its answer, reported to Locust as one request event (timed from ``due`` if given)."""
        start_time = time.time()
        started = time.perf_counter()
        if due is not None:
            start_time -= started - due
            started = due
        length = 0
        error: Exception | None = None
        try:
            length = self.exchange()
        except (OSError, ValueError, ResponseError) as failure:
            error = failure
            self.disconnect()
        self.fire(
            request_type=self.method, name=self.name, response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length, exception=error, context={}, start_time=start_time, url=self.url, response=None,
        )  # fmt: skip

    def exchange(self) -> int:
        if self.connection is None:
            # Not socket.create_connection: under gevent it resolves the address again, in a thread pool.
            self.connection = socket.socket(self.family, socket.SOCK_STREAM)
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.connection.connect(self.address)
            self.answer = Answer()
        connection, answer = self.connection, self.answer
        # send, not sendall: gevent's sendall asks the kernel for the buffer size on every call.
        sent = connection.send(self.request_bytes)
        if sent < len(self.request_bytes):
            connection.sendall(self.request_bytes[sent:])
        if self.half_close:
            connection.shutdown(socket.SHUT_WR)
        answer.start()
        while not answer.complete:
            chunk = connection.recv(RECEIVE_BYTES)
            if not chunk:
                answer.end_of_stream()
                break
            answer.feed(chunk)
        if self.one_request_per_connection or not answer.keep_alive:
            self.disconnect()
        if answer.status != self.expected_status:
            raise ResponseError(f"status {answer.status}: {answer.body[:200]!r}")
        if not answer.body.startswith(self.expected_body_prefix):
            raise ResponseError(f"unexpected body {answer.body[:200]!r}")
        return len(answer.body)


class Answer:
    """One connection's answers, read by httptools' C parser (llhttp): Content-Length, chunked, or to the close.

    The parser calls back only the methods defined here; the headers are read for framing alone.
    """

    def __init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)
        self.parts: list[bytes] = []
        self.complete = False
        self.headers_done = False
        self.framed = False  # a Content-Length or Transfer-Encoding header: the body's end is not the close
        self.keep_alive = False
        self.status = 0
        self.body = b""

    def start(self) -> None:
        self.parts, self.complete, self.headers_done, self.framed = [], False, False, False

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.feed_data(chunk)
        except httptools.HttpParserError as failure:
            raise ResponseError(f"not an HTTP/1.1 answer ({failure}): {chunk[:200]!r}") from None

    def end_of_stream(self) -> None:
        """The server closed: the answer is whole only if its body was delimited by the close."""
        if not self.headers_done:
            raise ResponseError("the server closed the connection before answering")
        if self.framed:
            raise ResponseError("the server closed the connection in the middle of an answer")
        self.on_message_complete()
        self.keep_alive = False

    def on_header(self, name: bytes, _value: bytes) -> None:
        if name.lower() in FRAMING_HEADERS:
            self.framed = True

    def on_headers_complete(self) -> None:
        self.headers_done = True
        self.status = self.parser.get_status_code()

    def on_body(self, part: bytes) -> None:
        self.parts.append(part)

    def on_message_complete(self) -> None:
        self.complete = True
        self.body = b"".join(self.parts)
        self.keep_alive = self.parser.should_keep_alive()
