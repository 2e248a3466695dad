"""Invariants the database itself enforces, whatever code writes the rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from governance.models import (
    AuditEntry,
    Decision,
    FederationMembership,
    Mandate,
    Membership,
    RuleSet,
    Workgroup,
    WorkgroupMember,
)
from tests import factories


def _mandate(world, **kw) -> Mandate:
    now = timezone.now()
    values = {
        "membership": world.bob_m,
        "role": Mandate.Role.FACILITATOR,
        "scope_kind": Mandate.ScopeKind.ORGANIZATION,
        "starts_at": now,
        "ends_at": now + timedelta(days=30),
        "source_decision": factories.founding_decision(world.org),
    }
    values.update(kw)
    return Mandate(**values)


def _refused(make) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        make()


def test_mandate_without_source_is_refused(world):
    _refused(lambda: _mandate(world, source_decision=None).save())


def test_mandate_with_two_sources_is_refused(world):
    _refused(
        lambda: _mandate(world, source_rotation=factories.founding_decision(world.org).uuid).save()
    )


def test_mandate_ending_before_it_starts_is_refused(world):
    now = timezone.now()
    _refused(lambda: _mandate(world, starts_at=now, ends_at=now - timedelta(days=1)).save())
    _refused(lambda: _mandate(world, starts_at=now, ends_at=now).save())


def test_mandate_scope_must_match_its_target(world):
    _refused(lambda: _mandate(world, scope_kind=Mandate.ScopeKind.WORKGROUP).save())
    _refused(lambda: _mandate(world, federation=world.federation).save())


def test_revocation_needs_a_reason(world):
    _refused(lambda: _mandate(world, revoked_at=timezone.now(), revoked_reason="").save())


def test_decision_with_two_bodies_or_none_is_refused(world):
    _refused(
        lambda: Decision.objects.create(
            organization=world.org,
            federation=world.federation,
            number=99,
            title="x",
            text="x",
            body="x",
        )
    )
    _refused(lambda: Decision.objects.create(number=98, title="x", text="x", body="x"))


def test_decision_numbers_are_unique_per_body(world):
    _refused(
        lambda: Decision.objects.create(
            organization=world.org, number=1, title="x", text="x", body="x"
        )
    )
    # The same number in another organisation is fine.
    Decision.objects.create(organization=world.other_org, number=2, title="x", text="x", body="x")


def test_duplicate_membership_is_refused(world):
    _refused(
        lambda: Membership.objects.create(
            person=world.bob, organization=world.org, member_number="77"
        )
    )


def test_duplicate_member_number_is_refused(world):
    user = factories.make_user("dora")
    _refused(
        lambda: Membership.objects.create(
            person=user, organization=world.org, member_number=world.bob_m.member_number
        )
    )


def test_left_member_needs_a_leaving_date(world):
    def leave_without_date():
        Membership.objects.filter(pk=world.bob_m.pk).update(status="left", left_on=None)

    _refused(leave_without_date)


def test_duplicate_workgroup_name_and_member_are_refused(world):
    wg = Workgroup.objects.create(organization=world.org, name="Hornos")
    _refused(lambda: Workgroup.objects.create(organization=world.org, name="Hornos"))
    WorkgroupMember.objects.create(workgroup=wg, membership=world.bob_m)
    _refused(lambda: WorkgroupMember.objects.create(workgroup=wg, membership=world.bob_m))


def test_rules_versions_and_ranges_are_enforced(world):
    decision = Decision.objects.create(
        organization=world.org, number=5, title="x", text="x", body="x"
    )
    _refused(lambda: RuleSet.objects.create(organization=world.org, version=1, adopted_by=decision))
    _refused(
        lambda: RuleSet.objects.create(
            organization=world.org, version=9, adopted_by=decision, quorum_percent=101
        )
    )
    _refused(
        lambda: RuleSet.objects.create(
            organization=world.org, version=9, adopted_by=decision, supermajority_percent=50
        )
    )
    # One decision adopts at most one version.
    _refused(
        lambda: RuleSet.objects.create(
            organization=world.org,
            version=9,
            adopted_by=factories.founding_decision(world.org),
        )
    )


def test_affiliation_end_before_start_is_refused(world):
    _refused(
        lambda: FederationMembership.objects.create(
            federation=world.federation,
            organization=world.org,
            start=date(2024, 1, 2),
            end=date(2024, 1, 1),
        )
    )


def test_audit_update_is_refused_by_the_database(world):
    entry = AuditEntry.objects.filter(organization=world.org).first()
    assert entry is not None
    # SQLite's RAISE(ABORT) surfaces as IntegrityError, PostgreSQL's RAISE as another
    # DatabaseError: either way the row is untouched.
    refused = DatabaseError
    with pytest.raises(refused), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(action="forged")
    with connection.cursor() as cursor, pytest.raises(refused), transaction.atomic():
        cursor.execute(
            "UPDATE governance_auditentry SET action = 'forged' WHERE id = %s", [entry.pk]
        )
    entry.refresh_from_db()
    assert entry.action == "organization.found"


def test_audit_delete_is_refused_by_the_database(world):
    entry = AuditEntry.objects.filter(organization=world.org).first()
    assert entry is not None
    count = AuditEntry.objects.count()
    # A queryset delete skips AuditEntry.delete(); only the trigger stands in its way.
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.all().delete()
    with connection.cursor() as cursor, pytest.raises(DatabaseError), transaction.atomic():
        cursor.execute("DELETE FROM governance_auditentry WHERE id = %s", [entry.pk])
    assert AuditEntry.objects.count() == count
    assert AuditEntry.objects.filter(pk=entry.pk, action="organization.found").exists()


@pytest.mark.django_db(transaction=True)
def test_flushing_the_whole_database_still_empties_the_audit_log(world):
    """The operator's (and the test runner's) flush is not an edit of the record; after it
    the log refuses deletes again."""
    from django.core.management import call_command

    assert AuditEntry.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()
    entry = AuditEntry.objects.create(action="after.flush")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_audit_entries_refuse_save_and_delete_in_python(world):
    entry = AuditEntry.objects.filter(organization=world.org).first()
    with pytest.raises(ValueError):
        entry.save()
    with pytest.raises(ValueError):
        entry.delete()
