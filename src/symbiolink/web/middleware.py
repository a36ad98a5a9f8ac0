"""The app's middleware as plain ASGI callables.

Starlette's ``@app.middleware("http")`` (``BaseHTTPMiddleware``) wraps every request and response in
extra objects and a task group; written as plain ASGI, the same two checks cost a read load nothing
measurable (``benchmarks/api_load.py``, docs/web.md "Load").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.responses import JSONResponse

from symbiolink.web.limits import MAX_JSON_DEPTH, json_depth

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def _header(scope: Scope, name: bytes) -> bytes:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return b""


class JsonDepthLimit:
    """Refuse a JSON body nested deeper than ``MAX_JSON_DEPTH`` with 400, before anything parses it
    (deep nesting would exhaust the parser's recursion). The body read here is handed on whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _header(scope, b"content-type").startswith(
            b"application/json"
        ):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if json_depth(body) > MAX_JSON_DEPTH:
            response = JSONResponse(
                status_code=400,
                content={"detail": f"the JSON is nested deeper than {MAX_JSON_DEPTH} levels"},
            )
            await response(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def security_headers(tile_host: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries: scripts only from this site (no inline script); styles
    inline too, as plotly.js and htmx insert them; map tiles from ``tile_host``."""
    return [
        (
            b"content-security-policy",
            f"default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: {tile_host}; "
            "frame-ancestors 'none'".encode(),
        ),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
        (b"x-content-type-options", b"nosniff"),
    ]


class SecurityHeaders:
    """Add ``headers`` to every HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp, headers: list[tuple[bytes, bytes]]) -> None:
        self.app, self.headers = app, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {bytes(k).lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
