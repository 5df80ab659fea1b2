"""The console's people: users with roles, their sessions, and the access trail.

Passwords are hashed with argon2 (argon2-cffi); a session is a random token in an HttpOnly cookie,
of which only a hash is stored, with its CSRF token and an expiry. Every request reads the user
afresh, so deactivating someone (or removing a role) takes effect on their next click; their
sessions are deleted too. Each grant or removal of a role, each deactivation and each export of
personal data is appended to the hash-chained access trail (`access_log`, Law 09-08).
"""

import hashlib
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pydantic import BaseModel
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.db.chain import GENESIS, entry_hash
from domain.db.people_tables import AccessEntry, ConsoleSession, ConsoleUser
from domain.db.session import IMMEDIATE, writer_lock
from domain.errors import shown

ROLES = ("officer", "committee", "finance", "reviewer", "auditor", "admin", "region-council")
LANGUAGES = ("fr", "ar", "en")
_hasher = PasswordHasher()
_DUMMY = _hasher.hash("no such user")  # verified against when the login is unknown: same timing


class User(BaseModel):
    login: str
    display_name: str
    roles: frozenset[str]
    language: str = "fr"

    def has(self, role: str) -> bool:
        """Holds `role`, whatever its scope ("region-council" matches "region-council:02")."""
        return any(r == role or r.startswith(role + ":") for r in self.roles)

    def scopes(self, role: str) -> set[str]:
        """The scopes of a scoped role: {"02"} for "region-council:02"."""
        return {r.split(":", 1)[1] for r in self.roles if r.startswith(role + ":")}

    def actor(self) -> Actor:
        return Actor(id=self.login, door="console", roles=self.roles)


def check_role(role: str) -> str:
    base, _, scope = role.partition(":")
    if base not in ROLES or (base == "region-council") != bool(scope):
        raise ValueError(f"role: {shown(role)} is not one of {', '.join(ROLES)} (region-council:NN for a Region)")
    if scope and not (scope.isascii() and scope.isdigit() and len(scope) == 2):
        raise ValueError(f"role: {shown(role)}: a region is two digits")
    return role


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _user(row: ConsoleUser) -> User:
    return User(login=row.login, display_name=row.display_name, roles=frozenset(row.roles), language=row.language)


class Accounts:
    def __init__(self, engine: Engine, session_hours: float = 8) -> None:
        self.engine, self.session_ttl = engine, timedelta(hours=session_hours)
        self._writer = engine.execution_options(**{IMMEDIATE: True})

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """A write transaction as the repository's: IMMEDIATE on SQLite, queued on the writers' lock
        (read-then-write, e.g. the trail's next entry, is never refused as "database is locked")."""
        with writer_lock(self.engine), Session(self._writer) as s, s.begin():
            yield s

    # --- users ---------------------------------------------------------------------------------

    def create(
        self, login: str, display_name: str, password: str | None, roles: list[str], by: str, language: str = "fr"
    ) -> User:
        roles = [check_role(r) for r in roles]
        now = datetime.now(UTC)
        with self._write() as s:
            if s.get(ConsoleUser, login) is not None:
                raise ValueError(f"login: {shown(login)} already exists")
            s.add(
                ConsoleUser(
                    login=login,
                    display_name=display_name,
                    password_hash=_hasher.hash(password) if password else None,
                    roles=sorted(roles),
                    language=language,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
            for role in sorted(roles):
                self._trail(s, "role_granted", by, login, {"role": role}, now)
        return User(login=login, display_name=display_name, roles=frozenset(roles), language=language)

    def get(self, login: str) -> User | None:
        with Session(self.engine) as s:
            row = s.get(ConsoleUser, login)
            return _user(row) if row is not None and row.active else None

    def users(self) -> list[dict[str, Any]]:
        with Session(self.engine) as s:
            rows = s.scalars(select(ConsoleUser).order_by(ConsoleUser.login))
            return [
                {"login": r.login, "display_name": r.display_name, "roles": sorted(r.roles), "active": r.active}
                for r in rows
            ]

    def set_roles(self, login: str, roles: list[str], by: str) -> None:
        roles = sorted({check_role(r) for r in roles})
        now = datetime.now(UTC)
        with self._write() as s:
            row = self._row(s, login)
            before = set(row.roles)
            for role in sorted(set(roles) - before):
                self._trail(s, "role_granted", by, login, {"role": role}, now)
            for role in sorted(before - set(roles)):
                self._trail(s, "role_removed", by, login, {"role": role}, now)
            row.roles, row.updated_at = roles, now

    def deactivate(self, login: str, by: str) -> None:
        """Ends every session of `login` at once; they can no longer sign in."""
        now = datetime.now(UTC)
        with self._write() as s:
            row = self._row(s, login)
            row.active, row.updated_at = False, now
            s.execute(delete(ConsoleSession).where(ConsoleSession.login == login))
            self._trail(s, "deactivated", by, login, {}, now)

    def set_language(self, login: str, language: str) -> None:
        if language not in LANGUAGES:
            raise ValueError(f"language: one of {', '.join(LANGUAGES)}")
        with self._write() as s:
            self._row(s, login).language = language

    def record_export(self, by: str, what: str, count: int) -> None:
        with self._write() as s:
            self._trail(s, "export", by, what, {"rows": count}, datetime.now(UTC))

    # --- sign-in and sessions --------------------------------------------------------------------

    def authenticate(self, login: str, password: str) -> User | None:
        with Session(self.engine) as s:
            row = s.get(ConsoleUser, login)
        stored = row.password_hash if row is not None and row.active else None
        try:
            ok = _hasher.verify(stored or _DUMMY, password) and stored is not None
        except (VerificationError, InvalidHashError):
            ok = False
        return _user(row) if ok and row is not None else None

    def open_session(self, login: str) -> tuple[str, str]:
        """(cookie token, CSRF token) of a new session."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._write() as s:
            s.add(
                ConsoleSession(
                    token_hash=_token_hash(token),
                    login=login,
                    csrf=csrf,
                    created_at=now,
                    expires_at=now + self.session_ttl,
                )
            )
        return token, csrf

    def session(self, token: str) -> tuple[User, str] | None:
        """The signed-in user and the session's CSRF token; None when expired, unknown or deactivated."""
        with Session(self.engine) as s:
            found = s.get(ConsoleSession, _token_hash(token))
            if found is None or found.expires_at <= datetime.now(UTC):
                return None
            row = s.get(ConsoleUser, found.login)
            if row is None or not row.active:
                return None
            return _user(row), found.csrf

    def close_session(self, token: str) -> None:
        with self._write() as s:
            s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _token_hash(token)))

    # --- the access trail --------------------------------------------------------------------------

    def trail(self) -> list[AccessEntry]:
        with Session(self.engine) as s:
            return list(s.scalars(select(AccessEntry).order_by(AccessEntry.seq)))

    @staticmethod
    def _row(s: Session, login: str) -> ConsoleUser:
        row = s.get(ConsoleUser, login, with_for_update=True)
        if row is None:
            raise ValueError(f"login: no user {shown(login)}")
        return row

    @staticmethod
    def _trail(s: Session, kind: str, actor: str, subject: str, payload: dict[str, Any], at: datetime) -> None:
        last = s.execute(select(AccessEntry.seq, AccessEntry.hash).order_by(AccessEntry.seq.desc()).limit(1)).first()
        seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
        digest = entry_hash("access", seq, kind, f"{actor}>{subject}", payload, at, prev)
        s.add(
            AccessEntry(
                seq=seq, kind=kind, actor=actor, subject=subject, payload=payload, at=at, prev_hash=prev, hash=digest
            )
        )
        s.flush()


def verify_trail(entries: list[AccessEntry]) -> int | None:
    """The seq of the first entry whose hash or link is wrong, or None when the trail holds."""
    prev = GENESIS
    for e in entries:
        expected = entry_hash("access", e.seq, e.kind, f"{e.actor}>{e.subject}", e.payload, e.at, prev)
        if e.prev_hash != prev or e.hash != expected:
            return e.seq
        prev = e.hash
    return None
