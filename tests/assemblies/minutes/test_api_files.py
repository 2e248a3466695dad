"""Files over the REST API with a token (no session): the PDF and its PDF/A-3b variant, and a
reviewer's bundle export (start, poll, download), under the same isolation as the pages."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from assemblies.minutes import canonical, pdf, services, worker
from assemblies.models import MinutesRenderJob
from tests import factories
from tests.assemblies.minutes.conftest import approve_by_signatures, hold_assembly

API = "/api/v1/minutes"


def _token_client(user: Any) -> APIClient:
    token, _created = Token.objects.get_or_create(user=user)
    return APIClient(headers={"Authorization": f"Token {token.key}"})


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


@pytest.fixture
def approved(world: Any, record: Any) -> Any:
    return approve_by_signatures(world, record.minutes)


def _queue_and_render(client: APIClient, version: Any, variant: str) -> dict[str, Any]:
    r = client.post(f"{API}/versions/{version.uuid}/pdf/", {"variant": variant}, format="json")
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["file_url"] is None
    # Not rendered yet: the download answers with the job, not a file.
    early = client.get(f"{API}/jobs/{job['uuid']}/file/")
    assert early.status_code == 409 and early.json()["status"] == "queued"
    assert worker.run_pending() == 1
    done = client.get(f"{API}/jobs/{job['uuid']}/").json()
    assert done["status"] == "done" and done["file_url"]
    return dict(done)


def test_token_client_downloads_the_pdf_and_the_pdfa(world: Any, approved: Any) -> None:
    alice = _token_client(world.alice)
    job = _queue_and_render(alice, approved, "standard")
    assert job["file_url"].endswith(f"{API}/jobs/{job['uuid']}/file/")
    r = alice.get(job["file_url"], HTTP_ACCEPT="application/pdf")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert "attachment" in r["Content-Disposition"]
    data = _body(r)
    assert data.startswith(b"%PDF") and approved.hash in pdf.pdf_text(data).replace(" ", "")
    assert pdf.embedded_document(data) is None  # the plain variant carries no data

    job = _queue_and_render(alice, approved, "pdfa")
    r = alice.get(job["file_url"])
    assert r.status_code == 200 and "-pdfa.pdf" in r["Content-Disposition"]
    document = pdf.embedded_document(_body(r))
    assert document is not None and document["hash"] == approved.hash
    assert canonical.verify_document(document)


def test_pdf_files_follow_the_isolation_rules(world: Any, approved: Any) -> None:
    job = _queue_and_render(_token_client(world.alice), approved, "pdfa")
    url = f"{API}/jobs/{job['uuid']}/file/"
    rosa, charlie = _token_client(world.rosa), _token_client(world.charlie)
    # Unpublished: 404 for every non-member, the federation's reviewer included.
    for client in (rosa, charlie):
        assert client.get(url).status_code == 404
        assert client.get(f"{API}/jobs/{job['uuid']}/").status_code == 404
        assert client.post(f"{API}/versions/{approved.uuid}/pdf/", {}).status_code == 404
    assert APIClient().get(url).status_code in (401, 403)
    # Published to the federation rosa reviews: hers to download; charlie (a member of the
    # federation without a reviewer mandate) still gets nothing.
    services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    r = rosa.get(url)
    assert r.status_code == 200 and _body(r).startswith(b"%PDF")
    assert charlie.get(url).status_code == 404
    # A reviewer of another federation, where the minutes were not published: 404.
    other_fed = factories.make_federation("Red Andina", [world.org, world.reviewer_org])
    olga = factories.make_user("olga", "Olga")
    olga_m = factories.add_member(world.reviewer_org, olga)
    factories.grant(olga_m, "federation_reviewer", federation=other_fed)
    assert _token_client(olga).get(url).status_code == 404
    # The reviewer mandate ends: so does the access.
    from governance import services as gov

    gov.mandate_revoke(
        actor=world.rosa, mandate=world.rosa_reviewer, reason="Fin", check_permission=False
    )
    assert rosa.get(url).status_code == 404


def test_reviewer_exports_a_bundle_over_the_api(world: Any) -> None:
    first = approve_by_signatures(world, hold_assembly(world, title="Primera", days_ago=40).minutes)
    second = approve_by_signatures(world, hold_assembly(world, title="Segunda", days_ago=3).minutes)
    for v in (first, second):
        services.minutes_publish(actor=world.alice, version=v, federation=world.federation)
    rosa = _token_client(world.rosa)
    r = rosa.post(
        f"{API}/review/export/",
        {
            "federation": world.federation.slug,
            "date_from": str(second.minutes.assembly.starts_at.date()),
        },
        format="json",
    )
    assert r.status_code == 202, r.content
    job = r.json()
    assert job["kind"] == "bundle" and job["progress_total"] == 1 and job["percent"] == 0
    assert rosa.get(f"{API}/jobs/{job['uuid']}/file/").status_code == 409
    worker.run_pending()
    polled = rosa.get(f"{API}/jobs/{job['uuid']}/").json()
    assert polled["status"] == "done" and polled["percent"] == 100
    r = rosa.get(polled["file_url"])
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(_body(r)))
    index = json.loads(zf.read("index.json"))
    assert [e["hash"] for e in index] == [second.hash]
    assert zf.read(index[0]["file"]).startswith(b"%PDF")
    assert "index.csv" in zf.namelist()
    # Someone else's bundle, even another member or the minutes' own organisation: 404.
    for user in (world.alice, world.charlie):
        assert _token_client(user).get(polled["file_url"]).status_code == 404
        assert _token_client(user).get(f"{API}/jobs/{job['uuid']}/").status_code == 404


def test_only_a_reviewer_exports(world: Any, approved: Any) -> None:
    services.minutes_publish(actor=world.alice, version=approved, federation=world.federation)
    for user in (world.alice, world.charlie):
        r = _token_client(user).post(
            f"{API}/review/export/", {"federation": world.federation.slug}, format="json"
        )
        assert r.status_code == 404
    r = _token_client(world.rosa).post(
        f"{API}/review/export/",
        {"federation": world.federation.slug, "date_from": "31/02/2026"},
        format="json",
    )
    assert r.status_code == 400
    assert not MinutesRenderJob.objects.filter(kind="bundle").exists()


def test_openapi_schema_has_the_file_and_export_endpoints(alice_client: Any) -> None:
    paths = alice_client.get("/api/schema/", {"format": "json"}).json()["paths"]
    file_op = paths["/api/v1/minutes/jobs/{uuid}/file/"]["get"]
    assert {"application/pdf", "application/zip"} <= set(file_op["responses"]["200"]["content"])
    assert "409" in file_op["responses"]
    export = paths["/api/v1/minutes/review/export/"]["post"]
    assert "202" in export["responses"] and "requestBody" in export
