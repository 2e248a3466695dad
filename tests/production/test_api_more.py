"""The rest of the production API: co-signing and acknowledging, CSV import and export,
configuration, the crew of an entry and the indicators' Paretos and targets. Same rules as
the web pages: a member of another organisation gets 404, a member without the mandate 403."""

from __future__ import annotations

import io
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from governance import services as gov_services
from production import services
from production.models import LogEntry, Product, Shift, WorkCentre
from tests.production.conftest import DAY, Line

API = "/api/v1/production"


def _base(line: Line) -> str:
    return f"{API}/orgs/{line.world.org.slug}"


def _entry_payload(**kw: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "idempotency_key": str(uuid.uuid4()),
        "work_centre": "oven",
        "shift": "day",
        "product": "bread",
        "shift_date": DAY.isoformat(),
        "good": 10,
    }
    data.update(kw)
    return data


# --- Co-signing and the handover -------------------------------------------------------------


def test_a_crew_member_cosigns_and_the_next_crew_acknowledges(
    line: Line, alice_client: Client, bob_client: Client
) -> None:
    entry = line.submit(good=5, workers=[line.world.alice_m], handover_note="Limpiar")
    sign = f"{API}/entries/{entry.uuid}/sign/"
    ack = f"{API}/entries/{entry.uuid}/acknowledge/"
    # Bob was not on the crew: he cannot co-sign, but he is the next crew.
    r = bob_client.post(sign)
    assert r.status_code == 400 and "crew present" in str(r.json())
    r = alice_client.post(sign)
    assert r.status_code == 200 and r.json()["signed_by"] == [line.world.alice_m.member_number]
    assert alice_client.post(sign).json()["signed_by"] == [line.world.alice_m.member_number]
    r = alice_client.post(ack)
    assert r.status_code == 400 and "next crew" in str(r.json())
    r = bob_client.post(ack)
    assert r.status_code == 200
    assert r.json()["handover_read_by"] == [line.world.bob_m.member_number]
    assert entry.signatures.count() == 1 and entry.handover_acks.count() == 1


def test_charlie_cannot_sign_or_acknowledge(line: Line, charlie_client: Client) -> None:
    entry = line.submit(good=5, workers=[line.world.alice_m], handover_note="x")
    for action in ("sign", "acknowledge"):
        assert charlie_client.post(f"{API}/entries/{entry.uuid}/{action}/").status_code == 404
    assert entry.signatures.count() == 0 and entry.handover_acks.count() == 0


# --- CSV import and export ------------------------------------------------------------------


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("p.csv", text.encode(), content_type="text/csv")


def test_api_import_is_all_or_nothing_with_row_errors(line: Line, bob_client: Client) -> None:
    bad = (
        "date,work_centre,shift,product,good\n"
        "2025-03-10,oven,day,bread,1\n"
        "2025-03-11,oven,day,croissant,1\n"
        "2025-03-12,oven,day,bread,-4\n"
    )
    r = bob_client.post(f"{_base(line)}/import/", {"file": _csv(bad)})
    assert r.status_code == 400 and LogEntry.objects.count() == 0
    body = r.json()
    assert body["imported"] == 0
    assert [(e["row"], e["field"]) for e in body["errors"]] == [(3, "product"), (4, "good")]
    assert "croissant" in body["errors"][0]["message"]
    good = "date,work_centre,shift,product,good\n2025-03-10,oven,day,bread,1\n"
    r = bob_client.post(f"{_base(line)}/import/", {"file": _csv(good)})
    assert r.status_code == 201 and r.json() == {"imported": 1, "errors": []}
    assert LogEntry.objects.get().source == "csv"


def test_api_import_refuses_what_is_not_utf8(line: Line, bob_client: Client) -> None:
    latin = SimpleUploadedFile("p.csv", "date,work_centre\nMañana,x\n".encode("latin-1"))
    r = bob_client.post(f"{_base(line)}/import/", {"file": latin})
    assert r.status_code == 400
    # The same shape as row errors (row 0: the whole file), as the schema says.
    body = r.json()
    assert body["imported"] == 0 and [(e["row"], e["field"]) for e in body["errors"]] == [
        (0, "file")
    ]
    r = bob_client.post(f"{_base(line)}/import/", {})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "file"
    assert LogEntry.objects.count() == 0


def test_api_export_csv_and_xlsx(line: Line, bob_client: Client) -> None:
    line.submit(good=42)
    q = {"start": "2025-03-01", "end": "2025-03-31"}
    r = bob_client.get(f"{_base(line)}/export.csv", q)
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    text = b"".join(r.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert text.splitlines()[1].startswith("2025-03-10,oven,day,bread,42,")
    r = bob_client.get(f"{_base(line)}/export.xlsx", q, HTTP_ACCEPT="*/*")
    assert r.status_code == 200 and r.content[:2] == b"PK"
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(r.content)).active
    assert sheet is not None and sheet["E2"].value == 42
    assert bob_client.get(f"{_base(line)}/export.pdf", q).status_code == 404
    r = bob_client.get(f"{_base(line)}/export.csv", {"start": "2025-03-31", "end": "2025-03-01"})
    assert r.status_code == 400


def test_charlie_cannot_import_or_export(line: Line, charlie_client: Client) -> None:
    line.submit(good=1)
    good = "date,work_centre,shift,product,good\n2025-03-11,oven,day,bread,1\n"
    assert charlie_client.post(f"{_base(line)}/import/", {"file": _csv(good)}).status_code == 404
    assert charlie_client.get(f"{_base(line)}/export.csv").status_code == 404
    assert LogEntry.objects.count() == 1


# --- Configuration --------------------------------------------------------------------------


def test_members_list_the_configuration(line: Line, bob_client: Client) -> None:
    assert [w["code"] for w in bob_client.get(f"{_base(line)}/work-centres/").json()] == [
        "mixer",
        "oven",
    ]
    products = bob_client.get(f"{_base(line)}/products/").json()
    assert {p["code"]: p["ideal_cycle_seconds"] for p in products} == {
        "bread": "60.000",
        "rolls": "30.000",
    }
    shifts = {s["code"]: s for s in bob_client.get(f"{_base(line)}/shifts/").json()}
    assert shifts["night"]["spans_midnight"] and not shifts["day"]["spans_midnight"]
    r = bob_client.get(f"{API}/shifts/{line.night.uuid}/")
    assert r.status_code == 200 and r.json()["start"] == "22:00:00"


def test_changing_the_configuration_needs_the_mandate(
    line: Line, alice_client: Client, bob_client: Client
) -> None:
    # Alice holds a line coordinator mandate (see conftest); Bob holds none.
    new = {"code": "oven-2", "name": "Horno 2"}
    r = bob_client.post(f"{_base(line)}/work-centres/", new, content_type="application/json")
    assert r.status_code == 403 and not WorkCentre.objects.filter(code="oven-2").exists()
    r = alice_client.post(f"{_base(line)}/work-centres/", new, content_type="application/json")
    assert r.status_code == 201 and r.json()["active"] is True
    r = alice_client.post(f"{_base(line)}/work-centres/", new, content_type="application/json")
    assert r.status_code == 400 and "code" in r.json()

    url = f"{API}/products/{line.bread.uuid}/"
    change = {"ideal_cycle_seconds": "45", "active": False}
    assert bob_client.patch(url, change, content_type="application/json").status_code == 403
    r = alice_client.patch(url, change, content_type="application/json")
    assert r.status_code == 200 and r.json()["ideal_cycle_seconds"] == "45.000"
    line.bread.refresh_from_db()
    assert line.bread.ideal_cycle_seconds == Decimal(45) and not line.bread.active
    r = alice_client.patch(url, {"ideal_cycle_seconds": "0"}, content_type="application/json")
    assert r.status_code == 400

    r = alice_client.post(
        f"{_base(line)}/shifts/",
        {"code": "late", "name": "Tarde", "start": "14:00", "end": "22:00"},
        content_type="application/json",
    )
    assert r.status_code == 201
    r = alice_client.patch(
        f"{API}/shifts/{r.json()['uuid']}/", {"end": "14:00"}, content_type="application/json"
    )
    assert r.status_code == 400 and "end" in r.json()
    r = alice_client.patch(
        f"{API}/work-centres/{line.mixer.uuid}/",
        {"name": "Amasadora 2"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["name"] == "Amasadora 2"


def test_a_changed_ideal_cycle_does_not_rewrite_history(line: Line, alice_client: Client) -> None:
    entry = line.submit(good=100)
    alice_client.patch(
        f"{API}/products/{line.bread.uuid}/",
        {"ideal_cycle_seconds": "30"},
        content_type="application/json",
    )
    entry.refresh_from_db()
    assert entry.ideal_cycle_seconds == Decimal(60)


def test_charlie_gets_404_on_the_configuration(line: Line, charlie_client: Client) -> None:
    for kind in ("work-centres", "products", "shifts"):
        assert charlie_client.get(f"{_base(line)}/{kind}/").status_code == 404
        r = charlie_client.post(
            f"{_base(line)}/{kind}/", {"code": "x", "name": "X"}, content_type="application/json"
        )
        assert r.status_code == 404
    for kind, obj in (("work-centres", line.oven), ("products", line.bread), ("shifts", line.day)):
        assert charlie_client.get(f"{API}/{kind}/{obj.uuid}/").status_code == 404
        r = charlie_client.patch(
            f"{API}/{kind}/{obj.uuid}/", {"name": "Mío"}, content_type="application/json"
        )
        assert r.status_code == 404
    assert WorkCentre.objects.get(pk=line.oven.pk).name == "Horno 1"
    assert Product.objects.get(pk=line.bread.pk).name == "Pan"
    assert Shift.objects.get(pk=line.day.pk).name == "Mañana"


# --- The crew of an entry -------------------------------------------------------------------


def test_api_crew_defaults(line: Line, alice_client: Client, bob_client: Client) -> None:
    world = line.world
    # No workers given: the person recording was there.
    r = bob_client.post(
        f"{_base(line)}/entries/", _entry_payload(), content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["workers"] == [world.bob_m.member_number]
    # A workgroup as the crew brings its members when the workers are not listed.
    oven_crew = gov_services.workgroup_create(
        actor=world.alice, organization=world.org, name="Hornos"
    )
    for m in (world.alice_m, world.bob_m):
        gov_services.workgroup_member_add(actor=world.alice, workgroup=oven_crew, membership=m)
    r = bob_client.post(
        f"{_base(line)}/entries/",
        _entry_payload(shift="night", crew=str(oven_crew.uuid)),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["crew"] == str(oven_crew.uuid)
    assert r.json()["workers"] == sorted([world.alice_m.member_number, world.bob_m.member_number])
    # An explicit empty list records nobody.
    r = bob_client.post(
        f"{_base(line)}/entries/",
        _entry_payload(product="rolls", workers=[]),
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["workers"] == []


def test_api_crew_of_another_organisation_is_refused(line: Line, bob_client: Client) -> None:
    world = line.world
    theirs = gov_services.workgroup_create(
        actor=world.charlie, organization=world.other_org, name="Taller"
    )
    r = bob_client.post(
        f"{_base(line)}/entries/",
        _entry_payload(crew=str(theirs.uuid)),
        content_type="application/json",
    )
    assert r.status_code == 400 and "crew" in r.json() and LogEntry.objects.count() == 0
    r = bob_client.post(
        f"{_base(line)}/entries/",
        _entry_payload(workers=["9999"]),
        content_type="application/json",
    )
    assert r.status_code == 400 and "9999" in str(r.json()["workers"])
    assert LogEntry.objects.count() == 0


# --- Indicators: Paretos and targets --------------------------------------------------------


def test_api_indicators_carry_paretos_and_targets(line: Line, bob_client: Client) -> None:
    world = line.world
    line.submit(good=0, scrap=5, product=line.rolls)
    line.submit(
        good=380,
        rework=5,
        scrap=10,
        downtime=[
            services.DowntimeInput(category="unplanned", reason="Horno frío", minutes=45),
            services.DowntimeInput(category="minor_stop", reason="Atasco", minutes=15),
            services.DowntimeInput(category="planned", reason="Limpieza", minutes=30),
        ],
        scrap_lines=[services.ScrapInput(category="material", reason="Quemado", quantity=10)],
    )
    decision = world.org.decisions.get(number=1)
    services.target_adopt(
        actor=world.alice,
        organization=world.org,
        decision=decision,
        metric="good_per_day",
        value=Decimal(400),
        valid_from=date(2025, 1, 1),
    )
    r = bob_client.get(f"{_base(line)}/indicators/", {"start": "2025-03-01", "end": "2025-03-31"})
    body = r.json()
    assert r.status_code == 200
    assert [(p["reason"], p["amount"]) for p in body["downtime_pareto"]] == [
        ("Horno frío", 45),
        ("Atasco", 15),
    ]
    assert body["downtime_pareto"][-1]["cumulative_percent"] == "100.00"
    assert [(p["reason"], p["amount"]) for p in body["scrap_pareto"]] == [
        ("Quemado", 10),
        ("No reason given", 5),
    ]
    [target] = body["targets"]
    assert target["metric"] == "good_per_day" and target["actual"] == "380.0000"
    assert target["met"] is False
    assert target["decision"] == {
        "uuid": str(decision.uuid),
        "number": 1,
        "title": decision.title,
    }


def test_openapi_schema_has_the_new_production_routes(alice_client: Client, world: Any) -> None:
    paths = alice_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    for p in (
        "/api/v1/production/entries/{uuid}/sign/",
        "/api/v1/production/entries/{uuid}/acknowledge/",
        "/api/v1/production/orgs/{slug}/import/",
        "/api/v1/production/orgs/{slug}/export.{fmt}",
        "/api/v1/production/orgs/{slug}/work-centres/",
        "/api/v1/production/orgs/{slug}/products/",
        "/api/v1/production/orgs/{slug}/shifts/",
        "/api/v1/production/work-centres/{uuid}/",
        "/api/v1/production/products/{uuid}/",
        "/api/v1/production/shifts/{uuid}/",
    ):
        assert p in paths, p
    assert (
        "multipart/form-data"
        in paths["/api/v1/production/orgs/{slug}/import/"]["post"]["requestBody"]["content"]
    )
    assert "patch" in paths["/api/v1/production/products/{uuid}/"]
