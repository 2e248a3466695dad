"""PDF rendering of approved minutes, for the render worker only.

Never import this module from a view or anything the ASGI process loads: importing
WeasyPrint inside the event loop stalled every websocket for about a second in a measurement.
`assemblies.minutes.worker` runs it in a separate, niced process.
"""

from __future__ import annotations

import io
import json
import mimetypes
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from django.utils import translation

from assemblies.minutes import canonical
from assemblies.minutes.display import for_display
from governance.qr import qr_data_uri

PDF_TEMPLATE = "assemblies/minutes/minutes_pdf.html"
FLOOR_TEMPLATE = "assemblies/minutes/floor_pdf.html"
# Minutes with more agenda items than this get a table of contents.
TOC_MIN_ITEMS = 6
ATTACHMENT_NAME = "minutes.json"


class RefusedURL(ValueError):
    pass


def url_fetcher(
    url: str, timeout: int = 10, ssl_context: Any = None, **kwargs: Any
) -> dict[str, Any]:
    """Only inline data and this server's own static files; never the file system by path,
    never another host. Whatever a note or proposal smuggles in cannot make the renderer
    read local files or call out."""
    parts = urlsplit(url)
    if parts.scheme == "data":
        from weasyprint import default_url_fetcher

        return default_url_fetcher(url, timeout=timeout)  # type: ignore[no-any-return]
    if parts.scheme in {"http", "https"} and _own_host(parts.hostname or ""):
        static = settings.STATIC_URL
        if parts.path.startswith(static):
            relative = parts.path[len(static) :]
            found = finders.find(relative) if ".." not in relative else None
            if isinstance(found, str):
                mime, _ = mimetypes.guess_type(found)
                return {
                    "string": Path(found).read_bytes(),
                    "mime_type": mime,
                    "redirected_url": url,
                }
    raise RefusedURL(f"refused to fetch {url!r}")


def _own_host(host: str) -> bool:
    host = host.lower()
    allowed = [h.lower() for h in settings.ALLOWED_HOSTS if h != "*"]
    return any(host == h or (h.startswith(".") and host.endswith(h)) for h in allowed)


def document_context(document: Mapping[str, Any], *, verify_url: str) -> dict[str, Any]:
    content = document["content"]
    tz = ZoneInfo(content.get("time_zone") or "UTC")
    display = for_display(content, tz)
    return {
        "doc": document,
        "m": display,
        "approval": for_display(document.get("approval", {}), tz),
        "hash": document.get("hash", ""),
        "previous_hash": document.get("previous_hash", ""),
        "verify_url": verify_url,
        "qr": qr_data_uri(verify_url) if verify_url else "",
        "page_size": "letter" if content.get("page_size") == "letter" else "A4",
        "with_toc": len(content.get("items", [])) >= TOC_MIN_ITEMS,
        "tz": tz,
    }


def render_html(
    document: Mapping[str, Any], *, verify_url: str, template: str = PDF_TEMPLATE
) -> str:
    language = document["content"].get("language") or settings.LANGUAGE_CODE
    with translation.override(language):
        return render_to_string(template, document_context(document, verify_url=verify_url))


def html_to_pdf(
    html: str,
    *,
    variant: str = "standard",
    attachment: bytes | None = None,
    base_url: str = "",
) -> bytes:
    from weasyprint import HTML, Attachment

    options: dict[str, Any] = {}
    if variant == "pdfa":
        options["pdf_variant"] = "pdf/a-3b"
        if attachment is not None:
            options["attachments"] = [
                Attachment(
                    string=attachment,
                    name=ATTACHMENT_NAME,
                    description="Canonical minutes (autogestion-minutes/1)",
                    relationship="Source",
                )
            ]
    doc = HTML(string=html, base_url=base_url or None, url_fetcher=url_fetcher)
    return doc.write_pdf(**options)  # type: ignore[no-any-return]


def render_minutes_pdf(
    document: Mapping[str, Any],
    *,
    verify_url: str,
    variant: str = "standard",
    sign: bool = False,
) -> bytes:
    """The PDF of one approved minutes version. `document` is what `services.document_for`
    returns: content, approval, previous hash and hash. The PDF/A-3b variant embeds it."""
    html = render_html(document, verify_url=verify_url)
    attachment = canonical.dumps(document).encode("utf-8") if variant == "pdfa" else None
    pdf = html_to_pdf(html, variant=variant, attachment=attachment, base_url=verify_url)
    if sign:
        from assemblies.minutes import signing

        pdf = signing.sign_pdf(pdf, reason=f"minutes {document.get('hash', '')[:16]}")
    return pdf


def embedded_document(pdf: bytes) -> dict[str, Any] | None:
    """Read the canonical JSON a PDF/A-3b minutes file carries, for offline verification."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    files = reader.attachments.get(ATTACHMENT_NAME)
    if not files:
        return None
    data: dict[str, Any] = json.loads(files[0].decode("utf-8"))
    return data


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)
