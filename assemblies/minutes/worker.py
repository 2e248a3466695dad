"""The render worker: takes queued jobs from the database and renders them with WeasyPrint,
in its own low-priority process (`manage.py minutes_worker`), never in the web process.

Several workers may run: a job is claimed with a conditional UPDATE, so each runs once.

At most `MINUTES_PDF_WORKERS` of them render at a time on a machine (one WeasyPrint render
of large minutes takes a core and hundreds of MB for seconds; twenty at once would starve
the live assemblies). A render slot is an exclusive `flock` on one of that many files under
MEDIA_ROOT: the kernel drops it when its process ends, so a crashed worker frees its slot.
Whoever finds every slot taken leaves the job queued: each slot holder looks at the queue
again after giving its slot up (see `run_pending`), so no job waits for a worker that quit.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import logging
import os
import time
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from assemblies.minutes import selectors
from assemblies.models import MinutesPublication, MinutesRenderJob, MinutesVersion

logger = logging.getLogger(__name__)

SUBDIR = "minutes"
# A job left "running" this long by a crashed worker is taken up again.
STALE_AFTER_SECONDS = 600
# A spawned worker finds the slot its spawner took for it on this descriptor.
SLOT_FD_ENV = "MINUTES_SLOT_FD"


def output_dir() -> Path:
    path = Path(settings.MEDIA_ROOT) / SUBDIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job: MinutesRenderJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file


def verify_url(base_url: str, version: MinutesVersion) -> str:
    from django.urls import reverse

    path = reverse("minutes:verify-hash", args=[version.hash])
    return base_url.rstrip("/") + path if base_url else path


# --- Render slots -------------------------------------------------------------------------


def slot_count() -> int:
    return max(1, int(getattr(settings, "MINUTES_PDF_WORKERS", 1)))


def _slot_dir() -> Path:
    path = output_dir() / ".workers"
    path.mkdir(parents=True, exist_ok=True)
    return path


def try_slot() -> int | None:
    """Take a free render slot: an open descriptor holding its lock, or None when every
    slot is taken. Closing the descriptor (or exiting) gives the slot back."""
    folder = _slot_dir()
    for n in range(slot_count()):
        fd = os.open(folder / f"slot-{n}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return fd
    return None


def release_slot(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def _inherited_slot() -> int | None:
    """The slot a spawner took and handed over (once: a later round takes its own)."""
    value = os.environ.pop(SLOT_FD_ENV, "")
    try:
        fd = int(value)
        os.fstat(fd)
    except (ValueError, OSError):
        return None
    return fd


@contextlib.contextmanager
def render_slot(fd: int | None = None) -> Iterator[bool]:
    """Hold a render slot (the given one, or a free one) for the block; yields whether one
    was had."""
    held = fd if fd is not None else try_slot()
    try:
        yield held is not None
    finally:
        if held is not None:
            release_slot(held)


def _claimable() -> Any:
    stale = timezone.now() - timedelta(seconds=STALE_AFTER_SECONDS)
    return MinutesRenderJob.objects.filter(status=MinutesRenderJob.Status.QUEUED) | (
        MinutesRenderJob.objects.filter(
            status=MinutesRenderJob.Status.RUNNING, started_at__lt=stale
        )
    )


def claim_next() -> MinutesRenderJob | None:
    for job in _claimable().order_by("created_at", "id")[:10]:
        claimed = MinutesRenderJob.objects.filter(pk=job.pk, status=job.status).update(
            status=MinutesRenderJob.Status.RUNNING, started_at=timezone.now()
        )
        if claimed:
            job.refresh_from_db()
            return job
    return None


def _write(name: str, data: bytes) -> str:
    target = output_dir() / name
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return f"{SUBDIR}/{name}"


def render_version(version: MinutesVersion, *, variant: str, signed: bool, base_url: str) -> bytes:
    from assemblies.minutes import pdf

    return pdf.render_minutes_pdf(
        selectors.document_for(version),
        verify_url=verify_url(base_url, version),
        variant=variant,
        sign=signed,
    )


def _run_pdf(job: MinutesRenderJob) -> None:
    assert job.version is not None
    data = render_version(
        job.version, variant=job.variant, signed=job.signed, base_url=job.base_url
    )
    job.file = _write(f"{job.uuid}.pdf", data)
    job.progress_done = 1


def _pdf_for_bundle(version: MinutesVersion, base_url: str) -> bytes:
    done = (
        MinutesRenderJob.objects.filter(
            kind=MinutesRenderJob.Kind.PDF,
            version=version,
            variant="pdfa",
            signed=False,
            status=MinutesRenderJob.Status.DONE,
        )
        .order_by("-finished_at")
        .first()
    )
    if done is not None and file_path(done).exists():
        return file_path(done).read_bytes()
    return render_version(version, variant="pdfa", signed=False, base_url=base_url)


def _run_bundle(job: MinutesRenderJob) -> None:
    uuids = job.params.get("publications", [])
    pubs = (
        MinutesPublication.objects.filter(uuid__in=uuids, federation=job.federation)
        .select_related("version__minutes__assembly", "organization", "federation")
        .order_by("organization__name", "version__minutes__assembly__starts_at")
    )
    job.progress_total = len(uuids)
    job.save(update_fields=["progress_total"])
    buf = io.BytesIO()
    index: list[dict[str, Any]] = []
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, pub in enumerate(pubs, start=1):
            version = pub.version
            assembly = version.minutes.assembly
            # A federation's own minutes have no organisation: filed under the federation.
            body = pub.organization or pub.federation
            name = (
                f"{body.slug}/{timezone.localtime(assembly.starts_at):%Y-%m-%d}-{version.uuid}.pdf"
            )
            zf.writestr(name, _pdf_for_bundle(version, job.base_url))
            index.append(
                {
                    "file": name,
                    "organization": body.name,
                    "assembly": assembly.title,
                    "date": timezone.localtime(assembly.starts_at).date().isoformat(),
                    "version": version.number,
                    "hash": version.hash,
                    "previous_hash": version.previous_hash,
                    "published_at": pub.published_at.isoformat(),
                }
            )
            MinutesRenderJob.objects.filter(pk=job.pk).update(progress_done=n)
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(index[0]) if index else ["file"])
        writer.writeheader()
        writer.writerows(index)
        zf.writestr("index.csv", out.getvalue())
        zf.writestr("index.json", json.dumps(index, ensure_ascii=False, indent=1))
    job.file = _write(f"{job.uuid}.zip", buf.getvalue())
    job.progress_done = len(index)


def run_job(job: MinutesRenderJob) -> MinutesRenderJob:
    try:
        if job.kind == MinutesRenderJob.Kind.PDF:
            _run_pdf(job)
        else:
            _run_bundle(job)
    except Exception as exc:  # the job records any failure; the worker carries on
        logger.exception("minutes render job %s failed", job.uuid)
        job.status = MinutesRenderJob.Status.FAILED
        job.error = f"{type(exc).__name__}: {exc}"[:2000]
    else:
        job.status = MinutesRenderJob.Status.DONE
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "error", "file", "progress_done", "finished_at"])
    return job


def _run_claimed(limit: int | None) -> int:
    ran = 0
    while limit is None or ran < limit:
        job = claim_next()
        if job is None:
            break
        run_job(job)
        ran += 1
    return ran


def run_pending(limit: int | None = None) -> int:
    """Run queued jobs until none is left (or `limit` ran), inside a render slot; returns
    how many ran. With every slot taken it returns 0 at once: the holders run the job."""
    ran = 0
    slot = _inherited_slot()
    while limit is None or ran < limit:
        with render_slot(slot) as held:
            slot = None
            if not held:
                return ran
            ran += _run_claimed(None if limit is None else limit - ran)
        # Between our last empty look and giving the slot up, a job may have been queued
        # by someone who found every slot taken and so started nobody: look again.
        if not _claimable().exists():
            break
    return ran


def serve_forever(poll_seconds: float = 1.0) -> None:
    # Warm the renderer once, so the first job does not pay the import.
    import weasyprint  # noqa: F401

    while True:
        close_old_connections()
        if not run_pending():
            time.sleep(poll_seconds)
