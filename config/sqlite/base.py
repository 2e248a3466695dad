"""SQLite with a first-come, first-served queue for writers inside one process.

SQLite lets one writer at a time in. When several threads of the ASGI server start an
IMMEDIATE transaction together, the losers wait in SQLite's busy handler, which sleeps and
polls (up to 100 ms between tries) and knows no order: the database sits idle while the
writer that could go is asleep, and under a vote storm of 1,300 people some writers
starved past the busy timeout and failed with "database is locked" (bench/vote_storm.py
counted 14 to 332 per run). Queuing the writers of this process in Python hands the write
lock over at once, in arrival order; the busy timeout still governs other processes (a
management command next to the server).
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from django.db import OperationalError
from django.db.backends.sqlite3 import base


class FairLock:
    """A lock handed to waiters in arrival order, with a timeout."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        with self._mutex:
            if not self._held:
                self._held = True
                return True
            baton = threading.Lock()
            baton.acquire()
            self._waiters.append(baton)
        if baton.acquire(timeout=timeout):
            return True  # the holder passed the lock on to us
        with self._mutex:
            try:
                self._waiters.remove(baton)
            except ValueError:
                return True  # handed over just as we gave up: we hold it now
        return False

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # stays held: ownership moves on
            else:
                self._held = False


_locks: dict[str, FairLock] = {}
_locks_guard = threading.Lock()


def _lock_for(name: str) -> FairLock:
    with _locks_guard:
        lock = _locks.get(name)
        if lock is None:
            lock = _locks[name] = FairLock()
        return lock


class DatabaseWrapper(base.DatabaseWrapper):
    _holds_write_lock = False

    def _write_lock(self) -> FairLock:
        return _lock_for(str(self.settings_dict["NAME"]))

    def _start_transaction_under_autocommit(self) -> None:
        if self.is_in_memory_db():
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
            return
        timeout = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 30))
        lock = self._write_lock()
        if not lock.acquire(timeout):
            raise OperationalError("database is locked")
        self._holds_write_lock = True
        try:
            super()._start_transaction_under_autocommit()  # type: ignore[misc]  # not in the stubs
        except BaseException:
            self._release_write_lock()
            raise

    def _release_write_lock(self) -> None:
        if self._holds_write_lock:
            self._holds_write_lock = False
            self._write_lock().release()

    def _commit(self) -> Any:
        # Released only once committed: after a failed COMMIT the transaction is still open,
        # and the rollback (or close) that follows releases it.
        result = super()._commit()  # type: ignore[misc]  # not in the stubs
        self._release_write_lock()
        return result

    def _rollback(self) -> Any:
        try:
            return super()._rollback()  # type: ignore[misc]  # not in the stubs
        finally:
            self._release_write_lock()

    def _close(self) -> Any:
        try:
            return super()._close()  # type: ignore[misc]  # not in the stubs
        finally:
            self._release_write_lock()
