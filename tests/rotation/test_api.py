from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from django.test import Client
from django.urls import resolve, reverse

from governance.models import Mandate
from rotation.models import Assignment, Roster


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
