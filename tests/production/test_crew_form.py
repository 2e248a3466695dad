"""Choosing who was on the crew from a phone: the form starts from the likely crew, never
lists the whole organisation, and finds anyone else by name or member number."""

from __future__ import annotations

import re
import uuid
from typing import Any

from django.test import Client

from governance import services as gov_services
from governance.models import Membership
from production.models import LogEntry
from tests import factories
from tests.production.conftest import Line
from tests.production.test_views import _form, _url


def _listed(html: str) -> dict[str, bool]:
    """Member pks listed on the crew, and whether each is ticked."""
    crew = html.split('id="crew-list"', 1)[1].split("</ul>", 1)[0]
    pattern = r'<input type="checkbox" name="workers" value="(\d+)"( checked)?'
    return {m.group(1): bool(m.group(2)) for m in re.finditer(pattern, crew)}


def _big_org(line: Line, n: int) -> list[Membership]:
    people = []
    for i in range(n):
        user = factories.make_user(f"w{i:04d}", f"Obrera{i:04d}", last_name="Pérez")
        people.append(factories.add_member(line.world.org, user))
    return people


def test_the_form_stays_small_in_a_large_organisation(line: Line, bob_client: Client) -> None:
    _big_org(line, 300)
    r = bob_client.get(_url(line, "new/"))
    html = r.content.decode()
    assert r.status_code == 200
    assert html.count('name="workers"') == 1  # only Bob, who is recording
    assert "Obrera0001" not in html
    assert len(r.content) < 25_000


def test_the_form_starts_from_the_last_crew_of_the_recorder(line: Line, bob_client: Client) -> None:
    world = line.world
    line.submit(good=1, work_centre=line.mixer, workers=[world.alice_m, world.bob_m])
    r = bob_client.get(_url(line, "new/"))
    html = r.content.decode()
    assert _listed(html) == {str(world.alice_m.pk): True, str(world.bob_m.pk): True}
    # Same line and shift as last time.
    assert f'<option value="{line.mixer.pk}" selected>' in html
    assert f'<option value="{line.day.pk}" selected>' in html


def test_without_history_the_form_starts_from_the_recorders_workgroup(
    line: Line, bob_client: Client
) -> None:
    world = line.world
    group = gov_services.workgroup_create(actor=world.alice, organization=world.org, name="Hornos")
    for m in (world.alice_m, world.bob_m):
        gov_services.workgroup_member_add(actor=world.alice, workgroup=group, membership=m)
    html = bob_client.get(_url(line, "new/")).content.decode()
    assert _listed(html) == {str(world.alice_m.pk): True, str(world.bob_m.pk): True}
    assert f'<option value="{group.pk}" selected>' in html


def test_a_workgroup_of_the_whole_factory_is_no_default(line: Line, bob_client: Client) -> None:
    world = line.world
    everyone = gov_services.workgroup_create(
        actor=world.alice, organization=world.org, name="Todos"
    )
    for m in [world.alice_m, world.bob_m, *_big_org(line, 60)]:
        gov_services.workgroup_member_add(actor=world.alice, workgroup=everyone, membership=m)
    html = bob_client.get(_url(line, "new/")).content.decode()
    assert _listed(html) == {str(world.bob_m.pk): True}


def test_search_finds_people_by_name_or_member_number(line: Line, bob_client: Client) -> None:
    people = _big_org(line, 30)
    url = _url(line, "workers/")
    r = bob_client.get(url, {"worker_q": "obrera0007"}, headers={"HX-Request": "true"})
    assert r.status_code == 200 and b"<html" not in r.content
    assert f'value="{people[7].pk}"' in r.content.decode()
    r = bob_client.get(url, {"worker_q": people[12].member_number})
    assert f'value="{people[12].pk}"' in r.content.decode()
    # A common surname: a handful of answers, not the whole organisation.
    assert bob_client.get(url, {"worker_q": "pérez"}).content.count(b'name="workers"') == 10
    assert b"Nobody found" in bob_client.get(url, {"worker_q": "zzz"}).content


def test_charlie_cannot_search_alices_members(line: Line, charlie_client: Client) -> None:
    assert charlie_client.get(_url(line, "workers/"), {"worker_q": "bob"}).status_code == 404
    assert Client().get(_url(line, "workers/"), {"worker_q": "bob"}).status_code == 302


def test_search_without_javascript_re_renders_the_form(line: Line, bob_client: Client) -> None:
    people = _big_org(line, 3)
    data = _form(line, uuid.uuid4(), workers=[line.world.bob_m.pk], worker_q="Obrera0002")
    data.pop("save")
    data["find_workers"] = "1"
    r = bob_client.post(_url(line, "new/"), data)
    html = r.content.decode()
    assert r.status_code == 200 and LogEntry.objects.count() == 0
    results = html.split('id="worker-results"', 1)[1].split("</ul>", 1)[0]
    assert f'value="{people[2].pk}"' in results
    assert "errorlist" not in html  # looking someone up is no attempt to save


def test_changing_line_brings_its_crew_unless_the_list_was_edited(
    line: Line, alice_client: Client
) -> None:
    world = line.world
    helper = _big_org(line, 1)[0]
    line.submit(good=1, work_centre=line.mixer, workers=[world.alice_m, helper])
    line.submit(good=1, workers=[world.alice_m, world.bob_m])
    auto = [str(world.alice_m.pk), str(world.bob_m.pk)]
    data: dict[str, Any] = _form(
        line, uuid.uuid4(), work_centre=line.mixer.pk, workers=auto, crew_auto=auto
    )
    data.pop("save")
    data["refresh_crew"] = "auto"
    r = alice_client.post(_url(line, "new/"), data, headers={"HX-Request": "true"})
    assert _listed(r.content.decode()) == {str(world.alice_m.pk): True, str(helper.pk): True}
    # Someone unticked Bob by hand: the list is theirs now.
    data["workers"] = [str(world.alice_m.pk)]
    data["crew_shown"] = auto
    html = alice_client.post(_url(line, "new/"), data).content.decode()
    assert _listed(html) == {str(world.alice_m.pk): True, str(world.bob_m.pk): False}
    # The button replaces it whatever was edited.
    data["refresh_crew"] = "1"
    html = alice_client.post(_url(line, "new/"), data).content.decode()
    assert _listed(html) == {str(world.alice_m.pk): True, str(helper.pk): True}


def test_adding_a_workgroup_and_saving_records_the_crew(line: Line, bob_client: Client) -> None:
    world = line.world
    group = gov_services.workgroup_create(actor=world.alice, organization=world.org, name="Hornos")
    gov_services.workgroup_member_add(actor=world.alice, workgroup=group, membership=world.alice_m)
    data = _form(line, uuid.uuid4(), workers=[world.bob_m.pk], crew=group.pk)
    data.pop("save")
    data["add_crew_members"] = "1"
    html = bob_client.post(_url(line, "new/"), data).content.decode()
    listed = _listed(html)
    assert listed == {str(world.alice_m.pk): True, str(world.bob_m.pk): True}
    data.pop("add_crew_members")
    data["save"] = "1"
    data["workers"] = list(listed)
    assert bob_client.post(_url(line, "new/"), data).status_code == 302
    entry = LogEntry.objects.get()
    assert entry.crew == group and entry.workers_count == 2
    assert set(entry.workers.all()) == {world.alice_m, world.bob_m}
    assert "Crew · Hornos" in bob_client.get(_url(line, f"entries/{entry.uuid}/")).content.decode()
    # A correction starts from the crew as recorded.
    html = bob_client.get(_url(line, f"entries/{entry.uuid}/amend/")).content.decode()
    assert _listed(html) == {str(world.alice_m.pk): True, str(world.bob_m.pk): True}


def test_a_crew_of_another_organisation_is_refused(line: Line, bob_client: Client) -> None:
    world = line.world
    theirs = gov_services.workgroup_create(
        actor=world.charlie, organization=world.other_org, name="Taller"
    )
    data = _form(line, uuid.uuid4(), workers=[world.bob_m.pk], crew=theirs.pk)
    assert bob_client.post(_url(line, "new/"), data).status_code == 200
    assert LogEntry.objects.count() == 0
    data = _form(line, uuid.uuid4(), workers=[world.charlie_m.pk])
    assert bob_client.post(_url(line, "new/"), data).status_code == 200
    assert LogEntry.objects.count() == 0
