"""Canonical JSON, the hash chain, immutability and verification naming the altered record."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from assemblies.minutes import canonical, selectors
from assemblies.models import MinutesVersion
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


def test_rehashing_an_altered_record_breaks_the_next_link(world: Any) -> None:
    first = hold_assembly(world, title="Primera", days_ago=10)
    v1 = approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    approve_by_signatures(world, second.minutes)
    _drop_trigger()
    content = json.loads(v1.content)
    content["notes"] = "reescrito"
    approval = json.loads(v1.approval)
    forged = canonical.link_hash(content=content, approval=approval, previous_hash=v1.previous_hash)
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE assemblies_minutesversion SET content = %s, hash = %s WHERE id = %s",
            [canonical.dumps(content), forged, v1.pk],
        )
    problems = selectors.chain_problems(organization=world.org)
    assert [p.label for p in problems] and "Segunda" in problems[0].label
