"""Reconnect storm: 1,300 followers of one assembly, then the server dies and comes back.

    python -m bench.reconnect_storm [--clients 1300] [--services]

1. The real server (uvicorn as `make run` starts it) on a seeded SQLite database; RSS is
   measured warm with no sockets, then with 1,300 idle authenticated sockets.
2. A few hands are raised over HTTP, then the server is killed (-9) and restarted at once.
3. Every client reconnects as live.js does (backoff with jitter, sending its last seq) while
   more hands are raised over HTTP during the storm.
Targets: >= 99 % reconnected within 15 s, each at the server's seq (replay or snapshot),
0 events missing; <= 100 KB of server memory per idle socket.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from bench._harness import (
    Backend,
    LiveClient,
    Server,
    connect_all,
    db_last_seq,
    percentile,
    print_json,
    raise_fd_limit,
    seed,
)

WRITES_BEFORE = 5
WRITES_DURING = 5


async def raise_hands(server: Server, seeded: Any, people: list[Any], rate: float) -> int:
    """Raise hands over HTTP at `rate`/s; a write refused while the server boots is retried."""
    import httpx

    done = 0
    async with httpx.AsyncClient(timeout=30) as http:
        for p in people:
            for _ in range(200):
                try:
                    r = await http.post(
                        f"{server.base}/api/v1/assemblies/{seeded.assembly_uuid}/queue/",
                        json={"kind": "normal"},
                        headers={"Authorization": f"Token {p.token}"},
                    )
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
                    continue
                if r.status_code == 201:
                    done += 1
                break
            await asyncio.sleep(1 / rate)
    return done


async def run(args: argparse.Namespace, backend: Backend, seeded: Any) -> dict[str, Any]:
    base_seq = db_last_seq(seeded.assembly_pk)
    from django.db import connections

    connections.close_all()
    server = Server(backend)
    server.start()
    await server.wait_ready()
    url = f"{server.ws_base}/ws/assemblies/{seeded.assembly_uuid}/"

    # Warm: the app imported, the hub running, one socket opened and closed.
    warm = LiveClient(url, seeded.facilitator_session, server.base, seq=base_seq)
    task = asyncio.create_task(warm.run())
    await warm.connected.wait()
    await warm.close()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(1)
    rss0 = server.rss_mb()

    clients = [
        LiveClient(url, p.session, server.base, seq=base_seq)
        for p in seeded.participants[: args.clients]
    ]
    t = time.perf_counter()
    tasks = await connect_all(clients)
    print(f"{len(clients)} clients connected in {time.perf_counter() - t:.1f} s", flush=True)
    await asyncio.sleep(3)
    rss1 = server.rss_mb()
    per_socket_kb = (rss1 - rss0) * 1024 / len(clients)
    print(f"server RSS {rss0:.1f} MB warm, {rss1:.1f} MB with {len(clients)} idle sockets")

    writers = seeded.participants[: WRITES_BEFORE + WRITES_DURING]
    await raise_hands(server, seeded, writers[:WRITES_BEFORE], rate=5)
    before = db_last_seq(seeded.assembly_pk)
    for c in clients:
        c.reconnect = True

    killed_at = time.perf_counter()
    server.kill()
    server.start()
    # Writes land while the sockets come back: joining must not lose events in flight.
    written = asyncio.create_task(raise_hands(server, seeded, writers[WRITES_BEFORE:], rate=5))
    await server.wait_ready()
    back_at = time.perf_counter()
    cpu0 = server.cpu_seconds()
    print(f"server answering HTTP {back_at - killed_at:.1f} s after the kill", flush=True)
    await written
    final = db_last_seq(seeded.assembly_pk)
    deadline = killed_at + args.deadline
    while time.perf_counter() < deadline:
        if all(c.connects >= 2 and c.seq == final for c in clients):
            break
        await asyncio.sleep(0.05)
    at_deadline = sum(1 for c in clients if c.connects >= 2 and c.seq == final)
    print(f"server CPU during the storm: {server.cpu_seconds() - cpu0:.1f} s", flush=True)
    # When each client was back at the server's seq, counted from the kill.
    synced = sorted(
        (c.frames[-1].at if c.frames and c.frames[-1].last == final else c.synced_at or 0)
        - killed_at
        for c in clients
        if c.connects >= 2 and c.seq == final
    )
    # Events a client never reached (it is behind the log), after refusing every frame that
    # skipped some: a client only moves through contiguous events or a full snapshot.
    missing = sum(max(0, final - (c.seq or 0)) for c in clients)
    holes = sum(c.holes for c in clients)
    snapshots = sum(c.snapshots for c in clients)
    replays = sum(c.replays for c in clients)
    for c in clients:
        await c.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    server.stop()
    print(
        f"seq {base_seq} -> {before} before the kill -> {final} after; "
        f"{at_deadline}/{len(clients)} back at seq {final} within {args.deadline:.0f} s; "
        f"p50 {percentile(synced, 50):.1f} s, p99 {percentile(synced, 99):.1f} s, "
        f"last {synced[-1] if synced else float('nan'):.1f} s; "
        f"{replays} replays, {snapshots} snapshots, {holes} frames with a hole refused",
        flush=True,
    )
    p99_index = max(0, int(len(clients) * 0.99) - 1)
    seconds = synced[p99_index] if len(synced) > p99_index else float("nan")
    return {
        "clients": len(clients),
        "reconnected": at_deadline,
        "seconds": round(seconds, 2),
        "missing_events": missing,
        "holes_refused": holes,
        "rss_mb": round(rss1, 1),
        "kb_per_socket": round(per_socket_kb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1300)
    parser.add_argument("--deadline", type=float, default=15.0)
    parser.add_argument("--services", action="store_true", help="PostgreSQL + Redis")
    args = parser.parse_args()
    raise_fd_limit()
    backend = Backend.create(args.services)
    try:
        backend.prepare()
        seeded = seed(args.clients, present=WRITES_BEFORE + WRITES_DURING)
        result = asyncio.run(run(args, backend, seeded))
    finally:
        backend.cleanup()
    print_json(result)


if __name__ == "__main__":
    main()
