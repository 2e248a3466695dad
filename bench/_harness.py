"""Shared machinery of the live benchmarks: a seeded database, the real ASGI server in a
subprocess (as `make run` starts it), and websocket clients that follow an assembly.

The clients run in this process (asyncio + `websockets`), the server in others, so client
work is not billed to the server. Logins are not what is measured: users, memberships,
sessions and API tokens are created directly in the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_live")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else 65536
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- environment and database ----------------------------------------------------------------


@dataclass
class Backend:
    services: bool
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, services: bool) -> Backend:
        workdir = Path(tempfile.mkdtemp(prefix="bench-live-"))
        env = {
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RATE_LIMIT_WRITES_PER_MINUTE": "1000000",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        if services:
            env["DATABASE_URL"] = PG_URL
            env["REDIS_URL"] = REDIS_URL
        else:
            env["SQLITE_PATH"] = str(workdir / "bench.sqlite3")
            env.pop("DATABASE_URL", None)
            env.pop("REDIS_URL", None)
        return cls(services=services, workdir=workdir, env=env)

    def prepare(self) -> None:
        """Fresh database, migrated; Django set up in this process for seeding and checks."""
        for key in ("DATABASE_URL", "REDIS_URL", "SQLITE_PATH"):
            os.environ.pop(key, None)
        os.environ.update(self.env)
        # The ORM calls of this process (seeding, final checks) happen outside the measured
        # windows, from the benchmark's event loop. Never passed on to the servers.
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
        if self.services:
            _recreate_postgres(PG_URL)
            import redis

            redis.Redis.from_url(REDIS_URL).flushdb()
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)

    def cleanup(self) -> None:
        if os.environ.get("BENCH_KEEP"):
            print(f"kept {self.workdir}", flush=True)
            return
        shutil.rmtree(self.workdir, ignore_errors=True)


def _recreate_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- seeding ---------------------------------------------------------------------------------


@dataclass
class Participant:
    user_id: int
    membership_uuid: str
    session: str
    token: str


@dataclass
class Seeded:
    assembly_uuid: str
    assembly_pk: int
    facilitator_token: str
    facilitator_session: str
    participants: list[Participant]
    round_uuid: str | None = None


def seed(n: int, *, present: int = 0, with_round: bool = False) -> Seeded:
    """An organisation of `n` members (plus a facilitator) with an open assembly whose current
    agenda item is under discussion; the first `present` members are checked in."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from assemblies import events, services
    from assemblies.models import Attendance
    from governance import services as gov
    from governance.models import Mandate, Membership

    user_model = get_user_model()
    password = make_password(secrets.token_urlsafe(12))
    facilitator = user_model.objects.create(
        username="facilitadora", first_name="Ana", last_name="Facilitadora", password=password
    )
    org = gov.organization_found(
        name="Cecosesola (banco de pruebas)",
        founders=[facilitator],
        mandates=[gov.FoundingMandate(person=facilitator, role=Mandate.Role.FACILITATOR)],
        founded_at=timezone.now() - timedelta(days=30),
    )
    users = user_model.objects.bulk_create(
        [
            user_model(
                username=f"socia{i:04d}",
                first_name=f"Socia {i}",
                last_name="Prueba",
                password=password,
            )
            for i in range(n)
        ],
        batch_size=500,
    )
    users = list(user_model.objects.filter(username__startswith="socia").order_by("username"))
    Membership.objects.bulk_create(
        [
            Membership(person=u, organization=org, member_number=str(1000 + i))
            for i, u in enumerate(users)
        ],
        batch_size=500,
    )
    memberships = {m.person_id: m for m in Membership.objects.filter(organization=org)}

    assembly = services.assembly_create(
        actor=facilitator, title="Asamblea general", starts_at=timezone.now(), organization=org
    )
    services.assembly_open(actor=facilitator, assembly=assembly)
    item = services.agenda_item_propose(
        actor=facilitator, assembly=assembly, title="Distribución de excedentes", kind="decision"
    )
    services.agenda_item_set_current(actor=facilitator, item=item)
    assembly.refresh_from_db()

    now = timezone.now()
    checked_in = [memberships[facilitator.pk]] + [memberships[u.pk] for u in users[:present]]
    with transaction.atomic():
        Attendance.objects.bulk_create(
            [
                Attendance(assembly=assembly, membership=m, checked_in_at=now, method="facilitator")
                for m in checked_in
            ],
            batch_size=500,
        )
        events.emit(assembly=assembly, kind="attendance.check_in", regions=["attendance"])

    round_uuid = None
    if with_round:
        proposal = services.proposal_create(
            actor=facilitator,
            assembly=assembly,
            title="Repartir el 30 % al fondo social",
            text="El 30 % de los excedentes va al fondo social de la red.",
        )
        round_uuid = str(services.round_open(actor=facilitator, proposal=proposal).uuid)

    everyone = [facilitator, *users]
    sessions: dict[int, str] = {}
    rows = []
    expiry = timezone.now() + timedelta(days=1)
    for u in everyone:
        key = secrets.token_hex(16)
        data = SessionStore().encode(
            {
                "_auth_user_id": str(u.pk),
                "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
                "_auth_user_hash": u.get_session_auth_hash(),
            }
        )
        rows.append(Session(session_key=key, session_data=data, expire_date=expiry))
        sessions[u.pk] = key
    Session.objects.bulk_create(rows, batch_size=500)
    tokens = {u.pk: secrets.token_hex(20) for u in everyone}
    Token.objects.bulk_create([Token(user=u, key=tokens[u.pk]) for u in everyone], batch_size=500)
    assembly.refresh_from_db()
    return Seeded(
        assembly_uuid=str(assembly.uuid),
        assembly_pk=assembly.pk,
        facilitator_token=tokens[facilitator.pk],
        facilitator_session=sessions[facilitator.pk],
        participants=[
            Participant(
                user_id=u.pk,
                membership_uuid=str(memberships[u.pk].uuid),
                session=sessions[u.pk],
                token=tokens[u.pk],
            )
            for u in users
        ],
        round_uuid=round_uuid,
    )


def db_last_seq(pk: int) -> int:
    from django.db import close_old_connections

    from assemblies.models import Assembly

    close_old_connections()
    return int(Assembly.objects.values_list("last_seq", flat=True).get(pk=pk))


# --- the server ------------------------------------------------------------------------------


class Server:
    """`uvicorn config.asgi:application` with make run's flags, in its own process."""

    def __init__(self, backend: Backend, *, app: str = "config.asgi:application") -> None:
        self.backend = backend
        self.app = app
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = backend.workdir / f"server-{self.port}.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**os.environ, **self.backend.env}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        if not self.backend.services:
            env.pop("DATABASE_URL", None)
            env.pop("REDIS_URL", None)
        cmd = [
            PYTHON, "-m", "uvicorn", self.app,
            "--host", "127.0.0.1", "--port", str(self.port),
            "--ws-per-message-deflate", "false", "--ws-max-size", "65536",
            "--no-access-log", "--log-level", "warning", "--lifespan", "off",
            "--backlog", "4096",
        ]  # fmt: skip
        log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=log)

    async def wait_ready(self, timeout: float = 30) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc is not None and self.proc.poll() is not None:
                    raise RuntimeError(f"server exited:\n{self.log()[-3000:]}")
                try:
                    r = await client.get(f"{self.base}/accounts/login/", timeout=2)
                    if r.status_code < 500:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{self.log()[-3000:]}")

    def kill(self) -> None:
        """kill -9: no goodbye to the sockets, no flushing; a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def rss_mb(self) -> float:
        import psutil

        assert self.proc is not None
        return float(psutil.Process(self.proc.pid).memory_info().rss) / 2**20

    def cpu_seconds(self) -> float:
        import psutil

        assert self.proc is not None
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


# --- clients ---------------------------------------------------------------------------------


@dataclass
class Frame:
    first: int
    last: int
    at: float
    html: str = ""


class LiveClient:
    """One participant's socket, following the assembly like live.js does."""

    def __init__(
        self, url: str, session: str, origin: str, *, seq: int | None, keep_html: bool = False
    ) -> None:
        self.url = url
        self.session = session
        self.origin = origin
        self.seq = seq
        self.keep_html = keep_html
        self.frames: list[Frame] = []
        self.snapshots = 0
        self.replays = 0
        self.connects = 0
        self.synced_at: float | None = None  # when the first frame after (re)connecting came
        self.connected = asyncio.Event()
        self.ws: Any = None
        self.reconnect = False
        self.stopped = False
        self.errors: list[str] = []
        self.holes = 0  # frames that skipped events (refused, and a resync asked for)

    async def _open(self) -> Any:
        from websockets.asyncio.client import connect

        query = f"?seq={self.seq}" if self.seq is not None else ""
        return await connect(
            self.url + query,
            origin=self.origin,  # type: ignore[arg-type]
            additional_headers={"Cookie": f"sessionid={self.session}"},
            compression=None,
            ping_interval=None,
            max_size=2**24,
            open_timeout=60,
            close_timeout=2,
        )

    async def run(self) -> None:
        attempt = 0
        while not self.stopped:
            try:
                self.ws = await self._open()
            except Exception as exc:  # noqa: BLE001 - retried like live.js
                self.errors.append(type(exc).__name__)
                if not self.reconnect:
                    self.connected.set()
                    return
                await asyncio.sleep(0.25 + random.random() * min(5.0, 0.5 * 2**attempt))
                attempt += 1
                continue
            attempt = 0
            self.connects += 1
            first = True
            try:
                async for raw in self.ws:
                    self._on_frame(raw, first)
                    if first:
                        first = False
                        self.connected.set()
            except Exception:  # noqa: BLE001 - connection lost
                pass
            if not self.reconnect or self.stopped:
                return
            self.synced_at = None
            await asyncio.sleep(0.25 + random.random() * 0.5)

    def _on_frame(self, raw: str | bytes, first: bool) -> None:
        now = time.perf_counter()
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "events":
            if self.seq is not None and frame["to"] <= self.seq:
                # Counted for the report: a duplicate delivery.
                self.frames.append(Frame(frame["from"], frame["to"], now))
                return
            if self.seq is not None and frame["from"] > self.seq + 1:
                # A hole: like live.js, never show it; ask for what is missing instead.
                self.holes += 1
                if self.ws is not None:
                    asyncio.ensure_future(self._send({"type": "resync", "seq": self.seq}))
                return
            self.frames.append(
                Frame(frame["from"], frame["to"], now, frame["html"] if self.keep_html else "")
            )
            if first:
                self.replays += 1
            self.seq = frame["to"]
        elif kind == "snapshot":
            self.snapshots += 1
            self.seq = frame["seq"]
        elif kind == "sync":
            self.seq = frame["seq"]
        if first:
            self.synced_at = now

    async def _send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send(json.dumps(message))

    async def close(self) -> None:
        self.stopped = True
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()


async def connect_all(
    clients: Sequence[LiveClient], *, concurrency: int = 64, timeout: float = 120
) -> list[asyncio.Task[None]]:
    """Start every client's loop, at most `concurrency` handshakes at a time."""
    gate = asyncio.Semaphore(concurrency)
    tasks: list[asyncio.Task[None]] = []

    async def start(c: LiveClient) -> None:
        async with gate:
            tasks.append(asyncio.create_task(c.run()))
            await asyncio.wait_for(c.connected.wait(), timeout)

    await asyncio.gather(*(start(c) for c in clients))
    return tasks


def check_clients(
    clients: Sequence[LiveClient], expected: range
) -> tuple[int, int, int, list[float]]:
    """(lost, duplicated, out_of_order, delivery times per (client, seq)) over `expected`."""
    lost = duplicated = out_of_order = 0
    for c in clients:
        seen: dict[int, int] = {}
        previous = -1
        for f in c.frames:
            if f.last < previous:
                out_of_order += 1
            previous = max(previous, f.last)
            for s in range(f.first, f.last + 1):
                if s in expected:
                    seen[s] = seen.get(s, 0) + 1
        lost += sum(1 for s in expected if s not in seen)
        duplicated += sum(n - 1 for n in seen.values())
    return lost, duplicated, out_of_order, []


def print_json(result: dict[str, Any]) -> None:
    """The last line: strict JSON (a figure that could not be measured is null, not NaN)."""
    clean = {
        k: (None if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))) else v)
        for k, v in result.items()
    }
    print(json.dumps(clean, allow_nan=False), flush=True)
