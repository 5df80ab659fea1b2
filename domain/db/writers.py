"""The queue of writers of one SQLite database in this process, where a write someone waits for
goes first.

SQLite has one writer at a time (session.writer_lock says why the worker queues its writers on a
Python lock). Under load, dozens of activity threads wait in that queue; most are the background
steps of many applications (a stage recorded, a message posted), and a few are a person's: a
committee decision, a signature, a report approved, each the activity of an update that person
waits for. `urgent` marks the latter (the worker sets it from the activity's Temporal priority,
activities/urgency.py); they are handed the lock before any other waiter, in their order of arrival.
Reentrant, as the lock it replaces: a transaction that writes inside another keeps the lock.
"""

import threading
from collections import deque
from contextvars import ContextVar
from types import TracebackType

urgent: ContextVar[bool] = ContextVar("moazara_urgent_write", default=False)


class WriterQueue:
    """A reentrant lock handed to the next waiter on release: urgent waiters first, then the others,
    each in arrival order."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._urgent: deque[tuple[int, threading.Lock]] = deque()
        self._others: deque[tuple[int, threading.Lock]] = deque()

    def __enter__(self) -> "WriterQueue":
        me = threading.get_ident()
        with self._guard:
            if self._owner == me:
                self._depth += 1
                return self
            if self._owner is None:
                self._owner, self._depth = me, 1
                return self
            turn = threading.Lock()
            turn.acquire()
            (self._urgent if urgent.get() else self._others).append((me, turn))
        turn.acquire()  # released by the holder handing the lock over (it set us as the owner)
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        with self._guard:
            self._depth -= 1
            if self._depth:
                return
            queue = self._urgent or self._others
            if not queue:
                self._owner = None
                return
            self._owner, turn = queue.popleft()
            self._depth = 1
        turn.release()

    def waiting(self) -> tuple[int, int]:
        """(urgent, other) writers waiting now."""
        with self._guard:
            return len(self._urgent), len(self._others)
