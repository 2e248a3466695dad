"""Real Chromium on a phone-sized screen: a member offers a slot, another member takes it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from governance.models import Mandate, Membership
from rotation import services
from rotation.models import Assignment
from tests import factories
from tests.e2e.conftest import login


@pytest.mark.browser
def test_member_offers_a_slot_and_another_takes_it_on_a_phone(
    live_server: Any, phone: Any, transactional_db: Any
) -> None:
    alice = factories.make_user("alice", "Alice")
    bob = factories.make_user("bob", "Bob")
    dina = factories.make_user("dina", "Dina")
    org = factories.found_org("Panadería La Alba", [alice, bob, dina])
    factories.grant(Membership.objects.get(person=alice), Mandate.Role.ROSTER_COORDINATOR)
    post = services.post_create(
        actor=alice, organization=org, data=services.PostData(name="Reparto", cadence="week")
    )
    today = timezone.localdate()
    monday = today + timedelta(days=7 - today.weekday())
    roster = services.roster_generate(
        actor=alice,
        organization=org,
        name="Diciembre",
        period_start=monday,
        period_end=monday + timedelta(days=6),
        posts=[post],
    )
    services.roster_publish(actor=alice, roster=roster)
    slot_holder = Assignment.objects.get(slot__roster=roster)
    owner = slot_holder.membership.person
    taker = dina if owner != dina else bob

    page = phone()
    login(page, live_server.url, owner.username, factories.PASSWORD)
    page.goto(f"{live_server.url}/o/{org.slug}/rotation/")
    page.click("[data-testid=my-assignment] a")
    page.fill("#note", "Tengo médico")
    page.click("[data-testid=offer]")
    page.wait_for_load_state()
    assert page.locator("[data-testid=state]").inner_text().strip() == "Ofrecido a otras personas"

    other = phone()
    login(other, live_server.url, taker.username, factories.PASSWORD)
    other.goto(f"{live_server.url}/o/{org.slug}/rotation/")
    offered = other.locator("[data-testid=offered-slot]")
    assert "Reparto" in offered.inner_text()
    box = other.locator("[data-testid=take]").bounding_box()
    assert box is not None and box["height"] >= 44  # a thumb, or a glove, can hit it
    other.click("[data-testid=take]")
    other.wait_for_load_state()
    assert "El turno ahora es tuyo." in other.content()
    assert other.locator("[data-testid=holder]").inner_text().strip() == taker.first_name

    current = Assignment.objects.exclude(state="replaced").get(slot=slot_holder.slot)
    assert current.membership.person == taker
    slot_holder.refresh_from_db()
    assert slot_holder.state == Assignment.State.REPLACED
    # The owner's page now lists the slot under someone else's name in its history.
    page.goto(f"{live_server.url}/rotation/assignments/{slot_holder.uuid}/")
    assert page.locator("[data-testid=history]").count() == 2
