"""Fault runs against the real server: processes, a seeded assembly, a vote storm, followers.

The server runs as `make run` starts it (uvicorn subprocess, `config.asgi`), on its own
database (a SQLite file, or a PostgreSQL database of its own next to `DATABASE_URL`), so it can
be killed with SIGKILL and started again. Voters state positions over HTTP with API tokens and
remember every write the server acknowledged (HTTP 2xx); followers hold websockets, apply
frames as `assemblies/consumers.py` documents and reconnect with their last `seq`.

Also a command line, run inside the server's environment (Django set up there):
    python -m tests.robustness.faultkit seed --voters 40   -> JSON of the seeded world
    python -m tests.robustness.faultkit check < acks.json   -> JSON: what is missing
    python -m tests.robustness.faultkit outage ...          -> the services outage run
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable
STANCES = ["agree", "concern", "stand_aside", "block"]
SESSION_COOKIE = "sessionid"


# --- processes ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_env(
    *, sqlite_path: str | None = None, database_url: str = "", redis_url: str = ""
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        PYTHONPATH=str(ROOT),
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # The storm is many writes from one address; the limit is not what is under test.
        RATE_LIMIT_WRITES_PER_MINUTE="1000000",
        LOG_LEVEL="ERROR",
    )
    if sqlite_path:
        env["SQLITE_PATH"] = sqlite_path
    if database_url:
        env["DATABASE_URL"] = database_url
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=timeout)


def cli(env: dict[str, str], *args: str, payload: Any = None, timeout: float = 120) -> Any:
    """Run a command of this module inside the server's environment; its last line is JSON."""
    out = subprocess.run(
        [PYTHON, "-m", "tests.robustness.faultkit", *args],
        cwd=ROOT,
        env=env,
        input=json.dumps(payload) if payload is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"faultkit {' '.join(args)} failed:\n{out.stdout}\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def fresh_postgres_database(database_url: str, name: str) -> str:
    """A database of our own on the same server (dropped and created again)."""
    import psycopg

    parts = urlsplit(database_url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def drop_postgres_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')


@dataclass
class Server:
    """One uvicorn process serving `config.asgi` as `make run` does."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        import httpx

        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--ws-per-message-deflate",
                "false",
                "--ws-max-size",
                "65536",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}: {self.log()}")
            try:
                if httpx.get(self.base_url + "/accounts/login/", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not come up in {timeout}s: {self.log()}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""


# --- the storm ------------------------------------------------------------------------------


@dataclass
class Acks:
    """What the clients saw succeed: these must all be in the database afterwards."""

    positions: list[str] = field(default_factory=list)
    attendances: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    acked_at: list[float] = field(default_factory=list)

    def as_payload(self, world: dict[str, Any]) -> dict[str, Any]:
        return {
            "assembly": world["assembly"],
            "positions": self.positions,
            "attendances": self.attendances,
        }


async def _post(
    client: Any, url: str, token: str, body: dict[str, Any], acks: Acks, deadline: float
) -> Any:
    """POST until the server answers (a dead or restarting server is retried)."""
    import httpx

    while time.monotonic() < deadline:
        try:
            r = await client.post(
                url, json=body, headers={"Authorization": f"Token {token}"}, timeout=10
            )
        except httpx.HTTPError as exc:
            acks.statuses[type(exc).__name__] += 1
            await asyncio.sleep(0.1 + random.random() * 0.2)
            continue
        acks.statuses[str(r.status_code)] += 1
        if r.status_code >= 500 or r.status_code == 429:
            await asyncio.sleep(0.1 + random.random() * 0.2)
            continue
        return r
    return None


async def voter(
    *,
    index: int,
    voter: dict[str, Any],
    world: dict[str, Any],
    bases: Sequence[str],
    writes: int,
    acks: Acks,
    deadline: float,
) -> None:
    import httpx

    base = bases[index % len(bases)]
    a = world["assembly"]
    async with httpx.AsyncClient() as client:
        r = await _post(
            client,
            f"{base}/api/v1/assemblies/{a}/attendance/",
            voter["token"],
            {"code": world["code"]},
            acks,
            deadline,
        )
        if r is not None and r.status_code == 201:
            acks.attendances.append(r.json()["uuid"])
        # (400 after a retry: the first attempt committed but its answer was lost.)
        for n in range(writes):
            stance = STANCES[(index + n) % len(STANCES)]
            body = {"stance": stance, "text": "" if stance == "agree" else f"motivo {n}"}
            r = await _post(
                client,
                f"{base}/api/v1/assemblies/{a}/rounds/{world['round']}/positions/",
                voter["token"],
                body,
                acks,
                deadline,
            )
            if r is None:
                return
            if r.status_code == 201:
                acks.positions.append(r.json()["position"]["uuid"])
                acks.acked_at.append(time.monotonic())


@dataclass
class Follower:
    """A websocket client that applies frames the way the protocol says and reconnects."""

    url: str
    cookie: str
    origin: str
    seq: int | None = None
    connects: int = 0
    frames: int = 0
    gaps: int = 0
    errors: int = 0
    last_error: str = ""
    received: list[tuple[float, int]] = field(default_factory=list)

    def apply(self, frame: dict[str, Any]) -> bool:
        """Apply one frame; False if it shows a gap (then ask for a resync)."""
        self.frames += 1
        kind = frame.get("type")
        if kind in ("snapshot", "sync"):
            self.seq = int(frame["seq"])
        elif kind == "events":
            first, last = int(frame["from"]), int(frame["to"])
            current = self.seq or 0
            if first > current + 1:
                self.gaps += 1
                return False
            if last > current:
                self.seq = last
                self.received.append((time.monotonic(), last))
        elif kind == "error":
            self.errors += 1
        return True

    async def run(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, WebSocketException

        while True:
            url = self.url if self.seq is None else f"{self.url}?seq={self.seq}"
            try:
                async with connect(
                    url,
                    origin=self.origin,  # type: ignore[arg-type]
                    additional_headers={"Cookie": f"{SESSION_COOKIE}={self.cookie}"},
                    compression=None,
                    open_timeout=5,
                    max_size=2**22,
                ) as ws:
                    self.connects += 1
                    async for raw in ws:
                        if not self.apply(json.loads(raw)):
                            await ws.send(json.dumps({"type": "resync", "seq": self.seq or 0}))
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
                self.last_error = repr(exc)
            await asyncio.sleep(0.2 + random.random() * 0.3)


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]], timeout: float, every: float = 0.1
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return True
        await asyncio.sleep(every)
    return False


@dataclass
class StormReport:
    acks: Acks
    followers: list[Follower]
    check: dict[str, Any]
    converged: bool
    phases: dict[str, int]

    def summary(self) -> dict[str, Any]:
        return {
            "acked_positions": len(self.acks.positions),
            "acked_attendances": len(self.acks.attendances),
            "missing_positions": len(self.check["missing_positions"]),
            "missing_attendances": len(self.check["missing_attendances"]),
            "server_seq": self.check["last_seq"],
            "log_gaps": self.check["log_gaps"],
            "follower_seqs": sorted({f.seq for f in self.followers}, key=lambda s: s or -1),
            "follower_connects": [f.connects for f in self.followers],
            "follower_errors": sorted({f.last_error for f in self.followers if f.last_error}),
            "converged": self.converged,
            "statuses": dict(self.acks.statuses),
            "phases": self.phases,
        }


async def storm(
    *,
    env: dict[str, str],
    world: dict[str, Any],
    servers: Sequence[Server],
    writes: int,
    faults: Callable[[Acks], Awaitable[dict[str, int]]],
    followers_per_server: int = 5,
    duration: float = 120,
) -> StormReport:
    """Followers connect, voters storm, `faults` runs meanwhile; then check the database."""
    followers = [
        Follower(
            url=f"{server.ws_base}/ws/assemblies/{world['assembly']}/",
            cookie=world["voters"][(i * len(servers) + k) % len(world["voters"])]["cookie"],
            origin=server.base_url,
        )
        for k, server in enumerate(servers)
        for i in range(followers_per_server)
    ]
    follow_tasks = [asyncio.create_task(f.run()) for f in followers]
    try:
        await wait_for(lambda: all(f.seq is not None for f in followers), 20)
        acks = Acks()
        deadline = time.monotonic() + duration
        bases = [s.base_url for s in servers]
        voters = [
            asyncio.create_task(
                voter(
                    index=i,
                    voter=v,
                    world=world,
                    bases=bases,
                    writes=writes,
                    acks=acks,
                    deadline=deadline,
                )
            )
            for i, v in enumerate(world["voters"])
        ]
        phases = await faults(acks)
        await asyncio.gather(*voters)
        check = await asyncio.to_thread(cli, env, "check", payload=acks.as_payload(world))
        target = int(check["last_seq"])
        converged = await wait_for(lambda: all(f.seq == target for f in followers), 30)
        return StormReport(acks, followers, check, converged, phases)
    finally:
        for task in follow_tasks:
            task.cancel()
        for task in follow_tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until_acked(acks: Acks, count: int, timeout: float = 60) -> None:
    await wait_for(lambda: len(acks.positions) >= count, timeout, every=0.02)


# --- inside the server's environment --------------------------------------------------------


def _setup_django() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()


def seed(voters: int) -> dict[str, Any]:
    """An open assembly of one organisation, a proposal with an open consensus round."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from assemblies import services as a
    from governance.models import Mandate
    from governance.services import FoundingMandate, organization_found

    user_model = get_user_model()
    suffix = f"{int(time.time() * 1000) % 10**8}"
    fac = user_model.objects.create_user(username=f"fac{suffix}", password="x-fault-run-pw")
    people = [
        user_model.objects.create_user(username=f"v{suffix}-{i}", password="x-fault-run-pw")
        for i in range(voters)
    ]
    org = organization_found(
        name=f"Cooperativa de prueba {suffix}",
        founders=[fac, *people],
        mandates=[FoundingMandate(person=fac, role=Mandate.Role.FACILITATOR)],
        founded_at=timezone.now() - timedelta(days=30),
    )
    assembly = a.assembly_create(
        actor=fac, organization=org, title="Asamblea de la tormenta", starts_at=timezone.now()
    )
    a.assembly_open(actor=fac, assembly=assembly)
    a.attendance_check_in(actor=fac, assembly=assembly, code=assembly.code)
    item = a.agenda_item_propose(
        actor=fac, assembly=assembly, title="Horario de diciembre", kind="decision"
    )
    a.agenda_item_set_current(actor=fac, item=item)
    proposal = a.proposal_create(
        actor=fac, assembly=assembly, item=item, title="Abrir a las seis", text="Abrimos a las 6."
    )
    rnd = a.round_open(actor=fac, proposal=proposal)

    def cookie(user: Any) -> str:
        client = Client()
        client.force_login(user)
        return str(client.cookies[SESSION_COOKIE].value)

    return {
        "assembly": str(assembly.uuid),
        "round": str(rnd.uuid),
        "code": assembly.code,
        "voters": [
            {
                "username": u.username,
                "token": Token.objects.create(user=u).key,
                "cookie": cookie(u),
            }
            for u in people
        ],
    }


def check(payload: dict[str, Any]) -> dict[str, Any]:
    from assemblies.models import Assembly, AssemblyEvent, Attendance, Position

    assembly = Assembly.objects.get(uuid=payload["assembly"])
    positions = set(payload["positions"])
    attendances = set(payload["attendances"])
    found_p = {
        str(u) for u in Position.objects.filter(uuid__in=positions).values_list("uuid", flat=True)
    }
    found_a = {
        str(u)
        for u in Attendance.objects.filter(uuid__in=attendances).values_list("uuid", flat=True)
    }
    seqs = list(
        AssemblyEvent.objects.filter(assembly=assembly)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    return {
        "missing_positions": sorted(positions - found_p),
        "missing_attendances": sorted(attendances - found_a),
        "last_seq": assembly.last_seq,
        "events": len(seqs),
        # The log must be 1..last_seq without holes, or a client could never catch up.
        "log_gaps": len(set(range(1, assembly.last_seq + 1)) - set(seqs)),
        "positions_in_db": Position.objects.filter(round__proposal__assembly=assembly).count(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.robustness.faultkit")
    sub = parser.add_subparsers(dest="command", required=True)
    p_seed = sub.add_parser("seed")
    p_seed.add_argument("--voters", type=int, default=40)
    sub.add_parser("check")
    p_out = sub.add_parser("outage", help="services run: see .ci/services_faults.sh")
    p_out.add_argument("--voters", type=int, default=40)
    p_out.add_argument("--writes", type=int, default=30)
    p_out.add_argument("--down-seconds", type=float, default=3.0)
    p_out.add_argument("--redis-stop", required=True)
    p_out.add_argument("--redis-start", required=True)
    p_out.add_argument("--pg-stop", required=True)
    p_out.add_argument("--pg-start", required=True)
    args = parser.parse_args(argv)
    if args.command == "outage":
        from tests.robustness.outage import run_outage

        report = run_outage(args)
        print(json.dumps(report))
        return 0 if report["ok"] else 1
    _setup_django()
    if args.command == "seed":
        print(json.dumps(seed(args.voters)))
    else:
        print(json.dumps(check(json.load(sys.stdin))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
