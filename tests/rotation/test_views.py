from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from icalendar import Calendar

from governance.models import Mandate
from rotation import services
from rotation.models import Assignment, Roster
from tests.rotation.conftest import NIGHT


@pytest.fixture
def published(bakery) -> Roster:
    w = bakery.world
    bakery.post("Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week")
    bakery.post("Night cleaning", cadence="shift", shift_start=NIGHT, headcount=2, unpleasant=True)
    r = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="December",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=13),
    )
    services.roster_publish(actor=w.alice, roster=r)
    return r


def first_of(roster: Roster, member) -> Assignment:
    found = (
        Assignment.objects.filter(slot__roster=roster, membership=member)
        .exclude(state="replaced")
        .order_by("slot__starts_at")
        .first()
    )
    assert found is not None
    return found


def test_my_turns_page_shows_upcoming_assignments_with_why(bakery, published, bob_client):
    w = bakery.world
    r = bob_client.get(reverse("rotation:home", args=[w.org.slug]))
    assert r.status_code == 200
    body = r.content.decode()
    assert "Night cleaning" in body
    mine = first_of(published, w.bob_m)
    assert str(mine.uuid) in body
    assert "disponible" in body  # Spanish by default: "available"


def test_roster_week_and_fairness_pages(bakery, published, alice_client):
    r = alice_client.get(
        reverse("rotation:roster", args=[published.uuid]), {"week": bakery.monday.isoformat()}
    )
    assert r.status_code == 200
    assert r.content.decode().count('data-testid="slot-row"') == 1 + 7 * 2
    r = alice_client.get(
        reverse("rotation:fairness", args=[bakery.world.org.slug]),
        {"from": bakery.monday.isoformat(), "to": (bakery.monday + timedelta(days=13)).isoformat()},
    )
    assert r.status_code == 200
    assert r.context["report"].total_coordination == 2
    assert 0 <= r.context["report"].gini_burden < 1
    # Bad dates fall back to defaults rather than failing.
    assert (
        alice_client.get(
            reverse("rotation:fairness", args=[bakery.world.org.slug]), {"from": "nonsense"}
        ).status_code
        == 200
    )


def test_charlie_gets_404_everywhere(bakery, published, charlie_client):
    w = bakery.world
    a = first_of(published, w.bob_m)
    for url in [
        reverse("rotation:home", args=[w.org.slug]),
        reverse("rotation:posts", args=[w.org.slug]),
        reverse("rotation:fairness", args=[w.org.slug]),
        reverse("rotation:qualifications", args=[w.org.slug]),
        reverse("rotation:roster", args=[published.uuid]),
        reverse("rotation:assignment", args=[a.uuid]),
    ]:
        assert charlie_client.get(url).status_code == 404, url
    for name in ("take", "offer", "reassign", "attendance", "swap"):
        assert charlie_client.post(reverse(f"rotation:{name}", args=[a.uuid])).status_code == 404
    assert (
        charlie_client.post(reverse("rotation:roster-publish", args=[published.uuid])).status_code
        == 404
    )
    token = services.calendar_token_for(membership=w.charlie_m).token
    assert (
        charlie_client.get(
            reverse("rotation:calendar-roster", args=[token, published.uuid])
        ).status_code
        == 404
    )


def test_bob_is_refused_coordinator_actions(bakery, bob_client):
    w = bakery.world
    bakery.post("Deliveries", cadence="week")
    r = bob_client.post(
        reverse("rotation:roster-new", args=[w.org.slug]),
        {
            "name": "Mine",
            "period_start": bakery.monday.isoformat(),
            "period_end": (bakery.monday + timedelta(days=6)).isoformat(),
        },
    )
    assert r.status_code == 403
    proposal = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="P",
        period_start=bakery.monday,
        period_end=bakery.monday,
    )
    assert (
        bob_client.post(reverse("rotation:roster-publish", args=[proposal.uuid])).status_code == 403
    )
    a = Assignment.objects.filter(slot__roster=proposal).first()
    r = bob_client.post(
        reverse("rotation:reassign", args=[a.uuid]),
        {"membership": str(w.bob_m.uuid), "reason": "mine"},
    )
    assert r.status_code == 403
    # The form only shows to coordinators...
    page = bob_client.get(reverse("rotation:posts", args=[w.org.slug]))
    assert page.status_code == 200 and not page.context["can_coordinate"]
    assert 'name="max_consecutive_terms"' not in page.content.decode()
    # ...and a complete, valid form sent anyway reaches the service, which refuses it.
    r = bob_client.post(
        reverse("rotation:posts", args=[w.org.slug]),
        {
            "name": "X",
            "kind": "task",
            "cadence": "week",
            "headcount": "1",
            "term_length": "1",
            "shift_hours": "8",
            "rest_hours": "11",
            "burden": "1",
            "max_consecutive_terms": "1",
        },
    )
    assert r.status_code == 403
    assert not w.org.posts.filter(name="X").exists()


def test_offer_and_take_through_the_pages(bakery, published):
    w = bakery.world
    mine = first_of(published, w.bob_m)
    bob, dina = Client(), Client()
    bob.force_login(w.bob)
    dina.force_login(bakery.members[2].person)
    assert bob.post(reverse("rotation:offer", args=[mine.uuid]), {"note": "x"}).status_code == 302
    home = dina.get(reverse("rotation:home", args=[w.org.slug])).content.decode()
    assert 'data-testid="offered-slot"' in home
    r = dina.post(reverse("rotation:take", args=[mine.uuid]), follow=True)
    assert r.status_code == 200
    mine.refresh_from_db()
    if mine.state == "replaced":
        assert mine.replaced_by.membership == bakery.members[2]
    else:  # dina was not allowed (e.g. booked that night): the page says why
        assert "no puede" in r.content.decode() or "cannot" in r.content.decode()


def test_post_form_shows_field_errors(bakery, alice_client):
    r = alice_client.post(
        reverse("rotation:posts", args=[bakery.world.org.slug]),
        {
            "name": "Night",
            "kind": "task",
            "cadence": "shift",
            "headcount": "1",
            "term_length": "1",
            "shift_hours": "8",
            "rest_hours": "11",
            "burden": "1",
            "max_consecutive_terms": "1",
        },
    )
    assert r.status_code == 200
    assert r.context["form"].errors["shift_start"]


def test_member_calendar_feed_is_private_and_valid(bakery, published, client):
    w = bakery.world
    token = services.calendar_token_for(membership=w.bob_m).token
    r = client.get(reverse("rotation:calendar-member", args=[token]))
    assert r.status_code == 200 and r["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = list(cal.walk("VEVENT"))
    expected = (
        Assignment.objects.filter(slot__roster=published, membership=w.bob_m)
        .exclude(state="replaced")
        .count()
    )
    assert len(events) == expected > 0
    assert client.get(reverse("rotation:calendar-member", args=["wrong"])).status_code == 404
    services.calendar_token_reset(actor=w.bob, membership=w.bob_m)
    assert client.get(reverse("rotation:calendar-member", args=[token])).status_code == 404


def test_roster_calendar_feed_lists_everyone(bakery, published, client):
    token = services.calendar_token_for(membership=bakery.world.bob_m).token
    r = client.get(reverse("rotation:calendar-roster", args=[token, published.uuid]))
    cal = Calendar.from_ical(r.content)
    assert (
        len(list(cal.walk("VEVENT")))
        == Assignment.objects.filter(slot__roster=published).exclude(state="replaced").count()
    )


def test_availability_and_qualification_pages(bakery, alice_client, bob_client):
    w = bakery.world
    r = bob_client.post(
        reverse("rotation:availability", args=[w.org.slug]),
        {
            "first_day": bakery.monday.isoformat(),
            "last_day": (bakery.monday - timedelta(days=1)).isoformat(),
        },
    )
    assert r.status_code == 200 and r.context["form"].errors
    r = bob_client.post(
        reverse("rotation:availability", args=[w.org.slug]),
        {
            "first_day": bakery.monday.isoformat(),
            "last_day": bakery.monday.isoformat(),
            "reason": "dentist",
        },
    )
    assert r.status_code == 302
    assert w.bob_m.unavailabilities.get().reason == "dentist"
    r = alice_client.post(
        reverse("rotation:qualifications", args=[w.org.slug]),
        {"form": "create", "name": "Oven", "attestations_required": "2"},
    )
    assert r.status_code == 302
    q = w.org.qualifications.get()
    r = alice_client.post(
        reverse("rotation:qualifications", args=[w.org.slug]),
        {"form": "attest", "qualification": str(q.uuid), "candidate": str(w.bob_m.uuid)},
    )
    assert r.status_code == 302
    assert q.grants.get().membership == w.bob_m
