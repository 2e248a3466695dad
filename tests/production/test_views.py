from __future__ import annotations

import uuid

import pytest
from django.test import Client

from production.models import LogEntry
from tests.production.conftest import DAY, Line


def _url(line: Line, rest: str = "") -> str:
    return f"/o/{line.world.org.slug}/production/{rest}"


def _form(line: Line, key: uuid.UUID, **kw: object) -> dict[str, object]:
    data: dict[str, object] = {
        "work_centre": line.oven.pk,
        "shift": line.day.pk,
        "shift_date": DAY.isoformat(),
        "product": line.bread.pk,
        "good": 380,
        "rework": 5,
        "scrap": 15,
        "workers": [line.world.alice_m.pk],
        "notes": "",
        "handover_note": "Limpiar",
        "idempotency_key": str(key),
        "save": "1",
        "downtime-TOTAL_FORMS": "1",
        "downtime-INITIAL_FORMS": "0",
        "downtime-0-category": "unplanned",
        "downtime-0-reason": "Horno frío",
        "downtime-0-minutes": "60",
        "scrap-TOTAL_FORMS": "1",
        "scrap-INITIAL_FORMS": "0",
        "scrap-0-category": "material",
        "scrap-0-reason": "",
        "scrap-0-quantity": "",
    }
    data.update(kw)
    return data


def test_dashboard_shows_indicators_and_svg_charts(line: Line, bob_client: Client) -> None:
    line.submit(good=380, rework=5, scrap=15)
    r = bob_client.get(_url(line), {"start": "2025-03-01", "end": "2025-03-31"})
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("<svg") >= 4 and '<script type="text/javascript">window.pygal' not in html
    assert "Horno 1" in html


def test_dashboard_partial_for_htmx(line: Line, bob_client: Client) -> None:
    r = bob_client.get(
        _url(line),
        {"start": "2025-03-01", "end": "2025-03-31"},
        headers={"HX-Request": "true", "HX-Target": "report"},
    )
    assert r.status_code == 200 and b"<html" not in r.content and b'id="report"' in r.content


def test_recording_from_the_form_and_a_double_tap_store_one_entry(
    line: Line, alice_client: Client
) -> None:
    key = uuid.uuid4()
    r1 = alice_client.post(_url(line, "new/"), _form(line, key))
    r2 = alice_client.post(_url(line, "new/"), _form(line, key), follow=True)
    assert r1.status_code == 302
    assert LogEntry.objects.count() == 1
    entry = LogEntry.objects.get()
    assert (entry.good, entry.unplanned_downtime_minutes) == (380, 60)
    assert "already recorded" in r2.content.decode()


def test_form_shows_clear_errors_and_stores_nothing(line: Line, alice_client: Client) -> None:
    r = alice_client.post(
        _url(line, "new/"), _form(line, uuid.uuid4(), good=-2, **{"downtime-0-minutes": "600"})
    )
    assert r.status_code == 200 and LogEntry.objects.count() == 0
    assert "Quantities cannot be negative." in r.content.decode()
    r = alice_client.post(
        _url(line, "new/"), _form(line, uuid.uuid4(), **{"downtime-0-minutes": "600"})
    )
    assert "is longer than the shift" in r.content.decode()


def test_add_line_button_adds_a_downtime_row_without_saving(
    line: Line, alice_client: Client
) -> None:
    data = _form(line, uuid.uuid4(), add_downtime="1")
    data.pop("save")
    r = alice_client.post(_url(line, "new/"), data)
    assert r.status_code == 200 and LogEntry.objects.count() == 0
    assert b'name="downtime-1-reason"' in r.content


def test_htmx_submit_redirects_the_client(line: Line, alice_client: Client) -> None:
    r = alice_client.post(
        _url(line, "new/"), _form(line, uuid.uuid4()), headers={"HX-Request": "true"}
    )
    entry = LogEntry.objects.get()
    assert r.status_code == 200 and r.headers["HX-Redirect"].endswith(f"{entry.uuid}/")


def test_detail_sign_acknowledge_and_amend(
    line: Line, alice_client: Client, bob_client: Client
) -> None:
    v1 = line.submit(good=100, workers=[line.world.alice_m], handover_note="Limpiar")
    assert alice_client.post(_url(line, f"entries/{v1.uuid}/sign/")).status_code == 302
    assert bob_client.post(_url(line, f"entries/{v1.uuid}/acknowledge/")).status_code == 302
    data = _form(line, uuid.uuid4(), good=120, reason="Conteo equivocado")
    data["downtime-0-reason"] = ""
    data["downtime-0-minutes"] = ""
    r = bob_client.post(_url(line, f"entries/{v1.uuid}/amend/"), data)
    assert r.status_code == 302, r.content.decode()[:3000]
    v2 = LogEntry.objects.get(current=True)
    page = bob_client.get(_url(line, f"entries/{v1.uuid}/")).content.decode()
    assert 'data-testid="version-1"' in page and 'data-testid="version-2"' in page
    assert "Conteo equivocado" in page and v2.version == 2


def test_import_page_reports_row_errors(line: Line, alice_client: Client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    f = SimpleUploadedFile(
        "p.csv",
        b"date,work_centre,shift,product,good\n"
        b"2025-03-10,oven,day,bread,1\n2025-03-11,oven,day,nope,1\n",
    )
    r = alice_client.post(_url(line, "import/"), {"file": f})
    assert r.status_code == 400 and LogEntry.objects.count() == 0
    assert "Unknown product “nope”." in r.content.decode()


def test_export_downloads(line: Line, bob_client: Client) -> None:
    line.submit(good=42)
    q = {"start": "2025-03-01", "end": "2025-03-31"}
    csv = bob_client.get(_url(line, "export.csv"), q)
    assert b"".join(csv.streaming_content).count(b"\n") == 2  # type: ignore[attr-defined]
    xlsx = bob_client.get(_url(line, "export.xlsx"), q)
    assert xlsx.content[:2] == b"PK"
    assert bob_client.get(_url(line, "export.pdf"), q).status_code == 404


def test_setup_page_needs_a_mandate_to_change(
    line: Line, bob_client: Client, alice_client: Client
) -> None:
    r = bob_client.post(
        _url(line, "setup/"),
        {"kind": "work_centre", "work_centre-code": "x", "work_centre-name": "X"},
    )
    assert r.status_code == 403 and "current mandate" in r.content.decode()
    r = alice_client.post(
        _url(line, "setup/"),
        {
            "kind": "shift",
            "shift-code": "late",
            "shift-name": "Tarde",
            "shift-start": "14:00",
            "shift-end": "22:00",
        },
    )
    assert r.status_code == 302


@pytest.mark.parametrize("rest", ["", "new/", "import/", "setup/", "export.csv"])
def test_charlie_gets_404_on_alices_production_pages(
    line: Line, charlie_client: Client, rest: str
) -> None:
    assert charlie_client.get(_url(line, rest)).status_code == 404


def test_charlie_gets_404_on_alices_entries(line: Line, charlie_client: Client) -> None:
    entry = line.submit(good=1)
    for rest in ("", "amend/"):
        assert charlie_client.get(_url(line, f"entries/{entry.uuid}/{rest}")).status_code == 404
    other = f"/o/{line.world.other_org.slug}/production/entries/{entry.uuid}/"
    assert charlie_client.get(other).status_code == 404
    for rest in ("sign/", "acknowledge/"):
        assert charlie_client.post(_url(line, f"entries/{entry.uuid}/{rest}")).status_code == 404
