"""Two people take the same offered slot at the same moment: exactly one wins.

Real transactions in real threads (transactional_db): on PostgreSQL the conditional UPDATE
takes the row lock and the loser sees zero rows changed; on SQLite IMMEDIATE transactions
serialise the writers. Either way the partial unique index is the last line of defence."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone, translation

from governance.models import Mandate, Membership
from rotation import services
from rotation.models import Assignment
from tests import factories


@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_same_offered_slot_at_once_one_wins():
    alice = factories.make_user("alice", "Alice")
    takers_users = [factories.make_user(f"t{i}", f"Taker{i}") for i in range(4)]
    org = factories.found_org("Panadería", [alice, *takers_users])
    alice_m = Membership.objects.get(person=alice)
    factories.grant(alice_m, Mandate.Role.ROSTER_COORDINATOR, days=60)
    post = services.post_create(
        actor=alice, organization=org, data=services.PostData(name="Deliveries", cadence="week")
    )
    monday = timezone.localdate() + timedelta(days=7 - timezone.localdate().weekday())
    roster = services.roster_generate(
        actor=alice,
        organization=org,
        name="R",
        period_start=monday,
        period_end=monday,
        posts=[post],
    )
    a = Assignment.objects.get(slot__roster=roster)
    services.slot_offer(actor=a.membership.person, assignment=a)
    takers = [u for u in [alice, *takers_users] if u.pk != a.membership.person_id]

    barrier = threading.Barrier(len(takers))
    results: list[Any] = []
    lock = threading.Lock()

    def take(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):
                new = services.slot_take(actor=user, assignment=a)
            outcome: Any = ("won", new.membership.person_id)
        except ValidationError as exc:
            outcome = ("lost", " ".join(exc.messages))
        except Exception as exc:  # noqa: BLE001 - surfaced in the assertion below
            outcome = ("error", repr(exc))
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=take, args=(u,)) for u in takers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(results) == len(takers)
    won = [r for r in results if r[0] == "won"]
    lost = [r for r in results if r[0] == "lost"]
    assert len(won) == 1, results
    assert len(lost) == len(takers) - 1, results
    assert all("no longer available" in msg for _k, msg in lost)
    current = Assignment.objects.filter(slot=a.slot).exclude(state="replaced")
    assert current.count() == 1
    assert current.get().membership.person_id == won[0][1]
