"""A crew member records a shift's production on a phone, in Spanish, in real Chromium."""

from __future__ import annotations

from typing import Any

import pytest

from production.models import LogEntry
from tests import factories
from tests.e2e.conftest import login
from tests.production.conftest import DAY, Line, line  # noqa: F401  (fixture)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_crew_member_records_an_entry_on_a_phone(
    live_server: Any,
    phone: Any,
    line: Line,  # noqa: F811
) -> None:
    page = phone()
    login(page, live_server.url, "bob", factories.PASSWORD)
    org = line.world.org.slug
    page.goto(f"{live_server.url}/o/{org}/production/new/")
    assert page.locator("h1").inner_text() == "Registrar producción"

    page.select_option("#id_work_centre", label="Horno 1")
    page.select_option("#id_shift", label=str(line.day))
    page.fill("#id_shift_date", DAY.isoformat())
    page.select_option("#id_product", label="Pan")
    page.fill("#id_good", "378")
    # The large steppers work with a thumb (or a glove).
    plus = page.locator("button.step[data-for=id_good][data-step='1']")
    assert plus.is_visible()
    box = plus.bounding_box()
    assert box is not None and box["height"] >= 44 and box["width"] >= 44
    plus.tap()
    plus.tap()
    assert page.input_value("#id_good") == "380"
    page.fill("#id_scrap", "15")
    page.fill("#id_rework", "5")

    # A second downtime line comes from the server (htmx) without losing what was typed.
    page.fill("#id_downtime-0-reason", "Horno frío")
    page.fill("#id_downtime-0-minutes", "45")
    page.click("button[name=add_downtime]")
    page.wait_for_selector("#id_downtime-1-reason")
    assert page.input_value("#id_good") == "380"
    page.select_option("#id_downtime-1-category", "minor_stop")
    page.fill("#id_downtime-1-reason", "Atasco en la cinta")
    page.fill("#id_downtime-1-minutes", "15")
    page.fill("#id_handover_note", "Falta harina para el turno de la tarde")

    # Bob is listed (he records); Alice is found by name among the organisation's members
    # (the server answers a few matches, never the whole list) and joins the crew.
    assert page.locator("#crew-list input[name=workers]").count() == 1
    page.fill("#id_worker_q", "Alic")
    alice_box = page.locator(
        f"#worker-results input[type=checkbox][value='{line.world.alice_m.pk}']"
    )
    alice_box.wait_for()
    alice_box.check()
    assert page.locator(
        f"#crew-list input[type=checkbox][value='{line.world.alice_m.pk}']"
    ).is_checked()

    page.click("[data-testid=save-entry]")
    page.wait_for_url("**/production/entries/**")
    assert "Registro guardado" in page.content()

    entry = LogEntry.objects.get()
    assert (entry.good, entry.rework, entry.scrap) == (380, 5, 15)
    assert (entry.unplanned_downtime_minutes, entry.minor_stop_minutes) == (45, 15)
    assert entry.recorded_by == line.world.bob
    assert set(entry.worker_rows.values_list("membership", flat=True)) == {
        line.world.bob_m.pk,
        line.world.alice_m.pk,
    }

    # Bob was on the crew: he co-signs from the same page.
    page.click("[data-testid=sign]")
    page.wait_for_load_state()
    assert entry.signatures.get().membership == line.world.bob_m
    # The page fits the phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
