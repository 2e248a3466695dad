"""Canonical JSON, the hash chain, immutability and verification naming the altered record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test import Client

from assemblies.minutes import canonical, selectors
from assemblies.models import MinutesVersion
from governance.models import AuditEntry
from tests.assemblies.minutes.conftest import approve_by_signatures, hold_assembly


def test_canonical_json_sorts_keys_and_keeps_unicode() -> None:
    text = canonical.dumps({"b": 1, "a": ["ñ", "😀", None, True]})
    assert text == '{"a":["ñ","😀",null,true],"b":1}'


def test_canonical_json_normalizes_unicode_and_times() -> None:
    decomposed = "n\u0303"  # n + combining tilde
    assert canonical.dumps({"x": decomposed}) == canonical.dumps({"x": "ñ"})
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert canonical.dumps({"t": when}) == '{"t":"2026-01-02T03:04:05.000000Z"}'


def test_canonical_json_refuses_floats_and_naive_times() -> None:
    with pytest.raises(canonical.CanonicalError):
        canonical.dumps({"x": 1.5})
    with pytest.raises(canonical.CanonicalError):
        canonical.dumps({"t": datetime(2026, 1, 1)})


def test_hash_is_stable_and_any_change_moves_it() -> None:
    content = {"title": "Asamblea", "items": [1, 2]}
    approval = {"approvers": [{"name": "Ana"}]}
    h = canonical.link_hash(content=content, approval=approval, previous_hash=canonical.GENESIS)
    assert h == canonical.link_hash(
        content=json.loads(canonical.dumps(content)),
        approval=approval,
        previous_hash=canonical.GENESIS,
    )
    assert h != canonical.link_hash(
        content={**content, "title": "Asamblea."},
        approval=approval,
        previous_hash=canonical.GENESIS,
    )
    assert h != canonical.link_hash(
        content=content,
        approval={"approvers": [{"name": "Otra"}]},
        previous_hash=canonical.GENESIS,
    )


def test_approved_minutes_chain_to_the_previous_ones(world: Any) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    v1 = approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    v2 = approve_by_signatures(world, second.minutes)
    assert v1.previous_hash == canonical.GENESIS and v1.chain_index == 1
    assert v2.previous_hash == v1.hash and v2.chain_index == 2
    assert selectors.chain_problems(organization=world.org) == []
    approval = json.loads(v2.approval)
    assert [a["name"] for a in approval["approvers"]] == ["Alice Aponte", "Bob Blanco"]
    assert all(a["at"] for a in approval["approvers"])


def test_approved_version_cannot_be_saved_or_deleted(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    with pytest.raises(ValueError):
        version.save()
    with pytest.raises(ValueError):
        version.delete()
    # Not even a queryset update gets past the database trigger.
    with pytest.raises(DatabaseError), transaction.atomic():
        MinutesVersion.objects.filter(pk=version.pk).update(content="{}")


def _drop_trigger() -> None:
    """What someone with full database rights could do before altering a row."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER minutesversion_no_update ON assemblies_minutesversion")
        else:
            cur.execute("DROP TRIGGER minutesversion_no_update")


def test_editing_a_stored_approved_record_is_named_by_verification(world: Any) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    v2 = approve_by_signatures(world, second.minutes)
    call_command("verify_minutes")  # intact: no error
    _drop_trigger()
    content = json.loads(v2.content)
    content["items"][1]["proposals"][0]["rounds"][0]["blocks"] = []  # hide bob's block
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE assemblies_minutesversion SET content = %s WHERE id = %s",
            [canonical.dumps(content), v2.pk],
        )
    problems = selectors.chain_problems(organization=world.org)
    assert len(problems) == 1
    assert "Segunda" in problems[0].label and str(v2.uuid) in problems[0].label
    with pytest.raises(CommandError):
        call_command("verify_minutes", "--org", world.org.slug)


def _rewrite(version: MinutesVersion, **changes: Any) -> str:
    """Edit a stored record and recompute its stored hash, as someone with full database
    rights could; returns the forged hash."""
    content = json.loads(version.content) | changes
    approval = json.loads(version.approval)
    forged = canonical.link_hash(
        content=content, approval=approval, previous_hash=version.previous_hash
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE assemblies_minutesversion SET content = %s, hash = %s WHERE id = %s",
            [canonical.dumps(content), forged, version.pk],
        )
    return forged


def test_approval_records_the_hash_in_the_append_only_audit_log(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    entry = AuditEntry.objects.get(action="minutes.approve", object_uuid=str(version.uuid))
    assert entry.data["hash"] == version.hash
    assert entry.data["previous_hash"] == version.previous_hash
    assert selectors.anchored_hash(version=version) == version.hash


def test_rehashing_an_altered_record_names_that_record(world: Any) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    v1 = approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    approve_by_signatures(world, second.minutes)
    _drop_trigger()
    _rewrite(v1, notes="reescrito")
    problems = selectors.chain_problems(organization=world.org)
    # The altered record itself, and only it: its successor still points at the hash
    # recorded when the first was approved.
    assert [p.label for p in problems] == [selectors.version_label(v1)]
    assert "Primera" in problems[0].label and str(v1.uuid) in problems[0].label


def test_rehashing_the_newest_record_is_caught(
    world: Any, alice_client: Client, capsys: Any
) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    v2 = approve_by_signatures(world, second.minutes)
    _drop_trigger()
    # Nothing follows the newest record, so no next link can break: only the hash recorded
    # at approval shows the rewrite.
    content = json.loads(v2.content)
    content["items"][1]["proposals"][0]["rounds"][0]["blocks"] = []  # hide bob's block
    forged = _rewrite(v2, items=content["items"])
    problems = selectors.chain_problems(organization=world.org)
    assert len(problems) == 1
    assert "Segunda" in problems[0].label and str(v2.uuid) in problems[0].label
    with pytest.raises(CommandError):
        call_command("verify_minutes", "--org", world.org.slug)
    assert str(v2.uuid) in capsys.readouterr().err
    page = alice_client.get(f"/o/{world.org.slug}/minutes/verify/").content.decode()
    assert 'data-testid="verify-failed"' in page and str(v2.uuid) in page
    page = alice_client.get(f"/minutes/verify/{forged}/").content.decode()
    assert 'data-testid="verify-failed"' in page and v2.hash in page  # the hash as approved
    api = alice_client.get("/api/v1/minutes/verify/", {"organization": world.org.slug}).json()
    assert api["ok"] is False and str(v2.uuid) in api["problems"][0]["record"]


def test_a_later_audit_entry_cannot_cover_a_rewrite(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    _drop_trigger()
    forged = _rewrite(version, notes="reescrito")
    # The log takes new entries: one claiming the forged hash does not replace the first.
    AuditEntry.objects.create(
        organization=world.org,
        action="minutes.approve",
        object_kind="MinutesVersion",
        object_uuid=str(version.uuid),
        data={"hash": forged},
    )
    labels = [p.label for p in selectors.chain_problems(organization=world.org)]
    assert labels == [selectors.version_label(version)] * 2  # altered; conflicting entries


def test_deleting_the_newest_record_is_caught(world: Any) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    v2 = approve_by_signatures(world, second.minutes)
    with connection.cursor() as cur:
        cur.execute("DELETE FROM assemblies_minutesversion WHERE id = %s", [v2.pk])
    problems = selectors.chain_problems(organization=world.org)
    assert len(problems) == 1
    assert "Segunda" in problems[0].label and str(v2.uuid) in problems[0].label
