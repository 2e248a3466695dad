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


def _proposal(bakery) -> Roster:
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    return services.roster_generate(
        actor=bakery.world.alice,
        organization=bakery.world.org,
        name="Minutes",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=6),
    )


def test_any_member_publishes_on_the_page_by_citing_the_assemblys_decision(
    bakery, bob_client, charlie_client
):
    from governance import services as gov
    from tests import factories

    w = bakery.world
    proposal = _proposal(bakery)
    page_url = reverse("rotation:roster", args=[proposal.uuid])
    publish_url = reverse("rotation:roster-publish", args=[proposal.uuid])
    page = bob_client.get(page_url)
    # Bob holds no mandate: no publish button, and no decision names the roster yet.
    assert not page.context["can_publish"]
    assert 'data-testid="no-decision"' in page.content.decode()
    assert page_url in page.content.decode()
    decision = gov.decision_record(
        actor=w.alice,
        organization=w.org,
        title="Minute-takers for the week",
        text="The assembly adopts the roster.",
        body="General assembly",
        links=["https://coop.example" + page_url],
    )
    page = bob_client.get(page_url).content.decode()
    assert 'data-testid="publish-by-decision"' in page
    assert f'value="{decision.uuid}"' in page
    # The founding decision is in the register but not about this roster.
    founding = factories.founding_decision(w.org)
    assert f'value="{founding.uuid}"' not in page
    r = bob_client.post(publish_url, {"decision": str(founding.uuid)}, follow=True)
    assert r.status_code == 200
    proposal.refresh_from_db()
    assert proposal.status == Roster.Status.PROPOSAL
    assert [m.level_tag for m in r.context["messages"]] == ["error"]
    assert charlie_client.post(publish_url, {"decision": str(decision.uuid)}).status_code == 404
    r = bob_client.post(publish_url, {"decision": str(decision.uuid)})
    assert r.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == Roster.Status.PUBLISHED
    assert proposal.published_by_decision == decision
    holder = Assignment.objects.get(slot__roster=proposal, role="holder")
    assert Mandate.objects.filter(source_rotation=holder.uuid).exists()
    # Once published the form is gone.
    assert bob_client.get(page_url).context["decision_form"] is None


def test_coordinator_fills_an_unfilled_slot_from_its_page(
    bakery, alice_client, bob_client, charlie_client
):
    w = bakery.world
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Forklift")
    bakery.post("Forklift", cadence="week", qualifications=(q,))
    r = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="Forklift",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=6),
    )
    slot = r.slots.get()
    slot_url = reverse("rotation:slot", args=[slot.uuid])
    roster_page = alice_client.get(reverse("rotation:roster", args=[r.uuid])).content.decode()
    assert slot_url in roster_page
    assert charlie_client.get(slot_url).status_code == 404
    assert bob_client.get(slot_url).context["form"] is None
    page = alice_client.get(slot_url)
    assert page.context["form"] is not None and page.context["why"]
    services.qualification_attest(actor=w.alice, qualification=q, candidate=w.bob_m)
    fill = {"membership": str(w.bob_m.uuid), "reason": "Bob qualified on Friday"}
    assert bob_client.post(slot_url, fill).status_code == 403
    assert charlie_client.post(slot_url, fill).status_code == 404
    # Someone not qualified is refused with the reason, and nothing changes.
    r2 = alice_client.post(slot_url, {**fill, "membership": str(w.alice_m.uuid)}, follow=True)
    assert [m.level_tag for m in r2.context["messages"]] == ["error"]
    assert not Assignment.objects.filter(slot=slot).exists()
    r2 = alice_client.post(slot_url, fill)
    a = Assignment.objects.get(slot=slot)
    assert r2.status_code == 302 and r2["Location"] == reverse("rotation:assignment", args=[a.uuid])
    assert (a.membership, a.reason) == (w.bob_m, "Bob qualified on Friday")
    page = alice_client.get(slot_url)
    assert page.context["form"] is None and page.context["holder"] == a
    roster_page = alice_client.get(reverse("rotation:roster", args=[r.uuid]))
    assert roster_page.context["unfilled"] == []
