"""The guard every HTTP request passes first: a correlation id, the rate limit (per
credential, and per client address for requests without one), NUL characters anywhere in
the path, the query or the body (refused before any route can pass one to the database),
body size, media type and JSON depth, then the request metrics.

A plain ASGI middleware rather than Starlette's `BaseHTTPMiddleware`: that one runs the app
in a task group with memory streams between them, which costs every request a noticeable
share of its CPU; here the body is read once and handed on unchanged.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import JSONResponse

from shared.errors import error_body, field_error
from shared.limits import RateLimiter, caller_key, json_depth
from shared.logging import log_context
from shared.metrics import HTTP_LATENCY, HTTP_REQUESTS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# A \u0000 escape in JSON (not an escaped backslash followed by "u0000").
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_NUL_MESSAGE = "NUL characters (\\u0000, %00) are not allowed"


def _nul_refusal(fields: list[str], status: int = 422) -> JSONResponse:
    names = ", ".join(fields)
    return JSONResponse(
        error_body(
            "validation_failed",
            f"invalid fields: {names} (NUL characters, \\u0000 or %00, are not allowed)",
            [field_error(f, "control_characters", _NUL_MESSAGE) for f in fields],
        ),
        status,
    )


def _nul_fields(value: Any, path: str = "") -> list[str]:
    """Where in a parsed JSON body the strings (or keys) with a NUL are: content, items.0.note."""
    found: list[str] = []
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for k, v in value.items():
            child = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                found.append(child.replace("\x00", "\\u0000"))
            else:
                found += _nul_fields(v, child)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _nul_fields(v, f"{path}.{i}" if path else str(i))
    return found


@dataclass(frozen=True)
class FormRoute:
    """A path prefix that takes form bodies (uploads, Open311) with its own size limit."""

    prefix: str
    media_types: frozenset[str]
    max_bytes: int


class _TooLarge(Exception):
    pass


class Guard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        service: str,
        max_body_bytes: int,
        max_json_depth: int,
        limiter: RateLimiter,
        address_limiter: RateLimiter | None = None,
        form_routes: tuple[FormRoute, ...] = (),
    ) -> None:
        self.app = app
        self.service = service
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = max_json_depth
        self.limiter = limiter
        self.address_limiter = address_limiter
        self.form_routes = form_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        # Every request has a correlation id: the caller's, or a new one; it goes on every
        # event the request causes and on every log line written while handling it.
        correlation_id = (headers.get("x-correlation-id") or "").strip()[:200] or str(uuid.uuid4())
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        refusal = self._refusal_before_body(scope, headers)
        if refusal is None:
            refusal = _nul_in_target(scope)
        if refusal is None and scope["method"] in _BODY_METHODS:
            refusal, receive = await self._checked_body(scope, headers, receive)
        if refusal is not None:
            refusal.headers["X-Correlation-ID"] = correlation_id
            await refusal(scope, receive, send)
            return

        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)["X-Correlation-ID"] = correlation_id
            await send(message)

        started = time.perf_counter()
        try:
            with log_context(correlation_id=correlation_id):
                await self.app(scope, receive, send_with_id)
        finally:
            path = getattr(scope.get("route"), "path", "unmatched")
            HTTP_REQUESTS.labels(self.service, path, scope["method"], str(status)).inc()
            HTTP_LATENCY.labels(self.service, path, scope["method"]).observe(time.perf_counter() - started)

    def _refusal_before_body(self, scope: Scope, headers: Headers) -> JSONResponse | None:
        caller = caller_key(headers.get("authorization"), headers.get("x-api-key"))
        wait: float | None = None
        if caller is not None:
            wait = self.limiter.retry_after(caller)
        elif self.address_limiter is not None:
            # No credential in the headers (Open311 POSTs carry their key in the form, the
            # public Open311 reads none): limited by where the calls come from.
            client = scope.get("client")
            wait = self.address_limiter.retry_after("addr:" + (client[0] if client else "unknown"))
        if wait is None:
            return None
        return JSONResponse(
            error_body("rate_limited", "too many requests; slow down"),
            429,
            headers={"Retry-After": str(max(1, round(wait)))},
        )

    async def _checked_body(
        self, scope: Scope, headers: Headers, receive: Receive
    ) -> tuple[JSONResponse | None, Receive]:
        """Read the whole body (refusing it as soon as it is too large), check its media type
        and depth, and give the app a `receive` that hands the same body on."""
        path: str = scope["path"]
        form = next((f for f in self.form_routes if path.startswith(f.prefix)), None)
        allowed = {"application/json"} | (form.media_types if form else set())
        max_bytes = form.max_bytes if form else self.max_body_bytes
        too_large = JSONResponse(error_body("payload_too_large", f"body is over {max_bytes} bytes"), 413)
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > max_bytes:
            return too_large, receive
        try:
            body = await _read_body(receive, max_bytes)
        except _TooLarge:
            return too_large, receive
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if body and ctype not in allowed:
            return (
                JSONResponse(
                    error_body("unsupported_media_type", f"send the body as {' or '.join(sorted(allowed))}"),
                    415,
                ),
                receive,
            )
        # Counting brackets is cheap and bounds the depth from above; most bodies stop there.
        if (
            ctype == "application/json"
            and body.count(b"{") + body.count(b"[") > self.max_json_depth
            and json_depth(body) > self.max_json_depth
        ):
            return (
                JSONResponse(
                    error_body("json_too_deep", f"JSON nested deeper than {self.max_json_depth} levels"), 400
                ),
                receive,
            )
        if ctype == "application/json" and b"u0000" in body and _JSON_NUL.search(body):
            try:
                fields = _nul_fields(json.loads(body)) or ["body"]
            except ValueError:
                fields = ["body"]  # not JSON: the route answers that
            return _nul_refusal(fields), receive
        if ctype == "application/x-www-form-urlencoded" and (b"%00" in body or b"\x00" in body):
            pairs = parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            return _nul_refusal(sorted({k for k, v in pairs if "\x00" in k + v}) or ["body"]), receive
        handed_on = False

        async def replay() -> Message:
            nonlocal handed_on
            if not handed_on:
                handed_on = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: a disconnect, when it comes

        return None, replay


def _nul_in_target(scope: Scope) -> JSONResponse | None:
    raw_path = scope.get("raw_path") or b""
    if "\x00" in scope["path"] or b"%00" in raw_path:
        return _nul_refusal(["path"], 400)
    query: bytes = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        return _nul_refusal(sorted({k for k, v in pairs if "\x00" in k + v}) or ["query"])
    return None


async def _read_body(receive: Receive, max_bytes: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)
