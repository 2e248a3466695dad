"""export_org / import_org: a complete archive of one organisation restores on a fresh
instance, all or nothing."""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from governance import services
from governance.backup import collect, export_organization, import_organization
from governance.models import AuditEntry, Decision, Mandate, Membership, Organization
from tests import factories
from tests.factories import PASSWORD

User = get_user_model()


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


@pytest.fixture
def media(settings: Any, tmp_path: Path) -> Path:
    """A media folder of the test's own; the PDF worker is run by the test itself."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MINUTES_WORKER = "external"
    return Path(settings.MEDIA_ROOT)


def _everything() -> dict[str, Any]:
    """Every row count of the project's tables and of people, and the media files: what
    'nothing was written' is checked against."""
    state: dict[str, Any] = {
        m._meta.label: m._default_manager.count()
        for m in apps.get_models(include_auto_created=True)
        if m._meta.app_label in ("governance", "assemblies", "rotation", "production", "auth")
    }
    root = Path(settings.MEDIA_ROOT)
    state["media"] = (
        sorted(str(p.relative_to(root)) for p in root.rglob("*")) if root.exists() else []
    )
    return state


@pytest.mark.django_db(transaction=True)
def test_round_trip_carries_the_minutes_and_their_pdf(world, media, tmp_path):
    from assemblies.minutes import services as minutes
    from assemblies.minutes import worker
    from assemblies.models import Minutes, MinutesRenderJob, MinutesVersion
    from tests.assemblies.minutes.conftest import approve_by_signatures, hold_assembly

    record = hold_assembly(world)
    version = approve_by_signatures(world, record.minutes)
    job = minutes.pdf_request(actor=world.alice, version=version, base_url="http://testserver")
    assert worker.run_pending() == 1
    job.refresh_from_db()
    assert job.status == MinutesRenderJob.Status.DONE, job.error
    pdf = worker.file_path(job).read_bytes()
    assert pdf.startswith(b"%PDF")
    # a revoked decision links to the one revoking it (a many-to-many of decisions)
    old = services.decision_record(
        actor=world.alice, organization=world.org, title="Viejo", text="x", body="A"
    )
    new = services.decision_record(
        actor=world.alice, organization=world.org, title="Nuevo", text="x", body="A"
    )
    services.decision_revoke(actor=world.alice, decision=old, revoking=new)

    path = tmp_path / "alba.zip"
    call_command("export_org", world.org.slug, str(path), stdout=io.StringIO())
    archive = zipfile.ZipFile(path)
    assert f"media/{job.file}" in archive.namelist()
    assert archive.read(f"media/{job.file}") == pdf
    before = _data(path.read_bytes())

    # a fresh instance: empty database, empty media folder
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media)
    call_command("import_org", str(path), stdout=io.StringIO())

    org = Organization.objects.get(slug=world.org.slug)
    assert _data(export_organization(org)) == before
    assert Minutes.objects.get(organization=org).status == Minutes.Status.APPROVED
    restored = MinutesVersion.objects.get(organization=org)
    assert restored.hash == version.hash
    restored_job = MinutesRenderJob.objects.get(uuid=job.uuid)
    assert worker.file_path(restored_job).read_bytes() == pdf
    assert set(Decision.objects.get(title="Viejo").related.values_list("title", flat=True)) == {
        "Nuevo"
    }


@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_import_into_an_instance_whose_keys_are_taken_is_refused_and_writes_nothing(
    media, tmp_path
):
    alice, bob = factories.make_user("alice"), factories.make_user("bob")
    alba = factories.found_org("Panadería La Alba", [alice, bob], facilitators=[alice])
    archive = export_organization(alba)
    # Another instance, in use: numbered from 1 like any database, so its own organisation
    # holds the archive's keys; and one of its people is called Alice.
    call_command("flush", interactive=False, verbosity=0)
    zoe = factories.make_user("zoe")
    factories.make_user("Alice", "Alicia")
    taller = factories.found_org("Taller Nuevo", [zoe], facilitators=[zoe])
    assert taller.pk == alba.pk
    before = _everything()

    with pytest.raises(ValidationError) as refused:
        import_organization(archive)
    message = " ".join(refused.value.messages)
    assert f"governance.organization id={taller.pk}" in message
    assert "governance.decision id=" in message and "governance.membership id=" in message
    assert "Alice" in message

    assert _everything() == before
    taller.refresh_from_db()
    assert taller.name == "Taller Nuevo"
    assert Membership.objects.get(organization=taller).person == zoe
    assert User.objects.get(username="Alice").first_name == "Alicia"

    path = tmp_path / "alba.zip"
    path.write_bytes(archive)
    with translation.override("en"), pytest.raises(CommandError, match="Nothing was restored"):
        call_command("import_org", str(path), stdout=io.StringIO())
    assert _everything() == before


@pytest.mark.django_db(transaction=True)
def test_import_gives_people_new_ids_rather_than_taking_an_existing_account(world, media):
    archive = export_organization(world.org)
    archived_alice = world.alice.pk
    call_command("flush", interactive=False, verbosity=0)
    # Someone else holds alice's old id on this instance.
    other = User.objects.create_user(username="ximena", pk=archived_alice)

    org = import_organization(archive)

    other.refresh_from_db()
    assert other.username == "ximena" and not other.memberships.exists()
    alice = User.objects.get(username="alice")
    assert alice.pk != archived_alice
    assert Membership.objects.get(organization=org, person=alice).member_number == "1"
    assert Mandate.objects.get(membership__person=alice).role == Mandate.Role.FACILITATOR


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


@pytest.mark.django_db(transaction=True)
def test_an_organisation_whose_member_serves_the_federation_round_trips(world):
    """Rosa's reviewer mandate is the federation's record (granted by its decision), not
    her cooperative's: the archive leaves it out instead of carrying a broken source."""
    archive = export_organization(world.reviewer_org)
    rows = _data(archive)
    assert not [r for r in rows if r["model"] == "governance.mandate" and r["fields"]["federation"]]
    call_command("flush", interactive=False, verbosity=0)
    org = import_organization(archive)
    assert Membership.objects.filter(organization=org, person__username="rosa").exists()
