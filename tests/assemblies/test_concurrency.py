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


def _open_round(world: Any, extra: int) -> tuple[Any, Any, list[Any]]:
    """An open round with alice, bob and `extra` more members present."""
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    people = [world.alice, world.bob]
    for i in range(extra):
        u = factories.make_user(f"racer{i}")
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
        people.append(u)
    p = services.proposal_create(actor=world.bob, assembly=a, title="T", text="Texto")
    return a, services.round_open(actor=world.alice, proposal=p), people


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
    a, rnd, people = _open_round(world, 6)
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


@pytest.mark.django_db(transaction=True)
def test_a_storm_of_positions_ends_with_the_true_tally_on_screen(world: Any) -> None:
    """Positions at once: their tally events are paced (assemblies.bursts), and the last
    one, on every screen, is the database's tally."""
    a, rnd, people = _open_round(world, 10)
    stances = ["agree", "stand_aside"]
    results = _race(
        [
            partial(
                services.position_state,
                actor=u,
                round=rnd,
                stance=stances[i % 2],
                text="" if i % 2 == 0 else "Me abstengo",
            )
            for i, u in enumerate(people)
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)], results
    tallies = list(AssemblyEvent.objects.filter(assembly=a, kind="round.position").order_by("seq"))
    assert 1 <= len(tallies) < len(people)
    assert tallies[-1].data["tally"] == {"agree": 6, "concern": 0, "stand_aside": 6, "block": 0}
    assert "De acuerdo: 6" in tallies[-1].html or "Agree: 6" in tallies[-1].html
