"""Real Chromium: the organisation publishes approved minutes to its federation and a
reviewer finds them, asks for the PDF (rendered by the worker, never the web process) and
downloads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assemblies.minutes import pdf, worker
from tests import factories
from tests.assemblies.minutes.conftest import BLOCK_REASON, approve_by_signatures, hold_assembly


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    # Submit the login form itself (the header's language buttons are submit buttons too).
    page.press("#id_password", "Enter")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_publish_minutes_and_reviewer_downloads_the_pdf(
    live_server: Any, world: Any, phone: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MINUTES_WORKER = "external"  # the test plays the worker process
    settings.MEDIA_ROOT = tmp_path / "media"
    record = hold_assembly(world)
    version = approve_by_signatures(world, record.minutes)
    base = live_server.url

    alice = phone()
    login(alice, base, "alice")
    alice.goto(f"{base}/minutes/{record.minutes.uuid}/")
    alice.click(f"[data-testid=publish-{world.federation.slug}]")
    alice.wait_for_load_state()
    assert "Red Central" in alice.inner_text("main")
    assert alice.locator(f"[data-testid=publish-{world.federation.slug}]").count() == 0

    rosa = phone()
    login(rosa, base, "rosa")
    rosa.goto(f"{base}/f/{world.federation.slug}/review/")
    rosa.click("text=Asamblea de noviembre")
    rosa.wait_for_load_state()
    assert BLOCK_REASON in rosa.inner_text("main")
    rosa.click("[data-testid=pdf-request]")
    rosa.wait_for_selector("#job-progress[data-status=queued]")
    assert worker.run_pending() == 1
    # The page polls the job and offers the file once the worker is done.
    rosa.wait_for_selector("[data-testid=download]", timeout=15_000)
    with rosa.expect_download() as info:
        rosa.click("[data-testid=download]")
    data = Path(info.value.path()).read_bytes()
    text = " ".join(pdf.pdf_text(data).split())
    assert BLOCK_REASON in text
    assert version.hash in text.replace(" ", "")
