"""Live fan-out: 1,300 participants follow one assembly while 60 state changes arrive at 2/s.

    python -m bench.live_fanout [--clients 1300] [--events 60] [--rate 2] [--services]

1. The real ASGI server (uvicorn, as `make run` starts it) on a seeded database; 1,300
   authenticated websocket clients in this process; 60 hands raised through the real HTTP
   write path (the REST API, one participant each); each client's delivery latency per event
   is measured from the moment the write request was sent.
2. In the same run, the same number of clients against a minimal raw `websockets` broadcast
   server sent the very same frames: the floor for Python on this machine.

`--services`: PostgreSQL + Redis, two server processes, clients split between them.
Targets: 0 lost, 0 duplicated, 0 out of order; p99 <= 1.5 x the raw baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from typing import Any

from bench._harness import (
    PYTHON,
    ROOT,
    Backend,
    LiveClient,
    Server,
    check_clients,
    connect_all,
    db_last_seq,
    free_port,
    percentile,
    print_json,
    raise_fd_limit,
    seed,
)


def latencies(clients: list[LiveClient], sent: dict[int, float]) -> list[float]:
    out: list[float] = []
    for c in clients:
        for f in c.frames:
            for s in range(f.first, f.last + 1):
                if s in sent:
                    out.append((f.at - sent[s]) * 1000)
    return out


async def drive_real(args: argparse.Namespace, backend: Backend) -> dict[str, Any]:
    import httpx

    seeded = seed(args.clients, present=args.events)
    from django.db import connections

    base_seq = db_last_seq(seeded.assembly_pk)
    connections.close_all()

    servers = [Server(backend) for _ in range(2 if args.services else 1)]
    for s in servers:
        s.start()
    await asyncio.gather(*(s.wait_ready() for s in servers))

    clients = [
        LiveClient(
            f"{servers[i % len(servers)].ws_base}/ws/assemblies/{seeded.assembly_uuid}/",
            p.session,
            servers[i % len(servers)].base,
            seq=base_seq,
        )
        for i, p in enumerate(seeded.participants[: args.clients])
    ]
    t = time.perf_counter()
    tasks = await connect_all(clients)
    connect_s = time.perf_counter() - t
    refused = sum(1 for c in clients if c.connects == 0)
    print(f"real: {len(clients) - refused} clients connected in {connect_s:.1f} s", flush=True)
    await asyncio.sleep(1)

    sent: dict[int, float] = {}
    acked: dict[int, float] = {}
    statuses: dict[int, int] = {}
    cpu0 = sum(s.cpu_seconds() for s in servers)
    async with httpx.AsyncClient(timeout=30) as http:
        start = time.perf_counter()
        for k in range(args.events):
            await asyncio.sleep(max(0.0, start + k / args.rate - time.perf_counter()))
            p = seeded.participants[k]
            writer = servers[k % len(servers)]
            sent[base_seq + k + 1] = time.perf_counter()
            r = await http.post(
                f"{writer.base}/api/v1/assemblies/{seeded.assembly_uuid}/queue/",
                json={"kind": "normal"},
                headers={"Authorization": f"Token {p.token}"},
            )
            acked[base_seq + k + 1] = time.perf_counter()
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    last = base_seq + args.events
    deadline = time.perf_counter() + 15
    while time.perf_counter() < deadline and any((c.seq or 0) < last for c in clients):
        await asyncio.sleep(0.1)
    cpu = sum(s.cpu_seconds() for s in servers) - cpu0
    server_seq = db_last_seq(seeded.assembly_pk)
    frame_sizes = _event_sizes(seeded.assembly_pk, base_seq, last)
    for c in clients:
        await c.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for s in servers:
        s.stop()
    expected = range(base_seq + 1, last + 1)
    lost, dup, ooo, _ = check_clients(clients, expected)
    lat = latencies(clients, sent)
    write_ms = [(acked[s] - sent[s]) * 1000 for s in sent]
    print(
        f"real: the write requests took p50 {percentile(write_ms, 50):.0f} ms, "
        f"p99 {percentile(write_ms, 99):.0f} ms (included in the delivery latency)",
        flush=True,
    )
    deliveries = len(clients) * args.events
    print(
        f"real: HTTP statuses {statuses}; server seq {server_seq} (expected {last}); "
        f"server CPU {cpu:.2f} s = {cpu / deliveries * 1e6:.0f} us per delivered event",
        flush=True,
    )
    if server_seq != last:
        print("real: WARNING: the writes did not produce exactly one event each", flush=True)
    return {
        "lost": lost,
        "duplicated": dup,
        "out_of_order": ooo,
        "latencies": lat,
        "htmls": frame_sizes,
        "connect_s": connect_s,
        "refused": refused,
    }


def _event_sizes(pk: int, after: int, upto: int) -> list[str]:
    from assemblies.models import AssemblyEvent

    return list(
        AssemblyEvent.objects.filter(assembly_id=pk, seq__gt=after, seq__lte=upto)
        .order_by("seq")
        .values_list("html", flat=True)
    )


async def drive_raw(args: argparse.Namespace, htmls: list[str]) -> list[float]:
    from websockets.asyncio.client import connect

    from assemblies.realtime import frames

    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "bench.live_fanout", "--raw-server", str(port)], cwd=ROOT
    )
    try:
        url = f"ws://127.0.0.1:{port}"
        for _ in range(100):
            try:
                ws = await connect(url + "/control", compression=None, ping_interval=None)
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("raw server did not start")
        clients = [LiveClient(url + "/", "x", url, seq=0) for _ in range(args.clients)]
        tasks = await connect_all(clients)
        await asyncio.sleep(1)
        sent: dict[int, float] = {}
        start = time.perf_counter()
        for k in range(args.events):
            await asyncio.sleep(max(0.0, start + k / args.rate - time.perf_counter()))
            sent[k + 1] = time.perf_counter()
            await ws.send(frames.events(k + 1, k + 1, htmls[k % len(htmls)] if htmls else ""))
        deadline = time.perf_counter() + 15
        while time.perf_counter() < deadline and any((c.seq or 0) < args.events for c in clients):
            await asyncio.sleep(0.1)
        for c in clients:
            await c.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await ws.close()
        lost, dup, ooo, _ = check_clients(clients, range(1, args.events + 1))
        print(f"raw: lost {lost}, duplicated {dup}, out of order {ooo}", flush=True)
        return latencies(clients, sent)
    finally:
        proc.terminate()
        proc.wait()


def raw_server(port: int) -> None:
    """The floor: websockets' own broadcast of pre-encoded frames to every socket."""
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    async def main() -> None:
        sockets: set[ServerConnection] = set()

        async def handler(ws: ServerConnection) -> None:
            if ws.request is not None and ws.request.path == "/control":
                async for message in ws:
                    broadcast(sockets, message)
                return
            await ws.send(json.dumps({"type": "sync", "seq": 0}))
            sockets.add(ws)
            try:
                await ws.wait_closed()
            finally:
                sockets.discard(ws)

        async with serve(
            handler,
            "127.0.0.1",
            port,
            compression=None,
            ping_interval=None,
            max_size=65536,
            backlog=4096,
        ):
            await asyncio.Future()

    raise_fd_limit()
    asyncio.run(main())


async def main(args: argparse.Namespace) -> None:
    raise_fd_limit()
    backend = Backend.create(args.services)
    try:
        backend.prepare()
        real = await drive_real(args, backend)
        raw = await drive_raw(args, real["htmls"])
    finally:
        backend.cleanup()
    lat = real["latencies"]
    p50, p99 = percentile(lat, 50), percentile(lat, 99)
    base_p99 = percentile(raw, 99)
    sizes = [len(h) for h in real["htmls"]] or [0]
    print(
        f"frames: {min(sizes)}-{max(sizes)} bytes of HTML; "
        f"real p50 {p50:.0f} ms, p99 {p99:.0f} ms, max {max(lat or [0]):.0f} ms; "
        f"raw p50 {percentile(raw, 50):.0f} ms, p99 {base_p99:.0f} ms",
        flush=True,
    )
    print_json(
        {
            "clients": args.clients - real["refused"],
            "events": args.events,
            "lost": real["lost"],
            "duplicated": real["duplicated"],
            "out_of_order": real["out_of_order"],
            "p50_ms": round(p50, 1),
            "p99_ms": round(p99, 1),
            "baseline_p99_ms": round(base_p99, 1),
            "ratio": round(p99 / base_p99, 2) if base_p99 else None,
        }
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=1300)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--rate", type=float, default=2.0, help="state changes per second")
    parser.add_argument("--services", action="store_true", help="PostgreSQL + Redis, 2 servers")
    parser.add_argument("--raw-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_server:
        raw_server(args.raw_server)
        return
    if args.events > args.clients:
        sys.exit("--events must not exceed --clients (one raised hand per participant)")
    asyncio.run(main(args))


if __name__ == "__main__":
    cli()
