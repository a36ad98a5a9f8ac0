"""Accounts, roles, bearer tokens and the audit log.

Passwords are hashed with Argon2id (argon2-cffi's defaults, RFC 9106). A bearer token is 32 random
bytes shown once; the database keeps only its SHA-256, so a copy of the database cannot be used to
log in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from symbiolink.errors import SymbiolinkError
from symbiolink.store.models import (
    ApiTokenRow,
    AuditRow,
    CompanyRow,
    FacilitatorParkRow,
    ParkRow,
    UserRow,
)

Role = Literal["admin", "park_manager", "company_member", "facilitator", "observer"]
ROLES: tuple[str, ...] = get_args(Role)
TOKEN_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
#: A hash to verify against when the e-mail is unknown, so both failures take the same time.
_DUMMY = _hasher.hash("symbiolink-no-such-user")


@dataclass(frozen=True)
class User:
    id: int
    email: str
    role: str
    park_id: str | None
    company_id: str | None
    parks: tuple[str, ...]
    """Parks a facilitator is assigned to (for others: their own park, if any)."""

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "email": self.email, "role": self.role, "park": self.park_id,
                "company": self.company_id, "parks": list(self.parks)}  # fmt: skip


#: An e-mail address as accounts have them: no spaces or control characters, one @, a dot after.
_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+")


def is_email(email: str) -> bool:
    r"""Whether ``email`` (trimmed, lower case) can be an account's address.

    Examples
    --------
    >>> is_email("member@park.vn"), is_email("no at sign"), is_email("nul\x00@park.vn")
    (True, False, False)
    """
    return len(email) <= 254 and _EMAIL.fullmatch(email) is not None


def _user(session: Session, row: UserRow) -> User:
    parks: tuple[str, ...]
    if row.role == "facilitator":
        parks = tuple(
            session.scalars(
                select(FacilitatorParkRow.park_id).where(FacilitatorParkRow.user_id == row.id)
            )
        )
    else:
        parks = (row.park_id,) if row.park_id else ()
    return User(row.id, row.email, row.role, row.park_id, row.company_id, parks)


def add_user(
    engine: Engine,
    email: str,
    password: str,
    role: str,
    *,
    park: str | None = None,
    company: str | None = None,
    parks: Sequence[str] = (),
) -> User:
    """Create an account; every problem names what is wrong."""
    email = email.strip().lower()
    if not is_email(email):
        raise SymbiolinkError(f"{email!r} is not an e-mail address")
    if role not in ROLES:
        raise SymbiolinkError(f"role {role!r} (accepted: {', '.join(ROLES)})")
    if len(password) < 10:
        raise SymbiolinkError("the password must have at least 10 characters")
    with Session(engine) as session, session.begin():
        if role == "company_member":
            row_c = session.get(CompanyRow, company) if company else None
            if row_c is None:
                raise SymbiolinkError(
                    "a company member needs --company with the id of a stored company"
                )
            park = row_c.park_id
        if role == "park_manager" and (park is None or session.get(ParkRow, park) is None):
            raise SymbiolinkError("a park manager needs --park with the id of a stored park")
        for p in parks:
            if session.get(ParkRow, p) is None:
                raise SymbiolinkError(f"no stored park {p!r}")
        row = UserRow(email=email, password_hash=_hasher.hash(password), role=role, park_id=park,
                      company_id=company if role == "company_member" else None, active=True,
                      created_at=datetime.now(UTC))  # fmt: skip
        session.add(row)
        try:
            session.flush()
        except IntegrityError:
            raise SymbiolinkError(f"an account for {email} exists already") from None
        if role == "facilitator":
            for p in dict.fromkeys(parks or ([park] if park else [])):
                session.add(FacilitatorParkRow(user_id=row.id, park_id=p))
            session.flush()
        return _user(session, row)


def authenticate(engine: Engine, email: str, password: str) -> User | None:
    """The user, if the password is right (same work whether or not the e-mail exists)."""
    email = email.strip().lower()
    with Session(engine) as session:
        # No account has an address that is not one; such a name is not even looked up (a NUL in
        # it is more than PostgreSQL takes), and costs the same hash as an unknown one.
        row = (
            session.scalar(select(UserRow).where(UserRow.email == email))
            if is_email(email)
            else None
        )
        try:
            _hasher.verify(
                row.password_hash if row is not None and row.active else _DUMMY, password
            )
        except (VerificationError, InvalidHashError):
            return None
        return _user(session, row) if row is not None and row.active else None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(engine: Engine, user: User) -> str:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with Session(engine) as session, session.begin():
        session.execute(delete(ApiTokenRow).where(ApiTokenRow.expires_at < now))
        session.add(ApiTokenRow(token_hash=_digest(token), user_id=user.id, created_at=now,
                                expires_at=now + TOKEN_LIFETIME))  # fmt: skip
    return token


class TokenCache:
    """The users of recently checked bearer tokens, kept ``ttl`` seconds (never past a token's own
    expiry), so a burst of requests with one token looks it up in the database once.

    It is per server process: a token revoked through this process (:func:`revoke_token` with this
    cache) is refused at once; one revoked elsewhere (another worker, the command line), or an
    account changed elsewhere, is seen here within ``ttl`` seconds. ``ttl=0`` turns it off.

    Examples
    --------
    >>> cache = TokenCache(ttl=5, size=2)
    >>> alice = User(1, "a@park.vn", "observer", None, None, ())
    >>> cache.put("d1", alice, expires=time.time() + 60, now=0.0)
    >>> cache.get("d1", now=4.9) == alice, cache.get("d1", now=5.0)
    (True, None)
    """

    def __init__(self, ttl: float, size: int = 10_000) -> None:
        if not ttl >= 0:
            raise SymbiolinkError(f"the token cache time must be 0 s or more, not {ttl!r}")
        self.ttl, self.size = ttl, size
        # digest -> (user, monotonic time the entry ends, wall-clock time the token expires)
        self._entries: OrderedDict[str, tuple[User, float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, digest: str, now: float | None = None) -> User | None:
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                return None
            user, until, expires = entry
            if now >= until or time.time() >= expires:
                del self._entries[digest]
                return None
            return user

    def user_of(self, token: str) -> User | None:
        """The cached user of ``token`` (None: not cached, or no longer)."""
        return self.get(_digest(token)) if self.ttl > 0 else None

    def put(self, digest: str, user: User, *, expires: float, now: float | None = None) -> None:
        if self.ttl <= 0:
            return
        now = time.monotonic() if now is None else now
        with self._lock:
            self._entries[digest] = (user, now + self.ttl, expires)
            self._entries.move_to_end(digest)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def drop(self, digest: str) -> None:
        with self._lock:
            self._entries.pop(digest, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def user_for_token(engine: Engine, token: str, cache: TokenCache | None = None) -> User | None:
    """The user of a valid (stored, unexpired) token of an active account, else None; with
    ``cache``, a token checked in the last ``cache.ttl`` seconds is not looked up again."""
    digest = _digest(token)
    if cache is not None and (user := cache.get(digest)) is not None:
        return user
    with Session(engine) as session:
        row = session.get(ApiTokenRow, digest)
        if row is None:
            return None
        expires = row.expires_at if row.expires_at.tzinfo else row.expires_at.replace(tzinfo=UTC)
        if expires.timestamp() < time.time():
            return None
        user_row = session.get(UserRow, row.user_id)
        if user_row is None or not user_row.active:
            return None
        user = _user(session, user_row)
    if cache is not None:
        cache.put(digest, user, expires=expires.timestamp())
    return user


def revoke_token(engine: Engine, token: str, cache: TokenCache | None = None) -> bool:
    """Delete a token (a logout), and forget it in ``cache``; whether it was stored."""
    digest = _digest(token)
    with Session(engine) as session, session.begin():
        row = session.get(ApiTokenRow, digest)
        if row is not None:
            session.delete(row)
    if cache is not None:
        cache.drop(digest)
    return row is not None


def audit(engine: Engine, user: User | None, action: str, obj: str, **detail: Any) -> None:
    """Record who read or changed confidential data (in its own transaction)."""
    with Session(engine) as session, session.begin():
        record(session, user, action, obj, **detail)


def record(session: Session, user: User | None, action: str, obj: str, **detail: Any) -> None:
    """Record an audit entry in the caller's transaction: the change and its record commit together."""
    session.add(AuditRow(at=datetime.now(UTC), user_id=user.id if user else None, action=action,
                         object=obj[:300], detail=detail))  # fmt: skip


def audit_entries(engine: Engine, limit: int = 100) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(limit))
        return [{"at": r.at.isoformat(), "user": r.user_id, "action": r.action, "object": r.object,
                 "detail": r.detail} for r in rows]  # fmt: skip
