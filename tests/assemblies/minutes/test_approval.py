"""Notes, amendment window, approval by the rule in force, immutability, corrections."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from assemblies import services as live
from assemblies.minutes import selectors, services
from assemblies.models import AssemblyEvent, Minutes, MinutesVersion
from governance.models import Decision
from tests import factories
from tests.assemblies.helpers import open_assembly
from tests.assemblies.minutes.conftest import (
    BLOCK_REASON,
    approve_by_signatures,
    end_amendment_window,
)


def _next_assembly(world: Any) -> Any:
    nxt = open_assembly(world)
    live.attendance_check_in(actor=world.alice, assembly=nxt, code=nxt.code)
    live.attendance_check_in(actor=world.bob, assembly=nxt, code=nxt.code)
    return nxt


def test_draft_holds_the_record_of_the_assembly(world: Any, record: Any) -> None:
    content = selectors.draft_content(minutes=record.minutes)
    assert content["attendance"]["present_count"] == 2
    assert {p["name"] for p in content["attendance"]["present"]} == {"Alice Aponte", "Bob Blanco"}
    assert all(p["checked_in_at"] for p in content["attendance"]["present"])
    assert content["quorum"]["reached"] is True
    assert content["facilitators"] == ["Alice Aponte"]
    assert content["minute_takers"] == ["Alice Aponte"]
    first, second = content["items"]
    adopted = first["proposals"][0]
    assert adopted["text"] == "Abrimos a las 6:30."
    assert [v["text"] for v in adopted["versions"]] == ["Abrimos a las 6.", "Abrimos a las 6:30."]
    rnd = adopted["rounds"][0]
    assert rnd["agree"] == 1
    assert rnd["concerns"] == [
        {"name": "Bob Blanco", "text": "El autobús llega tarde", "addressed": ""}
    ]
    assert first["decisions"][0]["number"] == record.adopted.decision.number
    assert first["notes"] == "Se habló del bus."
    assert first["tasks"][0]["responsible"] == "Bob Blanco" and first["tasks"][0]["due"]
    blocks = second["proposals"][0]["rounds"][0]["blocks"]
    assert blocks == [{"name": "Bob Blanco", "reason": BLOCK_REASON}]
    assert second["proposals"][0]["status"] == "held"


def test_secret_vote_appears_as_tallies_only(world: Any) -> None:
    from governance import services as gov

    d = gov.decision_record(
        actor=world.alice, organization=world.org, title="R", text="R", body="A"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=d,
        valid_from=timezone.now() - timedelta(seconds=1),
        decision_rule="majority",
    )
    factories.grant(world.alice_m, "minute_taker")
    a = open_assembly(world)
    live.attendance_check_in(actor=world.alice, assembly=a, code=a.code)
    live.attendance_check_in(actor=world.bob, assembly=a, code=a.code)
    item = live.agenda_item_propose(actor=world.bob, assembly=a, title="Fondo", kind="decision")
    live.agenda_item_set_current(actor=world.alice, item=item)
    a.refresh_from_db()
    p = live.proposal_create(actor=world.bob, assembly=a, title="Fondo", text="10 %")
    v = live.vote_open(actor=world.alice, proposal=p, secret=True)
    live.ballot_cast(actor=world.alice, vote=v, choice="yes")
    live.ballot_cast(actor=world.bob, vote=v, choice="no")
    live.vote_close(actor=world.alice, vote=v)
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    rnd = selectors.draft_content(minutes=minutes)["items"][0]["proposals"][0]["rounds"][0]
    assert rnd["vote"] == {
        "secret": True,
        "rule": "majority",
        "threshold_percent": 50,
        "fallback": False,
        "yes": 1,
        "no": 1,
        "abstain": 0,
    }
    assert "Bob" not in json.dumps(rnd)


def test_notes_reach_participants_live(world: Any, record: Any) -> None:
    events = AssemblyEvent.objects.filter(assembly=record.assembly, kind="minutes.notes")
    assert events.exists()
    last = events.order_by("-seq").first()
    assert last is not None
    assert 'id="live-notes"' in last.html and "Falta presupuesto." in last.html


def test_worker_without_mandate_cannot_write_the_minutes(world: Any, record: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.minutes_notes_set(actor=world.bob, minutes=record.minutes, text="mío")
    with pytest.raises(PermissionDenied):
        services.minutes_review_open(actor=world.bob, minutes=record.minutes)


def test_corrections_only_from_attendees_within_the_window(world: Any, record: Any) -> None:
    with pytest.raises(ValidationError):  # not circulated yet
        services.correction_propose(actor=world.bob, minutes=record.minutes, text="Falta algo")
    services.minutes_review_open(actor=world.alice, minutes=record.minutes)
    absent = factories.make_user("dora", "Dora")
    factories.add_member(world.org, absent)
    with pytest.raises(PermissionDenied):
        services.correction_propose(actor=absent, minutes=record.minutes, text="Yo no estaba")
    c = services.correction_propose(actor=world.bob, minutes=record.minutes, text="Eran las 6:30")
    with pytest.raises(ValidationError):  # a pending correction holds the approval
        approve_by_signatures(world, record.minutes)
    services.correction_resolve(actor=world.alice, correction=c, accept=True)
    Minutes.objects.filter(pk=record.minutes.pk).update(
        amendment_until=timezone.now() - timedelta(seconds=1)
    )
    record.minutes.refresh_from_db()
    with pytest.raises(ValidationError):
        services.correction_propose(actor=world.bob, minutes=record.minutes, text="Tarde")
    content = selectors.draft_content(minutes=record.minutes)
    assert content["corrections"][0]["text"] == "Eran las 6:30"


def test_rejecting_a_correction_needs_a_reason(world: Any, record: Any) -> None:
    services.minutes_review_open(actor=world.alice, minutes=record.minutes)
    c = services.correction_propose(actor=world.bob, minutes=record.minutes, text="No fue así")
    with pytest.raises(ValidationError):
        services.correction_resolve(actor=world.alice, correction=c, accept=False)
    services.correction_resolve(actor=world.alice, correction=c, accept=False, response="Sí fue")


def _decide(world: Any, proposal: Any, *, block: bool = False) -> Any:
    """The assembly holds a consensus round on the proposal (bob blocks when told to)."""
    rnd = live.round_open(actor=world.alice, proposal=proposal)
    live.position_state(actor=world.alice, round=rnd, stance="agree")
    if block:
        live.position_state(actor=world.bob, round=rnd, stance="block", text="Falta el horno")
    else:
        live.position_state(actor=world.bob, round=rnd, stance="agree")
    live.round_close(actor=world.alice, round=rnd)
    proposal.refresh_from_db()
    return proposal


def test_next_assembly_approves_by_a_decision_in_its_register(world: Any, record: Any) -> None:
    minutes = record.minutes
    nxt = _next_assembly(world)
    with pytest.raises(ValidationError):  # not circulated yet
        services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    with pytest.raises(ValidationError):  # the same assembly cannot approve itself
        services.minutes_approval_propose(
            actor=world.alice, minutes=minutes, assembly=record.assembly
        )
    with pytest.raises(PermissionDenied):  # only the next assembly's facilitator puts it
        services.minutes_approval_propose(actor=world.bob, minutes=minutes, assembly=nxt)
    with pytest.raises(ValidationError):  # this organisation's rule is not signatures
        services.minutes_sign(actor=world.bob, minutes=minutes)
    with pytest.raises(ValidationError):  # nothing was put to the assembly: no click approves
        services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)
    proposal = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    assert proposal.assembly_id == nxt.pk and proposal.item.kind == "decision"
    draft = selectors.draft_hash(minutes=minutes)
    assert proposal.current_version is not None and draft in proposal.current_version.text
    with pytest.raises(ValidationError):  # put once is enough
        services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    with pytest.raises(ValidationError):  # not decided yet
        services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)
    _decide(world, proposal)
    decision = proposal.decision
    assert decision is not None and decision.body == nxt.title
    version = services.minutes_approve_at_assembly(actor=world.bob, minutes=minutes)
    approval = json.loads(version.approval)
    assert approval["method"] == "next_assembly"
    assert approval["approving_assembly"]["uuid"] == str(nxt.uuid)
    assert approval["approving_assembly"]["present"] == 2
    assert approval["decision"]["uuid"] == str(decision.uuid)
    assert approval["decision"]["number"] == decision.number
    assert approval["decision"]["proposal"] == str(proposal.uuid)
    assert approval["draft_hash"] == draft
    assert {a["name"] for a in approval["approvers"]} == {"Alice Aponte", "Bob Blanco"}
    assert version.decision_id == decision.pk
    assert Decision.objects.get(pk=decision.pk).attendance["present"] == 2
    minutes.refresh_from_db()
    assert minutes.status == Minutes.Status.APPROVED
    # The decision belongs to the next assembly's record: its own minutes list it.
    nxt_minutes = services.minutes_start(actor=world.alice, assembly=nxt)
    items = selectors.draft_content(minutes=nxt_minutes)["items"]
    assert [d["uuid"] for i in items for d in i["decisions"]] == [str(decision.uuid)]
    assert selectors.chain_problems(organization=world.org) == []


def test_a_blocked_approval_approves_nothing(world: Any, record: Any) -> None:
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    nxt = _next_assembly(world)
    proposal = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    _decide(world, proposal, block=True)
    assert proposal.status == "held"
    with pytest.raises(ValidationError):
        services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)
    minutes.refresh_from_db()
    assert minutes.status == Minutes.Status.REVIEW and not minutes.versions.exists()


def test_an_approval_is_for_the_text_the_assembly_saw(world: Any, record: Any) -> None:
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    nxt = _next_assembly(world)
    proposal = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    _decide(world, proposal)
    # The minute-taker changes the draft after the assembly decided on it.
    services.minutes_notes_set(actor=world.alice, minutes=minutes, text="Añadido después")
    with pytest.raises(ValidationError):
        services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)
    assert not minutes.versions.exists()
    # Put again, the assembly decides on the new text.
    again = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    assert again.pk != proposal.pk
    _decide(world, again)
    version = services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)
    assert json.loads(version.content)["notes"] == "Añadido después"
    assert again.decision is not None
    assert json.loads(version.approval)["decision"]["uuid"] == str(again.decision.uuid)


def test_an_amended_approval_does_not_approve_the_draft(world: Any, record: Any) -> None:
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    nxt = _next_assembly(world)
    proposal = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    live.proposal_amend(actor=world.bob, proposal=proposal, text="Se aprueban salvo el punto 2.")
    _decide(world, proposal)
    with pytest.raises(ValidationError):
        services.minutes_approve_at_assembly(actor=world.alice, minutes=minutes)


def test_approval_pages_put_it_to_the_assembly_and_record_it(
    world: Any, record: Any, alice_client: Any
) -> None:
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    nxt = _next_assembly(world)
    page = alice_client.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="propose-approval"' in page and 'data-testid="approve"' not in page
    r = alice_client.post(f"/minutes/{minutes.uuid}/do/propose_approval/", {"assembly": nxt.uuid})
    assert r.status_code == 302
    minutes.refresh_from_db()
    proposal = minutes.approval_proposal
    assert proposal is not None
    page = alice_client.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="approval-proposal"' in page and 'data-testid="approve"' not in page
    _decide(world, proposal)
    page = alice_client.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="approve"' in page
    alice_client.post(f"/minutes/{minutes.uuid}/do/approve/")
    minutes.refresh_from_db()
    assert minutes.status == Minutes.Status.APPROVED
    version = minutes.versions.get()
    page = alice_client.get(f"/minutes/versions/{version.uuid}/").content.decode()
    assert str(proposal.decision.number) in page and proposal.decision.text[:20] in page


def test_signatures_approve_only_the_text_that_was_signed(world: Any, record: Any) -> None:
    from governance import services as gov

    d = gov.decision_record(
        actor=world.alice, organization=world.org, title="R", text="R", body="A"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=d,
        valid_from=timezone.now() - timedelta(seconds=1),
        minutes_approval="signatures",
        minutes_signatures_required=2,
    )
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    assert services.minutes_sign(actor=world.alice, minutes=minutes) is None
    with pytest.raises(ValidationError):
        services.minutes_sign(actor=world.alice, minutes=minutes)  # twice
    services.minutes_notes_set(actor=world.alice, minutes=minutes, text="Nota añadida")
    # Alice signed an earlier text: bob's signature alone does not approve the new one.
    assert services.minutes_sign(actor=world.bob, minutes=minutes) is None
    version = services.minutes_sign(actor=world.alice, minutes=minutes)
    assert version is not None
    assert json.loads(version.content)["notes"] == "Nota añadida"
    assert [a["name"] for a in json.loads(version.approval)["approvers"]] == [
        "Bob Blanco",
        "Alice Aponte",
    ]


def test_approved_minutes_refuse_changes(world: Any, record: Any) -> None:
    approve_by_signatures(world, record.minutes)
    record.minutes.refresh_from_db()
    with pytest.raises(ValidationError):
        services.minutes_notes_set(actor=world.alice, minutes=record.minutes, text="cambio")
    with pytest.raises(ValidationError):
        services.minutes_task_add(
            actor=world.alice,
            minutes=record.minutes,
            text="x",
            responsible=world.bob_m,
            due_on=timezone.localdate(),
        )


def test_a_correction_is_a_new_version_with_its_reason(world: Any, record: Any) -> None:
    v1 = approve_by_signatures(world, record.minutes)
    minutes = Minutes.objects.get(pk=record.minutes.pk)
    with pytest.raises(ValidationError):
        services.minutes_correction_open(actor=world.alice, minutes=minutes, reason="")
    services.minutes_correction_open(
        actor=world.alice, minutes=minutes, reason="El horario era 6:45"
    )
    services.minutes_notes_set(actor=world.alice, minutes=minutes, text="Corregido: 6:45")
    v2 = approve_by_signatures(world, minutes)
    assert (v2.number, v2.reason, v2.previous_hash) == (2, "El horario era 6:45", v1.hash)
    assert json.loads(v2.content)["minutes"]["reason"] == "El horario era 6:45"
    assert MinutesVersion.objects.get(pk=v1.pk).content == v1.content
    assert selectors.chain_problems(organization=world.org) == []


def test_draft_hash_does_not_depend_on_the_readers_language(world: Any, record: Any) -> None:
    from django.utils import translation

    with translation.override("en"):
        english = selectors.draft_hash(minutes=record.minutes)
    with translation.override("es"):
        spanish = selectors.draft_hash(minutes=record.minutes)
    assert english == spanish


def test_signing_waits_until_the_time_for_corrections_is_over(
    world: Any, record: Any, alice_client: Any
) -> None:
    from governance import services as gov

    d = gov.decision_record(
        actor=world.alice, organization=world.org, title="R", text="R", body="A"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=d,
        valid_from=timezone.now() - timedelta(seconds=1),
        minutes_approval="signatures",
        minutes_signatures_required=1,
    )
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    with translation.override("en"), pytest.raises(ValidationError) as refused:
        services.minutes_sign(actor=world.alice, minutes=minutes)
    assert "corrections until" in " ".join(refused.value.messages)
    assert not minutes.signatures.exists()
    page = alice_client.get(f"/minutes/{minutes.uuid}/").content.decode()
    assert 'data-testid="approval-waits"' in page and 'data-testid="sign"' not in page
    # Bob can still propose a correction: nobody approved the minutes under him.
    c = services.correction_propose(actor=world.bob, minutes=minutes, text="Eran las 6:30")
    services.correction_resolve(actor=world.alice, correction=c, accept=True)
    with pytest.raises(ValidationError):  # every correction answered, but the window is open
        services.minutes_sign(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    version = services.minutes_sign(actor=world.alice, minutes=minutes)
    assert version is not None
    assert json.loads(version.content)["corrections"][0]["text"] == "Eran las 6:30"


def test_the_next_assembly_cannot_approve_before_the_window_closes(world: Any, record: Any) -> None:
    minutes = record.minutes
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    nxt = _next_assembly(world)
    with pytest.raises(ValidationError):
        services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    minutes.refresh_from_db()
    assert minutes.status == Minutes.Status.REVIEW and not minutes.versions.exists()
    assert minutes.approval_proposal is None
    end_amendment_window(minutes)
    services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)


def test_without_an_amendment_window_signatures_approve_at_once(world: Any, record: Any) -> None:
    from governance import services as gov

    d = gov.decision_record(
        actor=world.alice, organization=world.org, title="R", text="R", body="A"
    )
    gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=d,
        valid_from=timezone.now() - timedelta(seconds=1),
        minutes_approval="signatures",
        minutes_signatures_required=1,
        amendment_window_days=0,
    )
    services.minutes_review_open(actor=world.alice, minutes=record.minutes)
    assert services.minutes_sign(actor=world.alice, minutes=record.minutes) is not None
