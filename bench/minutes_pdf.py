"""Benchmark: PDF of a reference assembly's minutes against WeasyPrint's own floor.

The reference assembly has 1,300 attendees, 40 agenda items and 120 proposals with their
positions. In the same run WeasyPrint renders the very same text as plain unstyled
paragraphs: that is the floor of the engine, and the minutes should cost at most 1.5x it.

    python -m bench.minutes_pdf [--variant standard|pdfa]

Last line: one JSON object with pages, seconds, floor_seconds, ratio, peak_mb.
"""

from __future__ import annotations

import argparse
import html
import io
import json
import os
import re
import resource
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()

from assemblies.minutes import canonical, pdf  # noqa: E402

FIRST = [
    "Ana",
    "Beto",
    "Carla",
    "Dario",
    "Elena",
    "Fabio",
    "Gloria",
    "Hugo",
    "Inés",
    "José",
    "Karla",
    "Luis",
    "María",
    "Nelson",
    "Olga",
    "Pedro",
    "Rita",
    "Saúl",
    "Teresa",
    "Ulises",
]
LAST = [
    "Aponte",
    "Blanco",
    "Castillo",
    "Díaz",
    "Escalona",
    "Fuentes",
    "García",
    "Herrera",
    "Iriarte",
    "Jiménez",
    "López",
    "Mendoza",
    "Núñez",
    "Ortega",
    "Pérez",
    "Rivas",
]
SENTENCE = (
    "La asamblea revisa el plan de trabajo del trimestre y la distribución de turnos "
    "entre los grupos de trabajo, con atención a la carga de cada compañera y compañero. "
)


def reference_content(
    attendees: int = 1300, items: int = 40, proposals: int = 120
) -> dict[str, Any]:
    start = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    names = [
        f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        for i in range(attendees)
    ]
    present = [
        {
            "name": n,
            "member_number": str(i + 1),
            "checked_in_at": start + timedelta(seconds=i * 2),
            "checked_out_at": None,
        }
        for i, n in enumerate(names)
    ]
    per_item = proposals // items
    item_list = []
    for i in range(items):
        props = []
        for j in range(per_item):
            k = i * per_item + j
            versions = [
                {
                    "number": v,
                    "text": SENTENCE * 2,
                    "author": names[(k + v) % attendees],
                    "created_at": start + timedelta(minutes=k, seconds=v),
                    "reason": "ajuste de redacción",
                }
                for v in (1, 2)
            ]
            rounds = [
                {
                    "number": 1,
                    "kind": "consensus",
                    "opened_at": start + timedelta(minutes=k),
                    "closed_at": start + timedelta(minutes=k + 3),
                    "agree": attendees - 12,
                    "concerns": [
                        {"name": names[(k * 7 + c) % attendees], "text": SENTENCE} for c in range(6)
                    ],
                    "stand_asides": [
                        {
                            "name": names[(k * 11 + c) % attendees],
                            "reason": "No puedo apoyar ahora.",
                        }
                        for c in range(4)
                    ],
                    "blocks": [
                        {
                            "name": names[(k * 13) % attendees],
                            "reason": "Afecta la seguridad del turno de noche.",
                        }
                    ]
                    if k % 5 == 0
                    else [],
                    "vote": None,
                    "outcome": "held" if k % 5 == 0 else "adopted",
                },
            ]
            if k % 5 == 0:
                rounds.append(
                    {
                        "number": 2,
                        "kind": "vote",
                        "opened_at": start + timedelta(minutes=k + 4),
                        "closed_at": start + timedelta(minutes=k + 6),
                        "agree": 0,
                        "concerns": [],
                        "stand_asides": [],
                        "blocks": [],
                        "vote": {"secret": True, "yes": 1100, "no": 120, "abstain": 80},
                        "outcome": "adopted",
                    }
                )
            props.append(
                {
                    "uuid": f"00000000-0000-0000-0000-{k:012d}",
                    "title": f"Propuesta {k + 1}",
                    "text": SENTENCE * 3,
                    "author": names[k % attendees],
                    "status": "adopted",
                    "outcome": "adopted",
                    "versions": versions,
                    "rounds": rounds,
                }
            )
        item_list.append(
            {
                "uuid": f"10000000-0000-0000-0000-{i:012d}",
                "number": i + 1,
                "title": f"Punto {i + 1}: plan y turnos",
                "kind": "decision",
                "notes": SENTENCE * 6,
                "speakers": [
                    {"name": names[(i * 17 + s) % attendees], "turns": 1 + s % 3, "seconds": 60 + s}
                    for s in range(15)
                ],
                "proposals": props,
                "decisions": [
                    {
                        "uuid": f"20000000-0000-0000-0000-{i:012d}",
                        "number": 100 + i,
                        "title": f"Se adopta la propuesta del punto {i + 1}",
                    }
                ],
                "tasks": [
                    {
                        "text": "Preparar el calendario de turnos",
                        "responsible": names[i],
                        "due": "2026-12-01",
                        "item": i + 1,
                    }
                ],
            }
        )
    return {
        "organization": {
            "uuid": "30000000-0000-0000-0000-000000000000",
            "name": "Cooperativa de Referencia",
        },
        "language": "es",
        "time_zone": "America/Caracas",
        "page_size": "A4",
        "minutes": {"uuid": "40000000-0000-0000-0000-000000000000", "version": 1, "reason": ""},
        "assembly": {
            "uuid": "50000000-0000-0000-0000-000000000000",
            "title": "Asamblea general de noviembre",
            "place": "Galpón central",
            "starts_at": start,
            "opened_at": start,
            "closed_at": start + timedelta(hours=5),
        },
        "quorum": {"required": 650, "present": attendees, "reached": True, "active_members": 1300},
        "attendance": {
            "present_count": attendees,
            "present": present,
            "apologies": [{"name": f"Ausente {i}", "reason": "turno"} for i in range(30)],
            "apologies_count": 30,
        },
        "facilitators": [names[0], names[1]],
        "minute_takers": [names[2]],
        "notes": SENTENCE * 4,
        "items": item_list,
        "tasks": [],
        "corrections": [],
    }


def reference_document() -> dict[str, Any]:
    content = reference_content()
    approval = {
        "method": "signatures",
        "approved_at": datetime(2026, 11, 27, tzinfo=UTC),
        "approvers": [
            {"name": "Ana Aponte 0", "member_number": "1", "at": datetime(2026, 11, 27, tzinfo=UTC)}
        ],
        "required": 1,
        "approving_assembly": None,
    }
    env = canonical.envelope(content=content, approval=approval, previous_hash=canonical.GENESIS)
    return {**env, "hash": canonical.digest(env)}


BLOCK_END = re.compile(r"</(?:p|li|h1|h2|h3|div)>", re.I)
TAG = re.compile(r"<[^>]+>")


def floor_paragraphs(rendered: str) -> list[str]:
    """The text of the rendered minutes, block by block, without any markup or style."""
    body = rendered.split("<body>", 1)[-1]
    out = []
    for chunk in BLOCK_END.split(body):
        text = " ".join(html.unescape(TAG.sub(" ", chunk)).split())
        if text:
            out.append(text)
    return out


def timed(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", choices=["standard", "pdfa"], default="standard")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from pypdf import PdfReader
    from weasyprint import HTML

    document = reference_document()
    verify_url = "http://127.0.0.1/minutes/verify/"
    HTML(string="<p>warm-up</p>").write_pdf()  # font and import costs are not the minutes'

    def minutes() -> bytes:
        return pdf.render_minutes_pdf(document, verify_url=verify_url, variant=args.variant)

    paragraphs = floor_paragraphs(pdf.render_html(document, verify_url=verify_url))
    floor_html = (
        "<!doctype html><html><body>"
        + "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
        + "</body></html>"
    )

    def floor() -> bytes:
        return HTML(string=floor_html).write_pdf()  # type: ignore[no-any-return]

    # Interleaved, best of N: on a shared machine both sides then see the same load.
    runs: dict[str, list[tuple[float, float]]] = {"minutes": [], "floor": []}
    out = floor_out = b""
    peak_mb = 0.0
    for _ in range(max(1, args.repeat)):
        wall, cpu, out = timed(minutes)
        runs["minutes"].append((wall, cpu))
        # Peak memory of the process while rendering the minutes (the floor runs after).
        peak_mb = peak_mb or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        wall, cpu, floor_out = timed(floor)
        runs["floor"].append((wall, cpu))
    seconds = min(w for w, _ in runs["minutes"])
    floor_seconds = min(w for w, _ in runs["floor"])
    cpu_ratio = min(c for _, c in runs["minutes"]) / min(c for _, c in runs["floor"])
    pages = len(PdfReader(io.BytesIO(out)).pages)
    floor_pages = len(PdfReader(io.BytesIO(floor_out)).pages)
    print(f"minutes ({args.variant}): {pages} pages in {seconds:.2f} s, {len(out) / 1024:.0f} KB")
    print(f"floor (same text, plain paragraphs): {floor_pages} pages in {floor_seconds:.2f} s")
    print(f"CPU-time ratio {cpu_ratio:.2f} (less sensitive to other load on the machine)")
    print(
        json.dumps(
            {
                "pages": pages,
                "seconds": round(seconds, 3),
                "floor_seconds": round(floor_seconds, 3),
                "ratio": round(seconds / floor_seconds, 3),
                "peak_mb": round(peak_mb, 1),
                "cpu_ratio": round(cpu_ratio, 3),
                "variant": args.variant,
                "floor_pages": floor_pages,
            }
        )
    )


if __name__ == "__main__":
    main()
