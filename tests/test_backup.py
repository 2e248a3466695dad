"""export_org / import_org: a complete archive of one organisation restores on a fresh
instance, all or nothing."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from governance import services
from governance.backup import collect, export_organization, import_organization
from governance.models import AuditEntry, Decision, Mandate, Membership, Organization
from tests.factories import PASSWORD


def _data(archive: bytes) -> list[dict]:
    return json.loads(zipfile.ZipFile(io.BytesIO(archive)).read("data.json"))


@pytest.mark.django_db(transaction=True)
def test_round_trip_restores_the_organisation_on_a_fresh_instance(world, tmp_path):
    services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Precios",
        text="Subir 5 %",
        body="Asamblea",
    )
    path = tmp_path / "alba.zip"
    call_command("export_org", world.org.slug, str(path), stdout=io.StringIO())
    before = _data(path.read_bytes())

    call_command("flush", interactive=False, verbosity=0)
    assert not Organization.objects.exists()

    call_command("import_org", str(path), stdout=io.StringIO())
    org = Organization.objects.get(slug=world.org.slug)
    assert _data(export_organization(org)) == before
    assert Membership.objects.filter(organization=org).count() == 2
    assert Mandate.objects.filter(membership__organization=org).count() == 1
    assert Decision.objects.filter(organization=org, title="Precios").exists()
    assert AuditEntry.objects.filter(organization=org).exists()
    # the people can log in again with their own passwords
    assert authenticate(username="alice", password=PASSWORD) is not None


def test_archive_holds_nothing_of_another_organisation(world):
    data = _data(export_organization(world.org))
    usernames = {row["fields"]["username"] for row in data if row["model"] == "auth.user"}
    assert usernames == {"alice", "bob"}
    orgs = {row["fields"]["slug"] for row in data if row["model"] == "governance.organization"}
    assert orgs == {world.org.slug}
    found = collect(world.org)
    assert world.charlie_m.pk not in found[Membership]


def test_import_refuses_an_organisation_that_already_exists(world):
    archive = export_organization(world.org)
    with pytest.raises(ValidationError):
        import_organization(archive)


def test_import_refuses_a_file_that_is_not_an_archive(tmp_path, db):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with translation.override("en"), pytest.raises(CommandError, match="not an organisation"):
        call_command("import_org", str(bad), stdout=io.StringIO())
