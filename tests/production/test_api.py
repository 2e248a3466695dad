from __future__ import annotations

import uuid
from typing import Any

from django.test import Client
from django.urls import resolve

from production.models import LogEntry
from tests.production.conftest import Line


def _payload(line: Line, **kw: Any) -> dict[str, Any]:
    data = {
        "idempotency_key": str(uuid.uuid4()),
        "work_centre": "oven",
        "shift": "day",
        "product": "bread",
        "shift_date": "2025-03-10",
        "good": 380,
        "rework": 5,
        "scrap": 15,
        "downtime": [{"category": "unplanned", "reason": "Horno frío", "minutes": 60}],
        "workers": [line.world.alice_m.member_number],
    }
    data.update(kw)
    return data


def _base(line: Line) -> str:
    return f"/api/v1/production/orgs/{line.world.org.slug}"


def test_api_records_an_entry_once_per_key(line: Line, alice_client: Client) -> None:
    payload = _payload(line)
    r1 = alice_client.post(f"{_base(line)}/entries/", payload, content_type="application/json")
    r2 = alice_client.post(f"{_base(line)}/entries/", payload, content_type="application/json")
    assert (r1.status_code, r2.status_code) == (201, 200)
    assert r1.json()["uuid"] == r2.json()["uuid"] and LogEntry.objects.count() == 1
    assert r1.json()["workers"] == [line.world.alice_m.member_number]


def test_api_bad_input_is_a_400_with_field_messages(line: Line, alice_client: Client) -> None:
    for bad, field in (
        ({"good": -1}, "good"),
        ({"product": "croissant"}, "product"),
        ({"downtime": [{"category": "unplanned", "reason": "x", "minutes": 999}]}, "downtime"),
    ):
        r = alice_client.post(
            f"{_base(line)}/entries/", _payload(line, **bad), content_type="application/json"
        )
        assert r.status_code == 400 and field in r.json(), r.content
    assert LogEntry.objects.count() == 0


def test_api_amend_and_versions(line: Line, bob_client: Client) -> None:
    v1 = line.submit(good=100)
    r = bob_client.post(
        f"/api/v1/production/entries/{v1.uuid}/amend/",
        _payload(line, good=120, reason="Conteo"),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["version"] == 2
    detail = bob_client.get(f"/api/v1/production/entries/{v1.uuid}/").json()
    assert [v["good"] for v in detail["versions"]] == [120, 100]


def test_api_indicators_sum_before_dividing(line: Line, bob_client: Client) -> None:
    line.submit(good=5, scrap=5, product=line.bread)
    line.submit(good=900, scrap=100, product=line.rolls)
    r = bob_client.get(
        f"{_base(line)}/indicators/",
        {"start": "2025-03-01", "end": "2025-03-31", "group": "day", "dimension": "product"},
    )
    body = r.json()
    assert r.status_code == 200 and body["overall"]["quality"] == "0.8960"
    assert {row["key"]: row["quality"] for row in body["rows"]} == {
        "bread": "0.5000",
        "rolls": "0.9000",
    }
    listing = bob_client.get(
        f"{_base(line)}/entries/", {"start": "2025-03-01", "end": "2025-03-31"}
    ).json()
    assert listing["count"] == 2


def test_charlie_gets_404_from_the_api(line: Line, charlie_client: Client) -> None:
    entry = line.submit(good=1)
    assert charlie_client.get(f"{_base(line)}/entries/").status_code == 404
    assert charlie_client.get(f"{_base(line)}/indicators/").status_code == 404
    assert (
        charlie_client.post(
            f"{_base(line)}/entries/", _payload(line), content_type="application/json"
        ).status_code
        == 404
    )
    assert charlie_client.get(f"/api/v1/production/entries/{entry.uuid}/").status_code == 404
    assert (
        charlie_client.post(
            f"/api/v1/production/entries/{entry.uuid}/amend/",
            _payload(line, reason="x"),
            content_type="application/json",
        ).status_code
        == 404
    )


def test_openapi_schema_describes_the_production_api(alice_client: Client, world: Any) -> None:
    r = alice_client.get("/api/schema/", {"format": "json"})
    paths = r.json()["paths"]
    assert "/api/v1/production/orgs/{slug}/entries/" in paths
    assert "/api/v1/production/orgs/{slug}/indicators/" in paths
    post = paths["/api/v1/production/orgs/{slug}/entries/"]["post"]
    assert "EntryIn" in str(post["requestBody"])


def test_api_docs_list_exactly_the_production_routes() -> None:
    from production.api import urlpatterns
    from tests.rotation.test_api import documented_routes

    documented: set[str] = set()
    for method, path in documented_routes("Production"):
        match = resolve(
            "/api/v1/"
            + path.replace("{slug}", "alba")
            .replace("{fmt}", "csv")
            .replace("{uuid}", "00000000-0000-4000-8000-000000000000")
        )
        name = match.url_name or ""
        assert name.startswith("production-api"), path
        assert hasattr(getattr(match.func, "cls", None), method.lower()), f"{method} {path}"
        documented.add(name)
    assert documented == {p.name for p in urlpatterns}
