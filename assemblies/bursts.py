"""Tally events of a storm of positions or ballots, paced where they are written.

When 1,300 people answer a round at once, each answer used to append its own tally event:
render the tally, insert the event, hand it to the hub, which then dropped all but one per
`assemblies.realtime.COALESCE_SECONDS` anyway. Measured on the 2-core target, that was about a third of the
server's CPU per position. So an answer skips the tally event when the last one went out less
than `PACE_SECONDS` ago, and the burst owes a tally: the screens see it at that pace during a
storm (twice a second is plenty to watch a count grow, and each frame to 1,300 phones costs
the server ~0.1 s of CPU), and once more when the storm ends.

Why the owed tally always goes out: an answer decides inside its transaction, holding the
round's lock, so answers decide in commit order and a later tally counts every earlier answer.
The last answer of the burst to leave (none other still on its way to deciding) settles what
is owed: it waits out the rest of the interval (outside any transaction), and if no other
answer has arrived meanwhile, emits the tally in a transaction of its own after taking the
same lock, so it counts every committed answer. An answer that arrives meanwhile becomes the
last to leave instead. The bookkeeping is per process: with several processes, each one
settles its own bursts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

logger = logging.getLogger(__name__)

PACE_SECONDS = 0.5


@dataclass
class _State:
    undecided: int = 0  # answers on their way that have not yet decided on their tally
    owed: bool = False  # a tally was skipped and none has gone out since
    last_emit: float = float("-inf")


class Burst:
    """One answer's part in the bookkeeping of its round (or vote)."""

    def __init__(self, gate: Gate, key: Hashable) -> None:
        self._gate = gate
        self._key = key
        self.decided = False

    def emit_now(self) -> bool:
        """Whether this answer emits the tally event. Call once, inside the transaction,
        while holding the round's (or vote's) lock."""
        return self._gate._decide(self)


class Gate:
    def __init__(self, window: float = PACE_SECONDS) -> None:
        self.window = window
        self._lock = threading.Lock()
        self._states: dict[Hashable, _State] = {}

    @contextmanager
    def answering(self, key: Hashable, emit_owed: Callable[[], None]) -> Iterator[Burst]:
        """Around the whole write, transaction included. `emit_owed` emits the tally in a
        transaction of its own, for the last answer of a burst whose tally was skipped."""
        burst = Burst(self, key)
        with self._lock:
            self._states.setdefault(key, _State()).undecided += 1
        try:
            yield burst
        finally:
            with self._lock:
                if not burst.decided:
                    self._states[key].undecided -= 1
            try:
                self._settle(key, emit_owed)
            except Exception:  # noqa: BLE001 - this answer is committed: do not fail it
                logger.exception("Emitting the tally owed by a burst failed")

    def _settle(self, key: Hashable, emit_owed: Callable[[], None]) -> None:
        while True:
            with self._lock:
                state = self._states.get(key)
                if state is None or state.undecided > 0 or not state.owed:
                    # Someone still on the way settles it, or nothing is owed.
                    if (
                        state is not None
                        and state.undecided == 0
                        and not state.owed
                        and state.last_emit + self.window <= time.monotonic()
                    ):
                        del self._states[key]  # nothing owed, nothing to pace any more
                    return
                wait = state.last_emit + self.window - time.monotonic()
                if wait <= 0 or connection.in_atomic_block:
                    # Inside an outer transaction, waiting would hold its locks: emit now.
                    state.owed = False
                    state.last_emit = time.monotonic()
                    break
            time.sleep(wait)
        emit_owed()

    def _decide(self, burst: Burst) -> bool:
        with self._lock:
            state = self._states[burst._key]
            if not burst.decided:
                burst.decided = True
                state.undecided -= 1
            now = time.monotonic()
            if now - state.last_emit < self.window:
                state.owed = True
                return False
            state.owed = False
            state.last_emit = now
            return True


# One per process: the answers of a storm arrive on the threads of one server process.
gate = Gate()
