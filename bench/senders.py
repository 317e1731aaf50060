"""Concurrent senders of POSTs that spend as little of the machine as they can, so that the server
they measure keeps the cores: each sender holds one keep-alive connection and writes requests
built before the clock starts, reading each answer by its Content-Length."""

from __future__ import annotations

import socket
import threading
import time


def request_bytes(path: str, body: bytes, headers: dict) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class KeepAlive:
    """One connection to the server, opened again if the server closed it while idle."""

    def __init__(self, port: int):
        self.port = port
        self.sock: socket.socket | None = None

    def connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=300)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def post(self, request: bytes) -> tuple[int, bytes]:
        """(status, body). A connection the server closed while idle is opened again and the request
        sent once more (events carry their ids, so a repeat is not stored twice)."""
        for attempt in (0, 1):
            fresh = self.sock is None
            if fresh:
                self.connect()
            try:
                self.sock.sendall(request)
                return self._answer()
            except (ConnectionError, TimeoutError, OSError):
                self.close()
                if fresh or attempt:
                    raise
        raise ConnectionError("unreachable")

    def _answer(self) -> tuple[int, bytes]:
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before an answer")
            buffer += chunk
        head, _, body = buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        pairs = (line.partition(":") for line in lines[1:])
        fields = {name.strip().lower(): value.strip() for name, _, value in pairs}
        length = int(fields.get("content-length", "0"))
        while len(body) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed within an answer")
            body += chunk
        if fields.get("connection", "").lower() == "close":
            self.close()
        return status, body


def senders(
    port: int, path: str, bodies: list[bytes], headers: dict | list[dict], count: int
) -> tuple[float, list[float]]:
    """`count` senders POSTing their share of `bodies` each one after another, all at once: the
    seconds until the last answer, and every request's latency. `headers`: one set for every body,
    or each body's own (a shop signs each of its webhooks). Each sender connects before the clock
    starts and keeps its connection."""
    each = headers if isinstance(headers, list) else [headers] * len(bodies)
    requests = [request_bytes(path, body, own) for body, own in zip(bodies, each, strict=True)]
    shares = [requests[i::count] for i in range(count)]
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(count + 1)

    def send(share: list[bytes]) -> None:
        client, mine = KeepAlive(port), []
        client.connect()
        start.wait()
        clock = time.perf_counter
        for request in share:
            started = clock()
            status, answer = client.post(request)
            mine.append(clock() - started)
            if status >= 300:
                with lock:
                    failures.append(f"{path} answered {status}: {answer[:500]!r}")
                break
        client.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=send, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if failures:
        raise SystemExit(failures[0])
    return seconds, latencies
