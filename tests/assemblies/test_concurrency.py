"""Racing writers on a real, committed database (threads, each with its own connection)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import translation

from assemblies import services
from assemblies.models import AssemblyEvent, Attendance, Position
from tests import factories
from tests.assemblies.helpers import everyone_in, open_assembly, with_item


def _race(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run the calls at the same moment; return each result or exception."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            with translation.override("en"):
                barrier.wait()
                results[i] = call()
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
def test_double_check_in_at_the_same_moment_stores_one(world: Any) -> None:
    a = open_assembly(world)
    results = _race([lambda: services.attendance_check_in(actor=world.bob, assembly=a)] * 4)
    ok = [r for r in results if isinstance(r, Attendance)]
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(ok) == 1 and len(refused) == 3, results
    assert all("already checked in" in " ".join(r.messages) for r in refused)
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_positions_keep_one_current_each_and_a_gapless_log(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    people = [world.alice, world.bob]
    for i in range(6):
        u = factories.make_user(f"racer{i}")
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
        people.append(u)
    p = services.proposal_create(actor=world.bob, assembly=a, title="T", text="Texto")
    rnd = services.round_open(actor=world.alice, proposal=p)
    calls: list[Callable[[], Any]] = []
    for u in people:
        calls.append(partial(services.position_state, actor=u, round=rnd, stance="agree"))
        calls.append(
            partial(services.position_state, actor=u, round=rnd, stance="concern", text="Hmm")
        )
    results = _race(calls)
    errors = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(e, ValidationError) for e in errors), errors
    current = Position.objects.filter(round=rnd, superseded_at__isnull=True)
    assert current.count() == len(people)
    assert current.values("membership").distinct().count() == len(people)
    a.refresh_from_db()
    seqs = list(
        AssemblyEvent.objects.filter(assembly=a).order_by("seq").values_list("seq", flat=True)
    )
    assert seqs == list(range(1, a.last_seq + 1))
