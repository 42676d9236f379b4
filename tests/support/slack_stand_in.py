"""A local Slack: a real HTTP server on 127.0.0.1 that speaks the incoming-webhook contract and the
Web API's chat.postMessage / chat.update / conversations.history / conversations.replies,
enforcing Slack's message limits and answering with Slack's own error strings.

Webhooks (``POST /services/<T>/<B>/<secret>``): ``200 ok``; ``400 invalid_payload`` (not JSON, too
large), ``400 no_text`` (neither text nor blocks), ``400 invalid_blocks`` (a block breaks a limit);
``404 no_service`` (unknown hook); ``429`` with ``Retry-After``.

Web API (``POST /api/chat.postMessage``, ``/api/chat.update``; JSON or form body, Bearer token):
``{"ok": true, "channel", "ts", ...}`` or ``{"ok": false, "error": ...}`` with ``not_authed``,
``invalid_auth``, ``channel_not_found``, ``message_not_found``, ``no_text``, ``invalid_blocks``,
``msg_too_long``, ``msg_blocks_too_long``, ``invalid_metadata_format``; ``429`` + ``ratelimited``
with ``Retry-After``. ``ts`` values are Unix times (seconds.microseconds), unique and increasing.

Message metadata: chat.postMessage accepts ``metadata`` (``{"event_type": snake_case string,
"event_payload": object}``, as a JSON object or a JSON string); it is returned with a message by
``conversations.history`` / ``conversations.replies`` only when ``include_all_metadata`` is true.
Both read methods (GET query or POST body) need the ``channels:history`` scope (see ``scopes``;
``missing_scope`` otherwise) and take ``oldest``/``latest`` (exclusive unless ``inclusive``),
``limit`` (default 100, at most 999) and ``cursor`` (``response_metadata.next_cursor``, with
``has_more``). History lists the channel's top-level messages newest first, as last edited;
replies lists a thread's parent and replies oldest first (``thread_not_found`` for an unknown ts).

Limits: 50 blocks, section text 3,000, header text 150 (plain_text only), 10 context elements,
block_id 255 and unique, ``text`` 40,000 characters, 13,000 characters of block text a message
(Slack's observed ``msg_blocks_too_long`` threshold), 16 KB webhook bodies.

Failure switches: :meth:`SlackStandIn.fail_next` queues answers for the next N requests (429 with
Retry-After, 5xx, or an API error such as ``invalid_auth``), which are refused before processing.
A request counts as received once its body has arrived: :meth:`SlackStandIn.hold_next` holds the
*answer* of a processed request until :meth:`release` (a client that timed out or died meanwhile
never sees it), and :meth:`SlackStandIn.drop_next` closes the connection without an answer after
processing, or (``committed=False``) before, as Slack does when it fails before committing.

Every mrkdwn string received is checked for control sequences a feed could have smuggled in
(``<!channel>``, ``<!here>``, ``<@U..>``, ``<#C..>``, ``<!subteam^..>``, links to non-http(s)
URLs); findings go to ``violations``.
"""

from __future__ import annotations

import base64
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BLOCK_ID = 255
MAX_TEXT = 40_000
MAX_BLOCKS_CHARS = 13_000
MAX_WEBHOOK_BYTES = 16 * 1024
HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999
HISTORY_SCOPE = "channels:history"
_EVENT_TYPE = re.compile(r"^[a-z0-9_]+$")
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
class _Answer:
    status: int
    body: str
    content_type: str
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class SlackStandIn:
    """Start with ``with SlackStandIn() as slack:``; ``slack.webhook_url`` and ``slack.api_url``."""

    token: str = "xoxb-stand-in-token"
    channels: tuple[str, ...] = ("C0123456789",)
    scopes: frozenset[str] = frozenset({"chat:write", HISTORY_SCOPE})
    hook_path: str = "/services/T0000/B0000/standinsecret"
    received: list[Received] = field(default_factory=list)
    requests: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (status, error) answered
    violations: list[str] = field(default_factory=list)
    _failures: list[_Failure] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # hold_next(): answers held after processing, signalled through `held`
    held: threading.Event = field(default_factory=threading.Event)
    _holds: int = 0
    _drops: list[bool] = field(default_factory=list)  # drop_next(): committed or not
    history_requests: int = 0
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

            def do_GET(self) -> None:
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
        """Hold the answers to the next ``count`` requests, until :meth:`release`.

        Each request is processed (and a message recorded) as soon as its body has arrived, as
        Slack does; only the answer waits. ``held`` is set when an answer is being held. A client
        that went away meanwhile (timed out, killed) never gets it.
        """
        with self._lock:
            self._holds += count
            self._release.clear()

    def drop_next(self, count: int = 1, *, committed: bool = True) -> None:
        """Close the connection of the next ``count`` requests without an answer, once the body
        has arrived: after processing it (``committed``, the message is posted) or before."""
        with self._lock:
            self._drops.extend([committed] * count)

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
            drop = self._drops.pop(0) if failure is None and self._drops else None
            hold = failure is None and drop is None and self._holds > 0
            self._holds -= 1 if hold else 0
        path, _, query = request.path.partition("?")
        is_api = path.startswith("/api/")
        if failure is not None:
            answer = self._answer_failure(failure, is_api)
        elif drop is False:  # lost before Slack committed it
            answer = None
        elif is_api:
            answer = self._handle_api(request, path[len("/api/") :], raw, query)
        else:
            answer = self._handle_webhook(path, raw)
        if drop is not None or answer is None:
            request.close_connection = True
            request.connection.shutdown(socket.SHUT_RDWR)
            return
        if hold:
            self.held.set()
            self._release.wait(timeout=120)
            if _peer_closed(request.connection):
                return  # nobody is waiting for the answer any more
        self._send(request, answer)

    def _answer_failure(self, failure: _Failure, is_api: bool) -> _Answer:
        headers = {}
        if failure.retry_after is not None:
            headers["Retry-After"] = f"{failure.retry_after:g}"
        with self._lock:
            self.rejected.append((failure.status, failure.error))
        if is_api:
            body = json.dumps({"ok": False, "error": failure.error})
            return _Answer(failure.status, body, "application/json", headers)
        status = failure.status if failure.status != 200 else 403
        return _Answer(status, failure.error, "text/plain", headers)

    def _handle_webhook(self, path: str, raw: bytes) -> _Answer:
        if path != self.hook_path:
            return self._reject(404, "no_service", api=False)
        if len(raw) > MAX_WEBHOOK_BYTES:
            return self._reject(400, "invalid_payload", api=False)
        try:
            payload = json.loads(raw)
            assert isinstance(payload, dict)
        except (ValueError, AssertionError):
            return self._reject(400, "invalid_payload", api=False)
        error = self._validate(payload)
        if error:
            return self._reject(400, error, api=False)
        self._record(Received("webhook", payload))
        return _Answer(200, "ok", "text/plain")

    def _handle_api(
        self, request: BaseHTTPRequestHandler, method: str, raw: bytes, query: str
    ) -> _Answer:
        auth = request.headers.get("Authorization", "")
        payload = self._api_payload(request, raw)
        payload.update({k: v[0] for k, v in parse_qs(query).items()})
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else payload.pop("token", "")
        if not token:
            return self._reject(200, "not_authed", api=True)
        if token != self.token:
            return self._reject(200, "invalid_auth", api=True)
        if method in ("conversations.history", "conversations.replies"):
            return self._read_messages(method, payload)
        if method not in ("chat.postMessage", "chat.update"):
            return self._reject(404, "unknown_method", api=True)
        channel = str(payload.get("channel") or "")
        if channel not in self.channels:
            return self._reject(200, "channel_not_found", api=True)
        error = self._validate(payload)
        if error:
            return self._reject(200, error, api=True)
        if method == "chat.postMessage" and "metadata" in payload:
            metadata = _metadata(payload["metadata"])
            if metadata is None:
                return self._reject(200, "invalid_metadata_format", api=True)
            payload["metadata"] = metadata
        with self._lock:
            if method == "chat.update":
                ts = str(payload.get("ts") or "")
                if not any(r.ts == ts and r.channel == channel for r in self.received):
                    error = "message_not_found"
            else:
                self._ts = max(self._ts + 1, int(time.time() * 1_000_000))
                ts = f"{self._ts // 1_000_000}.{self._ts % 1_000_000:06d}"
                thread_ts = payload.get("thread_ts")
                if thread_ts and not any(r.ts == thread_ts for r in self.received):
                    error = "thread_not_found"
        if error:
            return self._reject(200, error, api=True)
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
        return _Answer(200, json.dumps(answer), "application/json")

    def _read_messages(self, method: str, payload: dict[str, Any]) -> _Answer:
        """conversations.history / conversations.replies, paginated by cursor."""
        with self._lock:
            self.history_requests += 1
        if HISTORY_SCOPE not in self.scopes:
            return _Answer(
                200,
                json.dumps(
                    {
                        "ok": False,
                        "error": "missing_scope",
                        "needed": HISTORY_SCOPE,
                        "provided": ",".join(sorted(self.scopes)),
                    }
                ),
                "application/json",
            )
        channel = str(payload.get("channel") or "")
        if channel not in self.channels:
            return self._reject(200, "channel_not_found", api=True)
        try:
            oldest = float(payload.get("oldest") or 0)
            latest = float(payload["latest"]) if payload.get("latest") else float("inf")
            limit = int(payload.get("limit") or HISTORY_DEFAULT_LIMIT)
            offset = (
                int(base64.b64decode(payload["cursor"]).decode()) if payload.get("cursor") else 0
            )
        except (ValueError, TypeError):
            return self._reject(200, "invalid_arguments", api=True)
        limit = max(1, min(limit, HISTORY_MAX_LIMIT))
        inclusive = _truthy(payload.get("inclusive"))
        with_metadata = _truthy(payload.get("include_all_metadata"))
        with self._lock:
            posts = [
                r for r in self.received if r.kind == "chat.postMessage" and r.channel == channel
            ]
            edits = {
                str(r.payload.get("ts")): r.payload
                for r in self.received
                if r.kind == "chat.update" and r.channel == channel
            }
        if method == "conversations.history":
            chosen = [r for r in posts if r.thread_ts is None or r.thread_ts == r.ts]
            chosen.reverse()  # newest first
        else:
            parent = str(payload.get("ts") or "")
            if not any(r.ts == parent for r in posts):
                return self._reject(200, "thread_not_found", api=True)
            chosen = [r for r in posts if r.ts == parent or r.thread_ts == parent]

        def within(ts: float) -> bool:
            if inclusive:
                return oldest <= ts <= latest
            return oldest < ts < latest

        chosen = [r for r in chosen if within(float(r.ts or 0))]
        page = chosen[offset : offset + limit]
        more = offset + limit < len(chosen)
        messages = []
        for item in page:
            shown = {**item.payload, **edits.get(str(item.ts), {})}
            message: dict[str, Any] = {
                "type": "message",
                "ts": item.ts,
                "text": shown.get("text") or "",
                "bot_id": "B0STANDIN",
            }
            if shown.get("blocks"):
                message["blocks"] = shown["blocks"]
            if item.thread_ts:
                message["thread_ts"] = item.thread_ts
            if with_metadata and "metadata" in item.payload:
                message["metadata"] = item.payload["metadata"]
            messages.append(message)
        cursor = base64.b64encode(str(offset + limit).encode()).decode() if more else ""
        answer = {
            "ok": True,
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": cursor},
        }
        return _Answer(200, json.dumps(answer), "application/json")

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
        # A second opinion on each block: slack_sdk's block models check the limits Slack
        # documents for them, so limits copied here and in bot/digest/render/slack.py cannot
        # drift from the SDK's unnoticed.
        for block in blocks:
            try:
                parsed = Block.parse(block)
                if parsed is None:
                    return "invalid_blocks"
                parsed.validate_json()
            except SlackObjectFormationError:
                return "invalid_blocks"
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

    def _reject(self, status: int, error: str, *, api: bool) -> _Answer:
        with self._lock:
            self.rejected.append((status, error))
        if api:
            return _Answer(status, json.dumps({"ok": False, "error": error}), "application/json")
        return _Answer(status, error, "text/plain")

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, answer: _Answer) -> None:
        data = answer.body.encode()
        request.send_response(answer.status)
        request.send_header("Content-Type", f"{answer.content_type}; charset=utf-8")
        request.send_header("Content-Length", str(len(data)))
        for key, value in answer.headers.items():
            request.send_header(key, value)
        request.end_headers()
        request.wfile.write(data)


def _truthy(value: object) -> bool:
    return str(value).lower() in ("1", "true")


def _metadata(value: object) -> dict[str, Any] | None:
    """Slack's message metadata, or None when it breaks the format."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict) or set(value) - {"event_type", "event_payload"}:
        return None
    event_type, event_payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not _EVENT_TYPE.match(event_type):
        return None
    if not isinstance(event_payload, dict):
        return None
    return {"event_type": event_type, "event_payload": event_payload}
