"""Production dashboard and CSV import on PostgreSQL: python -m bench.production

1. The year's dashboard page of one organisation (GET /o/<org>/production/ for 366 days,
   totals by month, by work centre, product and shift, both Paretos, two targets, four SVG
   charts), requested by a member through the real view: an organisation with 10,000
   entries in its year, and one with 1,000,000 entries in its year (2,733 a day: 60 work
   centres × 16 products × 3 shifts give 2,880 slots a day), both in the same database. The
   two have the same lines, products, shifts and targets, and the 10,000 entries are spread
   over all of them, so both pages show the same tables and only the number of entries
   differs. Counted: queries per page (must be equal); timed: median of 7 requests after 2
   warm-ups, the two pages requested in turn so that both see the same load on the machine
   (ratio must be ≤ 3). The dashboard adds up the daily summary tables
   (production.rollups), which the real writes keep in their own transactions; here the
   generated entries are loaded with COPY, so the summaries are rebuilt from them with
   `rollups.rebuild` before measuring (not timed).
2. CSV import of 100,000 rows through `csv_io.entries_import_csv` (every row validated like
   the phone form, then stored all or nothing, summaries included), reporting rows per
   second.

ANALYZE runs after each load, as autovacuum would. Use a database of its own:
DATABASE_URL=postgres://postgres@127.0.0.1:5432/autogestion_bench_prod python -m bench.production
"""

from __future__ import annotations

import io
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

DB_URL = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/bench_production"
os.environ["DATABASE_URL"] = DB_URL
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

YEAR_END = date(2026, 12, 31)
YEAR_START = YEAR_END - timedelta(days=365)
WORK_CENTRES = 60
SHIFTS = (("early", 6, 14), ("late", 14, 22), ("night", 22, 6))
PRODUCTS = 16
SMALL = 10_000
LARGE = 1_000_000
# Rows generated and copied at a time, so a million entries never sit in memory at once.
CHUNK = 100_000
REPEATS = 7


def ensure_database() -> None:
    import psycopg

    u = urlparse(DB_URL)
    name = u.path.lstrip("/")
    admin = u._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def reset() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute(
            "TRUNCATE production_entryworker, production_entrysignature, "
            "production_handoverack, production_downtimeline, production_scrapline, "
            "production_dailytotal, production_dailyreason, "
            "production_target, production_logentry, production_product, production_shift, "
            "production_workcentre, governance_auditentry, governance_mandate, "
            "governance_ruleset, governance_membership, governance_decision, "
            "governance_federationmembership, governance_organization, auth_user CASCADE"
        )


def make_org(
    name: str, founder: Any, work_centres: int = WORK_CENTRES, products: int = PRODUCTS
) -> Any:
    from datetime import time as dtime
    from decimal import Decimal

    from governance.services import organization_found
    from production.models import Product, Shift, WorkCentre

    org = organization_found(name=name, founders=[founder], mandates=[])
    WorkCentre.objects.bulk_create(
        WorkCentre(organization=org, code=f"line-{i}", name=f"Línea {i}")
        for i in range(1, work_centres + 1)
    )
    Shift.objects.bulk_create(
        Shift(organization=org, code=c, name=c.capitalize(), start=dtime(s), end=dtime(e))
        for c, s, e in SHIFTS
    )
    Product.objects.bulk_create(
        Product(
            organization=org,
            code=f"p{i}",
            name=f"Producto {i}",
            ideal_cycle_seconds=Decimal(20 + 5 * i),
        )
        for i in range(1, products + 1)
    )
    return org


def slots(org: Any, n: int, start: date, end: date) -> list[tuple[Any, ...]]:
    """`n` distinct (date, work centre, shift, product) slots spread evenly over the period
    and, day after day, over every work centre, shift and product."""
    from production.models import Product, Shift, WorkCentre

    wcs = list(WorkCentre.objects.filter(organization=org).order_by("pk"))
    shifts = list(Shift.objects.filter(organization=org).order_by("pk"))
    products = list(Product.objects.filter(organization=org).order_by("pk"))
    days = (end - start).days + 1
    per_day = -(-n // days)
    combos = [(w, s, p) for p in products for s in shifts for w in wcs]
    assert per_day <= len(combos), "not enough slots"
    out = []
    for d in range(days):
        # Each day takes the next `per_day` combinations, so a small year still covers
        # every line, shift and product (and a slot is never taken twice in a day).
        first = d * per_day
        for i in range(per_day):
            w, s, p = combos[(first + i) % len(combos)]
            out.append((start + timedelta(days=d), w, s, p))
            if len(out) == n:
                return out
    return out


REASONS = (
    ("Horno frío", "unplanned"),
    ("Falta de material", "unplanned"),
    ("Atasco", "minor_stop"),
    ("Cambio de formato", "changeover"),
    ("Falla eléctrica", "unplanned"),
    ("Limpieza", "planned"),
)
ENTRY_COLUMNS = (
    "id, uuid, series, version, current, idempotency_key, organization_id, "
    "work_centre_id, shift_id, product_id, shift_date, starts_at, ends_at, "
    "shift_minutes, good, rework, scrap, planned_downtime_minutes, "
    "unplanned_downtime_minutes, changeover_minutes, minor_stop_minutes, "
    "ideal_cycle_seconds, workers_count, notes, handover_note, amendment_reason, "
    "recorded_at, source"
)


class Loader:
    """COPY rows straight into the tables (explicit ids so the lines can point at them)."""

    def __init__(self) -> None:
        from django.db import connection

        with connection.cursor() as c:
            c.execute("SELECT COALESCE(MAX(id), 0) FROM production_logentry")
            self.next_id = c.fetchone()[0] + 1

    def load(self, org: Any, n: int, start: date, end: date, seed: int) -> None:
        import random

        from production import rollups

        rnd = random.Random(seed)
        every = slots(org, n, start, end)
        for i in range(0, len(every), CHUNK):
            self._copy(org, every[i : i + CHUNK], rnd)
        # The real writes keep the daily summaries in their own transaction; COPY does not.
        rollups.rebuild(organization_id=org.pk)

    def _copy(self, org: Any, chunk: list[tuple[Any, ...]], rnd: Any) -> None:
        from django.db import connection

        tz_offset = timedelta(hours=4)  # America/Caracas, no daylight saving
        entries, downtime, scrap = io.StringIO(), io.StringIO(), io.StringIO()
        now = datetime.now(UTC).isoformat()
        for day, w, s, p in chunk:
            eid = self.next_id
            self.next_id += 1
            starts = datetime.combine(day, s.start, tzinfo=UTC) + tz_offset
            ends = starts + timedelta(hours=8)
            reason, category = REASONS[rnd.randrange(len(REASONS))]
            minutes = rnd.randint(5, 90)
            by = {"planned": 0, "unplanned": 0, "changeover": 0, "minor_stop": 0}
            by[category] = minutes
            good, rework, sc = rnd.randint(500, 900), rnd.randint(0, 20), rnd.randint(0, 30)
            row = (
                eid,
                uuid.uuid4(),
                uuid.uuid4(),
                1,
                "t",
                uuid.uuid4(),
                org.pk,
                w.pk,
                s.pk,
                p.pk,
                day.isoformat(),
                starts.isoformat(),
                ends.isoformat(),
                480,
                good,
                rework,
                sc,
                by["planned"],
                by["unplanned"],
                by["changeover"],
                by["minor_stop"],
                p.ideal_cycle_seconds,
                3,
                "",
                "",
                "",
                now,
                "bench",
            )
            entries.write("\t".join(map(str, row)) + "\n")
            tail = f"{org.pk}\t{day.isoformat()}"
            downtime.write(f"{eid}\t{category}\t{reason}\t{minutes}\t{tail}\n")
            if sc:
                scrap.write(f"{eid}\tmaterial\tQuemado\t{sc}\t{tail}\n")
        line = "organization_id, shift_date"
        connection.ensure_connection()
        raw = connection.connection
        assert raw is not None
        with raw.cursor() as cur:
            # Generated rows are consistent by construction: skip the per-row foreign-key
            # triggers and the wait for fsync, which made loading a million rows take minutes.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            for table, columns, buf in (
                ("production_logentry", ENTRY_COLUMNS, entries),
                (
                    "production_downtimeline",
                    f"entry_id, category, reason, minutes, {line}",
                    downtime,
                ),
                ("production_scrapline", f"entry_id, category, reason, quantity, {line}", scrap),
            ):
                with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    copy.write(buf.getvalue())
            cur.execute("SET session_replication_role = DEFAULT")
        with connection.cursor() as c:
            c.execute(
                "SELECT setval(pg_get_serial_sequence('production_logentry', 'id'), "
                "(SELECT MAX(id) FROM production_logentry))"
            )


def analyze() -> None:
    from django.db import connection

    with connection.cursor() as c:
        c.execute("ANALYZE")


def count_entries(org: Any) -> int:
    from production.models import LogEntry

    return LogEntry.objects.filter(organization=org).count()


def measure_dashboards(client: Any, urls: list[str]) -> list[tuple[int, float]]:
    """Queries and median seconds per page, the pages requested in turn."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(2):
        for url in urls:
            assert client.get(url).status_code == 200
    times: list[list[float]] = [[] for _ in urls]
    queries = [0 for _ in urls]
    for _ in range(REPEATS):
        for i, url in enumerate(urls):
            with CaptureQueriesContext(connection) as ctx:
                t0 = time.perf_counter()
                r = client.get(url)
                times[i].append(time.perf_counter() - t0)
            assert r.status_code == 200 and r.content.count(b"<svg") >= 4
            queries[i] = len(ctx.captured_queries)
    return [(q, statistics.median(t)) for q, t in zip(queries, times, strict=True)]


def import_csv(actor: Any, rows: int) -> float:
    from production import csv_io

    org = make_org("Importadora", actor, work_centres=10, products=10)
    lines = [
        "date,work_centre,shift,product,good,rework,scrap,unplanned_downtime_min,"
        "downtime_reason,scrap_reason,scrap_category"
    ]
    end = date(2027, 12, 31)
    for day, w, s, p in slots(org, rows, end - timedelta(days=364), end):
        lines.append(
            f"{day.isoformat()},{w.code},{s.code},{p.code},700,5,10,30,Horno frío,Quemado,material"
        )
    text = "\n".join(lines) + "\n"
    t0 = time.perf_counter()
    result = csv_io.entries_import_csv(actor=actor, organization=org, text=text)
    seconds = time.perf_counter() - t0
    assert result.ok and result.imported == rows, result.errors[:5]
    return seconds


def with_targets(org: Any) -> None:
    from decimal import Decimal

    from governance.models import Decision
    from production.models import Target

    decision = Decision.objects.get(organization=org, number=1)
    Target.objects.create(
        organization=org, decision=decision, metric="oee", value=Decimal(70), valid_from=YEAR_START
    )
    Target.objects.create(
        organization=org,
        decision=decision,
        metric="good_per_day",
        value=Decimal(20000),
        valid_from=YEAR_START,
    )


def main() -> None:
    ensure_database()
    setup_django()
    from django.contrib.auth import get_user_model
    from django.test import Client

    reset()
    User = get_user_model()
    user = User.objects.create_user("ana", password="x")
    small = make_org("Panadería Pequeña", user)
    large = make_org("Panadería Grande", user)
    loader = Loader()
    for org, n, seed in ((small, SMALL, 1), (large, LARGE, 2)):
        with_targets(org)
        t0 = time.perf_counter()
        loader.load(org, n, YEAR_START, YEAR_END, seed=seed)
        print(f"loaded {n:,} entries in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    analyze()

    client = Client()
    client.force_login(user)
    urls = [
        f"/o/{org.slug}/production/?start={YEAR_START.isoformat()}"
        f"&end={YEAR_END.isoformat()}&group=month"
        for org in (small, large)
    ]
    small_n, large_n = count_entries(small), count_entries(large)
    (q_small, s_small), (q_large, s_large) = measure_dashboards(client, urls)
    print(f"dashboard, year of {small_n:,} entries: {q_small} queries, {s_small * 1000:.1f} ms")
    print(f"dashboard, year of {large_n:,} entries: {q_large} queries, {s_large * 1000:.1f} ms")
    ratio = s_large / s_small
    print(f"queries equal: {q_small == q_large}; time ratio {ratio:.2f} (limit 3)")

    rows = 100_000
    seconds = import_csv(user, rows)
    rate = rows / seconds
    print(f"CSV import: {rows:,} rows in {seconds:.1f} s = {rate:,.0f} rows/s (all or nothing)")

    ok = q_small == q_large and ratio <= 3
    print(
        json.dumps(
            {
                "queries_small": q_small,
                "queries_large": q_large,
                "seconds_small": round(s_small, 4),
                "seconds_large": round(s_large, 4),
                "time_ratio": round(ratio, 3),
                "import_rows_per_s": round(rate, 1),
                "entries_small": small_n,
                "entries_large": large_n,
                "ok": ok,
            }
        )
    )


if __name__ == "__main__":
    main()
