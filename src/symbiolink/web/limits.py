"""Limits on what a request may carry and how often requests may come, each answered with a clear
4xx before any work is done."""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import anyio.to_thread
from starlette.requests import Request, cookie_parser
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from symbiolink.errors import SymbiolinkError

#: Deepest nesting of objects and arrays a JSON body may have (a park file needs 4).
MAX_JSON_DEPTH = 32
#: Most parks + companies + streams one uploaded park file may hold.
MAX_ROWS = 200_000


def json_depth(data: bytes, limit: int = MAX_JSON_DEPTH) -> int:
    """The nesting depth of a JSON text, scanning at most until it passes ``limit`` (brackets inside
    strings do not count).

    Examples
    --------
    >>> json_depth(b'{"a": [1, {"b": "[[["}]}')
    3
    >>> json_depth(b"[" * 100, limit=10)
    11
    """
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


# -- request rates ---------------------------------------------------------------------------------

#: ``ACCOUNT,ADDRESS`` requests per minute (``0`` for no limit), e.g. ``600,1200``; ``0`` alone
#: switches both off.
ENV_RATE_LIMIT = "SYMBIOLINK_RATE_LIMIT"
SESSION_COOKIE = "symbiolink_session"
#: How long a credential is remembered as its account's (seconds): a token or session is looked up
#: once per minute at most, not on every request.
ACCOUNT_CACHE_SECONDS = 60.0
_MAX_REMEMBERED = 50_000


@dataclass(frozen=True)
class RateLimits:
    """Requests per minute per account and per client address (``0``: no limit). Each is a token
    bucket: a full minute's worth may come at once, then one request per ``60 / limit`` seconds.

    Examples
    --------
    >>> RateLimits.parse("600,1200")
    RateLimits(per_account=600, per_address=1200)
    >>> RateLimits.parse("0").off
    True
    """

    per_account: int = 600
    per_address: int = 1200

    @property
    def off(self) -> bool:
        return self.per_account == 0 and self.per_address == 0

    @classmethod
    def parse(cls, text: str, *, source: str = ENV_RATE_LIMIT) -> RateLimits:
        """Limits from ``ACCOUNT,ADDRESS`` (or ``0`` for none); anything else is refused with what
        is accepted."""
        parts = [p.strip() for p in text.split(",")]
        accepted = (
            "ACCOUNT,ADDRESS requests per minute as whole numbers, e.g. 600,1200; 0 for no limit"
        )
        if parts == ["0"]:
            return cls(0, 0)
        if len(parts) != 2 or not all(p.isascii() and p.isdigit() and len(p) <= 9 for p in parts):
            raise SymbiolinkError(f"{source}: {text!r} is not a rate limit (accepted: {accepted})")
        return cls(int(parts[0]), int(parts[1]))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> RateLimits:
        """``SYMBIOLINK_RATE_LIMIT`` if set, else the defaults."""
        text = (os.environ if environ is None else environ).get(ENV_RATE_LIMIT, "").strip()
        return cls.parse(text) if text else cls()


class TokenBuckets:
    """One token bucket per key: ``per_minute`` tokens at most, refilled at ``per_minute / 60`` a
    second. Full buckets are forgotten (a key that comes back starts full, as it would anyway)."""

    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.buckets: dict[Hashable, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: Hashable, now: float) -> float:
        """Take a token for ``key``: 0 if there was one, else the seconds until there is."""
        tokens, then = self.buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if tokens < 1.0:
            self.buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        self.buckets[key] = (tokens - 1.0, now)
        if len(self.buckets) > _MAX_REMEMBERED:
            self._forget_full(now)
        return 0.0

    def _forget_full(self, now: float) -> None:
        full = [
            k for k, (t, w) in self.buckets.items() if t + (now - w) * self.rate >= self.capacity
        ]
        for k in full:
            del self.buckets[k]


class RateLimiter:
    """The buckets of one app (kept in memory: per server process), and how credentials map to
    accounts. ``account_of`` takes a bearer or session token and gives its account's id (``None``
    for a token that is no account's); it may touch the database, so it runs in a worker thread
    and its answer is remembered for :data:`ACCOUNT_CACHE_SECONDS`."""

    def __init__(
        self,
        limits: RateLimits,
        account_of: Callable[[str], int | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.account_of = account_of
        self.clock = clock
        self.accounts = TokenBuckets(limits.per_account) if limits.per_account else None
        self.addresses = TokenBuckets(limits.per_address) if limits.per_address else None
        self._known: dict[str, tuple[int | None, float]] = {}  # token digest -> (account, until)

    async def account(self, token: str, now: float) -> int | None:
        digest = hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
        known = self._known.get(digest)
        if known is not None and known[1] > now:
            return known[0]
        account = await anyio.to_thread.run_sync(self.account_of, token)
        if len(self._known) > _MAX_REMEMBERED:
            self._known = {k: v for k, v in self._known.items() if v[1] > now}
            if len(self._known) > _MAX_REMEMBERED:
                self._known.clear()
        self._known[digest] = (account, now + ACCOUNT_CACHE_SECONDS)
        return account

    async def wait(self, address: str, token: str | None) -> tuple[float, str]:
        """Seconds the request must wait (0: it may go on now) and which limit it hit."""
        now = self.clock()
        if self.addresses is not None:
            wait = self.addresses.take(address, now)
            if wait > 0:
                return wait, "address"
        if self.accounts is not None and token:
            account = await self.account(token, now)
            if account is not None:
                wait = self.accounts.take(account, now)
                if wait > 0:
                    return wait, "account"
        return 0.0, ""


def _credential(scope: Scope) -> str | None:
    """The bearer token of the request, else its session cookie's token."""
    cookies = ""
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"cookie":
            cookies = value.decode("latin-1")
    if not cookies:
        return None
    session: str = cookie_parser(cookies).get(SESSION_COOKIE, "")
    return session or None


class RateLimitMiddleware:
    """Refuses a request over its account's or its address's rate with 429 and ``Retry-After``,
    before any other work: the API's as the JSON error model (``{"detail": ...}``), a page's as
    the error page that ``page`` renders. The limiter is ``app.state.rate_limiter`` (a
    :class:`RateLimiter`, or ``None`` for no limits); static files are not counted."""

    def __init__(
        self, app: ASGIApp, page: Callable[[Request, str, dict[str, str]], Response] | None = None
    ) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limiter: RateLimiter | None = getattr(scope["app"].state, "rate_limiter", None)
        path: str = scope.get("path", "")
        if scope["type"] != "http" or limiter is None or path.startswith("/static/"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait, which = await limiter.wait(client[0] if client else "?", _credential(scope))
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        seconds = max(1, math.ceil(wait))
        detail = f"too many requests from this {which}: try again in {seconds} s"
        headers = {"Retry-After": str(seconds)}
        response: Response
        if path.startswith("/api/") or self.page is None:
            response = JSONResponse({"detail": detail}, status_code=429, headers=headers)
        else:
            response = self.page(Request(scope), detail, headers)
        await response(scope, receive, send)
