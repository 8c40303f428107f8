#!/usr/bin/env python3
"""A fault-injecting HTTP/1.1 gateway for Chapar's delivery tests (Python stdlib only).

usage: fault_gateway.py [--port 0] [--log FILE]

Binds 127.0.0.1 only. `--port 0` (the default) takes a free port. When listening it prints
`ready <port>` (flushed) on stdout. Keep-alive connections, Content-Length and chunked request
bodies, and `Expect: 100-continue` are handled, so a libcurl client behaves as with a real gateway.
SIGTERM or SIGINT stops it cleanly (exit 0).

Each request to a path that does not start with `/_` is recorded, numbered from 1 as `n`, before it
is answered: appended to `--log FILE` as one JSON line
    {"n":..,"t":unix_ms,"method":..,"path":..,"query":{..},"headers":{lower-case name: value},"body":".."}
and kept for `GET /_requests`. (`query` keeps the last value of a repeated parameter; repeated
headers are joined with ", "; `body` is UTF-8, undecodable bytes replaced.)

Behaviour is chosen by the request path, so one server serves every test:
    /ok...                          202 {"status":"accepted","id":"<n>"}
    /status/NNN                     status NNN with a short JSON body
    /retry-after/S                  429 with Retry-After: S
    /unavailable/S                  503 with Retry-After: S
    /slow/MS                        202 after MS milliseconds
    /hang                           reads the request, never answers (until the client gives up)
    /reset                          reads the request, closes the socket with RST (SO_LINGER 0)
    /flaky/N/...                    per path and Idempotency-Key value (none counts as one key):
                                    the first N requests 500, later ones 202
    /down-then-up/MS                503 (Retry-After: 1) until MS ms after the server started, then 202
    /telegram/bot<TOKEN>/sendMessage
                                    the Telegram Bot API's shape: chat_id and text (JSON, form or
                                    query) → {"ok":true,"result":{"message_id":n}}; a field missing
                                    → 400; chat_id "blocked" → 403; chat_id "flood" → 429 with
                                    parameters.retry_after 1
    /webhook...                     200 {"ok":true} (tests check signatures from the record)
    GET /_requests                  every record so far, as JSON lines
    GET /_count                     the number of records so far, as a decimal
    anything else                   404
"""

import argparse
import asyncio
import json
import signal
import socket
import struct
import sys
import time
import urllib.parse

MAX_HEAD = 64 * 1024
REASONS = {
    100: "Continue", 200: "OK", 202: "Accepted", 204: "No Content", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    409: "Conflict", 413: "Payload Too Large", 422: "Unprocessable Entity",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


class BadRequest(Exception):
    pass


class Request:
    def __init__(self, method, target, version, headers, body):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # lower-case name -> value
        self.body = body
        split = urllib.parse.urlsplit(target)
        self.path = urllib.parse.unquote(split.path)
        self.query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))

    def keep_alive(self):
        connection = self.headers.get("connection", "").lower()
        if self.version == "HTTP/1.0":
            return "keep-alive" in connection
        return "close" not in connection


class Gateway:
    def __init__(self, log_path):
        self.log_path = log_path
        self.records = []  # JSON lines
        self.flaky_counts = {}  # (path prefix, idempotency key) -> requests seen
        self.started = time.monotonic()
        self.message_ids = 0
        self.connections = set()

    # -- recording --------------------------------------------------------------------------

    def record(self, request):
        n = len(self.records) + 1
        line = json.dumps({
            "n": n,
            "t": int(time.time() * 1000),
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers,
            "body": request.body.decode("utf-8", errors="replace"),
        }, ensure_ascii=False)
        self.records.append(line)
        if self.log_path:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(line + "\n")
        return n

    # -- reading ----------------------------------------------------------------------------

    async def read_request(self, reader, writer):
        """The next request on the connection, or None at a clean end of the connection."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip():
                raise BadRequest("connection closed inside the request head")
            return None
        except asyncio.LimitOverrunError:
            raise BadRequest("request head too large")
        lines = head.decode("iso-8859-1").split("\r\n")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise BadRequest("bad request line")
        method, target, version = parts
        headers = {}
        for line in lines[1:]:
            if not line:
                continue
            name, sep, value = line.partition(":")
            if not sep:
                raise BadRequest("bad header line")
            name = name.strip().lower()
            value = value.strip()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        # Decode header values as UTF-8 where they are (Chapar may send UTF-8 in custom headers).
        for name, value in headers.items():
            try:
                headers[name] = value.encode("iso-8859-1").decode("utf-8")
            except UnicodeDecodeError:
                pass
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await writer.drain()
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body = await self.read_chunked(reader)
        else:
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                raise BadRequest("bad Content-Length")
            try:
                body = await reader.readexactly(length) if length > 0 else b""
            except asyncio.IncompleteReadError:
                raise BadRequest("connection closed inside the body")
        return Request(method, target, version, headers, body)

    async def read_chunked(self, reader):
        body = bytearray()
        try:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return bytes(body)
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        except (asyncio.IncompleteReadError, ValueError):
            raise BadRequest("bad chunked body")

    # -- answering --------------------------------------------------------------------------

    @staticmethod
    def response(status, body, headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body, ensure_ascii=False)
        data = body.encode("utf-8") if isinstance(body, str) else body
        head = {"Content-Type": content_type, **(headers or {})}
        return status, head, data

    async def handle_connection(self, reader, writer):
        task = asyncio.current_task()
        self.connections.add(task)
        try:
            while True:
                try:
                    request = await self.read_request(reader, writer)
                except BadRequest as e:
                    await self.send(writer, *self.response(400, {"error": str(e)}), keep_alive=False)
                    return
                if request is None:
                    return
                action = await self.dispatch(request, reader, writer)
                if action == "closed":
                    return
                status, headers, body = action
                keep_alive = request.keep_alive()
                await self.send(writer, status, headers, body, keep_alive, head_only=request.method == "HEAD")
                if not keep_alive:
                    return
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            self.connections.discard(task)
            if not writer.is_closing():
                writer.close()

    async def send(self, writer, status, headers, body, keep_alive, head_only=False):
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        for name, value in headers.items():
            lines.append(f"{name}: {value}")
        lines.append(f"Content-Length: {len(body)}")
        lines.append("Connection: " + ("keep-alive" if keep_alive else "close"))
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (b"" if head_only else body))
        await writer.drain()

    async def dispatch(self, request, reader, writer):
        path = request.path
        if path.startswith("/_"):
            return self.control(request)
        n = self.record(request)
        segments = path.strip("/").split("/")
        head = segments[0]

        def number(index, default=None):
            try:
                return int(segments[index])
            except (IndexError, ValueError):
                if default is None:
                    raise BadRequest(f"{path}: expected a number in segment {index + 1}")
                return default

        try:
            if head.startswith("ok"):
                return self.response(202, {"status": "accepted", "id": str(n)})
            if head == "status":
                status = number(1)
                return self.response(status, {"status": status, "error": REASONS.get(status, "status")})
            if head == "retry-after":
                return self.response(429, {"error": "rate limited"}, {"Retry-After": str(number(1))})
            if head == "unavailable":
                return self.response(503, {"error": "unavailable"}, {"Retry-After": str(number(1))})
            if head == "slow":
                await asyncio.sleep(number(1) / 1000)
                return self.response(202, {"status": "accepted", "id": str(n)})
            if head == "hang":
                await reader.read()  # until the client closes its side
                return "closed"
            if head == "reset":
                sock = writer.get_extra_info("socket")
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                return "closed"
            if head == "flaky":
                failures = number(1)
                key = (path, request.headers.get("idempotency-key", ""))
                seen = self.flaky_counts.get(key, 0) + 1
                self.flaky_counts[key] = seen
                if seen <= failures:
                    return self.response(500, {"error": f"flaky failure {seen} of {failures}"})
                return self.response(202, {"status": "accepted", "id": str(n), "attempt": seen})
            if head == "down-then-up":
                if (time.monotonic() - self.started) * 1000 < number(1):
                    return self.response(503, {"error": "down"}, {"Retry-After": "1"})
                return self.response(202, {"status": "accepted", "id": str(n)})
            if head == "telegram" and len(segments) == 3 and segments[1].startswith("bot") \
                    and segments[2] == "sendMessage":
                return self.telegram(request)
            if head.startswith("webhook"):
                return self.response(200, {"ok": True})
        except BadRequest as e:
            return self.response(400, {"error": str(e)})
        return self.response(404, {"error": f"no behaviour for {path}"})

    def telegram(self, request):
        fields = dict(request.query)
        content_type = request.headers.get("content-type", "")
        try:
            if "json" in content_type:
                fields.update(json.loads(request.body.decode("utf-8") or "{}"))
            elif "x-www-form-urlencoded" in content_type:
                fields.update(urllib.parse.parse_qsl(request.body.decode("utf-8"), keep_blank_values=True))
        except (ValueError, UnicodeDecodeError):
            return self.response(400, {"ok": False, "error_code": 400,
                                       "description": "Bad Request: can't parse JSON object"})
        chat_id, text = fields.get("chat_id"), fields.get("text")
        if chat_id in (None, "") or not text:
            return self.response(400, {"ok": False, "error_code": 400,
                                       "description": "Bad Request: message text is empty"})
        if chat_id == "blocked":
            return self.response(403, {"ok": False, "error_code": 403,
                                       "description": "Forbidden: bot was blocked by the user"})
        if chat_id == "flood":
            return self.response(429, {"ok": False, "error_code": 429,
                                       "description": "Too Many Requests: retry after 1",
                                       "parameters": {"retry_after": 1}})
        self.message_ids += 1
        return self.response(200, {"ok": True, "result": {
            "message_id": self.message_ids, "chat": {"id": chat_id}, "date": int(time.time()), "text": text}})

    def control(self, request):
        if request.method == "GET" and request.path == "/_requests":
            body = "".join(line + "\n" for line in self.records)
            return self.response(200, body, content_type="application/x-ndjson")
        if request.method == "GET" and request.path == "/_count":
            return self.response(200, f"{len(self.records)}\n", content_type="text/plain")
        return self.response(404, {"error": f"no control endpoint {request.method} {request.path}"})


async def main():
    parser = argparse.ArgumentParser(description="Fault-injecting HTTP gateway on 127.0.0.1.")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--log", help="append one JSON line per recorded request to this file")
    args = parser.parse_args()

    # A parent may have spawned us with SIGTERM blocked (threads of test runners block signals);
    # then `stop` would have to wait for its SIGKILL.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    gateway = Gateway(args.log)
    server = await asyncio.start_server(gateway.handle_connection, "127.0.0.1", args.port,
                                        limit=MAX_HEAD, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ready {port}", flush=True)
    await stop.wait()
    server.close()
    for task in list(gateway.connections):
        task.cancel()
    await asyncio.gather(*gateway.connections, return_exceptions=True)
    await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)
