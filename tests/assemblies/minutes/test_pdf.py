"""The PDF: rendered by the worker from the approved data, with the decisions, the blocks
with their reasons and the hash; the PDF/A-3b variant carries verifiable JSON; hostile
text is harmless; the renderer fetches nothing local or foreign."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pypdf import PdfReader

from assemblies.minutes import canonical, pdf, services, signing, worker
from assemblies.models import MinutesRenderJob
from tests.assemblies.minutes.conftest import BLOCK_REASON, approve_by_signatures

HOSTILE = (
    '<script>alert("x")</script></style><style>body{display:none}</style>'
    '<img src="file:///etc/passwd"> <link rel=stylesheet href="http://evil.example/x.css"> '
    + "A" * 10_000
    + " مرحبا بالعالم שלום 😀🏭 fin"
)


def _render(world: Any, version: Any, variant: str = "standard", signed: bool = False) -> bytes:
    job = services.pdf_request(
        actor=world.alice,
        version=version,
        variant=variant,
        signed=signed,
        base_url="http://testserver",
    )
    assert job.status == MinutesRenderJob.Status.QUEUED  # the web request only queues it
    assert worker.run_pending() == 1
    job.refresh_from_db()
    assert job.status == MinutesRenderJob.Status.DONE, job.error
    return worker.file_path(job).read_bytes()


def test_pdf_contains_decisions_blocks_with_reasons_and_the_hash(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    text = " ".join(pdf.pdf_text(_render(world, version)).split())
    decision = record.adopted.decision
    assert f"Decisión n.º {decision.number}" in text or f"#{decision.number}" in text
    assert BLOCK_REASON in text and "Bob Blanco" in text
    assert version.hash in text.replace(" ", "")
    assert "Alba" in text  # running header: the organisation


def test_pdfa_embeds_json_that_verifies_offline(world: Any, record: Any, tmp_path: Path) -> None:
    version = approve_by_signatures(world, record.minutes)
    data = _render(world, version, variant="pdfa")
    root: Any = PdfReader(io.BytesIO(data)).trailer["/Root"]
    xmp = root["/Metadata"].get_object().get_data()
    assert b"pdfaid" in xmp and b"3" in xmp  # PDF/A-3 identification
    document = pdf.embedded_document(data)
    assert document is not None and document["hash"] == version.hash
    assert canonical.verify_document(document)
    document["content"]["items"][1]["proposals"][0]["rounds"][0]["blocks"] = []
    assert not canonical.verify_document(document)
    path = tmp_path / "m.pdf"
    path.write_bytes(data)
    call_command("verify_minutes", "--pdf", str(path))
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(_render(world, version))
    with pytest.raises(CommandError):
        call_command("verify_minutes", "--pdf", str(plain))


def test_signed_pdf_shows_whether_it_was_altered(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    data = _render(world, version, signed=True)
    assert signing.signature_intact(data)
    tampered = data.replace(BLOCK_REASON.encode("latin-1", "ignore")[:6], b"XXXXXX", 1)
    if tampered == data:  # text is compressed: flip a byte inside the signed range instead
        i = len(data) // 3
        tampered = data[:i] + bytes([data[i] ^ 0x01]) + data[i + 1 :]
    assert not signing.signature_intact(tampered)


def test_same_pdf_request_is_rendered_once(world: Any, record: Any) -> None:
    version = approve_by_signatures(world, record.minutes)
    a = services.pdf_request(actor=world.alice, version=version)
    b = services.pdf_request(actor=world.bob, version=version)
    assert a.pk == b.pk


def test_url_fetcher_refuses_files_and_other_hosts() -> None:
    for url in ("file:///etc/passwd", "http://evil.example/x.css", "https://169.254.169.254/"):
        with pytest.raises(pdf.RefusedURL):
            pdf.url_fetcher(url)
    fetched = pdf.url_fetcher("data:text/plain,hola")
    assert (fetched.get("string") or fetched["file_obj"].read()) == b"hola"
    css = pdf.url_fetcher("http://testserver/static/css/app.css")
    assert b"--accent" in css["string"]
    with pytest.raises(pdf.RefusedURL):
        pdf.url_fetcher("http://testserver/static/../config/settings.py")


def test_hostile_text_renders_safely_in_page_and_pdf(
    world: Any, record: Any, alice_client: Any
) -> None:
    services.minutes_notes_set(actor=world.alice, minutes=record.minutes, text=HOSTILE)
    page = alice_client.get(f"/minutes/{record.minutes.uuid}/").content.decode()
    assert '<script>alert("x")' not in page and "&lt;script&gt;" in page
    assert "<style>body{display:none}" not in page
    assert "مرحبا بالعالم" in page and "😀" in page
    version = approve_by_signatures(world, record.minutes)
    text = pdf.pdf_text(_render(world, version))
    assert "fin" in text and "alert" in text  # shown as text, not run or dropped
    assert "root:" not in text  # /etc/passwd was not pulled in
    assert json.loads(version.content)["notes"] == HOSTILE


def test_pdf_embeds_its_fonts_and_follows_the_organisations_page_size(
    world: Any, record: Any
) -> None:
    world.org.page_size = "letter"
    world.org.save(update_fields=["page_size"])
    version = approve_by_signatures(world, record.minutes)
    reader = PdfReader(io.BytesIO(_render(world, version)))
    page: Any = reader.pages[0]
    assert round(float(page.mediabox.width)) == 612  # US Letter, 8.5 in
    fonts = page["/Resources"]["/Font"]
    for ref in fonts.values():
        font = ref.get_object()
        descendant = (
            font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
        )
        descriptor = descendant["/FontDescriptor"].get_object()
        assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
