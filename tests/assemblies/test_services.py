"""Behaviour of live assemblies through their services."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from assemblies import selectors, services
from assemblies.models import (
    AgendaItem,
    Assembly,
    AssemblyEvent,
    Attendance,
    Ballot,
    Position,
    Proposal,
    SpeakingRequest,
    VoteParticipation,
)
from governance import services as gov
from governance.models import AuditEntry, Decision, Mandate, Membership, RuleSet
from tests import factories
from tests.assemblies.helpers import everyone_in, open_assembly, with_item


@pytest.fixture(autouse=True)
def english(settings: Any) -> Any:
    """Assertions read the English source messages; Spanish is the default language."""
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


def _adopt_rules(world: Any, **changes: Any) -> RuleSet:
    decision = gov.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Rules",
        text="New rules",
        body="Assembly",
    )
    return gov.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=decision,
        valid_from=timezone.now() - timedelta(seconds=1),
        **changes,
    )


def _proposal(world: Any, a: Assembly) -> Proposal:
    return services.proposal_create(
        actor=world.bob, assembly=a, title="Horario", text="Abrimos a las 6 en diciembre."
    )


# --- Assembly and permissions ---------------------------------------------------------------


def test_opening_snapshots_the_rules_in_force(world: Any) -> None:
    a = open_assembly(world)
    assert a.status == Assembly.Status.OPEN
    assert a.rules["version"] == 1 and a.rules["decision_rule"] == "consensus"
    _adopt_rules(world, quorum_percent=100)
    a.refresh_from_db()
    assert a.rules["quorum_percent"] == 50  # later rule changes do not move an open assembly


def test_assembly_needs_exactly_one_body(world: Any) -> None:
    with pytest.raises(ValidationError):
        services.assembly_create(actor=world.alice, title="X", starts_at=timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        Assembly.objects.create(
            organization=world.org,
            federation=world.federation,
            title="X",
            starts_at=timezone.now(),
        )


def test_worker_without_mandate_cannot_open_or_move_the_agenda(world: Any) -> None:
    a = services.assembly_create(
        actor=world.bob, organization=world.org, title="Bob calls", starts_at=timezone.now()
    )
    with pytest.raises(PermissionDenied):
        services.assembly_open(actor=world.bob, assembly=a)
    services.assembly_open(actor=world.alice, assembly=a)
    item = services.agenda_item_propose(actor=world.bob, assembly=a, title="Bob's item")
    assert item.proposed_by == world.bob_m
    with pytest.raises(PermissionDenied):
        services.agenda_item_set_current(actor=world.bob, item=item)
    with pytest.raises(PermissionDenied):
        services.speaker_next(actor=world.bob, assembly=a)


def test_member_of_another_organisation_is_refused_everything(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    with pytest.raises(PermissionDenied):
        services.agenda_item_propose(actor=world.charlie, assembly=a, title="Intruso")
    with pytest.raises(PermissionDenied):
        services.attendance_check_in(actor=world.charlie, assembly=a, code=a.code)
    with pytest.raises(PermissionDenied):
        services.assembly_create(
            actor=world.charlie, organization=world.org, title="X", starts_at=timezone.now()
        )


def test_revoked_mandate_grants_nothing(world: Any) -> None:
    a = open_assembly(world)
    item = services.agenda_item_propose(actor=world.bob, assembly=a, title="Item")
    gov.mandate_revoke(
        actor=world.alice,
        mandate=world.alice_facilitator,
        reason="Rotation",
        check_permission=False,
    )
    with pytest.raises(PermissionDenied):
        services.agenda_item_set_current(actor=world.alice, item=item)


def test_object_mandate_covers_this_assembly_only(world: Any) -> None:
    a = open_assembly(world)
    other = open_assembly(world)
    factories.grant(
        world.bob_m, Mandate.Role.FACILITATOR, object_kind="assembly", object_uuid=a.uuid
    )
    item = services.agenda_item_propose(actor=world.bob, assembly=a, title="Item")
    services.agenda_item_set_current(actor=world.bob, item=item)
    item2 = services.agenda_item_propose(actor=world.bob, assembly=other, title="Item")
    with pytest.raises(PermissionDenied):
        services.agenda_item_set_current(actor=world.bob, item=item2)


def test_room_agrees_on_a_facilitator_when_nobody_holds_the_mandate(world: Any) -> None:
    dora, eli = factories.make_user("dora"), factories.make_user("eli")
    org = factories.found_org("Cooperativa Sin Jefes", [dora, eli])
    a = services.assembly_create(
        actor=dora, organization=org, title="Primera", starts_at=timezone.now()
    )
    services.assembly_open(actor=dora, assembly=a)
    services.attendance_check_in(actor=dora, assembly=a)
    services.attendance_check_in(actor=eli, assembly=a)
    eli_m = Membership.objects.get(person=eli)
    mandate = services.assembly_mandate_agree(
        actor=dora, assembly=a, membership=eli_m, role=Mandate.Role.FACILITATOR
    )
    assert mandate.scope_kind == Mandate.ScopeKind.OBJECT and mandate.object_uuid == a.uuid
    decision = mandate.source_decision
    assert decision is not None and decision.attendance["present"] == 2
    assert services.is_facilitator(user=eli, assembly=a)
    assert not services.is_facilitator(user=dora, assembly=a)
    # Now that the assembly has a facilitator, others cannot record another on their own.
    with pytest.raises(PermissionDenied):
        services.assembly_mandate_agree(
            actor=dora,
            assembly=a,
            membership=Membership.objects.get(person=dora),
            role=Mandate.Role.MINUTE_TAKER,
        )


def test_federation_assembly_is_open_to_members_of_its_organisations(world: Any) -> None:
    factories.grant(world.rosa_m, Mandate.Role.FACILITATOR, federation=world.federation)
    a = services.assembly_create(
        actor=world.rosa, federation=world.federation, title="Red Central", starts_at=timezone.now()
    )
    with pytest.raises(PermissionDenied):
        services.assembly_open(actor=world.alice, assembly=a)  # an org mandate is not enough
    services.assembly_open(actor=world.rosa, assembly=a)
    for person in (world.alice, world.charlie, world.rosa):
        services.attendance_check_in(actor=person, assembly=a)
    summary = selectors.attendance_summary(assembly=a)
    assert summary.present == 3 and summary.members == 4
    outsider = factories.make_user("zoe")
    factories.found_org("Fuera de la red", [outsider])
    with pytest.raises(PermissionDenied):
        services.attendance_check_in(actor=outsider, assembly=a)


def test_federation_assembly_agrees_its_facilitator_in_the_federation_register(
    world: Any,
) -> None:
    factories.grant(world.rosa_m, Mandate.Role.FACILITATOR, federation=world.federation)
    a = services.assembly_create(
        actor=world.rosa, federation=world.federation, title="Red Central", starts_at=timezone.now()
    )
    services.assembly_open(actor=world.rosa, assembly=a)
    # Alice facilitates her own organisation's assemblies, not the federation's.
    assert not services.is_facilitator(user=world.alice, assembly=a)
    mandate = services.assembly_mandate_agree(
        actor=world.rosa, assembly=a, membership=world.alice_m, role=Mandate.Role.FACILITATOR
    )
    decision = mandate.source_decision
    assert decision is not None
    assert decision.federation_id == world.federation.pk and decision.organization_id is None
    assert mandate.scope_kind == Mandate.ScopeKind.OBJECT and mandate.object_uuid == a.uuid
    assert services.is_facilitator(user=world.alice, assembly=a)
    assert not services.is_facilitator(user=world.bob, assembly=a)
    assert {m.membership_id for m in selectors.mandate_holders(assembly=a)} >= {
        world.alice_m.pk,
        world.rosa_m.pk,
    }
    # The mandate covers this assembly only: not another federation assembly.
    other = services.assembly_create(
        actor=world.rosa, federation=world.federation, title="Otra", starts_at=timezone.now()
    )
    assert not services.is_facilitator(user=world.alice, assembly=other)
    # A federation's decision governs federation objects only: pointed at an organisation's
    # own assembly it grants nothing there.
    own = open_assembly(world)
    stray = gov.mandate_grant(
        actor=world.rosa,
        membership=world.bob_m,
        role=Mandate.Role.FACILITATOR,
        ends_at=timezone.now() + timedelta(hours=2),
        decision=decision,
        object_kind="assembly",
        object_uuid=own.uuid,
        check_permission=False,
    )
    assert stray.scope_kind == Mandate.ScopeKind.OBJECT
    assert not services.is_facilitator(user=world.bob, assembly=own)
    # The mandate answers to the federation: its facilitator revokes it, not Alice's own
    # organisation.
    with pytest.raises(PermissionDenied):
        gov.mandate_revoke(actor=world.bob, mandate=mandate, reason="No")
    gov.mandate_revoke(actor=world.rosa, mandate=mandate, reason="Se turna otra persona")
    assert not services.is_facilitator(user=world.alice, assembly=a)
    # Someone outside the federation's organisations cannot hold it.
    outsider = factories.make_user("zoe")
    factories.found_org("Fuera de la red", [outsider])
    with pytest.raises(ValidationError):
        services.assembly_mandate_agree(
            actor=world.rosa,
            assembly=a,
            membership=Membership.objects.get(person=outsider),
            role=Mandate.Role.MINUTE_TAKER,
        )


# --- Agenda ---------------------------------------------------------------------------------


def test_agenda_order_and_current_item(world: Any) -> None:
    a = open_assembly(world)
    first = services.agenda_item_propose(
        actor=world.bob, assembly=a, title="Uno", time_box_minutes=10
    )
    second = services.agenda_item_propose(
        actor=world.alice, assembly=a, title="Dos", kind="information"
    )
    services.agenda_reorder(actor=world.alice, assembly=a, items=[second.uuid, first.uuid])
    assert list(a.items.order_by("order").values_list("title", flat=True)) == ["Dos", "Uno"]
    services.agenda_item_set_current(actor=world.alice, item=first)
    services.agenda_item_set_current(actor=world.alice, item=second)
    first.refresh_from_db()
    a.refresh_from_db()
    assert a.current_item == second and first.status == AgendaItem.Status.DONE
    assert first.ended_at is not None


def test_agenda_bad_input_is_refused(world: Any) -> None:
    a = open_assembly(world)
    with pytest.raises(ValidationError):
        services.agenda_item_propose(actor=world.bob, assembly=a, title="  ")
    with pytest.raises(ValidationError):
        services.agenda_item_propose(actor=world.bob, assembly=a, title="X", kind="party")
    with pytest.raises(ValidationError):
        services.agenda_item_propose(actor=world.bob, assembly=a, title="X", time_box_minutes=0)
    with pytest.raises(ValidationError):
        services.agenda_item_propose(
            actor=world.bob, assembly=a, title="X", attachment={"kind": "?"}
        )
    item = services.agenda_item_propose(actor=world.bob, assembly=a, title="X")
    with pytest.raises(ValidationError):
        services.agenda_reorder(actor=world.alice, assembly=a, items=[item.uuid, item.uuid])


# --- Attendance -----------------------------------------------------------------------------


def test_double_check_in_is_refused_with_a_clear_message(world: Any) -> None:
    a = open_assembly(world)
    services.attendance_check_in(actor=world.bob, assembly=a)
    with pytest.raises(ValidationError, match="already checked in"):
        services.attendance_check_in(actor=world.bob, assembly=a)
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).count() == 1


def test_racing_check_ins_store_one_attendance(world: Any) -> None:
    """Both requests pass the friendly check before either writes: the constraint decides."""
    a = open_assembly(world)
    services.attendance_check_in(actor=world.bob, assembly=a)
    with (
        mock.patch.object(selectors, "is_present", return_value=False),
        pytest.raises(ValidationError, match="already checked in"),
    ):
        services.attendance_check_in(actor=world.bob, assembly=a)
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).count() == 1


def test_room_code_is_needed_when_the_assembly_asks_for_it(world: Any) -> None:
    a = open_assembly(world, require_code=True)
    with pytest.raises(ValidationError, match="room code"):
        services.attendance_check_in(actor=world.bob, assembly=a, code="WRONG")
    att = services.attendance_check_in(actor=world.bob, assembly=a, code=a.code.lower())
    assert att.method == Attendance.Method.CODE


def test_check_in_waits_for_the_assembly_to_be_convened(world: Any) -> None:
    a = services.assembly_create(
        actor=world.alice, organization=world.org, title="X", starts_at=timezone.now()
    )
    with pytest.raises(ValidationError, match="convened"):
        services.attendance_check_in(actor=world.bob, assembly=a)
    services.assembly_convene(actor=world.alice, assembly=a)
    services.attendance_check_in(actor=world.bob, assembly=a)


def test_facilitator_checks_in_a_worker_without_phone_by_number_or_name(world: Any) -> None:
    a = open_assembly(world)
    assert selectors.member_find(assembly=a, query=world.bob_m.member_number) == [world.bob_m]
    assert selectors.member_find(assembly=a, query="blanco") == [world.bob_m]
    assert selectors.member_find(assembly=a, query="Castillo") == []  # charlie is elsewhere
    att = services.attendance_check_in_member(actor=world.alice, assembly=a, membership=world.bob_m)
    assert att.method == Attendance.Method.FACILITATOR and att.checked_in_by == world.alice
    with pytest.raises(PermissionDenied):
        services.attendance_check_in_member(actor=world.bob, assembly=a, membership=world.alice_m)
    with pytest.raises(ValidationError):
        services.attendance_check_in_member(
            actor=world.alice, assembly=a, membership=world.charlie_m
        )


def test_present_count_and_quorum_follow_check_in_and_out(world: Any) -> None:
    a = open_assembly(world)
    assert selectors.attendance_summary(assembly=a).as_dict() == {
        "present": 0,
        "members": 2,
        "quorum": 2,
        "quorum_met": False,
    }
    everyone_in(world, a)
    assert selectors.attendance_summary(assembly=a).quorum_met
    services.attendance_check_out(actor=world.bob, assembly=a)
    assert selectors.attendance_summary(assembly=a).present == 1
    with pytest.raises(ValidationError, match="not checked in"):
        services.attendance_check_out(actor=world.bob, assembly=a)
    services.attendance_check_in(actor=world.bob, assembly=a)  # coming back: a new stretch
    assert Attendance.objects.filter(assembly=a, membership=world.bob_m).count() == 2


def test_quorum_comes_from_the_rules(world: Any) -> None:
    for i in range(8):
        factories.add_member(world.org, factories.make_user(f"w{i}"))
    _adopt_rules(world, quorum_percent=60, quorum_minimum=3)
    a = open_assembly(world)
    assert selectors.attendance_summary(assembly=a).quorum == 6  # ceil(10 * 60%)


# --- Speaking queue -------------------------------------------------------------------------


def test_point_of_process_and_clarification_jump_the_queue(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    carla = factories.make_user("carla")
    factories.add_member(world.org, carla)
    everyone_in(world, a)
    services.attendance_check_in(actor=carla, assembly=a)
    services.speaker_add(actor=world.alice, assembly=a)
    services.speaker_add(actor=carla, assembly=a, kind="clarification")
    place = services.speaker_add(actor=world.bob, assembly=a, kind="process")
    assert place.place == 1 and "process" in place.reason
    order = [
        (e.request.membership.person.username, e.request.kind) for e in selectors.queue(assembly=a)
    ]
    assert order == [("bob", "process"), ("carla", "clarification"), ("alice", "normal")]
    with pytest.raises(ValidationError, match="already raised"):
        services.speaker_add(actor=world.alice, assembly=a)


def test_only_people_present_raise_a_hand(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    with pytest.raises(ValidationError, match="Check in first"):
        services.speaker_add(actor=world.bob, assembly=a)


def test_progressive_stack_puts_those_who_spoke_less_first(world: Any) -> None:
    a = open_assembly(world, progressive_stack=True)
    with_item(world, a)
    carla = factories.make_user("carla")
    factories.add_member(world.org, carla)
    everyone_in(world, a)
    services.attendance_check_in(actor=carla, assembly=a)
    services.speaker_add(actor=world.alice, assembly=a)
    services.speaker_next(actor=world.alice, assembly=a)  # alice speaks
    services.speaker_finish(actor=world.alice, assembly=a)
    services.speaker_add(actor=world.alice, assembly=a)  # alice again, first in time
    services.speaker_add(actor=world.bob, assembly=a)
    entries = selectors.queue(assembly=a)
    assert [e.request.membership.person.username for e in entries] == ["bob", "alice"]
    assert "not spoken" in entries[0].reason and "1 time" in entries[1].reason
    mine = selectors.queue_place(assembly=a, membership=world.alice_m)
    assert mine is not None and mine.place == 2


def test_calling_next_ends_the_turn_and_keeps_the_time(world: Any) -> None:
    a = open_assembly(world, speaking_limit_seconds=90)
    with_item(world, a)
    everyone_in(world, a)
    services.speaker_add(actor=world.bob, assembly=a)
    services.speaker_add(actor=world.alice, assembly=a)
    bob_turn = services.speaker_next(actor=world.alice, assembly=a)
    assert bob_turn is not None and bob_turn.limit_seconds == 90
    assert selectors.current_speaker(assembly=a) == bob_turn
    services.speaker_next(actor=world.alice, assembly=a)
    bob_turn.refresh_from_db()
    assert bob_turn.state == SpeakingRequest.State.DONE and bob_turn.ended_at is not None
    assert services.speaker_next(actor=world.alice, assembly=a) is None  # queue empty
    assert selectors.current_speaker(assembly=a) is None


def test_lowering_a_hand_and_checking_out_leave_the_queue(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    place = services.speaker_add(actor=world.bob, assembly=a)
    with pytest.raises(PermissionDenied):
        services.speaker_withdraw(actor=world.charlie, request=place.request)
    services.speaker_withdraw(actor=world.bob, request=place.request)
    services.speaker_add(actor=world.bob, assembly=a)
    services.attendance_check_out(actor=world.bob, assembly=a)
    assert selectors.queue(assembly=a) == []


def test_speaking_statistics_hide_small_groups(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    people = []
    for i, group in enumerate(["a", "a", "a", "b"]):
        u = factories.make_user(f"p{i}")
        factories.add_member(world.org, u, attributes={"turno": group})
        people.append(u)
    for u in people:
        services.attendance_check_in(actor=u, assembly=a)
    for u in people[:2]:
        services.speaker_add(actor=u, assembly=a)
        services.speaker_next(actor=world.alice, assembly=a)
    services.speaker_finish(actor=world.alice, assembly=a)
    stats = selectors.speaking_stats(assembly=a)
    assert stats.total_count == 2 and len(stats.people) == 2
    groups = {g["value"]: g for g in stats.by_attribute["turno"]}
    assert groups["a"]["people"] == 3 and groups["a"]["count"] == 2
    assert groups["b"]["suppressed"] and groups["b"]["count"] is None


# --- Consensus ------------------------------------------------------------------------------


def test_block_holds_the_proposal(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    p = _proposal(world, a)
    r = services.round_open(actor=world.alice, proposal=p)
    services.position_state(actor=world.alice, round=r, stance="agree")
    services.position_state(actor=world.bob, round=r, stance="block", text="Nadie abre a las 6")
    services.round_close(actor=world.alice, round=r)
    p.refresh_from_db()
    assert p.status == Proposal.Status.HELD and p.decision is None
    assert not Decision.objects.filter(title="Horario").exists()
    with pytest.raises(ValidationError, match="block holds"):
        services.vote_open(actor=world.alice, proposal=p)  # no fallback in the rules


def test_consensus_records_the_decision_with_frozen_attendance(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    p = _proposal(world, a)
    r = services.round_open(actor=world.alice, proposal=p)
    services.position_state(actor=world.alice, round=r, stance="agree")
    services.position_state(
        actor=world.bob, round=r, stance="stand_aside", text="No trabajo ese mes"
    )
    services.round_close(actor=world.alice, round=r)
    p.refresh_from_db()
    assert p.status == Proposal.Status.ADOPTED
    d = p.decision
    assert (
        d is not None and d.organization == world.org and d.text == "Abrimos a las 6 en diciembre."
    )
    assert d.attendance["present"] == 2 and d.attendance["quorum"] == 2
    assert {x["name"] for x in d.attendance["people"]} == {"Alice Aponte", "Bob Blanco"}
    assert d.attendance["tally"] == {"agree": 1, "concern": 0, "stand_aside": 1, "block": 0}
    # Frozen: someone leaving afterwards does not change it.
    services.attendance_check_out(actor=world.bob, assembly=a)
    d.refresh_from_db()
    assert d.attendance["present"] == 2


def test_second_position_replaces_the_first_and_the_change_is_kept(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    r = services.round_open(actor=world.alice, proposal=_proposal(world, a))
    services.position_state(actor=world.bob, round=r, stance="concern", text="¿Y el transporte?")
    result = services.position_state(actor=world.bob, round=r, stance="agree")
    assert result.replaced is not None and result.replaced.stance == "concern"
    assert selectors.round_tally(round=r) == {
        "agree": 1,
        "concern": 0,
        "stand_aside": 0,
        "block": 0,
    }
    history = Position.objects.filter(round=r, membership=world.bob_m).order_by("stated_at", "id")
    assert [(h.stance, h.superseded_at is not None) for h in history] == [
        ("concern", True),
        ("agree", False),
    ]
    assert AuditEntry.objects.filter(action="position.state", data__replaced="concern").exists()


def test_positions_refused_after_close_from_absent_and_from_non_members(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    services.attendance_check_in(actor=world.alice, assembly=a)
    services.attendance_check_in(actor=world.bob, assembly=a)
    r = services.round_open(actor=world.alice, proposal=_proposal(world, a))
    with pytest.raises(PermissionDenied):
        services.position_state(actor=world.charlie, round=r, stance="agree")
    services.attendance_check_out(actor=world.bob, assembly=a)
    with pytest.raises(ValidationError, match="Check in first"):
        services.position_state(actor=world.bob, round=r, stance="agree")
    services.attendance_check_in(actor=world.bob, assembly=a)
    services.position_state(actor=world.bob, round=r, stance="agree")
    services.position_state(actor=world.alice, round=r, stance="agree")
    services.round_close(actor=world.alice, round=r)
    with pytest.raises(ValidationError, match="round is closed"):
        services.position_state(actor=world.bob, round=r, stance="block", text="Tarde")


@pytest.mark.parametrize("stance", ["concern", "stand_aside", "block"])
def test_stances_other_than_agree_need_a_reason(world: Any, stance: str) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    r = services.round_open(actor=world.alice, proposal=_proposal(world, a))
    with pytest.raises(ValidationError):
        services.position_state(actor=world.bob, round=r, stance=stance, text="   ")
    with pytest.raises(ValidationError):
        services.position_state(actor=world.bob, round=r, stance="maybe")


def test_concerns_are_worked_through_and_a_new_round_follows_changes(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    p = _proposal(world, a)
    r1 = services.round_open(actor=world.alice, proposal=p)
    concern = services.position_state(
        actor=world.bob, round=r1, stance="block", text="Muy temprano"
    )
    services.round_close(actor=world.alice, round=r1)
    with pytest.raises(ValidationError):
        services.concern_address(actor=world.alice, position=concern.position)  # a block
    v2 = services.proposal_amend(actor=world.bob, proposal=p, text="Abrimos a las 7.", note="Hora")
    p.refresh_from_db()
    assert v2.number == 2 and p.status == Proposal.Status.OPEN
    r2 = services.round_open(actor=world.alice, proposal=p)
    assert r2.number == 2 and r2.version == v2
    c = services.position_state(actor=world.bob, round=r2, stance="concern", text="Transporte")
    services.concern_address(actor=world.alice, position=c.position, note="Ruta del bus")
    c.position.refresh_from_db()
    assert c.position.addressed_at is not None
    with pytest.raises(ValidationError, match="open round"):
        services.proposal_amend(actor=world.bob, proposal=p, text="Otra")
    services.position_state(actor=world.alice, round=r2, stance="agree")
    services.round_close(actor=world.alice, round=r2)
    p.refresh_from_db()
    assert p.status == Proposal.Status.ADOPTED and p.decision.text == "Abrimos a las 7."  # type: ignore[union-attr]


def test_no_decision_without_quorum(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    r = services.round_open(actor=world.alice, proposal=_proposal(world, a))
    services.position_state(actor=world.alice, round=r, stance="agree")
    services.attendance_check_out(actor=world.bob, assembly=a)
    with pytest.raises(ValidationError, match="No quorum"):
        services.round_close(actor=world.alice, round=r)
    services.round_close(actor=world.alice, round=r, cancel=True)
    r.refresh_from_db()
    assert r.outcome == "cancelled"


def test_fallback_applies_only_explicitly_after_a_second_blocked_round(world: Any) -> None:
    _adopt_rules(world, fallback="supermajority_after_second_round", supermajority_percent=75)
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    p = _proposal(world, a)
    for n in (1, 2):
        r = services.round_open(actor=world.alice, proposal=p)
        services.position_state(actor=world.bob, round=r, stance="block", text="No")
        services.round_close(actor=world.alice, round=r)
        p.refresh_from_db()
        assert p.status == Proposal.Status.HELD
        if n == 1:
            with pytest.raises(ValidationError, match="second round"):
                services.vote_open(actor=world.alice, proposal=p, fallback=True)
    with pytest.raises(PermissionDenied):
        services.vote_open(actor=world.bob, proposal=p, fallback=True)
    vote = services.vote_open(actor=world.alice, proposal=p, fallback=True)
    assert vote.rule == "supermajority" and vote.threshold_percent == 75
    assert vote.fallback_for is not None
    assert AuditEntry.objects.filter(action="proposal.fallback_applied").exists()
    services.ballot_cast(actor=world.alice, vote=vote, choice="yes")
    services.ballot_cast(actor=world.bob, vote=vote, choice="no")
    services.vote_close(actor=world.alice, vote=vote)  # 50% < 75%: not adopted
    p.refresh_from_db()
    assert p.status == Proposal.Status.REJECTED and p.outcome["how"] == "fallback_vote"


# --- Votes ----------------------------------------------------------------------------------


def test_consensus_rules_do_not_allow_a_plain_vote(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    with pytest.raises(ValidationError, match="consensus"):
        services.vote_open(actor=world.alice, proposal=_proposal(world, a))


def test_majority_vote_combines_phone_ballots_and_room_counts(world: Any) -> None:
    _adopt_rules(world, decision_rule="majority")
    for i in range(4):
        factories.add_member(world.org, factories.make_user(f"v{i}"))
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    for m in Membership.objects.filter(organization=world.org).exclude(
        person__in=[world.alice, world.bob]
    ):
        services.attendance_check_in_member(actor=world.alice, assembly=a, membership=m)
    vote = services.vote_open(actor=world.alice, proposal=_proposal(world, a))
    assert vote.rule == "majority"
    services.ballot_cast(actor=world.bob, vote=vote, choice="no")
    services.ballot_cast(actor=world.alice, vote=vote, choice="abstain")
    with pytest.raises(ValidationError, match="already voted"):
        services.ballot_cast(actor=world.bob, vote=vote, choice="yes")
    with pytest.raises(ValidationError, match="More votes"):
        services.vote_count_enter(
            actor=world.alice, vote=vote, source="hand", yes=5, no=0, abstain=0
        )
    with pytest.raises(ValidationError):
        services.vote_count_enter(
            actor=world.alice, vote=vote, source="hand", yes=-1, no=0, abstain=0
        )
    with pytest.raises(PermissionDenied):
        services.vote_count_enter(actor=world.bob, vote=vote, source="hand", yes=1, no=0, abstain=0)
    services.vote_count_enter(actor=world.alice, vote=vote, source="hand", yes=3, no=1, abstain=0)
    tally = selectors.vote_tally(vote=vote)
    assert tally["total"] == {"yes": 3, "no": 2, "abstain": 1}
    services.vote_close(actor=world.alice, vote=vote)
    vote.refresh_from_db()
    assert vote.outcome == "adopted" and vote.proposal.decision is not None
    assert vote.proposal.decision.attendance["tally"] == {"yes": 3, "no": 2, "abstain": 1}
    with pytest.raises(ValidationError, match="closed"):
        services.ballot_cast(actor=world.alice, vote=vote, choice="yes")


def test_secret_ballot_keeps_who_voted_apart_from_how(world: Any) -> None:
    _adopt_rules(world, decision_rule="majority")
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    vote = services.vote_open(actor=world.alice, proposal=_proposal(world, a), secret=True)
    services.ballot_cast(actor=world.bob, vote=vote, choice="yes")
    services.ballot_cast(actor=world.alice, vote=vote, choice="no")
    # No row per secret ballot at all: rows keep an insertion order that lines up with the
    # ordered participations, even without a voter column.
    assert Ballot.objects.filter(vote=vote).count() == 0
    # While it is open the room sees how many voted, never a moving tally: otherwise each
    # event (or a glance at the screen) tells how the person who just voted chose.
    shown = [
        re.search(r'data-testid="vote-tally">(.*?)</p>', e.html, re.S).group(1)  # type: ignore[union-attr]
        for e in AssemblyEvent.objects.filter(assembly=a, kind="vote.ballot").order_by("seq")
    ]
    counts_shown = [part.split('class="muted"')[0] for part in shown]
    assert len(shown) == 2 and not re.search(r"\d", "".join(counts_shown))
    assert counts_shown[0] == counts_shown[1]
    assert selectors.vote_tally(vote=vote)["hidden"] is True
    assert set(
        VoteParticipation.objects.filter(vote=vote).values_list("membership", flat=True)
    ) == {
        world.alice_m.pk,
        world.bob_m.pk,
    }
    ballot_audit = AuditEntry.objects.filter(action="vote.ballot")
    assert all("choice" not in e.data for e in ballot_audit)
    assert selectors.my_ballot(vote=vote, membership=world.bob_m) is None
    services.vote_close(actor=world.alice, vote=vote)
    vote.refresh_from_db()
    assert vote.outcome == "rejected"  # a tie is no majority
    assert vote.tally["total"] == {"yes": 1, "no": 1, "abstain": 0}
    assert vote.tally["hidden"] is False


def test_absent_people_cannot_vote(world: Any) -> None:
    _adopt_rules(world, decision_rule="majority")
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    vote = services.vote_open(actor=world.alice, proposal=_proposal(world, a))
    services.attendance_check_out(actor=world.bob, assembly=a)
    with pytest.raises(ValidationError, match="Check in first"):
        services.ballot_cast(actor=world.bob, vote=vote, choice="yes")
    with pytest.raises(ValidationError):
        services.ballot_cast(actor=world.alice, vote=vote, choice="maybe")


# --- Events ---------------------------------------------------------------------------------


def test_every_change_appends_one_event_with_shared_html(world: Any) -> None:
    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    services.speaker_add(actor=world.bob, assembly=a)
    services.speaker_next(actor=world.alice, assembly=a)
    r = services.round_open(actor=world.alice, proposal=_proposal(world, a))
    services.position_state(actor=world.bob, round=r, stance="block", text="No")
    services.round_close(actor=world.alice, round=r)
    services.assembly_close(actor=world.alice, assembly=a)
    a.refresh_from_db()
    events = list(AssemblyEvent.objects.filter(assembly=a).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, a.last_seq + 1))
    kinds = [e.kind for e in events]
    assert kinds == [
        "assembly.create",
        "assembly.open",
        "agenda.propose",
        "agenda.current",
        "attendance.check_in",
        "attendance.check_in",
        "queue.add",
        "queue.call",
        "proposal.create",
        "round.open",
        "round.position",
        "round.close",
        "assembly.close",
    ]
    for e in events:
        assert 'hx-swap-oob="true"' in e.html
        assert "csrfmiddlewaretoken" not in e.html  # nothing personal in a shared fragment
    assert 'id="live-queue"' in events[6].html and 'id="live-attendance"' in events[4].html
    assert events[10].data["tally"]["block"] == 1


def test_a_refused_write_leaves_no_event(world: Any) -> None:
    a = open_assembly(world)
    before = a.events.count()
    with pytest.raises(ValidationError):
        services.speaker_add(actor=world.bob, assembly=a)
    assert a.events.count() == before


def test_snapshot_queries_do_not_grow_with_attendance(
    world: Any, django_assert_max_num_queries: Any
) -> None:
    from assemblies import fragments

    a = open_assembly(world)
    with_item(world, a)
    everyone_in(world, a)
    for i in range(30):
        u = factories.make_user(f"crowd{i}")
        factories.add_member(world.org, u)
        services.attendance_check_in(actor=u, assembly=a)
        services.speaker_add(actor=u, assembly=a)
    a.refresh_from_db()
    with django_assert_max_num_queries(25):
        html = fragments.render_snapshot(a)
    assert html.count("<li data-member=") >= 30  # the queue; attendance is only counted
    assert 'data-present="32"' in html


def test_every_service_emits_its_event_kind(world: Any) -> None:
    _adopt_rules(world, decision_rule="majority")
    a = services.assembly_create(
        actor=world.alice, organization=world.org, title="X", starts_at=timezone.now()
    )
    services.assembly_update(actor=world.alice, assembly=a, progressive_stack=True)
    services.assembly_convene(actor=world.alice, assembly=a)
    services.assembly_open(actor=world.alice, assembly=a)
    one = services.agenda_item_propose(actor=world.bob, assembly=a, title="Uno")
    two = services.agenda_item_propose(actor=world.bob, assembly=a, title="Dos")
    services.agenda_reorder(actor=world.alice, assembly=a, items=[two.uuid, one.uuid])
    services.agenda_item_update(actor=world.alice, item=one, time_box_minutes=5)
    services.agenda_item_set_current(actor=world.alice, item=one)
    a.refresh_from_db()
    everyone_in(world, a)
    services.assembly_mandate_agree(
        actor=world.alice, assembly=a, membership=world.bob_m, role=Mandate.Role.MINUTE_TAKER
    )
    hand = services.speaker_add(actor=world.bob, assembly=a)
    services.speaker_withdraw(actor=world.bob, request=hand.request)
    hand = services.speaker_add(actor=world.bob, assembly=a)
    services.speaker_call(actor=world.alice, request=hand.request)
    services.speaker_finish(actor=world.alice, assembly=a)
    p = _proposal(world, a)
    services.proposal_amend(actor=world.alice, proposal=p, text="Otra versión")
    r = services.round_open(actor=world.alice, proposal=p)
    c = services.position_state(actor=world.bob, round=r, stance="concern", text="Ojo")
    services.concern_address(actor=world.alice, position=c.position)
    services.round_close(actor=world.alice, round=r, cancel=True)
    v = services.vote_open(actor=world.alice, proposal=p)
    services.ballot_cast(actor=world.bob, vote=v, choice="yes")
    services.vote_count_enter(actor=world.alice, vote=v, source="hand", yes=1, no=0, abstain=0)
    services.vote_close(actor=world.alice, vote=v)
    withdrawn = _proposal(world, a)
    services.proposal_withdraw(actor=world.bob, proposal=withdrawn)
    services.attendance_check_out(actor=world.bob, assembly=a)
    services.assembly_close(actor=world.alice, assembly=a)
    kinds = set(a.events.values_list("kind", flat=True))
    assert kinds == {
        "assembly.create",
        "assembly.update",
        "assembly.convene",
        "assembly.open",
        "agenda.propose",
        "agenda.reorder",
        "agenda.update",
        "agenda.current",
        "attendance.check_in",
        "assembly.mandate",
        "queue.add",
        "queue.withdraw",
        "queue.call",
        "queue.finish",
        "proposal.create",
        "proposal.amend",
        "round.open",
        "round.position",
        "round.concern",
        "round.close",
        "vote.open",
        "vote.ballot",
        "vote.count",
        "vote.close",
        "proposal.withdraw",
        "attendance.check_out",
        "assembly.close",
    }
