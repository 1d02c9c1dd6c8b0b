"""One-time login tickets and console sessions, kept in the daemon's memory only.

A ticket is minted by a bearer-authenticated API call (``executor web``), lives
``TICKET_TTL_S`` and is good once; redeeming it creates a session whose id goes into an HttpOnly
SameSite=Strict cookie. The bearer itself never reaches the browser. Both are stored by their
SHA-256 digest, so the dictionaries never hold a usable value. A daemon restart ends every
session (run ``executor web`` again).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

TICKET_TTL_S = 120.0
SESSION_IDLE_S = 12 * 3600.0
MAX_TICKETS = 64
MAX_SESSIONS = 64


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class Session:
    csrf: str
    host: str  # the Host it was made for: another port's page never shares it
    seen: float
    flash: list[tuple[str, str]] = field(default_factory=list)

    def say(self, text: str, kind: str = "ok") -> None:
        self.flash.append((kind, text))

    def pop_flash(self) -> list[tuple[str, str]]:
        out, self.flash = self.flash, []
        return out


@dataclass
class _Ticket:
    expires: float
    next_path: str


class WebState:
    """Tickets and sessions of one daemon (``app.state.web``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tickets: dict[str, _Ticket] = {}
        self._sessions: dict[str, Session] = {}

    def mint_ticket(self, next_path: str = "/") -> tuple[str, float]:
        """A fresh ticket and its lifetime in seconds."""
        self._sweep()
        while len(self._tickets) >= MAX_TICKETS:
            self._tickets.pop(next(iter(self._tickets)))
        ticket = secrets.token_urlsafe(32)
        self._tickets[_digest(ticket)] = _Ticket(self.clock() + TICKET_TTL_S, next_path)
        return ticket, TICKET_TTL_S

    def redeem(self, ticket: str, host: str) -> tuple[str, Session, str] | None:
        """``(session id, session, next path)`` for a live ticket, which is spent; else None."""
        found = self._tickets.pop(_digest(ticket), None) if ticket else None
        if found is None or found.expires < self.clock():
            return None
        self._sweep()
        while len(self._sessions) >= MAX_SESSIONS:
            self._sessions.pop(next(iter(self._sessions)))
        sid = secrets.token_urlsafe(32)
        session = Session(secrets.token_urlsafe(32), host, self.clock())
        self._sessions[_digest(sid)] = session
        return sid, session, found.next_path

    def session(self, sid: str | None, host: str) -> Session | None:
        if not sid:
            return None
        key = _digest(sid)
        found = self._sessions.get(key)
        if found is None:
            return None
        now = self.clock()
        if found.seen + SESSION_IDLE_S < now or found.host != host:
            if found.host == host:
                self._sessions.pop(key, None)
            return None
        found.seen = now
        return found

    def end(self, sid: str | None) -> None:
        if sid:
            self._sessions.pop(_digest(sid), None)

    def _sweep(self) -> None:
        now = self.clock()
        for key in [k for k, t in self._tickets.items() if t.expires < now]:
            self._tickets.pop(key, None)
        for key in [k for k, s in self._sessions.items() if s.seen + SESSION_IDLE_S < now]:
            self._sessions.pop(key, None)
