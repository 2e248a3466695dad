"""The services outage run (`.ci/services_faults.sh`): two server processes on PostgreSQL +
Redis under a vote storm; Redis is stopped and started again, then PostgreSQL.

Passes when no acknowledged write is lost, the event log has no holes, the servers took
writes again after each outage, and every websocket client ends at the server's `seq`.
Not a pytest test because it stops services that other test runs share.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.robustness import faultkit
from tests.robustness.faultkit import Acks, Server


def _run(command: str) -> None:
    subprocess.run(shlex.split(command), check=True, timeout=60)


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def _postgres_up(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=1) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


async def _outage(
    acks: Acks,
    stop: str,
    start: str,
    up: Any,
    down_seconds: float,
    phases: dict[str, int],
    name: str,
) -> None:
    phases[f"acked_before_{name}_stop"] = len(acks.positions)
    await asyncio.to_thread(_run, stop)
    await asyncio.sleep(down_seconds)
    phases[f"acked_while_{name}_down"] = len(acks.positions) - phases[f"acked_before_{name}_stop"]
    await asyncio.to_thread(_run, start)
    if not await faultkit.wait_for(lambda: asyncio.to_thread(up), 60, every=0.5):
        raise RuntimeError(f"{name} did not come back")
    restored = len(acks.positions)
    # Recovery means writes are acknowledged again, not merely that the service is up.
    recovered = await faultkit.wait_for(lambda: len(acks.positions) >= restored + 20, 60)
    phases[f"recovered_after_{name}"] = int(recovered)


def run_outage(args: argparse.Namespace) -> dict[str, Any]:
    database_url = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    own = faultkit.fresh_postgres_database(database_url, "robustness_outage")
    env = faultkit.server_env(database_url=own, redis_url=redis_url)
    faultkit.manage(env, "migrate", "--noinput", "-v0")
    world = faultkit.cli(env, "seed", "--voters", str(args.voters))
    logs = Path(tempfile.mkdtemp(prefix="services-faults-"))
    servers = [Server(env, logs / f"server{i}.log") for i in range(2)]

    async def faults(acks: Acks) -> dict[str, int]:
        phases: dict[str, int] = {}
        total = args.voters * args.writes
        await faultkit.until_acked(acks, total // 5)
        await _outage(
            acks,
            args.redis_stop,
            args.redis_start,
            lambda: _redis_up(redis_url),
            args.down_seconds,
            phases,
            "redis",
        )
        await _outage(
            acks,
            args.pg_stop,
            args.pg_start,
            lambda: _postgres_up(own),
            args.down_seconds,
            phases,
            "postgres",
        )
        return phases

    started = time.monotonic()
    try:
        for server in servers:
            server.start()
        report = asyncio.run(
            faultkit.storm(
                env=env,
                world=world,
                servers=servers,
                writes=args.writes,
                faults=faults,
                duration=300,
            )
        )
    finally:
        for server in servers:
            server.stop()
    summary = report.summary()
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["server_logs"] = str(logs)
    summary["ok"] = bool(
        report.acks.positions
        and not report.check["missing_positions"]
        and not report.check["missing_attendances"]
        and report.check["log_gaps"] == 0
        and report.converged
        and report.phases.get("recovered_after_redis")
        and report.phases.get("recovered_after_postgres")
    )
    return summary
