"""A crash in the middle of an assembly: the real server (uvicorn in a subprocess, a file
SQLite database) is killed with -9 and restarted; no acknowledged write is lost and the
following client, reconnecting with its last seq, ends at the server's seq."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from bench._harness import ROOT, Backend, LiveClient, Server

SEED = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from bench._harness import seed
s = seed(6, present=6)
print(json.dumps({"uuid": s.assembly_uuid, "tokens": [p.token for p in s.participants],
                  "session": s.participants[0].session}))
"""


def _backend(tmp_path: Path) -> Backend:
    env = {
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "RATE_LIMIT_WRITES_PER_MINUTE": "100000",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SQLITE_PATH": str(tmp_path / "live.sqlite3"),
    }
    return Backend(services=False, workdir=tmp_path, env=env)


def _seed(backend: Backend) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(backend.env)
    out = subprocess.run(
        [sys.executable, "-c", SEED], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _db(backend: Backend, sql: str) -> int:
    with sqlite3.connect(backend.env["SQLITE_PATH"]) as conn:
        return int(conn.execute(sql).fetchone()[0])


async def _raise_hand(http: httpx.AsyncClient, uuid: str, token: str) -> bool:
    """True when the server acknowledged the write."""
    try:
        r = await http.post(
            f"/api/v1/assemblies/{uuid}/queue/",
            json={"kind": "normal"},
            headers={"Authorization": f"Token {token}"},
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 201


async def test_a_crash_loses_no_acknowledged_write_and_the_client_catches_up(
    tmp_path: Path,
) -> None:
    backend = _backend(tmp_path)
    seeded = _seed(backend)
    uuid, tokens = seeded["uuid"], seeded["tokens"]
    server = Server(backend)
    server.start()
    client: LiveClient | None = None
    follow: asyncio.Task[None] | None = None
    try:
        await server.wait_ready()
        start_seq = _db(backend, "SELECT last_seq FROM assemblies_assembly")
        client = LiveClient(
            f"{server.ws_base}/ws/assemblies/{uuid}/", seeded["session"], server.base,
            seq=start_seq,
        )  # fmt: skip
        client.reconnect = True
        follow = asyncio.create_task(client.run())
        await asyncio.wait_for(client.connected.wait(), 10)

        acknowledged = 0
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            assert await _raise_hand(http, uuid, tokens[0])
            acknowledged += 1
            # A burst in flight when the server dies: some writes are acknowledged, the
            # rest fail; only the acknowledged ones are promised.
            burst = [asyncio.create_task(_raise_hand(http, uuid, t)) for t in tokens[1:4]]
            await asyncio.wait(burst, return_when=asyncio.FIRST_COMPLETED)
            server.kill()
            results = await asyncio.gather(*burst)
            acknowledged += sum(results)
        server.start()
        await server.wait_ready()
        async with httpx.AsyncClient(base_url=server.base, timeout=10) as http:
            for token in tokens[4:6]:
                assert await _raise_hand(http, uuid, token)
                acknowledged += 1

        stored = _db(backend, "SELECT count(*) FROM assemblies_speakingrequest")
        assert stored >= acknowledged >= 3
        server_seq = _db(backend, "SELECT last_seq FROM assemblies_assembly")
        assert _db(backend, "SELECT count(*) FROM assemblies_assemblyevent") == server_seq
        for _ in range(200):
            if client.seq == server_seq and client.connects >= 2:
                break
            await asyncio.sleep(0.05)
        assert client.connects >= 2, "the client reconnected after the crash"
        assert client.seq == server_seq
        # Everything after the crash reached the client in order, nothing twice.
        after = [f for f in client.frames if f.first > start_seq]
        assert all(b.first == a.last + 1 for a, b in zip(after, after[1:], strict=False))
    finally:
        if client is not None:
            await client.close()
        if follow is not None:
            follow.cancel()
        server.stop()
