"""The null server: answers every request with fixed bytes, to measure the load generator's own ceiling.

A raw asyncio protocol on uvloop with httptools' C parser: far cheaper per request than any framework,
so a load generator that cannot saturate it has found its own limit. ``GET /stats`` answers the count
of requests served (not counted itself), so tests can check a client's count against the server's.

Its other modes test that a client reads every framing of an answer and notices a broken one: ``chunked``
(Transfer-Encoding, two chunks), ``unframed`` (no length: the body ends at the close), ``truncated`` (the
close cuts the body short), ``close`` (the close comes instead of an answer).

    python -m bench.nullserver --port 8000 [--mode ok|error|chunked|unframed|truncated|close]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from typing import cast

import httptools
import uvloop

BODY = b'{"survived":0}'
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
ERROR = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
CLOSE = b"\r\nConnection: close"
CHUNKED = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%s0\r\n\r\n" % b"".join(
    b"%x\r\n%s\r\n" % (len(part), part) for part in (BODY[:6], BODY[6:])
)
ANSWERS = {"ok": OK, "error": ERROR, "chunked": CHUNKED}
# Answers after which the server closes the connection, whatever the client asked.
CLOSING = {"unframed": b"HTTP/1.1 200 OK\r\n\r\n" + BODY, "truncated": OK[:-2], "close": b""}


class Counter:
    requests = 0


class NullProtocol(asyncio.Protocol):
    """Parses just enough HTTP/1.1 (httptools) to answer each request, keep-alive or not."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_url(self, url: bytes) -> None:
        self.url = url

    def on_message_complete(self) -> None:
        assert self.transport is not None
        if self.url == b"/stats":
            body = json.dumps({"requests": Counter.requests}).encode()
            answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        elif self.mode in CLOSING:
            Counter.requests += 1
            self.transport.write(CLOSING[self.mode])
            self.transport.close()
            return
        else:
            Counter.requests += 1
            answer = ANSWERS[self.mode]
        keep_alive = self.parser.should_keep_alive()
        self.transport.write(answer if keep_alive else answer.replace(b"\r\n\r\n", CLOSE + b"\r\n\r\n", 1))
        if not keep_alive:
            self.transport.close()


async def serve(host: str, port: int, mode: str) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: NullProtocol(mode), host, port, backlog=4096, reuse_address=True)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.nullserver", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--mode", choices=(*ANSWERS, *CLOSING), default="ok", help="the answer (see above)")
    args = parser.parse_args(argv)
    uvloop.run(serve(args.host, args.port, args.mode))


if __name__ == "__main__":
    main()
