"""A real local HTTP server for tests: scripted status codes, recorded requests.

Stands in for a help desk's webhook or the Rasa HTTP API, so code under test
goes through its actual HTTP client (timeouts, status handling) and the test
reads back exactly what arrived.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Received:
    """One request as the server saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any


class StubServer:
    """Answers the n-th request with ``statuses[n]`` (the last one repeats)."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = statuses
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def _next_status(self, request: Received) -> int:
        with self._lock:
            self.received.append(request)
            index = min(len(self.received), len(self.statuses)) - 1
            return self.statuses[index]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                status = stub._next_status(
                    Received(
                        method="POST",
                        path=parts.path,
                        query=parse_qs(parts.query),
                        headers=dict(self.headers.items()),
                        body=json.loads(raw) if raw else None,
                    )
                )
                body = json.dumps({"status": status}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output quiet."""

        return Handler

    @contextmanager
    def running(self) -> Iterator[StubServer]:
        """Serve on a background thread for the duration of the block."""
        thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
            thread.join(timeout=5)
