"""seed_demo and found_org."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import transaction

from governance.models import (
    AuditEntry,
    Decision,
    Federation,
    Mandate,
    Membership,
    Organization,
    Workgroup,
)
from governance.permissions import may

User = get_user_model()


def _fingerprint() -> dict[str, Any]:
    return {
        "orgs": list(Organization.objects.order_by("pk").values_list("uuid", "name", "kind")),
        "people": list(
            Membership.objects.order_by("pk").values_list(
                "uuid",
                "person__username",
                "person__first_name",
                "person__last_name",
                "organization__name",
                "member_number",
                "status",
                "joined_on",
                "attributes",
            )
        ),
        "groups": list(
            Workgroup.objects.order_by("pk").values_list("uuid", "name", "members__uuid")
        ),
        "mandates": list(
            Mandate.objects.order_by("pk").values_list(
                "uuid", "role", "membership__uuid", "workgroup__uuid", "starts_at", "ends_at"
            )
        ),
        "decisions": list(
            Decision.objects.order_by("pk").values_list("uuid", "number", "title", "status")
        ),
    }


def _seed_and_fingerprint(*args: str) -> dict[str, Any]:
    with transaction.atomic():
        call_command("seed_demo", *args, stdout=StringIO())
        fp = _fingerprint()
        transaction.set_rollback(True)
    return fp


def test_seed_demo_small_is_deterministic(db):
    first = _seed_and_fingerprint("--small")
    second = _seed_and_fingerprint("--small")
    assert first["people"] and first == second
    assert _seed_and_fingerprint("--small", "--seed", "7") != first


def test_seed_demo_small_has_the_demo_personas(db):
    out = StringIO()
    call_command("seed_demo", "--small", stdout=out)
    assert "demo-asamblea" in out.getvalue()
    ana, beto, carla, rita = (
        User.objects.get(username=u) for u in ("ana", "beto", "carla", "rita")
    )
    org1 = Membership.objects.get(person=ana).organization
    assert Membership.objects.get(person=beto).organization == org1
    assert Membership.objects.get(person=carla).organization != org1
    fed = Federation.objects.get()
    assert may(ana, "decision.record", org1) and may(ana, "assembly.facilitate", org1)
    assert not may(beto, "decision.record", org1)
    assert not Mandate.objects.filter(membership__person=beto).exists()
    assert may(rita, "federation.review", fed)
    assert not may(carla, "organization.view", org1)
    assert ana.check_password("demo-asamblea")
    # Every current mandate comes from a recorded decision.
    assert not Mandate.objects.filter(source_decision__isnull=True).exists()


def test_seed_demo_full_network(db):
    call_command("seed_demo", stdout=StringIO())
    assert Federation.objects.count() == 1
    assert Organization.objects.count() == 50
    assert Membership.objects.count() == 1300
    assert Workgroup.objects.count() >= 150
    assert not Membership.objects.filter(workgroups__isnull=True).exists()
    roles = set(Mandate.objects.values_list("role", flat=True))
    assert {"facilitator", "minute_taker", "roster_coordinator", "federation_reviewer"} <= roles
    assert Decision.objects.filter(federation__isnull=False).exists()
    assert AuditEntry.objects.filter(action="demo.seed").count() == 51


def test_seed_demo_if_empty_leaves_existing_data_alone(db):
    call_command("seed_demo", "--small", stdout=StringIO())
    count = Membership.objects.count()
    out = StringIO()
    call_command("seed_demo", "--if-empty", stdout=out)
    assert Membership.objects.count() == count
    assert "not loaded" in out.getvalue()


def test_found_org_records_the_founding_decision(db):
    call_command("seed_demo", "--small", stdout=StringIO())
    out = StringIO()
    call_command(
        "found_org",
        "Taller Nuevo",
        "--founder",
        "beto",
        "--founder",
        "nora",
        "--facilitator",
        "beto",
        "--minute-taker",
        "nora",
        "--create-users",
        "--federation",
        "red-lara",
        "--kind",
        "factory",
        stdout=out,
    )
    org = Organization.objects.get(name="Taller Nuevo")
    assert org.kind == "factory"
    decision = Decision.objects.get(organization=org)
    assert set(
        Mandate.objects.filter(membership__organization=org).values_list(
            "membership__person__username", "role"
        )
    ) == {("beto", "facilitator"), ("nora", "minute_taker")}
    assert all(
        m.source_decision == decision for m in Mandate.objects.filter(membership__organization=org)
    )
    assert org.affiliations.filter(federation__slug="red-lara").exists()
    assert "first password" in out.getvalue()


@pytest.mark.parametrize(
    "args",
    [
        ["Sin fundadores"],
        ["X", "--founder", "nadie"],
        ["X", "--founder", "ana", "--facilitator", "beto"],
        ["X", "--founder", "ana", "--federation", "no-existe"],
        ["X", "--founder", "ana", "--time-zone", "Mars/Olympus"],
    ],
)
def test_found_org_refuses_bad_arguments_clearly(db, args):
    call_command("seed_demo", "--small", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("found_org", *args, stdout=StringIO())
    assert not Organization.objects.filter(name="X").exists()
