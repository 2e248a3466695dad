"""What only separate processes show: the PDF workers' cap on concurrent renders, and the
live notes in the snapshot of a server process that has just started.

These tests share a file database with the processes they start, so their data must be
committed (transactional_db) and the children are pointed at the same file and media."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection, connections

from assemblies.minutes import services, worker
from assemblies.models import MinutesRenderJob
from tests.assemblies.minutes.conftest import approve_by_signatures, hold_assembly

ROOT = Path(settings.BASE_DIR)


@pytest.fixture
def shared_env(monkeypatch: pytest.MonkeyPatch, settings: Any, transactional_db: Any) -> Path:
    """Children read the test database file and media the test uses (they inherit
    os.environ: the spawner passes it on)."""
    if connection.vendor != "sqlite":
        pytest.skip("child processes share the SQLite test file")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "config.settings")
    monkeypatch.setenv("SQLITE_PATH", str(connection.settings_dict["NAME"]))
    monkeypatch.setenv("MEDIA_ROOT", str(settings.MEDIA_ROOT))
    return Path(settings.MEDIA_ROOT)


def _peak_overlap(intervals: list[tuple[datetime, datetime]]) -> int:
    edges = [(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals]
    # At the same instant an end counts before a start.
    edges.sort(key=lambda e: (e[0], e[1]))
    peak = current = 0
    for _at, delta in edges:
        current += delta
        peak = max(peak, current)
    return peak


def test_render_slots_are_capped_by_the_setting(settings: Any, tmp_path: Path) -> None:
    settings.MINUTES_PDF_WORKERS = 2
    first, second = worker.try_slot(), worker.try_slot()
    assert first is not None and second is not None
    assert worker.try_slot() is None  # a third render would exceed the cap
    worker.release_slot(first)
    third = worker.try_slot()
    assert third is not None
    for fd in (second, third):
        worker.release_slot(fd)


@pytest.mark.parametrize("cap", [1, 2])
def test_simultaneous_pdf_requests_never_render_more_than_the_cap(
    world: Any, shared_env: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, cap: int
) -> None:
    versions = [
        approve_by_signatures(
            world, hold_assembly(world, title=f"Asamblea {n}", days_ago=n).minutes
        )
        for n in (3, 2, 1)
    ]
    settings.MINUTES_WORKER = "spawn"  # real worker processes, as in production
    settings.MINUTES_PDF_WORKERS = cap
    monkeypatch.setenv("MINUTES_PDF_WORKERS", str(cap))
    requests = [(v, variant) for v in versions for variant in ("standard", "pdfa")]

    def request(args: tuple[Any, str]) -> int:
        version, variant = args
        try:
            job = services.pdf_request(
                actor=world.alice, version=version, variant=variant, base_url="http://testserver"
            )
            return job.pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        job_ids = list(pool.map(request, requests))
    assert len(set(job_ids)) == len(requests)
    jobs = MinutesRenderJob.objects.filter(pk__in=job_ids)
    deadline = time.monotonic() + 240
    peak_running = 0
    while time.monotonic() < deadline:
        running = jobs.filter(status=MinutesRenderJob.Status.RUNNING).count()
        peak_running = max(peak_running, running)
        if not jobs.exclude(status__in=["done", "failed"]).exists():
            break
        time.sleep(0.05)
    states = dict(jobs.values_list("status", "error"))
    assert set(states) == {"done"}, states  # every queued request was rendered, none lost
    intervals = [(j.started_at, j.finished_at) for j in jobs]
    assert all(start and end for start, end in intervals)
    peak = _peak_overlap(intervals)  # type: ignore[arg-type]
    assert 1 <= peak <= cap, (peak, cap)
    assert peak_running <= cap
    for job in jobs:
        assert worker.file_path(job).read_bytes().startswith(b"%PDF")


SNAPSHOT = """
import asyncio, json, sys
from config.asgi import application  # what the server loads when it starts
from assemblies.models import Assembly
from assemblies.realtime import sync

a = Assembly.objects.get(uuid=sys.argv[1])

async def reconnect():
    # A client coming back after a restart, too far behind for a replay: one snapshot.
    return await sync.frames_for(sync.Plan(a.pk, str(a.uuid), a.last_seq, None))

print(json.dumps(asyncio.run(reconnect())))
"""


def test_a_fresh_server_process_puts_the_notes_in_its_snapshot(
    world: Any, shared_env: Path
) -> None:
    record = hold_assembly(world)
    env = dict(os.environ)
    out = subprocess.run(
        [sys.executable, "-c", SNAPSHOT, str(record.assembly.uuid)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    frames = json.loads(out.stdout.strip().splitlines()[-1])
    snapshot = json.loads(frames[0])
    assert snapshot["type"] == "snapshot" and snapshot["seq"] == record.assembly.last_seq
    html = snapshot["html"]
    assert 'id="live-notes"' in html
    assert "Falta presupuesto." in html and "Avisar a la línea de bus" in html
