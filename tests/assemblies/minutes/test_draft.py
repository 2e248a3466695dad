"""The draft as it was: quorum frozen while the assembly ran (later membership changes move
neither the minutes nor the signatures collected), and an agenda item's production report
carried into the minutes, their hash and their PDF."""

from __future__ import annotations

import json
import uuid
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django.test import Client
from django.utils import timezone

from assemblies import services as live
from assemblies.minutes import pdf, selectors, services, worker
from assemblies.models import Assembly, MinutesRenderJob
from governance import services as gov
from governance.models import Mandate, Membership
from production import services as production
from tests import factories
from tests.assemblies.helpers import everyone_in, open_assembly
from tests.assemblies.minutes.conftest import approve_by_signatures, end_amendment_window


def _newcomers(world: Any, n: int) -> list[Membership]:
    """People who join the organisation today, after the assembly."""
    return [
        factories.add_member(
            world.org,
            factories.make_user(f"nueva{i}", f"Nueva{i}"),
            joined_on=timezone.localdate(),
            status_since=timezone.localdate(),
        )
        for i in range(n)
    ]


def _adopt_rules(world: Any, **rules: Any) -> None:
    decision = gov.decision_record(
        actor=world.alice, organization=world.org, title="Reglas", text="Reglas", body="Asamblea"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=decision,
        valid_from=timezone.now() - timedelta(seconds=1),
        **rules,
    )


# --- Quorum ---------------------------------------------------------------------------------


def test_later_membership_changes_leave_the_draft_and_its_signatures_alone(
    world: Any, record: Any
) -> None:
    _adopt_rules(world, minutes_approval="signatures", minutes_signatures_required=2)
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    before = selectors.draft_content(minutes=minutes)
    assert before["quorum"]["active_members"] == 2 and before["quorum"]["reached"] is True
    assert services.minutes_sign(actor=world.alice, minutes=minutes) is None
    # Membership moves on after the assembly: people join, bob takes leave.
    _newcomers(world, 3)
    gov.membership_set_status(actor=world.bob, membership=world.bob_m, status="on_leave")
    after = selectors.draft_content(minutes=minutes)
    assert after["quorum"] == before["quorum"]
    # Alice's signature still holds: bob's completes the approval.
    version = services.minutes_sign(actor=world.bob, minutes=minutes)
    assert version is not None
    assert json.loads(version.content)["quorum"] == before["quorum"]


def test_quorum_counts_who_was_in_the_room_when_deciding(world: Any) -> None:
    """Not everyone who came at some point: bob left before the round was closed."""
    _adopt_rules(world, quorum_minimum=2)
    dora = factories.make_user("dora", "Dora")
    factories.add_member(world.org, dora)
    factories.grant(world.alice_m, Mandate.Role.MINUTE_TAKER)
    a = open_assembly(world)
    everyone_in(world, a)
    live.attendance_check_in(actor=dora, assembly=a, code=a.code)
    live.attendance_check_out(actor=world.bob, assembly=a)
    item = live.agenda_item_propose(actor=world.alice, assembly=a, title="Turnos")
    live.agenda_item_set_current(actor=world.alice, item=item)
    a.refresh_from_db()
    p = live.proposal_create(actor=world.alice, assembly=a, title="Turnos", text="Rotamos.")
    r = live.round_open(actor=world.alice, proposal=p)
    live.position_state(actor=world.alice, round=r, stance="agree")
    live.round_close(actor=world.alice, round=r)
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    live.assembly_close(actor=world.alice, assembly=a)
    content = selectors.draft_content(minutes=minutes)
    assert content["attendance"]["present_count"] == 3  # all who came are on the list
    quorum = content["quorum"]
    assert (quorum["present"], quorum["required"], quorum["active_members"]) == (2, 2, 3)
    assert quorum["reached"] is True
    assert [(c["kind"], c["title"], c["present"]) for c in quorum["checks"]] == [
        ("consensus", "Turnos", 2)
    ]
    page = Client()
    page.force_login(world.alice)
    html = page.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="quorum-checks"' in html


def test_an_assembly_that_decided_nothing_keeps_its_quorum(world: Any) -> None:
    """No round or vote froze the count: it is read from the membership dates of the day."""
    a = open_assembly(world)
    everyone_in(world, a)
    factories.grant(world.alice_m, Mandate.Role.MINUTE_TAKER)
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    live.attendance_check_out(actor=world.bob, assembly=a)
    live.attendance_check_in(actor=world.bob, assembly=a, code=a.code)
    live.assembly_close(actor=world.alice, assembly=a)
    days_ago = timezone.now() - timedelta(days=3)
    Assembly.objects.filter(pk=a.pk).update(starts_at=days_ago, closed_at=days_ago)
    minutes.refresh_from_db()
    before = selectors.draft_content(minutes=minutes)
    _newcomers(world, 2)
    gov.membership_set_status(actor=world.bob, membership=world.bob_m, status="on_leave")
    minutes.refresh_from_db()
    quorum = selectors.draft_content(minutes=minutes)["quorum"]
    assert quorum == before["quorum"]
    # Bob stepped out and came back: two people at most were in the room at once.
    assert (quorum["present"], quorum["active_members"], quorum["required"]) == (2, 2, 2)
    assert quorum["reached"] is True and quorum["source"] == "attendance"


# --- Production report attached to an agenda item ------------------------------------------


def _production_day(world: Any) -> None:
    """A bakery line with one recorded shift: 380 good loaves on 10 March 2025."""
    factories.grant(world.alice_m, Mandate.Role.LINE_COORDINATOR)
    org, alice = world.org, world.alice
    oven = production.work_centre_create(actor=alice, organization=org, code="oven", name="Horno 1")
    bread = production.product_create(
        actor=alice,
        organization=org,
        code="bread",
        name="Pan",
        unit="piece",
        ideal_cycle_seconds=Decimal(60),
    )
    day = production.shift_create(
        actor=alice, organization=org, code="day", name="Mañana", start=time(6), end=time(14)
    )
    production.entry_submit(
        actor=alice,
        organization=org,
        data=production.EntryData(
            work_centre=oven,
            shift=day,
            product=bread,
            shift_date=date(2025, 3, 10),
            good=380,
            rework=5,
            scrap=15,
        ),
        idempotency_key=uuid.uuid4(),
    )


def test_attached_production_report_is_part_of_the_minutes(
    world: Any, alice_client: Client
) -> None:
    _production_day(world)
    factories.grant(world.alice_m, Mandate.Role.MINUTE_TAKER)
    a = open_assembly(world)
    everyone_in(world, a)
    live.agenda_item_propose(
        actor=world.bob,
        assembly=a,
        title="Producción de marzo",
        kind="information",
        attachment={"kind": "production_report", "start": "2025-03-01", "end": "2025-03-31"},
    )
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    live.assembly_close(actor=world.alice, assembly=a)
    content = selectors.draft_content(minutes=minutes)
    attachment = content["items"][0]["attachment"]
    assert attachment["kind"] == "production_report"
    assert attachment["params"]["start"] == "2025-03-01"
    assert "380" in attachment["html"] and "Horno 1" in attachment["html"]
    assert "<svg" in attachment["html"] and "<script" not in attachment["html"]
    # Charts carry no random ids: reading the draft twice gives the same hash to sign.
    assert selectors.draft_hash(minutes=minutes) == selectors.draft_hash(minutes=minutes)
    page = alice_client.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="minutes-attachment"' in page and "Horno 1" in page
    version = approve_by_signatures(world, minutes)
    document = selectors.document_for(version)
    assert "380" in document["content"]["items"][0]["attachment"]["html"]
    html = pdf.render_html(document, verify_url="")
    assert "Horno 1" in html and 'class="attachment"' in html
    job = services.pdf_request(actor=world.alice, version=version, base_url="http://testserver")
    assert worker.run_pending() == 1
    job.refresh_from_db()
    assert job.status == MinutesRenderJob.Status.DONE, job.error
    text = pdf.pdf_text(worker.file_path(job).read_bytes())
    assert "Horno 1" in text and "380" in text
    page = alice_client.get(f"/minutes/versions/{version.uuid}/").content.decode()
    assert 'data-testid="minutes-attachment"' in page and "Horno 1" in page


def test_items_without_attachment_carry_none(world: Any, record: Any) -> None:
    content = selectors.draft_content(minutes=record.minutes)
    assert [i["attachment"] for i in content["items"]] == [None, None]
