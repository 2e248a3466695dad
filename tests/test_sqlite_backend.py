"""The SQLite backend queues the writers of one process in arrival order."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import close_old_connections, connection, transaction

from config.sqlite.base import FairLock
from governance.models import AuditEntry


def test_fair_lock_hands_over_in_arrival_order() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    order: list[int] = []

    def waiter(n: int) -> None:
        assert lock.acquire(5)
        order.append(n)
        lock.release()

    threads = []
    for n in range(5):
        t = threading.Thread(target=waiter, args=(n,))
        t.start()
        threads.append(t)
        time.sleep(0.05)  # each one queues before the next arrives
    lock.release()
    for t in threads:
        t.join(5)
    assert order == [0, 1, 2, 3, 4]


def test_fair_lock_times_out_and_leaves_the_queue() -> None:
    lock = FairLock()
    assert lock.acquire(1)
    assert not lock.acquire(0.05)
    lock.release()
    assert lock.acquire(0.05)  # the one who gave up is not handed the lock later
    lock.release()


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_wait_their_turn_instead_of_failing() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the write queue is SQLite's")
    errors: list[BaseException] = []
    start = threading.Barrier(24)

    def writer(n: int) -> None:
        try:
            # SQLite's own busy wait cut to 1 ms: only the queue in Python keeps them apart.
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout=1")
            start.wait(5)
            for i in range(5):
                with transaction.atomic():
                    AuditEntry.objects.create(action="test.write", data={"n": n, "i": i})
                    time.sleep(0.002)  # hold the write lock a little, as a real service does
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert AuditEntry.objects.filter(action="test.write").count() == 24 * 5
