"""Minutes of a federation's own assemblies: drafted from the record (people from several
organisations), approved under the federation's rule by its next assembly, chained per
federation, verified; visible to the members of its organisations, reviewable by its
reviewers, and never mixed into an organisation's chain."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone

from assemblies import services as live
from assemblies.minutes import canonical, selectors, services
from assemblies.models import Assembly, Minutes, MinutesVersion
from governance.models import Decision, Mandate
from tests import factories
from tests.assemblies.minutes.conftest import (
    approve_by_signatures,
    end_amendment_window,
    hold_assembly,
)


def _fed_assembly(world: Any, *, title: str, days_ago: int = 0, by: Any = None) -> Assembly:
    a = live.assembly_create(
        actor=by or world.alice,
        federation=world.federation,
        title=title,
        starts_at=timezone.now() - timedelta(days=days_ago),
        place="Barquisimeto",
    )
    live.assembly_open(actor=by or world.alice, assembly=a)
    a.refresh_from_db()
    for person in (world.alice, world.charlie, world.rosa):
        live.attendance_check_in(actor=person, assembly=a, code=a.code)
    return a


@pytest.fixture
def fed_world(world: Any) -> Any:
    """Alice facilitates and keeps the minutes of the federation (federation mandates)."""
    factories.grant(world.alice_m, Mandate.Role.FACILITATOR, federation=world.federation)
    factories.grant(world.alice_m, Mandate.Role.MINUTE_TAKER, federation=world.federation)
    return world


def _held(world: Any, title: str = "Asamblea de la red", days_ago: int = 2) -> Minutes:
    a = _fed_assembly(world, title=title, days_ago=days_ago)
    item = live.agenda_item_propose(actor=world.charlie, assembly=a, title="Fondo común")
    live.agenda_item_set_current(actor=world.alice, item=item)
    a.refresh_from_db()
    p = live.proposal_create(actor=world.charlie, assembly=a, title="Fondo", text="Un 2 %.")
    rnd = live.round_open(actor=world.alice, proposal=p)
    for person in (world.alice, world.charlie):
        live.position_state(actor=person, round=rnd, stance="agree")
    live.position_state(actor=world.rosa, round=rnd, stance="concern", text="¿Y las pequeñas?")
    live.round_close(actor=world.alice, round=rnd)
    minutes = services.minutes_start(actor=world.alice, assembly=a)
    services.minutes_notes_set(actor=world.alice, minutes=minutes, item=item, text="Acordado.")
    services.minutes_task_add(
        actor=world.alice,
        minutes=minutes,
        text="Abrir la cuenta",
        responsible=world.charlie_m,  # a member of another organisation of the federation
        due_on=timezone.localdate() + timedelta(days=10),
    )
    live.assembly_close(actor=world.alice, assembly=a)
    minutes.refresh_from_db()
    return minutes


def _approve(world: Any, minutes: Minutes, title: str = "Siguiente asamblea") -> MinutesVersion:
    minutes.refresh_from_db()
    if minutes.status == Minutes.Status.DRAFT:
        services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    nxt = _fed_assembly(world, title=title)
    proposal = services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=nxt)
    rnd = live.round_open(actor=world.alice, proposal=proposal)
    for person in (world.alice, world.charlie, world.rosa):
        live.position_state(actor=person, round=rnd, stance="agree")
    live.round_close(actor=world.alice, round=rnd)
    return services.minutes_approve_at_assembly(actor=world.charlie, minutes=minutes)


def test_a_federation_assembly_gets_minutes_of_the_federation(fed_world: Any) -> None:
    world = fed_world
    minutes = _held(world)
    assert minutes.organization is None and minutes.federation == world.federation
    content = selectors.draft_content(minutes=minutes)
    assert content["organization"] is None
    assert content["federation"]["name"] == world.federation.name
    present = {p["name"]: p["organization"] for p in content["attendance"]["present"]}
    assert present == {
        "Alice Aponte": world.org.name,
        "Charlie Castillo": world.other_org.name,
        "Rosa Rivas": world.reviewer_org.name,
    }
    assert content["facilitators"] == ["Alice Aponte"]
    assert content["minute_takers"] == ["Alice Aponte"]
    item = content["items"][0]
    assert item["notes"] == "Acordado."
    decision = item["decisions"][0]
    assert Decision.objects.get(uuid=decision["uuid"]).federation == world.federation
    assert content["quorum"]["reached"] and content["quorum"]["present"] == 3
    assert content["tasks"][0]["responsible"] == "Charlie Castillo"


def test_only_federation_mandates_keep_a_federations_minutes(world: Any) -> None:
    factories.grant(world.charlie_m, Mandate.Role.FACILITATOR, federation=world.federation)
    a = _fed_assembly(world, title="Sin acta", by=world.charlie)
    # Alice facilitates her organisation, not the federation: no power here.
    with pytest.raises(PermissionDenied):
        services.minutes_start(actor=world.alice, assembly=a)
    alice = Client()
    alice.force_login(world.alice)
    assert alice.get(f"/assemblies/{a.uuid}/minutes/").status_code == 200  # start page
    r = alice.post(f"/assemblies/{a.uuid}/minutes/")
    assert r.status_code == 302 and r["Location"] == f"/f/{world.federation.slug}/minutes/"
    assert not Minutes.objects.filter(assembly=a).exists()
    charlie = Client()
    charlie.force_login(world.charlie)
    r = charlie.post(f"/assemblies/{a.uuid}/minutes/")
    minutes = Minutes.objects.get(assembly=a)
    assert r["Location"] == f"/minutes/{minutes.uuid}/"
    assert charlie.get(r["Location"]).status_code == 200
    with pytest.raises(ValidationError):  # not a member of the federation's organisations
        outsider_org = factories.found_org("Lejana", [factories.make_user("lola")])
        services.minutes_task_add(
            actor=world.charlie,
            minutes=minutes,
            text="x",
            responsible=outsider_org.memberships.get(),
            due_on=timezone.localdate(),
        )


def test_the_next_federation_assembly_approves_and_the_chain_is_the_federations(
    fed_world: Any, alice_client: Client
) -> None:
    world = fed_world
    # An organisation's approved minutes form their own chain, untouched by the federation's.
    org_version = approve_by_signatures(world, hold_assembly(world).minutes)
    minutes = _held(world)
    with pytest.raises(ValidationError):  # the federation's rule: its next assembly
        services.minutes_sign(actor=world.charlie, minutes=minutes)
    org_assembly = live.assembly_create(
        actor=world.alice, organization=world.org, title="De la panadería", starts_at=timezone.now()
    )
    services.minutes_review_open(actor=world.alice, minutes=minutes)
    end_amendment_window(minutes)
    with pytest.raises(ValidationError):  # an organisation's assembly does not approve them
        services.minutes_approval_propose(actor=world.alice, minutes=minutes, assembly=org_assembly)
    v1 = _approve(world, minutes)
    assert (v1.organization_id, v1.federation_id) == (None, world.federation.pk)
    assert v1.chain_index == 1 and v1.previous_hash == canonical.GENESIS
    approval = json.loads(v1.approval)
    assert Decision.objects.get(uuid=approval["decision"]["uuid"]).federation == world.federation
    assert approval["rules_version"] is None  # the federation's recorded defaults
    second = _held(world, title="Otra de la red", days_ago=1)
    v2 = _approve(world, second, title="Tercera")
    assert v2.chain_index == 2 and v2.previous_hash == v1.hash
    assert selectors.chain_problems(federation=world.federation) == []
    assert selectors.chain_length(federation=world.federation) == 2
    assert selectors.chain_length(organization=world.org) == 1
    assert org_version.chain_index == 1
    call_command("verify_minutes")
    call_command("verify_minutes", "--federation", world.federation.slug)
    r = alice_client.get("/api/v1/minutes/verify/", {"federation": world.federation.slug}).json()
    assert r["ok"] is True and r["length"] == 2 and r["federation"] == world.federation.slug
    page = alice_client.get(f"/f/{world.federation.slug}/minutes/verify/").content.decode()
    assert 'data-testid="verify-ok"' in page
    # Someone with database rights rewrites the first record: verification names it.
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("DROP TRIGGER minutesversion_no_update ON assemblies_minutesversion")
        else:
            cur.execute("DROP TRIGGER minutesversion_no_update")
        cur.execute(
            "UPDATE assemblies_minutesversion SET content = %s WHERE id = %s",
            [canonical.dumps(json.loads(v1.content) | {"notes": "reescrito"}), v1.pk],
        )
    problems = selectors.chain_problems(federation=world.federation)
    assert [p.label for p in problems] == [selectors.version_label(v1)]
    assert selectors.chain_problems(organization=world.org) == []
    with pytest.raises(CommandError):
        call_command("verify_minutes", "--federation", world.federation.slug)


def test_federation_minutes_are_for_its_members_and_reviewed_by_its_reviewers(
    fed_world: Any, rosa_client: Client, charlie_client: Client
) -> None:
    world = fed_world
    minutes = _held(world)
    version = _approve(world, minutes)
    # Members of the federation's organisations read them (charlie, and rosa as a member).
    for client in (charlie_client, rosa_client):
        assert client.get(f"/minutes/{minutes.uuid}/").status_code == 200
        assert client.get(f"/minutes/versions/{version.uuid}/").status_code == 200
    listed = charlie_client.get("/api/v1/minutes/", {"federation": world.federation.slug}).json()
    assert [m["uuid"] for m in listed] == [str(minutes.uuid)]
    assert listed[0]["organization"] is None
    assert charlie_client.get(f"/f/{world.federation.slug}/minutes/").status_code == 200
    # Nobody outside: a person whose organisation is not in the federation sees nothing.
    outsider = factories.make_user("lola", "Lola")
    factories.found_org("Lejana", [outsider])
    c = Client()
    c.force_login(outsider)
    assert c.get(f"/minutes/{minutes.uuid}/").status_code == 404
    assert c.get(f"/minutes/versions/{version.uuid}/").status_code == 404
    assert c.get("/api/v1/minutes/").json() == []
    # Published to the federation itself, its reviewers acknowledge and ask; a federation
    # mandate answers.
    with pytest.raises(ValidationError):  # not to another federation
        other = factories.make_federation("Red Andina", [world.org])
        services.minutes_publish(actor=world.alice, version=version, federation=other)
    pub = services.minutes_publish(actor=world.alice, version=version, federation=world.federation)
    assert pub.organization is None
    services.publication_acknowledge(actor=world.rosa, publication=pub)
    q = services.question_ask(actor=world.rosa, publication=pub, text="¿Y las pequeñas?")
    with pytest.raises(PermissionDenied):  # charlie holds no federation mandate
        services.question_answer(actor=world.charlie, question=q, answer="No")
    services.question_answer(actor=world.alice, question=q, answer="Se verá.")
    review = rosa_client.get(f"/f/{world.federation.slug}/review/").content.decode()
    assert world.federation.name in review and "Asamblea de la red" in review
    assert rosa_client.get(f"/review/{pub.uuid}/").status_code == 200


def test_federation_minutes_pdf_names_the_federation_and_verifies(fed_world: Any) -> None:
    from assemblies.minutes import pdf, worker

    world = fed_world
    version = _approve(world, _held(world))
    job = services.pdf_request(
        actor=world.charlie, version=version, variant="pdfa", base_url="http://testserver"
    )
    assert worker.run_pending() == 1
    job.refresh_from_db()
    assert job.status == "done", job.error
    data = worker.file_path(job).read_bytes()
    text = " ".join(pdf.pdf_text(data).split())
    assert world.federation.name in text and world.reviewer_org.name in text
    assert version.hash in text.replace(" ", "")
    document = pdf.embedded_document(data)
    assert document is not None and canonical.verify_document(document)
