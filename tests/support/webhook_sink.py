"""A loopback HTTP sink for the webhook channel: a real server on 127.0.0.1 that records each
request (path, headers, JSON body) as it arrives, then answers from a script of statuses, or
holds the answer until released (a receiver slower than the client's timeout)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HOLD = -1  # a scripted answer: keep the request waiting until release()


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class WebhookSink:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: list[tuple[int, str]] = []  # (status, body) per request; then 200
        self._released = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                sink.received.append(
                    Received(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw)
                    )
                )
                status, text = sink.script.pop(0) if sink.script else (200, "ok")
                if status == HOLD:
                    sink._released.wait(30)
                    status, text = 200, "ok"
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/hooks/newsbot"

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> WebhookSink:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
