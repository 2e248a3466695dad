"""Governance services: founding, rules over time, search, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from governance import selectors, services
from governance.models import AuditEntry, Decision, Mandate, Membership, RuleSet
from governance.permissions import may
from tests import factories


def test_founding_records_founders_rules_and_mandates_as_one_decision(db):
    ana, beto = factories.make_user("ana"), factories.make_user("beto")
    org = services.organization_found(
        name="Panadería Nueva",
        founders=[ana, beto],
        mandates=[services.FoundingMandate(person=ana, role=Mandate.Role.FACILITATOR, days=30)],
    )
    decision = Decision.objects.get(organization=org)
    assert decision.number == 1 and decision.body == "Asamblea fundacional"
    assert "ana" in decision.text.lower() or "Ana" in decision.text
    assert Membership.objects.filter(organization=org).count() == 2
    rules = RuleSet.objects.get(organization=org)
    assert rules.adopted_by == decision and rules.version == 1
    mandate = Mandate.objects.get(membership__organization=org)
    assert mandate.source_decision == decision
    assert (mandate.ends_at - mandate.starts_at).days == 30
    assert may(ana, "decision.record", org) and not may(beto, "decision.record", org)
    assert AuditEntry.objects.filter(organization=org, action="organization.found").exists()


def test_founding_needs_founders_and_mandates_only_for_them(db):
    ana, zoe = factories.make_user("ana"), factories.make_user("zoe")
    with pytest.raises(ValidationError):
        services.organization_found(name="Nadie", founders=[], mandates=[])
    with pytest.raises(ValidationError):
        services.organization_found(
            name="Ajena",
            founders=[ana],
            mandates=[services.FoundingMandate(person=zoe, role=Mandate.Role.FACILITATOR)],
        )


def test_rules_in_force_at_a_past_date(world):
    v1 = services.rules_in_force(organization=world.org)
    reform = services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Reforma",
        text="x",
        body="A",
        decided_at=timezone.now() - timedelta(days=5),
    )
    v2 = services.rules_adopt(
        actor=world.alice, organization=world.org, decision=reform, quorum_percent=30
    )
    assert services.rules_in_force(organization=world.org) == v2
    assert (
        services.rules_in_force(organization=world.org, at=timezone.now() - timedelta(days=10))
        == v1
    )
    # Recorded five days late, the reform applies from its recording, not from its date:
    # the days in between were governed by the rules in force then.
    assert v2.valid_from > reform.decided_at
    assert (
        services.rules_in_force(organization=world.org, at=timezone.now() - timedelta(days=1)) == v1
    )
    assert v2.default_term_days == v1.default_term_days  # unchanged rules carry over
    with pytest.raises(RuleSet.DoesNotExist):
        services.rules_in_force(organization=world.org, at=timezone.now() - timedelta(days=999))


def test_rules_change_only_with_a_mandate_and_a_decision_of_the_body(world):
    foreign = factories.founding_decision(world.other_org)
    with pytest.raises(PermissionDenied):
        services.rules_adopt(
            actor=world.bob, organization=world.org, decision=foreign, quorum_percent=10
        )
    with pytest.raises(ValidationError):
        services.rules_adopt(
            actor=world.alice, organization=world.org, decision=foreign, quorum_percent=10
        )


def test_rules_cannot_be_put_in_force_before_their_decision_or_in_the_past(world):
    v1 = services.rules_in_force(organization=world.org)
    now = timezone.now()
    reform = services.decision_record(
        actor=world.alice, organization=world.org, title="Reforma", text="x", body="A"
    )
    with pytest.raises(ValidationError) as before_decision:
        services.rules_adopt(
            actor=world.alice,
            organization=world.org,
            decision=reform,
            valid_from=now - timedelta(days=10),
            quorum_percent=10,
        )
    assert "valid_from" in before_decision.value.message_dict
    # A decision backdated to last week cannot carry rules back to its own date either.
    backdated = services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Reforma atrasada",
        text="x",
        body="A",
        decided_at=now - timedelta(days=7),
    )
    with pytest.raises(ValidationError) as in_the_past:
        services.rules_adopt(
            actor=world.alice,
            organization=world.org,
            decision=backdated,
            valid_from=backdated.decided_at,
            quorum_percent=10,
        )
    assert "valid_from" in in_the_past.value.message_dict
    # What applied a week ago is still what applied a week ago.
    assert services.rules_in_force(organization=world.org, at=now - timedelta(days=3)) == v1
    assert RuleSet.objects.filter(organization=world.org).count() == 1
    # From today on is fine, and so is a later start.
    later = services.rules_adopt(
        actor=world.alice,
        organization=world.org,
        decision=reform,
        valid_from=now + timedelta(days=3),
        quorum_percent=10,
    )
    assert services.rules_in_force(organization=world.org) == v1
    assert services.rules_in_force(organization=world.org, at=now + timedelta(days=4)) == later


def test_a_revoked_decision_adopts_no_rules(world):
    reform = services.decision_record(
        actor=world.alice, organization=world.org, title="Reforma", text="x", body="A"
    )
    undo = services.decision_record(
        actor=world.alice, organization=world.org, title="Anula", text="x", body="A"
    )
    services.decision_revoke(actor=world.alice, decision=reform, revoking=undo)
    reform.refresh_from_db()
    with pytest.raises(ValidationError):
        services.rules_adopt(
            actor=world.alice, organization=world.org, decision=reform, quorum_percent=10
        )


def test_decision_search_matches_every_word_in_title_text_or_body(world):
    for n, (title, text, body) in enumerate(
        [
            ("Precio del pan", "Sube a 2", "Asamblea general"),
            ("Horario", "La panadería abre a las 5", "Grupo de panadería"),
            ("Camión", "Compra de camión", "Asamblea general"),
        ],
        start=10,
    ):
        Decision.objects.create(organization=world.org, number=n, title=title, text=text, body=body)
    found = lambda q: {d.title for d in selectors.decisions_search(organization=world.org, query=q)}  # noqa: E731
    assert found("camión") == {"Camión"}
    assert found("grupo horario") == {"Horario"}
    assert "Precio del pan" in found("PRECIO")
    assert found("nada-parecido") == set()
    assert not selectors.decisions_search(organization=world.other_org, query="camión").exists()


def test_superseding_a_decision_changes_its_status(world):
    old = factories.founding_decision(world.org)
    new = services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Nueva",
        text="x",
        body="A",
        supersedes=old,
    )
    old.refresh_from_db()
    assert old.status == Decision.Status.SUPERSEDED and new.supersedes == old
    with pytest.raises(ValidationError):
        services.decision_record(
            actor=world.alice,
            organization=world.org,
            title="Otra",
            text="x",
            body="A",
            supersedes=old,
        )


def test_every_service_write_leaves_an_audit_entry(world):
    before = AuditEntry.objects.count()
    decision = services.decision_record(
        actor=world.alice, organization=world.org, title="Turnos", text="x", body="A"
    )
    wg = services.workgroup_create(actor=world.alice, organization=world.org, name="Hornos")
    services.workgroup_member_add(actor=world.alice, workgroup=wg, membership=world.bob_m)
    m = services.mandate_grant(
        actor=world.alice,
        membership=world.bob_m,
        role=Mandate.Role.MINUTE_TAKER,
        ends_at=timezone.now() + timedelta(days=3),
        decision=decision,
    )
    services.mandate_revoke(actor=world.alice, mandate=m, reason="Fin", decision=decision)
    dora = services.membership_add_new_person(
        actor=world.alice, organization=world.org, username="dora", password="pan-de-maiz-26"
    )
    services.membership_set_attributes(
        actor=world.bob, membership=world.bob_m, attributes={"gender": "man"}
    )
    services.membership_set_status(actor=world.alice, membership=dora, status="left")
    actions = list(AuditEntry.objects.order_by("id").values_list("action", flat=True)[before:])
    assert actions == [
        "decision.record",
        "workgroup.create",
        "workgroup.member_add",
        "mandate.grant",
        "mandate.revoke",
        "membership.add",
        "membership.set_attributes",
        "membership.set_status",
    ]
    actors = AuditEntry.objects.order_by("id").values_list("actor__username", flat=True)
    assert set(actors[before:]) == {"alice", "bob"}


def test_leaving_ends_the_members_mandates(world):
    services.membership_set_status(actor=world.alice, membership=world.alice_m, status="left")
    world.alice_facilitator.refresh_from_db()
    assert world.alice_facilitator.revoked_at is not None
    assert not may(world.alice, "organization.view", world.org)


def test_member_on_leave_sees_but_exercises_no_mandate(world):
    services.membership_set_status(actor=world.alice, membership=world.alice_m, status="on_leave")
    assert may(world.alice, "organization.view", world.org)
    assert not may(world.alice, "decision.record", world.org)


def test_only_the_person_declares_their_attributes(world):
    with pytest.raises(ValidationError):
        services.membership_set_attributes(
            actor=world.alice, membership=world.bob_m, attributes={"gender": "man"}
        )


def test_new_person_name_taken_is_a_field_error(world):
    with pytest.raises(ValidationError) as e:
        services.membership_add_new_person(
            actor=world.alice, organization=world.org, username="CHARLIE", password="x-y-z-123456"
        )
    assert "username" in e.value.message_dict


def test_workgroup_member_from_another_organisation_is_refused(world):
    wg = services.workgroup_create(actor=world.alice, organization=world.org, name="Hornos")
    with pytest.raises(ValidationError):
        services.workgroup_member_add(actor=world.alice, workgroup=wg, membership=world.charlie_m)


def _federation_decision(world, **kw) -> Decision:
    return services.decision_record(
        actor=world.rosa,
        federation=world.federation,
        title="Delegados",
        text="La red nombra delegados.",
        body="Asamblea de la red",
        check_permission=False,
        **kw,
    )


def test_an_organisation_cannot_grant_a_federation_mandate(world):
    own = factories.founding_decision(world.org)
    ends = timezone.now() + timedelta(days=30)
    # alice facilitates her organisation, not the federation
    with pytest.raises(PermissionDenied):
        services.mandate_grant(
            actor=world.alice,
            membership=world.bob_m,
            role=Mandate.Role.FEDERATION_REVIEWER,
            ends_at=ends,
            decision=own,
            federation=world.federation,
        )
    # and even where the caller checked its own permission, the source must be the
    # federation's register, not the organisation's
    with pytest.raises(ValidationError):
        services.mandate_grant(
            actor=world.alice,
            membership=world.bob_m,
            role=Mandate.Role.FEDERATION_REVIEWER,
            ends_at=ends,
            decision=own,
            federation=world.federation,
            check_permission=False,
        )
    assert not Mandate.objects.filter(membership=world.bob_m).exists()


def test_a_federation_mandate_comes_from_the_federations_decision(world):
    factories.grant(world.rosa_m, Mandate.Role.FACILITATOR, federation=world.federation)
    decision = _federation_decision(world)
    mandate = services.mandate_grant(
        actor=world.rosa,
        membership=world.bob_m,
        role=Mandate.Role.DELEGATE,
        ends_at=timezone.now() + timedelta(days=30),
        decision=decision,
        federation=world.federation,
    )
    assert mandate.scope_kind == Mandate.ScopeKind.FEDERATION
    assert mandate.source_decision == decision
    # another federation's decision does not do
    other = services.federation_create(name="Otra red", actor=world.rosa)
    foreign = services.decision_record(
        actor=world.rosa,
        federation=other,
        title="x",
        text="x",
        body="x",
        check_permission=False,
    )
    with pytest.raises(ValidationError):
        services.mandate_grant(
            actor=world.rosa,
            membership=world.alice_m,
            role=Mandate.Role.DELEGATE,
            ends_at=timezone.now() + timedelta(days=30),
            decision=foreign,
            federation=world.federation,
            check_permission=False,
        )


def test_a_federation_mandate_needs_a_member_organisation(world):
    outsider_org = factories.found_org("Fuera de la red", [factories.make_user("olga")])
    olga_m = Membership.objects.get(organization=outsider_org)
    with pytest.raises(ValidationError):
        services.mandate_grant(
            actor=world.rosa,
            membership=olga_m,
            role=Mandate.Role.DELEGATE,
            ends_at=timezone.now() + timedelta(days=30),
            decision=_federation_decision(world),
            federation=world.federation,
            check_permission=False,
        )


def test_a_mandate_cannot_start_before_the_decision_granting_it(world):
    decision = services.decision_record(
        actor=world.alice, organization=world.org, title="Actas", text="x", body="A"
    )
    with pytest.raises(ValidationError):
        services.mandate_grant(
            actor=world.alice,
            membership=world.bob_m,
            role=Mandate.Role.MINUTE_TAKER,
            starts_at=decision.decided_at - timedelta(days=3),
            ends_at=timezone.now() + timedelta(days=30),
            decision=decision,
        )
    assert not Mandate.objects.filter(membership=world.bob_m).exists()
    mandate = services.mandate_grant(
        actor=world.alice,
        membership=world.bob_m,
        role=Mandate.Role.MINUTE_TAKER,
        starts_at=decision.decided_at,
        ends_at=timezone.now() + timedelta(days=30),
        decision=decision,
    )
    assert mandate.starts_at == decision.decided_at


def test_a_workgroup_mandate_stays_in_its_organisation(world):
    foreign_wg = services.workgroup_create(
        actor=world.charlie, organization=world.other_org, name="Tornos"
    )
    with pytest.raises(ValidationError):
        services.mandate_grant(
            actor=world.alice,
            membership=world.bob_m,
            role=Mandate.Role.ROSTER_COORDINATOR,
            ends_at=timezone.now() + timedelta(days=30),
            decision=factories.founding_decision(world.org),
            workgroup=foreign_wg,
        )


def test_a_person_who_left_cannot_readmit_themselves(world):
    services.membership_set_status(actor=world.bob, membership=world.bob_m, status="left")
    for status in ("active", "on_leave", "left"):
        with pytest.raises(PermissionDenied):
            services.membership_set_status(actor=world.bob, membership=world.bob_m, status=status)
    world.bob_m.refresh_from_db()
    assert world.bob_m.status == Membership.Status.LEFT
    assert not may(world.bob, "organization.view", world.org)
    # re-admission is for someone mandated to keep the membership records
    services.membership_set_status(actor=world.alice, membership=world.bob_m, status="active")
    world.bob_m.refresh_from_db()
    assert world.bob_m.status == Membership.Status.ACTIVE and world.bob_m.left_on is None


def test_a_member_still_sets_their_own_leave_and_return(world):
    services.membership_set_status(actor=world.bob, membership=world.bob_m, status="on_leave")
    services.membership_set_status(actor=world.bob, membership=world.bob_m, status="active")
    world.bob_m.refresh_from_db()
    assert world.bob_m.status == Membership.Status.ACTIVE
