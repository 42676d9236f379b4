"""A local Slack: a real HTTP server on 127.0.0.1 that speaks the incoming-webhook contract and the
Web API's chat.postMessage / chat.update, enforcing Slack's message limits and answering with
Slack's own error strings.

Webhooks (``POST /services/<T>/<B>/<secret>``): ``200 ok``; ``400 invalid_payload`` (not JSON, too
large), ``400 no_text`` (neither text nor blocks), ``400 invalid_blocks`` (a block breaks a limit);
``404 no_service`` (unknown hook); ``429`` with ``Retry-After``.

Web API (``POST /api/chat.postMessage``, ``/api/chat.update``; JSON or form body, Bearer token):
``{"ok": true, "channel", "ts", ...}`` or ``{"ok": false, "error": ...}`` with ``not_authed``,
``invalid_auth``, ``channel_not_found``, ``message_not_found``, ``no_text``, ``invalid_blocks``,
``msg_too_long``, ``msg_blocks_too_long``; ``429`` + ``ratelimited`` with ``Retry-After``.

Limits: 50 blocks, section text 3,000, header text 150 (plain_text only), 10 context elements,
block_id 255 and unique, ``text`` 40,000 characters, 13,000 characters of block text a message
(Slack's observed ``msg_blocks_too_long`` threshold), 16 KB webhook bodies.

Failure switches: :meth:`SlackStandIn.fail_next` queues answers for the next N requests (429 with
Retry-After, 5xx, or an API error such as ``invalid_auth``). Every mrkdwn string received is checked
for control sequences a feed could have smuggled in (``<!channel>``, ``<!here>``, ``<@U..>``,
``<#C..>``, ``<!subteam^..>``, links to non-http(s) URLs); findings go to ``violations``.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_TEXT = 40_000
MAX_BLOCKS_CHARS = 13_000
MAX_WEBHOOK_BYTES = 16 * 1024
KNOWN_BLOCKS = {"header", "section", "context", "divider", "image", "actions", "rich_text"}

# Any "<" in mrkdwn opens a control sequence; only <http(s)://...>, <http(s)://...|label> and
# date tokens <!date^UNIX^{tokens}|fallback> are ours.
_ANGLE = re.compile(r"<([^>]*)>?")
_SAFE_LINK = re.compile(
    r"^(?:https?://[^\s|<>]+(\|[^<>|]*)?|!date\^\d+\^[^|<>^]*(?:\^https?://[^\s|<>]+)?\|[^<>|]+)$"
)


@dataclass
class Received:
    """One accepted message."""

    kind: str  # webhook | chat.postMessage | chat.update
    payload: dict[str, Any]
    channel: str | None = None
    ts: str | None = None
    thread_ts: str | None = None


def _peer_closed(sock: Any) -> bool:
    """True when the client closed (or reset) its connection."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True
    finally:
        sock.setblocking(True)


@dataclass
class _Failure:
    status: int
    error: str
    retry_after: float | None = None


@dataclass
class SlackStandIn:
    """Start with ``with SlackStandIn() as slack:``; ``slack.webhook_url`` and ``slack.api_url``."""

    token: str = "xoxb-stand-in-token"
    channels: tuple[str, ...] = ("C0123456789",)
    hook_path: str = "/services/T0000/B0000/standinsecret"
    received: list[Received] = field(default_factory=list)
    requests: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (status, error) answered
    violations: list[str] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # hold_next(): requests held before processing, signalled through `held`
    held: threading.Event = field(default_factory=threading.Event)
    _holds: int = 0
    _release: threading.Event = field(default_factory=threading.Event)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _ts: int = 0

    # lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> SlackStandIn:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def webhook_url(self) -> str:
        return self.base_url + self.hook_path

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    # switches --------------------------------------------------------------------------------
    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        error: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` requests with a failure instead of processing them.

        ``status=429`` sends ``Retry-After`` (default 1 s); ``status=500``/``503`` a server error;
        ``status=200, error="invalid_auth"`` a Web API error (a webhook gets 403 with that text).
        """
        if status == 429 and retry_after is None:
            retry_after = 1
        default = {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}
        with self._lock:
            for _ in range(count):
                self._failures.append(
                    _Failure(status, error or default.get(status, "error"), retry_after)
                )

    def hold_next(self, count: int = 1) -> None:
        """Hold the next ``count`` requests before processing them, until :meth:`release`.

        ``held`` is set when a request is being held. A held request whose client went away
        meanwhile is dropped unprocessed, as Slack does when the connection dies before it
        committed the message.
        """
        with self._lock:
            self._holds += count
            self._release.clear()

    def release(self) -> None:
        self._release.set()

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [item.payload for item in self.received]

    # request handling ------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        with self._lock:
            self.requests += 1
            failure = self._failures.pop(0) if self._failures else None
            hold = self._holds > 0
            self._holds -= 1 if hold else 0
        if hold:
            self.held.set()
            self._release.wait(timeout=120)
            if _peer_closed(request.connection):
                return
        path = request.path.split("?", 1)[0]
        is_api = path.startswith("/api/")
        if failure is not None:
            self._answer_failure(request, failure, is_api)
            return
        if is_api:
            self._handle_api(request, path[len("/api/") :], raw)
        else:
            self._handle_webhook(request, path, raw)

    def _answer_failure(
        self, request: BaseHTTPRequestHandler, failure: _Failure, is_api: bool
    ) -> None:
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        if is_api:
            status = failure.status
            body = json.dumps({"ok": False, "error": failure.error})
            self._send(request, status, body, "application/json", headers)
        else:
            status = failure.status if failure.status != 200 else 403
            self._send(request, status, failure.error, "text/plain", headers)
        with self._lock:
            self.rejected.append((failure.status, failure.error))

    def _handle_webhook(self, request: BaseHTTPRequestHandler, path: str, raw: bytes) -> None:
        if path != self.hook_path:
            self._reject(request, 404, "no_service", api=False)
            return
        if len(raw) > MAX_WEBHOOK_BYTES:
            self._reject(request, 400, "invalid_payload", api=False)
            return
        try:
            payload = json.loads(raw)
            assert isinstance(payload, dict)
        except (ValueError, AssertionError):
            self._reject(request, 400, "invalid_payload", api=False)
            return
        error = self._validate(payload)
        if error:
            self._reject(request, 400, error, api=False)
            return
        self._record(Received("webhook", payload))
        self._send(request, 200, "ok", "text/plain")

    def _handle_api(self, request: BaseHTTPRequestHandler, method: str, raw: bytes) -> None:
        auth = request.headers.get("Authorization", "")
        payload = self._api_payload(request, raw)
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else payload.pop("token", "")
        if not token:
            self._reject(request, 200, "not_authed", api=True)
            return
        if token != self.token:
            self._reject(request, 200, "invalid_auth", api=True)
            return
        if method not in ("chat.postMessage", "chat.update"):
            self._reject(request, 404, "unknown_method", api=True)
            return
        channel = str(payload.get("channel") or "")
        if channel not in self.channels:
            self._reject(request, 200, "channel_not_found", api=True)
            return
        error = self._validate(payload)
        if error:
            self._reject(request, 200, error, api=True)
            return
        with self._lock:
            if method == "chat.update":
                ts = str(payload.get("ts") or "")
                if not any(r.ts == ts and r.channel == channel for r in self.received):
                    error = "message_not_found"
            else:
                self._ts += 1
                ts = f"1700000000.{self._ts:06d}"
                thread_ts = payload.get("thread_ts")
                if thread_ts and not any(r.ts == thread_ts for r in self.received):
                    error = "thread_not_found"
        if error:
            self._reject(request, 200, error, api=True)
            return
        self._record(
            Received(
                method,
                payload,
                channel=channel,
                ts=ts,
                thread_ts=str(payload["thread_ts"]) if payload.get("thread_ts") else None,
            )
        )
        answer = {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "message": {"text": payload.get("text")},
        }
        self._send(request, 200, json.dumps(answer), "application/json")

    @staticmethod
    def _api_payload(request: BaseHTTPRequestHandler, raw: bytes) -> dict[str, Any]:
        content_type = request.headers.get("Content-Type", "")
        if "json" in content_type:
            try:
                data = json.loads(raw or b"{}")
            except ValueError:
                return {}
            return data if isinstance(data, dict) else {}
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
        payload: dict[str, Any] = dict(form)
        if isinstance(payload.get("blocks"), str):
            try:
                payload["blocks"] = json.loads(payload["blocks"])
            except ValueError:
                payload["blocks"] = None
        return payload

    # validation ------------------------------------------------------------------------------
    def _validate(self, payload: dict[str, Any]) -> str | None:
        text = payload.get("text")
        blocks = payload.get("blocks")
        if not text and not blocks:
            return "no_text"
        if text is not None and not isinstance(text, str):
            return "invalid_payload"
        if text and len(text) > MAX_TEXT:
            return "msg_too_long"
        if blocks is None:
            blocks = []
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        block_ids: set[str] = set()
        total = 0
        for block in blocks:
            if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
                return "invalid_blocks"
            block_id = block.get("block_id")
            if block_id is not None:
                if not isinstance(block_id, str) or len(block_id) > MAX_BLOCK_ID:
                    return "invalid_blocks"
                if block_id in block_ids:
                    return "invalid_blocks"
                block_ids.add(block_id)
            error, chars = self._validate_block(block)
            if error:
                return error
            total += chars
        if total > MAX_BLOCKS_CHARS:
            return "msg_blocks_too_long"
        self._check_mrkdwn(text or "", "text")
        return None

    def _validate_block(self, block: dict[str, Any]) -> tuple[str | None, int]:
        kind = block["type"]
        if kind == "header":
            obj = block.get("text")
            if not isinstance(obj, dict) or obj.get("type") != "plain_text":
                return "invalid_blocks", 0
            text = str(obj.get("text") or "")
            if not text or len(text) > MAX_HEADER_TEXT:
                return "invalid_blocks", 0
            return None, len(text)
        if kind == "section":
            obj = block.get("text")
            if not isinstance(obj, dict) or obj.get("type") not in ("mrkdwn", "plain_text"):
                return "invalid_blocks", 0
            text = str(obj.get("text") or "")
            if not text or len(text) > MAX_SECTION_TEXT:
                return "invalid_blocks", 0
            if obj["type"] == "mrkdwn":
                self._check_mrkdwn(text, f"section {block.get('block_id')}")
            return None, len(text)
        if kind == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not 1 <= len(elements) <= MAX_CONTEXT_ELEMENTS:
                return "invalid_blocks", 0
            chars = 0
            for element in elements:
                if not isinstance(element, dict) or element.get("type") not in (
                    "mrkdwn",
                    "plain_text",
                    "image",
                ):
                    return "invalid_blocks", 0
                if element["type"] != "image":
                    text = str(element.get("text") or "")
                    if not text or len(text) > MAX_SECTION_TEXT:
                        return "invalid_blocks", 0
                    if element["type"] == "mrkdwn":
                        self._check_mrkdwn(text, f"context {block.get('block_id')}")
                    chars += len(text)
            return None, chars
        return None, 0

    def _check_mrkdwn(self, text: str, where: str) -> None:
        for match in _ANGLE.finditer(text):
            inner = match.group(1)
            if not match.group(0).endswith(">") or not _SAFE_LINK.match(inner):
                with self._lock:
                    self.violations.append(
                        f"{where}: unescaped control sequence {match.group(0)!r}"
                    )
        for pattern in ("@channel", "@here", "@everyone"):
            if pattern in text:
                with self._lock:
                    self.violations.append(f"{where}: broadcast mention {pattern!r}")

    # plumbing --------------------------------------------------------------------------------
    def _record(self, item: Received) -> None:
        with self._lock:
            self.received.append(item)

    def _reject(
        self, request: BaseHTTPRequestHandler, status: int, error: str, *, api: bool
    ) -> None:
        with self._lock:
            self.rejected.append((status, error))
        if api:
            self._send(
                request, status, json.dumps({"ok": False, "error": error}), "application/json"
            )
        else:
            self._send(request, status, error, "text/plain")

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler,
        status: int,
        body: str,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode()
        request.send_response(status)
        request.send_header("Content-Type", f"{content_type}; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)
