"""The REST API runs a whole assembly; errors are clear 400/403/404, never 500."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone, translation

from assemblies.models import Assembly, Proposal
from tests.assemblies.helpers import everyone_in, open_assembly, with_item


@pytest.fixture(autouse=True)
def english(settings: Any) -> Any:
    """Assertions read the English source messages; Spanish is the default language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _post(client: Client, url: str, data: dict[str, Any] | None = None) -> Any:
    return client.post(url, data or {}, content_type="application/json")


def test_a_whole_assembly_over_the_api(
    world: Any, alice_client: Client, bob_client: Client
) -> None:
    r = _post(
        alice_client,
        "/api/v1/assemblies/",
        {
            "organization": world.org.slug,
            "title": "Asamblea API",
            "starts_at": timezone.now().isoformat(),
            "require_code": True,
        },
    )
    assert r.status_code == 201, r.content
    base = f"/api/v1/assemblies/{r.json()['uuid']}/"
    code = r.json()["code"]
    assert r.json()["is_facilitator"] is True
    assert bob_client.get(base).json()["code"] is None  # only facilitators see the room code
    assert _post(alice_client, base + "open/").json()["status"] == "open"
    item = _post(bob_client, base + "items/", {"title": "Vacaciones", "kind": "decision"}).json()
    assert _post(alice_client, base + f"items/{item['uuid']}/current/").status_code == 200
    bad = _post(bob_client, base + "attendance/", {"code": "NOPE"})
    assert bad.status_code == 400 and "code" in bad.json()
    assert _post(bob_client, base + "attendance/", {"code": code}).status_code == 201
    assert _post(bob_client, base + "attendance/", {"code": code}).status_code == 400  # double
    assert (
        _post(
            alice_client, base + "attendance/", {"membership": str(world.alice_m.uuid)}
        ).status_code
        == 201
    )
    assert alice_client.get(base + "quorum/").json()["quorum_met"] is True
    place = _post(bob_client, base + "queue/", {"kind": "normal"})
    assert place.status_code == 201 and place.json()["place"] == 1 and place.json()["reason"]
    assert _post(bob_client, base + "queue/next/").status_code == 403
    called = _post(alice_client, base + "queue/next/")
    assert called.json()["state"] == "speaking"
    assert _post(alice_client, base + "queue/next/").status_code == 204
    prop = _post(bob_client, base + "proposals/", {"title": "Turnos", "text": "Rotamos cada mes"})
    assert prop.status_code == 201
    p = prop.json()["uuid"]
    rnd = _post(alice_client, base + f"proposals/{p}/rounds/")
    assert rnd.status_code == 201
    rid = rnd.json()["uuid"]
    first = _post(
        bob_client, base + f"rounds/{rid}/positions/", {"stance": "concern", "text": "¿Y quién?"}
    )
    assert first.status_code == 201 and first.json()["replaced"] is None
    again = _post(bob_client, base + f"rounds/{rid}/positions/", {"stance": "block", "text": "No"})
    assert again.json()["replaced"]["stance"] == "concern"
    assert (
        _post(bob_client, base + f"rounds/{rid}/positions/", {"stance": "block"}).status_code == 400
    )
    closed = _post(alice_client, base + f"rounds/{rid}/close/")
    assert closed.json()["outcome"] == "blocked" and closed.json()["tally"]["block"] == 1
    assert len(closed.json()["history"]) == 2
    late = _post(bob_client, base + f"rounds/{rid}/positions/", {"stance": "agree"})
    assert late.status_code == 400 and "closed" in str(late.json())
    assert alice_client.get(base + f"proposals/{p}/").json()["status"] == "held"
    events = alice_client.get(base + "events/?after=0").json()
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert alice_client.get(base + "events/?after=x").status_code == 400
    assert alice_client.get(base + "stats/").json()["total_count"] == 1
    assert _post(alice_client, base + "close/").json()["status"] == "closed"


def test_votes_over_the_api(world: Any, alice_client: Client, bob_client: Client) -> None:
    from governance import services as gov

    decision = gov.decision_record(
        actor=world.alice, organization=world.org, title="R", text="R", body="A"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=decision,
        valid_from=timezone.now() - timedelta(seconds=1),
        decision_rule="majority",
    )
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    base = f"/api/v1/assemblies/{a.uuid}/"
    p = _post(bob_client, base + "proposals/", {"title": "Compra", "text": "Un horno"}).json()[
        "uuid"
    ]
    v = _post(alice_client, base + f"proposals/{p}/votes/", {"secret": True})
    assert v.status_code == 201 and v.json()["secret"] is True
    vid = v.json()["uuid"]
    assert _post(bob_client, base + f"votes/{vid}/ballots/", {"choice": "yes"}).status_code == 201
    assert _post(bob_client, base + f"votes/{vid}/ballots/", {"choice": "yes"}).status_code == 400
    assert _post(bob_client, base + f"votes/{vid}/ballots/", {"choice": "maybe"}).status_code == 400
    assert (
        _post(
            alice_client, base + f"votes/{vid}/counts/", {"source": "paper", "yes": 1}
        ).status_code
        == 201
    )
    running = alice_client.get(base + f"votes/{vid}/").json()["current_tally"]
    # A secret vote's running tally is hidden until it closes; the room's count is public.
    assert running["hidden"] is True and running["total"] is None and running["phone"] is None
    assert running["room"]["yes"] == 1 and running["voters"] == 1
    closed = _post(alice_client, base + f"votes/{vid}/close/")
    assert closed.json()["outcome"] == "adopted"
    assert closed.json()["tally"]["total"]["yes"] == 2
    assert Proposal.objects.get(uuid=p).decision is not None


def test_other_organisations_get_404_and_bad_ids_never_500(
    world: Any, charlie_client: Client, bob_client: Client
) -> None:
    a = open_assembly(world)
    base = f"/api/v1/assemblies/{a.uuid}/"
    for url in ("", "queue/", "attendance/", "proposals/", "events/", "stats/"):
        assert charlie_client.get(base + url).status_code == 404
    assert _post(charlie_client, base + "attendance/").status_code == 404
    assert charlie_client.get("/api/v1/assemblies/").json() == []
    assert (
        _post(
            bob_client,
            base + "rounds/00000000-0000-0000-0000-000000000000/positions/",
            {"stance": "agree"},
        ).status_code
        == 404
    )
    assert _post(bob_client, base + "queue/", {"kind": "shout"}).status_code == 400
    assert _post(bob_client, "/api/v1/assemblies/", {"title": "X"}).status_code == 400
    assert (
        _post(
            bob_client,
            "/api/v1/assemblies/",
            {
                "organization": world.other_org.slug,
                "title": "X",
                "starts_at": timezone.now().isoformat(),
            },
        ).status_code
        == 404
    )
    assert Client().get(base).status_code in (401, 403)


def test_federation_assembly_over_the_api(
    world: Any, rosa_client: Client, charlie_client: Client
) -> None:
    r = _post(
        rosa_client,
        "/api/v1/assemblies/",
        {
            "federation": world.federation.slug,
            "title": "Red",
            "starts_at": timezone.now().isoformat(),
        },
    )
    assert r.status_code == 201
    assert charlie_client.get(f"/api/v1/assemblies/{r.json()['uuid']}/").status_code == 200
    assert Assembly.objects.get(uuid=r.json()["uuid"]).federation == world.federation


def test_openapi_schema_lists_the_assembly_endpoints(alice_client: Client) -> None:
    schema = alice_client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    for fragment in (
        "/api/v1/assemblies/{uuid}/queue/",
        "/api/v1/assemblies/{uuid}/rounds/{round}/positions/",
        "/api/v1/assemblies/{uuid}/votes/{vote}/ballots/",
    ):
        assert fragment in schema
