"""A worker on a phone: logs in, sees the organisation in Spanish, switches to English and
sees the current mandates with their end dates."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from governance.models import Mandate, Membership
from tests.e2e.conftest import login


@pytest.mark.browser
def test_phone_login_spanish_then_english_with_mandates(live_server, transactional_db, phone):
    call_command("seed_demo", "--small", stdout=StringIO())
    org = Membership.objects.get(person__username="ana").organization
    page = phone()
    login(page, live_server.url, "ana", "demo-asamblea")

    assert page.locator("h1").inner_text() == org.name
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.get_by_role("heading", name="Mandatos vigentes").is_visible()
    assert page.get_by_role("link", name="Registrar una decisión").is_visible()

    page.click("[data-testid=lang-en]")
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_role("heading", name="Current mandates").is_visible()
    rows = page.locator("[data-testid=mandate-row]")
    current = Mandate.objects.filter(membership__organization=org, revoked_at__isnull=True)
    current_count = sum(1 for m in current if m.is_active())
    assert rows.count() == current_count > 0
    assert "Facilitator" in rows.first.inner_text() or "Facilitator" in page.content()
    assert "Ana Colmenárez" in page.locator("#mandates").inner_text()
    # Nothing overflows a 390 px screen sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


@pytest.mark.browser
def test_phone_worker_without_mandate_sees_no_mandate_actions(live_server, transactional_db, phone):
    call_command("seed_demo", "--small", stdout=StringIO())
    page = phone()
    login(page, live_server.url, "beto", "demo-asamblea")
    assert page.get_by_role("heading", name="Mis mandatos").is_visible()
    assert page.get_by_text("Ahora no tienes ningún mandato").is_visible()
    assert page.get_by_role("link", name="Registrar una decisión").count() == 0
    page.fill("#q", "Fundación")
    page.wait_for_timeout(700)  # htmx debounce, then the partial swap
    assert page.locator("[data-testid=decision]").count() == 1
