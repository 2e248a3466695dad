"""Web pages: phone-first, htmx actions, and the same forms without JavaScript."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from assemblies import services
from assemblies.models import Assembly, Attendance, SpeakingRequest
from tests import factories
from tests.assemblies.helpers import everyone_in, open_assembly, with_item


@pytest.fixture(autouse=True)
def english(settings: Any) -> Any:
    """Assertions read the English source messages; Spanish is the default language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


HX = {"HTTP_HX_REQUEST": "true"}


def _do(
    client: Client, a: Assembly, action: str, data: dict[str, Any] | None = None, **kw: Any
) -> Any:
    return client.post(f"/assemblies/{a.uuid}/do/{action}/", data or {}, **kw)


def test_members_list_and_call_an_assembly(world: Any, bob_client: Client) -> None:
    r = bob_client.get(f"/o/{world.org.slug}/assemblies/new/")
    assert r.status_code == 200
    bad = bob_client.post(
        f"/o/{world.org.slug}/assemblies/new/", {"title": "", "starts_at": "nope"}
    )
    assert bad.status_code == 200 and b"errorlist" in bad.content or b"error" in bad.content
    r = bob_client.post(
        f"/o/{world.org.slug}/assemblies/new/",
        {"title": "Asamblea de Bob", "starts_at": "2026-12-01T09:00", "place": "Patio"},
    )
    a = Assembly.objects.get(title="Asamblea de Bob")
    assert r.status_code == 302 and r["Location"] == f"/assemblies/{a.uuid}/"
    listing = bob_client.get(f"/o/{world.org.slug}/assemblies/")
    assert b"Asamblea de Bob" in listing.content


def test_other_organisation_gets_404_everywhere(world: Any, charlie_client: Client) -> None:
    a = open_assembly(world)
    for url in ("", "regions/", "stats/", "members/?q=bob"):
        assert charlie_client.get(f"/assemblies/{a.uuid}/{url}").status_code == 404
    assert _do(charlie_client, a, "check_in").status_code == 404
    assert charlie_client.get(f"/o/{world.org.slug}/assemblies/").status_code == 404
    assert charlie_client.get(f"/o/{world.org.slug}/assemblies/new/").status_code == 404


def test_live_page_carries_the_live_container_and_marks_only_me(
    world: Any, bob_client: Client
) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    page = bob_client.get(f"/assemblies/{a.uuid}/").content.decode()
    assert f'data-assembly="{a.uuid}"' in page and f'data-seq="{a.last_seq}"' in page
    assert f'data-ws="/ws/assemblies/{a.uuid}/"' in page and "js/live.js" in page
    assert f'[data-member="{world.bob_m.uuid}"]' in page  # my own highlighting rule
    assert ".fac-only { display: none !important; }" in page  # bob holds no mandate
    assert 'data-testid="facilitator-panel"' not in page
    assert a.code not in page  # the room code is shown to facilitators only


def test_facilitator_sees_controls_and_the_room_code(world: Any, alice_client: Client) -> None:
    a = open_assembly(world)
    page = alice_client.get(f"/assemblies/{a.uuid}/").content.decode()
    assert 'data-testid="facilitator-panel"' in page and a.code in page
    assert ".fac-only { display: none" not in page


def test_htmx_action_returns_my_panel_and_message(world: Any, bob_client: Client) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    r = _do(bob_client, a, "hand_raise", {"kind": "normal"}, **HX)
    body = r.content.decode()
    assert r.status_code == 200 and r["X-Action-Status"] == "200"
    assert 'id="live-me"' in body and "number 1" in body
    assert 'id="live-queue" class="live-region" hx-swap-oob="true"' in body  # no socket header
    quiet = _do(bob_client, a, "hand_lower", {}, **HX, HTTP_X_LIVE_CONNECTED="1")
    assert 'id="live-queue"' not in quiet.content.decode()  # the socket brings shared regions
    assert not SpeakingRequest.objects.filter(state="waiting").exists()


def test_refused_actions_explain_why(world: Any, bob_client: Client) -> None:
    a = open_assembly(world)
    with_item(world, a)
    r = _do(bob_client, a, "speaker_next", None, **HX)
    assert r["X-Action-Status"] == "403" and "mandate" in r.content.decode()
    r = _do(bob_client, a, "hand_raise", {"kind": "normal"}, **HX)
    assert r["X-Action-Status"] == "400" and "Check in first" in r.content.decode()
    r = _do(bob_client, a, "position", {"round": "not-a-uuid", "stance": "agree"}, **HX)
    assert r.status_code == 404
    r = _do(bob_client, a, "hand_raise", {"kind": "scream"}, **HX)
    assert r["X-Action-Status"] == "400"
    assert _do(bob_client, a, "no_such_action").status_code == 404
    assert bob_client.get(f"/assemblies/{a.uuid}/do/check_in/").status_code == 405


def test_without_javascript_forms_post_and_come_back(world: Any, bob_client: Client) -> None:
    a = open_assembly(world)
    r = _do(bob_client, a, "check_in", {"code": ""})
    assert r.status_code == 302 and r["Location"] == f"/assemblies/{a.uuid}/"
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).exists()
    page = bob_client.get(r["Location"]).content.decode()
    assert "You are checked in." in page
    again = _do(bob_client, a, "check_in", {"code": ""}, follow=True).content.decode()
    assert "already checked in" in again


def test_without_javascript_the_shared_forms_carry_the_csrf_token(world: Any) -> None:
    """The live regions are rendered once for everyone, without a token; the page load
    adds this person's token to every form, so a browser without scripts can post them."""
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    services.proposal_create(
        actor=world.bob, assembly=a, title="Pan integral", text="Hacemos pan integral"
    )
    p = a.proposals.get()
    services.round_open(actor=world.alice, proposal=p)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.bob)
    page = browser.get(f"/assemblies/{a.uuid}/").content.decode()
    form = re.search(
        r'<form[^>]*action="(/assemblies/[^"]+/do/position/)"[^>]*>(.*?)</form>', page, re.S
    )
    assert form is not None
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.group(2))
    assert token is not None
    rnd = re.search(r'name="round" value="([^"]+)"', form.group(2))
    assert rnd is not None
    r = browser.post(
        form.group(1),
        {"csrfmiddlewaretoken": token.group(1), "round": rnd.group(1), "stance": "agree"},
    )
    assert r.status_code == 302
    assert p.rounds.get().positions.filter(membership=world.bob_m).exists()
    # Without the token the same post is refused: the check is real.
    refused = browser.post(form.group(1), {"round": rnd.group(1), "stance": "agree"})
    assert refused.status_code == 403


def test_full_round_through_the_page_actions(
    world: Any, alice_client: Client, bob_client: Client
) -> None:
    a = open_assembly(world)
    item = with_item(world, a)
    everyone_in(world, a)
    _do(bob_client, a, "proposal_create", {"title": "Pan integral", "text": "Hacemos pan integral"})
    p = a.proposals.get()
    assert p.item == item
    _do(alice_client, a, "round_open", {"proposal": str(p.uuid)})
    rnd = p.rounds.get()
    r = _do(
        bob_client,
        a,
        "position",
        {"round": str(rnd.uuid), "stance": "concern", "text": "Harina"},
        **HX,
    )
    assert "Concern" in r.content.decode()
    r = _do(bob_client, a, "position", {"round": str(rnd.uuid), "stance": "agree"}, **HX)
    assert "replaces" in r.content.decode()
    _do(alice_client, a, "position", {"round": str(rnd.uuid), "stance": "agree"})
    r = _do(alice_client, a, "round_close", {"round": str(rnd.uuid)}, follow=True)
    assert "consensus" in r.content.decode().lower()
    p.refresh_from_db()
    assert p.status == "adopted" and p.decision is not None


def test_facilitator_checks_in_someone_found_by_name(world: Any, alice_client: Client) -> None:
    a = open_assembly(world)
    r = alice_client.get(f"/assemblies/{a.uuid}/members/?q=Bob")
    assert b"Bob Blanco" in r.content and str(world.bob_m.uuid).encode() in r.content
    _do(alice_client, a, "check_in_member", {"membership": str(world.bob_m.uuid)}, **HX)
    assert Attendance.objects.get(membership=world.bob_m).method == "facilitator"
    r = _do(alice_client, a, "check_in_member", {"membership": str(world.charlie_m.uuid)}, **HX)
    assert r["X-Action-Status"] == "400"


def test_member_search_is_for_facilitators(world: Any, bob_client: Client) -> None:
    a = open_assembly(world)
    assert bob_client.get(f"/assemblies/{a.uuid}/members/?q=alice").status_code == 403


def test_agenda_items_move_and_become_current(
    world: Any, alice_client: Client, bob_client: Client
) -> None:
    a = open_assembly(world)
    _do(bob_client, a, "item_propose", {"title": "Uno", "kind": "discussion"})
    _do(
        bob_client,
        a,
        "item_propose",
        {"title": "Dos", "kind": "information", "time_box_minutes": "5"},
    )
    dos = a.items.get(title="Dos")
    _do(alice_client, a, "item_move", {"item": str(dos.uuid), "direction": "up"})
    assert list(a.items.order_by("order").values_list("title", flat=True)) == ["Dos", "Uno"]
    _do(alice_client, a, "item_current", {"item": str(dos.uuid)})
    a.refresh_from_db()
    assert a.current_item == dos
    # The current item's time box runs on every screen: 5 minutes from when it started.
    page = bob_client.get(f"/assemblies/{a.uuid}/").content.decode()
    timer = re.search(r'<span class="timer" data-testid="item-timer"[^>]*>', page)
    assert timer is not None and 'data-limit="300"' in timer.group(0)
    assert 'data-started="' in timer.group(0)


def test_stats_page_hides_small_groups(world: Any, alice_client: Client) -> None:
    world.bob_m.attributes = {"género": "hombre"}
    world.bob_m.save()
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    services.speaker_add(actor=world.bob, assembly=a)
    services.speaker_next(actor=world.alice, assembly=a)
    page = alice_client.get(f"/assemblies/{a.uuid}/stats/").content.decode()
    assert "Bob Blanco" in page and "hombre" not in page


def test_federation_assembly_pages(world: Any, rosa_client: Client, charlie_client: Client) -> None:
    r = rosa_client.post(
        f"/f/{world.federation.slug}/assemblies/new/",
        {"title": "Red en pleno", "starts_at": "2026-12-01T09:00"},
    )
    assert r.status_code == 302
    a = Assembly.objects.get(title="Red en pleno")
    assert charlie_client.get(f"/assemblies/{a.uuid}/").status_code == 200
    assert b"Red en pleno" in charlie_client.get(f"/f/{world.federation.slug}/assemblies/").content
    outsider = factories.make_user("olga")
    factories.found_org("Aparte", [outsider])
    c = Client()
    c.force_login(outsider)
    assert c.get(f"/assemblies/{a.uuid}/").status_code == 404


def test_live_page_queries_do_not_grow_with_the_room(
    world: Any, bob_client: Client, django_assert_max_num_queries: Any
) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    for i in range(25):
        u = factories.make_user(f"crowd{i}")
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
        services.speaker_add(actor=u, assembly=a)
    with django_assert_max_num_queries(45):
        r = bob_client.get(f"/assemblies/{a.uuid}/")
    assert r.status_code == 200


def test_a_check_in_event_does_not_grow_with_the_room(world: Any) -> None:
    """Each check-in re-renders the attendance region for everyone and stores it in the
    log: its size must not depend on how many are already present."""
    a = open_assembly(world)

    def check_in_event_size(name: str) -> int:
        u = factories.make_user(name)
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
        return len(a.events.order_by("-seq").first().html)  # type: ignore[union-attr]

    early = [check_in_event_size(f"early{i}") for i in range(10)]
    for i in range(60):
        check_in_event_size(f"crowd{i}")
    late = check_in_event_size("late")
    assert late <= max(early) + 200  # names differ in length; the list does not grow


def test_everyone_present_is_one_request_away(
    world: Any, bob_client: Client, alice_client: Client, charlie_client: Client
) -> None:
    a = open_assembly(world)
    everyone_in(world, a)
    for i in range(12):
        u = factories.make_user(f"crowd{i}")
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
    url = f"/assemblies/{a.uuid}/attendance/"
    page = bob_client.get(url).content.decode()
    assert page.count("<li data-member=") == 14 and "Crowd11" in page and "Bob" in page
    assert "check_out_member" not in page  # bob holds no mandate
    fragment = alice_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and fragment.count("check_out_member") == 14
    assert charlie_client.get(url).status_code == 404


def test_times_show_in_the_organisation_time_zone(world: Any, alice_client: Client) -> None:
    world.org.time_zone = "America/Caracas"
    world.org.save()
    a = services.assembly_create(
        actor=world.alice,
        organization=world.org,
        title="Hora local",
        starts_at=datetime(2026, 12, 1, 13, 0, tzinfo=UTC),
    )
    alice_client.get(f"/o/{world.org.slug}/")  # remembers the organisation's time zone
    page = alice_client.get(f"/assemblies/{a.uuid}/").content.decode()
    assert "09:00" in page  # 13:00 UTC is 09:00 in Caracas


def test_page_shows_who_facilitates_and_the_rules(world: Any, bob_client: Client) -> None:
    a = open_assembly(world)
    page = bob_client.get(f"/assemblies/{a.uuid}/").content.decode()
    assert 'data-testid="mandates"' in page and "Alice Aponte" in page
    assert 'data-testid="rules"' in page and "Consensus" in page


def test_room_card_shows_code_and_qr_to_facilitators_only(
    world: Any, alice_client: Client, bob_client: Client, charlie_client: Client
) -> None:
    a = open_assembly(world, require_code=True)
    r = alice_client.get(f"/assemblies/{a.uuid}/room/")
    assert r.status_code == 200
    page = r.content.decode()
    assert a.code in page and 'src="data:image/svg+xml;base64,' in page
    assert f"/assemblies/{a.uuid}/?code={a.code}" in page
    assert bob_client.get(f"/assemblies/{a.uuid}/room/").status_code == 403
    assert charlie_client.get(f"/assemblies/{a.uuid}/room/").status_code == 404
    # Scanning it: the phone's check-in form arrives with the code filled in, and it works.
    page = bob_client.get(f"/assemblies/{a.uuid}/?code={a.code.lower()}").content.decode()
    assert f'value="{a.code}"' in page
    assert 'value="<' not in bob_client.get(f"/assemblies/{a.uuid}/?code=%3Cb%3E").content.decode()
    _do(bob_client, a, "check_in", {"code": a.code})
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).exists()
