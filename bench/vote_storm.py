"""Vote storm: 1,300 present, connected participants state their position at once.

    python -m bench.vote_storm [--clients 1300] [--concurrency 100] [--repeat 3] [--services]

The real server (uvicorn as `make run` starts it, plus one no-op endpoint) on a seeded
database with an open consensus round; 1,300 websocket clients follow the assembly.
1. Baseline: each participant sends a no-op authenticated POST (same middleware, same DRF
   authentication), as fast as the server takes them.
2. Each participant states a position (the real REST endpoint and service), as fast as the
   server takes them, while every client counts the frames it receives.
The pair runs `--repeat` times (a fresh round each time) and the median ratio is reported with
every pair's: one pair's ratio moved between 0.39 and 0.55 from run to run on a quiet machine,
with the no-op's rate alone between 68/s and 117/s.
Targets: throughput >= 0.5 x the no-op POST; every position stored exactly once; each
client's tally equals the database's within 1 s of the last write; <= 5 frames per second
per client; no "database is locked".
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import Counter
from typing import Any

from bench._harness import (
    Backend,
    LiveClient,
    Server,
    connect_all,
    db_last_seq,
    print_json,
    raise_fd_limit,
    seed,
)


async def storm(
    server: Server, people: list[Any], path: str, body: dict[str, Any] | None, concurrency: int
) -> tuple[float, Counter[int], float]:
    """(seconds, statuses, time of the last response) for one POST per person."""
    import httpx

    statuses: Counter[int] = Counter()
    gate = asyncio.Semaphore(concurrency)
    # Idle connections expire on the client before uvicorn's 5 s keep-alive closes them: at
    # 5 s on both sides (httpx's default), a request sent on a connection the server was
    # closing at that moment failed with ReadError, in about half the runs.
    limits = httpx.Limits(
        max_connections=concurrency, max_keepalive_connections=concurrency, keepalive_expiry=2.0
    )
    last = 0.0
    t0 = time.perf_counter()
    async with httpx.AsyncClient(base_url=server.base, timeout=120, limits=limits) as http:

        async def one(p: Any) -> None:
            nonlocal last
            async with gate:
                try:
                    r = await http.post(
                        path, json=body, headers={"Authorization": f"Token {p.token}"}
                    )
                    statuses[r.status_code] += 1
                except httpx.HTTPError as exc:
                    statuses[-1] += 1
                    print(
                        "request failed:",
                        type(exc).__name__,
                        f"after {time.perf_counter() - t0:.1f} s",
                        flush=True,
                    )
                last = time.perf_counter()

        start = time.perf_counter()
        await asyncio.gather(*(one(p) for p in people))
    return time.perf_counter() - start, statuses, last


def frames_per_second(clients: list[LiveClient], start: float, end: float) -> int:
    worst = 0
    for c in clients:
        buckets = Counter(int(f.at - start) for f in c.frames if start <= f.at <= end)
        worst = max([worst, *buckets.values()])
    return worst


def stored_positions(round_uuid: str) -> tuple[int, int]:
    from django.db import close_old_connections
    from django.db.models import Count

    from assemblies.models import Position

    close_old_connections()
    current = Position.objects.filter(round__uuid=round_uuid, superseded_at__isnull=True)
    stored = current.count()
    duplicates = sum(
        row["n"] - 1 for row in current.values("membership").annotate(n=Count("id")).filter(n__gt=1)
    )
    return stored, duplicates


def next_round(seeded: Any, round_uuid: str) -> str:
    """Cancel the round and open the proposal's next one, between measured windows (a fresh
    round: each participant's position is again a first one)."""
    from django.db import close_old_connections
    from rest_framework.authtoken.models import Token

    from assemblies import services
    from assemblies.models import ConsensusRound

    close_old_connections()
    facilitator = Token.objects.get(key=seeded.facilitator_token).user
    rnd = ConsensusRound.objects.select_related("proposal__assembly").get(uuid=round_uuid)
    services.round_close(actor=facilitator, round=rnd, cancel=True)
    return str(services.round_open(actor=facilitator, proposal=rnd.proposal).uuid)


async def one_pair(
    args: argparse.Namespace,
    server: Server,
    seeded: Any,
    clients: list[LiveClient],
    round_uuid: str,
) -> dict[str, Any]:
    """A no-op storm, then a position storm on `round_uuid`, by the same people."""
    people = seeded.participants[: args.clients]
    cpu = server.cpu_seconds()
    noop_s, noop_status, _ = await storm(server, people, "/bench/noop/", None, args.concurrency)
    noop_cpu, cpu = server.cpu_seconds() - cpu, server.cpu_seconds()
    print(
        f"no-op POST: {len(people) / noop_s:.0f}/s {dict(noop_status)}, "
        f"server CPU {1000 * noop_cpu / len(people):.1f} ms each",
        flush=True,
    )
    await asyncio.sleep(1)

    path = f"/api/v1/assemblies/{seeded.assembly_uuid}/rounds/{round_uuid}/positions/"
    start = time.perf_counter()
    pos_s, pos_status, last_write = await storm(
        server, people, path, {"stance": "agree"}, args.concurrency
    )
    pos_cpu = server.cpu_seconds() - cpu
    print(
        f"positions: {len(people) / pos_s:.0f}/s {dict(pos_status)}, "
        f"server CPU {1000 * pos_cpu / len(people):.1f} ms each (frames to the sockets included)",
        flush=True,
    )
    final = db_last_seq(seeded.assembly_pk)
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(c.seq != final for c in clients):
        await asyncio.sleep(0.02)
    lags = [
        max(0.0, c.frames[-1].at - last_write) if c.frames and c.seq == final else float("inf")
        for c in clients
    ]
    frames_total = sum(
        1 for c in clients for f in c.frames if start <= f.at <= last_write + 1
    ) / max(1, len(clients))
    stored, duplicates = stored_positions(round_uuid)
    print(
        f"{frames_total:.1f} frames per client during the storm; "
        f"stored {stored}, duplicates {duplicates}; "
        f"throughput ratio {noop_s / pos_s:.2f}",
        flush=True,
    )
    return {
        "positions": pos_status.get(201, 0),
        "stored": stored,
        "duplicates": duplicates,
        "ratio": noop_s / pos_s,
        "lag": max(lags),
        "fps": frames_per_second(clients, start, last_write + 1),
        "errors": sum(n for st, n in pos_status.items() if st >= 500 or st < 0),
    }


async def run(args: argparse.Namespace, backend: Backend, seeded: Any) -> dict[str, Any]:
    from django.db import connections

    connections.close_all()
    server = Server(backend, app="bench._asgi:application")
    server.start()
    await server.wait_ready()
    base_seq = db_last_seq(seeded.assembly_pk)
    people = seeded.participants[: args.clients]
    url = f"{server.ws_base}/ws/assemblies/{seeded.assembly_uuid}/"
    clients = [LiveClient(url, p.session, server.base, seq=base_seq) for p in people]
    t = time.perf_counter()
    tasks = await connect_all(clients)
    print(f"{len(clients)} clients connected in {time.perf_counter() - t:.1f} s", flush=True)
    await asyncio.sleep(2)

    pairs = []
    round_uuid = seeded.round_uuid
    for k in range(args.repeat):
        if k:
            round_uuid = next_round(seeded, round_uuid)
            await asyncio.sleep(1)
        print(f"pair {k + 1} of {args.repeat}", flush=True)
        pairs.append(await one_pair(args, server, seeded, clients, round_uuid))

    final = db_last_seq(seeded.assembly_pk)
    for c in clients:
        await c.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    server.stop()
    locked = server.log().count("database is locked")
    ratios = [p["ratio"] for p in pairs]
    print(
        f"events {base_seq} -> {final}; 'database is locked' in the server log: {locked}; "
        f"server errors: {sum(p['errors'] for p in pairs)}; "
        f"throughput ratios {', '.join(f'{r:.2f}' for r in ratios)} (median reported)",
        flush=True,
    )
    return {
        "positions": sum(p["positions"] for p in pairs),
        "stored": sum(p["stored"] for p in pairs),
        "duplicates": sum(p["duplicates"] for p in pairs),
        "throughput_ratio": round(statistics.median(ratios), 2),
        "throughput_ratios": [round(r, 2) for r in ratios],
        "max_tally_lag_s": round(max(p["lag"] for p in pairs), 3),
        "max_frames_per_s": max(p["fps"] for p in pairs),
        "database_locked": locked,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1300)
    parser.add_argument("--concurrency", type=int, default=100, help="requests in flight")
    parser.add_argument(
        "--repeat", type=int, default=3, help="pairs of storms (no-op, positions); median ratio"
    )
    parser.add_argument("--services", action="store_true", help="PostgreSQL + Redis")
    args = parser.parse_args()
    raise_fd_limit()
    backend = Backend.create(args.services)
    try:
        backend.prepare()
        seeded = seed(args.clients, present=args.clients, with_round=True)
        result = asyncio.run(run(args, backend, seeded))
    finally:
        backend.cleanup()
    print_json(result)


if __name__ == "__main__":
    main()
