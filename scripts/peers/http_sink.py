#!/usr/bin/env python3
"""A fast loopback HTTP/1.1 keep-alive sink for Chapar's delivery benchmarks and tests.

Stdlib asyncio with hand-written request parsing: http.server costs tens of microseconds more per
request, which is the whole budget at the rates the curl engine is measured at.

Binds 127.0.0.1 only. Prints exactly `ready <port>` on stdout (flushed) once it listens.
Stops on SIGTERM or SIGINT (and, with --exit-on-stdin-eof, when its parent closes stdin, so a
test process that dies does not leave the sink behind).

Endpoints (any method unless stated; POST and PUT are counted):
  /                  202 {"status":"accepted"}  (any path not listed below)
  GET /count         number of POST/PUT requests received so far, as text
  GET /connections   number of TCP connections accepted so far, as text
  /echo, /echo/...   200 JSON {"method","path","headers":[[name,value],...],"body":text}
  /slow?ms=N         202 after N milliseconds
  /status/NNN        status NNN with body {"status":NNN}
  /hangup            closes the connection without answering

Runs on any python3 >= 3.9.
"""

import argparse
import asyncio
import json
import signal
import sys
import threading

ACCEPTED_BODY = b'{"status":"accepted"}'
ACCEPTED = (
    b"HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(ACCEPTED_BODY)).encode()
    + b"\r\n\r\n"
    + ACCEPTED_BODY
)
MAX_HEAD = 64 * 1024
# Paths with behaviour of their own; every other path is a plain 202.
SPECIAL = (b"/count", b"/connections", b"/echo", b"/slow", b"/status/", b"/hangup")
REASONS = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 411: "Length Required",
           429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable"}


class Stats:
    posts = 0
    connections = 0


def response(status, body, content_type=b"application/json", close=False):
    reason = REASONS.get(status, "Status").encode()
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n" % (
        status, reason, content_type, len(body))
    if close:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + body


class SinkProtocol(asyncio.BufferedProtocol):
    """One connection. Answers strictly in request order, so a /slow request holds back the
    answers to requests pipelined behind it on the same connection (curl does not pipeline).

    A BufferedProtocol: the loop receives into one reused buffer instead of allocating a fresh
    256 KiB bytes object for every recv."""

    def __init__(self):
        self.buf = bytearray()
        self.rbuf = bytearray(64 * 1024)
        self.rview = memoryview(self.rbuf)
        self.transport = None
        self.slots = []  # pending answers, in request order: [bytes or None, close_after]
        self.closing = False

    def connection_made(self, transport):
        Stats.connections += 1
        self.transport = transport

    def connection_lost(self, exc):
        self.transport = None

    def get_buffer(self, sizehint):
        return self.rview

    def buffer_updated(self, nbytes):
        self.data_received(self.rview[:nbytes])

    def data_received(self, data):
        buf = self.buf
        buf += data
        out = []
        while not self.closing:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > MAX_HEAD:
                    self.fail(b"request head too large")
                elif buf and not (65 <= buf[0] <= 90):
                    # Not a request line (a TLS ClientHello starts with 0x16): say so at once
                    # rather than wait for a blank line that never comes.
                    self.flush_direct(out)
                    self.fail(b"not HTTP/1.1")
                    return
                return self.flush_direct(out)
            # One lower-cased copy of the head and a few C-level searches: a per-line Python loop
            # costs more than the rest of the request's handling put together.
            head = bytes(buf[:end])
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            try:
                method, target, _version = request_line.split(b" ", 2)
            except ValueError:
                self.fail(b"bad request line")
                return
            lower = head.lower()
            if b"\r\ntransfer-encoding:" in lower:
                self.fail(b"chunked request bodies are not supported", 411)
                return
            length = 0
            at = lower.find(b"\r\ncontent-length:")
            if at >= 0:
                value_end = lower.find(b"\r\n", at + 17)
                length = int(lower[at + 17:value_end if value_end >= 0 else len(lower)].strip() or b"0")
            close = b"\r\nconnection: close" in lower
            headers = head
            total = end + 4 + length
            if len(buf) < total:
                return self.flush_direct(out)
            body = bytes(buf[end + 4:total])
            del buf[:total]
            if method == b"POST" or method == b"PUT":
                Stats.posts += 1
            answer = self.answer(method, target, headers, body, close)
            if answer is None:
                # /hangup: drop the connection without a word.
                self.closing = True
                self.flush_direct(out)
                if self.transport:
                    self.transport.close()
                return
            if isinstance(answer, bytes):
                if self.slots:
                    self.slots.append([answer, close])
                else:
                    out.append(answer)
                    if close:
                        self.closing = True
            else:
                # (delay seconds, bytes): hold this slot and everything behind it.
                delay, data_ = answer
                slot = [None, close]
                self.slots.append(slot)
                asyncio.get_running_loop().call_later(delay, self.fill, slot, data_)
        self.flush_direct(out)

    def flush_direct(self, out):
        if out and self.transport:
            self.transport.write(b"".join(out) if len(out) > 1 else out[0])
            if self.closing:
                self.transport.close()

    def fill(self, slot, data):
        slot[0] = data
        chunks = []
        close = False
        while self.slots and self.slots[0][0] is not None:
            data_, close_after = self.slots.pop(0)
            chunks.append(data_)
            if close_after:
                close = True
                break
        if chunks and self.transport:
            self.transport.write(b"".join(chunks))
            if close:
                self.closing = True
                self.transport.close()

    def fail(self, message, status=400):
        self.closing = True
        if self.transport:
            self.transport.write(response(status, message, b"text/plain", close=True))
            self.transport.close()

    def answer(self, method, target, headers, body, close):
        if not close and not target.startswith(SPECIAL):
            return ACCEPTED
        path, _, query = target.partition(b"?")
        if path == b"/count":
            return response(200, str(Stats.posts).encode(), b"text/plain", close)
        if path == b"/connections":
            return response(200, str(Stats.connections).encode(), b"text/plain", close)
        if path == b"/echo" or path.startswith(b"/echo/"):
            fields = []
            for line in headers.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                fields.append([name.decode("latin-1"), value.strip().decode("latin-1")])
            doc = {"method": method.decode("latin-1"), "path": target.decode("latin-1"),
                   "headers": fields, "body": body.decode("utf-8", "replace")}
            return response(200, json.dumps(doc).encode(), b"application/json", close)
        if path == b"/slow":
            ms = 0
            for part in query.split(b"&"):
                if part.startswith(b"ms="):
                    ms = int(part[3:] or b"0")
            return (ms / 1000.0, response(202, ACCEPTED_BODY, b"application/json", close))
        if path.startswith(b"/status/"):
            status = int(path[8:])
            return response(status, b'{"status":%d}' % status, b"application/json", close)
        if path == b"/hangup":
            return None
        if close:
            return response(202, ACCEPTED_BODY, b"application/json", close)
        return ACCEPTED


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 picks a free one)")
    parser.add_argument("--exit-on-stdin-eof", action="store_true",
                        help="stop when stdin reaches end of file (the parent died or closed it)")
    args = parser.parse_args()

    loop = asyncio.get_running_loop()
    stop = loop.create_future()

    def request_stop():
        if not stop.done():
            stop.set_result(None)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop)

    server = await loop.create_server(SinkProtocol, "127.0.0.1", args.port, backlog=4096, reuse_address=True)
    port = server.sockets[0].getsockname()[1]

    if args.exit_on_stdin_eof:
        # A thread, not loop.add_reader: stdin may be /dev/null or a file, which epoll refuses.
        def watch_stdin():
            while sys.stdin.buffer.read1(4096):
                pass
            loop.call_soon_threadsafe(request_stop)
        threading.Thread(target=watch_stdin, daemon=True).start()

    sys.stdout.write("ready %d\n" % port)
    sys.stdout.flush()
    await stop
    server.close()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
