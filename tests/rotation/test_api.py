from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.urls import resolve, reverse

from governance.models import Mandate
from rotation.models import Assignment, Roster
from tests.rotation.conftest import NIGHT


def api(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="en")
    c.force_login(user)
    return c


def test_coordinator_builds_posts_and_rosters_and_publishes_through_the_api(bakery):
    w = bakery.world
    alice = api(w.alice)
    org = w.org.uuid
    r = alice.post(
        reverse("api-rotation-posts", args=[org]),
        {
            "name": "Facilitation",
            "kind": "post",
            "role": "facilitator",
            "cadence": "week",
            "shadowing": True,
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    assert r.json()["role"] == "facilitator"
    r = alice.post(
        reverse("api-rotation-rosters", args=[org]),
        {
            "name": "Dec",
            "period_start": bakery.monday.isoformat(),
            "period_end": (bakery.monday + timedelta(days=13)).isoformat(),
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "proposal" and len(body["assignments"]) == 4  # 2 holders, 2 trainees
    assert body["assignments"][0]["explanation"]
    uuid = body["uuid"]
    r = alice.post(
        reverse("api-rotation-publish", args=[uuid]), {}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["status"] == "published"
    assert Mandate.objects.filter(source_rotation__isnull=False).count() == 2
    r = alice.get(
        reverse("api-rotation-fairness", args=[org]),
        {"from": bakery.monday.isoformat(), "to": (bakery.monday + timedelta(days=13)).isoformat()},
    )
    assert r.status_code == 200
    assert abs(sum(m["coordination_share"] for m in r.json()["members"]) - 100.0) < 1e-6


def test_api_bad_input_is_400_not_500(bakery):
    w = bakery.world
    alice = api(w.alice)
    r = alice.post(
        reverse("api-rotation-posts", args=[w.org.uuid]),
        {"name": "Night", "cadence": "shift"},
        content_type="application/json",
    )
    assert r.status_code == 400 and "shift_start" in r.json()
    r = alice.post(
        reverse("api-rotation-rosters", args=[w.org.uuid]),
        {"name": "X", "period_start": "2027-02-01", "period_end": "2027-01-01"},
        content_type="application/json",
    )
    assert r.status_code == 400
    r = alice.get(reverse("api-rotation-fairness", args=[w.org.uuid]), {"from": "yesterday"})
    assert r.status_code == 400


def test_api_offer_take_and_isolation(bakery):
    w = bakery.world
    alice = api(w.alice)
    alice.post(
        reverse("api-rotation-posts", args=[w.org.uuid]),
        {"name": "Deliveries"},
        content_type="application/json",
    )
    body = alice.post(
        reverse("api-rotation-rosters", args=[w.org.uuid]),
        {
            "name": "W",
            "period_start": bakery.monday.isoformat(),
            "period_end": bakery.monday.isoformat(),
        },
        content_type="application/json",
    ).json()
    roster = Roster.objects.get(uuid=body["uuid"])
    a = Assignment.objects.get(slot__roster=roster)
    owner = api(a.membership.person)
    assert (
        owner.post(
            reverse("api-rotation-offer", args=[a.uuid]),
            {"note": "sick"},
            content_type="application/json",
        ).status_code
        == 200
    )
    charlie, bob = api(w.charlie), api(w.bob)
    assert charlie.post(reverse("api-rotation-take", args=[a.uuid])).status_code == 404
    assert charlie.get(reverse("api-rotation-roster", args=[roster.uuid])).status_code == 404
    assert charlie.get(reverse("api-rotation-posts", args=[w.org.uuid])).status_code == 404
    assert (
        bob.post(
            reverse("api-rotation-publish", args=[roster.uuid]), {}, content_type="application/json"
        ).status_code
        == 403
    )
    taker = w.alice if a.membership != w.alice_m else w.bob
    r = api(taker).post(reverse("api-rotation-take", args=[a.uuid]))
    assert r.status_code == 201, r.content
    again = api(bakery.members[-1].person).post(reverse("api-rotation-take", args=[a.uuid]))
    assert again.status_code == 400
    assert "no longer available" in str(again.json())
    history = alice.get(reverse("api-rotation-history", args=[a.uuid])).json()
    assert [h["state"] for h in history] == ["replaced", "active"]


def test_openapi_schema_describes_the_rotation_api(alice_client):
    r = alice_client.get("/api/schema/", {"format": "json"})
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/rotation/assignments/{uuid}/take/" in paths
    assert "/api/v1/organizations/{org}/rotation/rosters/" in paths
    take = paths["/api/v1/rotation/assignments/{uuid}/take/"]["post"]
    assert "201" in take["responses"]


def test_api_publishes_by_a_decision_only_when_it_is_about_the_roster(bakery):
    from governance import services as gov
    from tests import factories

    w = bakery.world
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    alice, bob = api(w.alice), api(w.bob)
    body = alice.post(
        reverse("api-rotation-rosters", args=[w.org.uuid]),
        {
            "name": "W",
            "period_start": bakery.monday.isoformat(),
            "period_end": bakery.monday.isoformat(),
        },
        content_type="application/json",
    ).json()
    url = reverse("api-rotation-publish", args=[body["uuid"]])
    founding = factories.founding_decision(w.org)
    r = bob.post(url, {"decision": str(founding.uuid)}, content_type="application/json")
    assert r.status_code == 400
    assert "not about this roster" in r.json()["decision"][0]
    charlies = factories.founding_decision(w.other_org)
    r = bob.post(url, {"decision": str(charlies.uuid)}, content_type="application/json")
    assert r.status_code == 400 and "decision" in r.json()
    assert Roster.objects.get(uuid=body["uuid"]).status == "proposal"
    decision = gov.decision_record(
        actor=w.alice,
        organization=w.org,
        title="Minutes roster",
        text="Adopted.",
        body="Assembly",
        links=["https://coop.example" + reverse("rotation:roster", args=[body["uuid"]])],
    )
    r = bob.post(url, {"decision": str(decision.uuid)}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "published"
    roster = Roster.objects.get(uuid=body["uuid"])
    assert roster.published_by_decision == decision


def documented_routes(section: str) -> set[tuple[str, str]]:
    """(method, path) of every row of a section's table in docs/api.md."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text()
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `(GET|POST|PUT|PATCH|DELETE) ([^`?]+)[^`]*` \|", body, re.M)
    return {(method, path) for method, path in rows}


def test_api_docs_list_exactly_the_rotation_routes() -> None:
    from rotation.api import urlpatterns

    some = "00000000-0000-4000-8000-000000000000"
    documented: set[str] = set()
    for method, path in documented_routes("Rotation"):
        match = resolve("/api/v1/" + path.replace("{org}", some).replace("{uuid}", some))
        name = match.url_name or ""
        assert name.startswith("api-rotation"), path
        assert hasattr(getattr(match.func, "cls", None), method.lower()), f"{method} {path}"
        documented.add(name)
    assert documented == {p.name for p in urlpatterns}


def _api_roster(bakery, weeks: int = 2) -> Roster:
    from rotation import services

    bakery.post("Deliveries", cadence="week")
    return services.roster_generate(
        actor=bakery.world.alice,
        organization=bakery.world.org,
        name="Deliveries",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=7 * weeks - 1),
    )


def test_api_withdraws_an_offer_only_for_the_person_assigned(bakery):
    w = bakery.world
    a = Assignment.objects.get(slot__roster=_api_roster(bakery, weeks=1))
    url = reverse("api-rotation-offer", args=[a.uuid])
    owner = api(a.membership.person)
    other = next(m for m in bakery.members if m.pk != a.membership_id)
    assert owner.post(url, {}, content_type="application/json").status_code == 200
    assert api(w.charlie).delete(url).status_code == 404
    assert api(other.person).delete(url).status_code == 403
    r = owner.delete(url)
    assert r.status_code == 200 and r.json()["state"] == "active"
    assert owner.delete(url).status_code == 400  # no longer on offer
    r = api(other.person).post(reverse("api-rotation-take", args=[a.uuid]))
    assert r.status_code == 400


def test_api_cancels_a_swap_only_for_whoever_proposed_it(bakery):
    w = bakery.world
    roster = _api_roster(bakery)
    first, second = Assignment.objects.filter(slot__roster=roster).order_by("slot__starts_at").all()
    assert first.membership != second.membership
    proposer = api(first.membership.person)
    r = proposer.post(
        reverse("api-rotation-swaps", args=[w.org.uuid]),
        {"mine": str(first.uuid), "theirs": str(second.uuid)},
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    url = reverse("api-rotation-swap-cancel", args=[r.json()["uuid"]])
    assert api(w.charlie).post(url).status_code == 404
    assert api(second.membership.person).post(url).status_code == 403
    r = proposer.post(url)
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert proposer.post(url).status_code == 400
    assert proposer.get(reverse("api-rotation-swaps", args=[w.org.uuid])).json() == []


def test_api_roster_week_is_the_week_on_the_roster_page(bakery, alice_client):
    from rotation import services

    w = bakery.world
    bakery.post("Night cleaning", cadence="shift", shift_start=NIGHT, headcount=2)
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Oven")
    bakery.post("Oven", cadence="week", qualifications=(q,))
    roster = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="Two weeks",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=13),
    )
    second = (bakery.monday + timedelta(days=9)).isoformat()  # a Wednesday
    url = reverse("api-rotation-week", args=[roster.uuid])
    body = api(w.bob).get(url, {"week": second}).json()
    page = alice_client.get(reverse("rotation:roster", args=[roster.uuid]), {"week": second})
    rows = page.context["rows"]
    assert body["week"] == (bakery.monday + timedelta(days=7)).isoformat()
    assert body["previous_week"] == bakery.monday.isoformat() and body["next_week"] is None
    assert [s["slot"] for s in body["slots"]] == [str(row.slot.uuid) for row in rows]
    # Seven nights of two, the oven's week, and the two on Sunday night running into Monday.
    assert len(rows) == 7 * 2 + 1 + 2
    assert [s["holder"] and s["holder"]["uuid"] for s in body["slots"]] == [
        row.holder and str(row.holder.uuid) for row in rows
    ]
    oven = next(s for s in body["slots"] if s["post"] == "Oven")
    assert oven["holder"] is None and oven["unfilled_reasons"][0]["code"] == "not_qualified"
    # Without a week: the roster's first week (it has not started yet).
    assert api(w.bob).get(url).json()["week"] == bakery.monday.isoformat()
    assert api(w.bob).get(url, {"week": "soon"}).status_code == 400
    assert api(w.charlie).get(url).status_code == 404


def test_api_fills_a_slot_nobody_could_take(bakery):
    from rotation import services

    w = bakery.world
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Oven")
    bakery.post("Oven", cadence="week", qualifications=(q,))
    roster = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="Oven",
        period_start=bakery.monday,
        period_end=bakery.monday + timedelta(days=6),
    )
    slot = roster.slots.get()
    services.qualification_attest(actor=w.alice, qualification=q, candidate=w.bob_m)
    url = reverse("api-rotation-fill", args=[slot.uuid])
    data = {"member": str(w.bob_m.uuid), "reason": "qualified"}
    assert api(w.charlie).post(url, data, content_type="application/json").status_code == 404
    assert api(w.bob).post(url, data, content_type="application/json").status_code == 403
    r = api(w.alice).post(
        url, {**data, "member": str(w.charlie_m.uuid)}, content_type="application/json"
    )
    assert r.status_code == 400 and "member" in r.json()
    r = api(w.alice).post(url, data, content_type="application/json")
    assert r.status_code == 201, r.content
    assert r.json()["member"]["uuid"] == str(w.bob_m.uuid) and r.json()["slot"] == str(slot.uuid)
    again = api(w.alice).post(url, data, content_type="application/json")
    assert again.status_code == 400


def test_api_resets_my_private_calendar_link(bakery, client):
    w = bakery.world
    url = reverse("api-rotation-calendar", args=[w.org.uuid])
    bob = api(w.bob)
    old = bob.get(url).json()["url"]
    assert client.get(old).status_code == 200
    r = bob.post(url)
    assert r.status_code == 200
    new = r.json()["url"]
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(new).status_code == 200
    assert bob.get(url).json()["url"] == new
    # Charlie is not a member: the organisation does not exist for him.
    assert api(w.charlie).post(url).status_code == 404
    assert api(w.charlie).get(url).status_code == 404


def test_openapi_schema_describes_the_new_rotation_routes(alice_client):
    paths = alice_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert "delete" in paths["/api/v1/rotation/assignments/{uuid}/offer/"]
    assert "post" in paths["/api/v1/rotation/swaps/{uuid}/cancel/"]
    week = paths["/api/v1/rotation/rosters/{uuid}/week/"]["get"]
    assert any(p["name"] == "week" for p in week["parameters"])
    assert "201" in paths["/api/v1/rotation/slots/{uuid}/fill/"]["post"]["responses"]
    calendar = paths["/api/v1/organizations/{org}/rotation/calendar/"]
    assert {"get", "post"} <= set(calendar)
