"""Two phones in one assembly: the facilitator (alice) and a worker (bob) see every step live,
without reloading: check-in, a raised hand, the call to speak, a round, a block, the hold."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from assemblies import services
from tests import factories


def _login(page: Any, base: str, username: str) -> None:
    # conftest's login() clicks the first submit button on the page, which is the header's
    # language switch; submit the login form itself and wait until it has gone through.
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", factories.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda u: "/accounts/login/" not in u)


@pytest.mark.browser
def test_worker_blocks_and_both_screens_follow_live(
    world: Any, asgi_server: str, phone: Any
) -> None:
    assembly = services.assembly_create(
        actor=world.alice,
        organization=world.org,
        title="Asamblea del horno",
        starts_at=timezone.now(),
        place="Patio",
    )
    services.assembly_open(actor=world.alice, assembly=assembly)
    item = services.agenda_item_propose(
        actor=world.bob, assembly=assembly, title="Horario de diciembre", kind="decision"
    )
    services.agenda_item_set_current(actor=world.alice, item=item)
    services.attendance_check_in(actor=world.alice, assembly=assembly)
    url = f"{asgi_server}/assemblies/{assembly.uuid}/"

    alice = phone()
    _login(alice, asgi_server, "alice")
    alice.goto(url)
    bob = phone()
    _login(bob, asgi_server, "bob")
    bob.goto(url)
    for page in (alice, bob):
        expect(page.locator("#live")).to_have_attribute("data-live-state", "open")
        expect(page.get_by_test_id("current-item")).to_contain_text("Horario de diciembre")
    expect(alice.get_by_test_id("present-count")).to_have_attribute("data-present", "1")

    # The worker checks in from the phone: both screens count two present.
    bob.get_by_test_id("check-in").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("present-count")).to_have_attribute("data-present", "2")
    expect(bob.get_by_test_id("me-present")).to_be_visible()

    # ... raises a hand: the facilitator's queue shows it, the worker sees their place.
    bob.get_by_test_id("hand-raise").click()
    expect(alice.get_by_test_id("queue")).to_contain_text("Bob Blanco")
    mine = f'ol.queue li[data-member="{world.bob_m.uuid}"] .me-only'
    expect(bob.locator(mine)).to_be_visible()
    expect(alice.locator(mine)).to_be_hidden()  # "you" is marked on bob's screen only
    expect(bob.get_by_test_id("flash")).to_contain_text("1")

    # The facilitator gives the floor: both screens show the speaker.
    alice.get_by_test_id("speaker-next").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("speaker")).to_contain_text("Bob Blanco")
        expect(page.get_by_test_id("queue")).not_to_contain_text("Bob Blanco")
    expect(bob.get_by_test_id("speaker-next")).to_be_hidden()  # not a facilitator

    # The worker makes a proposal from the phone; a round opens.
    bob.locator("summary", has_text="propuesta").click()
    bob.locator("#proposal_title").fill("Abrir a las 6")
    bob.locator("#proposal_text").fill("Abrimos a las 6.")
    bob.get_by_test_id("proposal-create").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("proposal")).to_contain_text("Abrir a las 6")
    expect(bob.get_by_test_id("round-open")).to_be_hidden()
    alice.get_by_test_id("round-open").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("round")).to_be_visible()

    # The worker blocks, with a reason: both screens show the block.
    alice.get_by_test_id("stance-agree").click()
    bob.locator("#stance-text").fill("Nadie llega a las 6: no hay bus")
    bob.get_by_test_id("stance-block").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("blocks")).to_contain_text("no hay bus")
        expect(page.locator('[data-testid="tally"] [data-stance="block"]')).to_contain_text("1")
        expect(page.locator('[data-testid="tally"] [data-stance="agree"]')).to_contain_text("1")

    # The facilitator closes the round: the proposal is held on both screens.
    alice.get_by_test_id("round-close").click()
    for page in (alice, bob):
        expect(page.get_by_test_id("proposal-status")).to_have_attribute("data-status", "held")
        expect(page.get_by_test_id("no-round")).to_be_visible()
    assembly.refresh_from_db()
    assert assembly.proposals.get().status == "held"
    # Nothing was reloaded: the pages still carry the seq they advanced to live.
    assert int(bob.locator("#live").get_attribute("data-seq")) == assembly.last_seq
