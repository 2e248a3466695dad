"""Federation review: reviewers see published minutes of member organisations and nothing
else; acknowledgement, questions and answers, filters, bundle export; pages and API."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client

from assemblies.minutes import services, worker
from assemblies.models import MinutesRenderJob
from tests import factories
from tests.assemblies.minutes.conftest import approve_by_signatures, hold_assembly


@pytest.fixture
def approved(world: Any, record: Any) -> Any:
    return approve_by_signatures(world, record.minutes)


def _urls(version: Any, minutes: Any) -> list[str]:
    return [
        f"/minutes/{minutes.uuid}/",
        f"/minutes/versions/{version.uuid}/",
        f"/minutes/verify/{version.hash}/",
        f"/api/v1/minutes/{minutes.uuid}/",
        f"/api/v1/minutes/versions/{version.uuid}/",
    ]


def test_unpublished_minutes_are_404_for_every_non_member(
    world: Any, approved: Any, record: Any, rosa_client: Client, charlie_client: Client
) -> None:
    for client in (rosa_client, charlie_client):
        for url in _urls(approved, record.minutes):
            assert client.get(url).status_code == 404, url
        assert client.post(f"/minutes/versions/{approved.uuid}/pdf/").status_code == 404
        assert client.get("/api/v1/minutes/").json() == []


def test_reviewer_sees_published_minutes_and_nothing_else(
    world: Any, approved: Any, record: Any, rosa_client: Client, charlie_client: Client
) -> None:
    pub = services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    assert rosa_client.get(f"/minutes/versions/{approved.uuid}/").status_code == 200
    assert rosa_client.get(f"/review/{pub.uuid}/").status_code == 200
    page = rosa_client.get(f"/f/{world.federation.slug}/review/").content.decode()
    assert "Asamblea de noviembre" in page
    # The draft and the organisation's other pages stay closed to her.
    assert rosa_client.get(f"/minutes/{record.minutes.uuid}/").status_code == 404
    assert rosa_client.get(f"/o/{world.org.slug}/minutes/").status_code == 404
    # A member of another organisation in the federation without a reviewer mandate: 404.
    assert charlie_client.get(f"/review/{pub.uuid}/").status_code == 404
    assert charlie_client.get(f"/f/{world.federation.slug}/review/").status_code == 404
    assert charlie_client.get(f"/minutes/versions/{approved.uuid}/").status_code == 404


def test_expired_reviewer_mandate_grants_nothing(
    world: Any, approved: Any, rosa_client: Client
) -> None:
    pub = services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    from governance import services as gov

    gov.mandate_revoke(
        actor=world.rosa, mandate=world.rosa_reviewer, reason="Fin", check_permission=False
    )
    assert rosa_client.get(f"/review/{pub.uuid}/").status_code == 404
    with pytest.raises(PermissionDenied):
        services.question_ask(actor=world.rosa, publication=pub, text="¿?")


def test_only_a_mandate_publishes(world: Any, approved: Any) -> None:
    with pytest.raises(PermissionDenied):
        services.minutes_publish(actor=world.bob, version=approved, federation=world.federation)


def test_reviewer_acknowledges_asks_and_the_organisation_answers(
    world: Any, approved: Any, rosa_client: Client, alice_client: Client, bob_client: Client
) -> None:
    pub = services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    r = rosa_client.post(f"/api/v1/minutes/review/{pub.uuid}/acknowledge/")
    assert r.status_code == 201
    r = rosa_client.post(
        f"/api/v1/minutes/review/{pub.uuid}/questions/", {"text": "¿Por qué se bloqueó?"}
    )
    assert r.status_code == 201
    question = r.json()["uuid"]
    r = bob_client.post(f"/api/v1/minutes/questions/{question}/answer/", {"answer": "x"})
    assert r.status_code == 403
    r = alice_client.post(
        f"/api/v1/minutes/questions/{question}/answer/", {"answer": "Por la seguridad."}
    )
    assert r.status_code == 200 and r.json()["answered_by"] == "Alice Aponte"
    listed = rosa_client.get(f"/api/v1/minutes/review/{pub.uuid}/questions/").json()
    assert listed[0]["answer"] == "Por la seguridad."
    assert rosa_client.post(f"/review/{pub.uuid}/do/acknowledge/").status_code == 302


def test_reviewer_filters_by_organisation_date_and_decision_text(
    world: Any, rosa_client: Client
) -> None:
    first = hold_assembly(world, title="Primera", days_ago=40)
    v1 = approve_by_signatures(world, first.minutes)
    second = hold_assembly(world, title="Segunda", days_ago=3)
    v2 = approve_by_signatures(world, second.minutes)
    for v in (v1, v2):
        services.minutes_publish(actor=world.alice, version=v, federation=world.federation)
    api = "/api/v1/minutes/review/"
    assert len(rosa_client.get(api, {"federation": world.federation.slug}).json()) == 2
    assert len(rosa_client.get(api, {"organization": world.org.slug}).json()) == 2
    assert rosa_client.get(api, {"organization": world.other_org.slug}).json() == []
    recent = rosa_client.get(api, {"date_from": str(v2.minutes.assembly.starts_at.date())}).json()
    assert [p["title"] for p in recent] == ["Segunda"]
    assert len(rosa_client.get(api, {"q": "6:30"}).json()) == 2
    assert rosa_client.get(api, {"q": "nada parecido"}).json() == []
    assert rosa_client.get(api, {"date_from": "no-date"}).status_code == 400


def test_export_bundle_has_pdfs_and_an_index(
    world: Any, approved: Any, rosa_client: Client
) -> None:
    services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    r = rosa_client.post(f"/f/{world.federation.slug}/review/export/", {})
    assert r.status_code == 302
    job = MinutesRenderJob.objects.get(kind="bundle")
    assert rosa_client.get(r["Location"]).status_code == 200  # progress page
    worker.run_pending()
    job.refresh_from_db()
    assert job.status == "done" and job.percent == 100
    download = rosa_client.get(f"/minutes/jobs/{job.uuid}/file/")
    zf = zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content)))  # type: ignore[attr-defined]
    index = json.loads(zf.read("index.json"))
    assert index[0]["hash"] == approved.hash
    assert zf.read(index[0]["file"]).startswith(b"%PDF")
    # Another reviewer's bundle is not hers to download; charlie gets nothing either.
    other = factories.make_user("olga", "Olga")
    assert Client().get(f"/minutes/jobs/{job.uuid}/file/").status_code == 302  # login
    c = Client()
    c.force_login(other)
    assert c.get(f"/minutes/jobs/{job.uuid}/file/").status_code == 404


def test_api_lists_details_verifies_and_queues_pdf(
    world: Any, approved: Any, record: Any, alice_client: Client
) -> None:
    listed = alice_client.get("/api/v1/minutes/", {"organization": world.org.slug}).json()
    assert listed[0]["status"] == "approved"
    detail = alice_client.get(f"/api/v1/minutes/{record.minutes.uuid}/").json()
    assert detail["versions"][0]["hash"] == approved.hash
    doc = alice_client.get(f"/api/v1/minutes/versions/{approved.uuid}/").json()["document"]
    from assemblies.minutes import canonical

    assert canonical.verify_document(doc)
    v = alice_client.get("/api/v1/minutes/verify/", {"organization": world.org.slug}).json()
    assert v == {
        "organization": world.org.slug,
        "federation": None,
        "ok": True,
        "length": 1,
        "problems": [],
    }
    r = alice_client.post(f"/api/v1/minutes/versions/{approved.uuid}/pdf/", {"variant": "pdfa"})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    assert (
        alice_client.post(
            f"/api/v1/minutes/versions/{approved.uuid}/pdf/", {"variant": "bogus"}
        ).status_code
        == 400
    )
    worker.run_pending()
    job = alice_client.get(f"/api/v1/minutes/jobs/{r.json()['uuid']}/").json()
    assert job["status"] == "done" and job["file_url"].endswith("/file/")
    r = alice_client.post(
        f"/api/v1/minutes/versions/{approved.uuid}/publish/", {"federation": world.federation.slug}
    )
    assert r.status_code == 201


def test_pages_show_draft_and_verify(world: Any, record: Any, alice_client: Client) -> None:
    assert alice_client.get(f"/o/{world.org.slug}/minutes/").status_code == 200
    page = alice_client.get(f"/minutes/{record.minutes.uuid}/").content.decode()
    assert "Pone en riesgo el turno de noche" in page
    r = alice_client.post(f"/minutes/{record.minutes.uuid}/do/notes/", {"text": "Nueva nota"})
    assert r.status_code == 302
    r = alice_client.post(
        f"/minutes/{record.minutes.uuid}/do/task/",
        {"text": "Llamar", "responsible": "999", "due_on": "2026-12-01"},
    )
    assert r.status_code == 302  # bad member number: a message, not a 500
    assert alice_client.get(f"/o/{world.org.slug}/minutes/verify/").status_code == 200
