"""The daily summary tables behind the indicators (models.DailyTotal, models.DailyReason).

Every write of an entry calls `apply` in its own transaction, with +1 for what becomes
current and -1 for what stops being current, so the sums always equal those of the current
entries; `rebuild` recomputes them from the entries in SQL (after a bulk load, or to check).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from itertools import combinations
from typing import Any

from django.db import connection

from production.models import DailyReason, DailyTotal, DowntimeLine, LogEntry, ScrapLine

DIMENSIONS = ("work_centre", "product", "shift")
# Every grouping of the three dimensions except all three together, which is one entry a
# day (the slot is unique) and so is read from the entries table itself.
GROUPINGS: list[frozenset[str]] = [
    frozenset(c) for n in range(len(DIMENSIONS)) for c in combinations(DIMENSIONS, n)
]
BITS = {"work_centre": 1, "product": 2, "shift": 4}
# The key columns of DailyTotal (the last, `grouping`, follows from the others).
TOTAL_KEYS = {
    "organization_id": "bigint",
    "shift_date": "date",
    "work_centre_key": "bigint",
    "product_key": "bigint",
    "shift_key": "bigint",
    "grouping": "smallint",
}
REASON_COLUMNS = {
    "organization_id": "bigint",
    "shift_date": "date",
    "work_centre_key": "bigint",
    "kind": "text",
    "category": "text",
    "reason": "text",
    "amount": "bigint",
}
TOTAL_FIELDS = (
    "entries",
    "shift_minutes",
    "planned_downtime_minutes",
    "unplanned_downtime_minutes",
    "changeover_minutes",
    "minor_stop_minutes",
    "good",
    "rework",
    "scrap",
    "ideal_seconds",
)

Change = tuple[int, LogEntry, Sequence[DowntimeLine], Sequence[ScrapLine]]


def covers(dimensions: Iterable[str]) -> bool:
    """Can a question filtered or grouped by these dimensions be read from DailyTotal?"""
    return frozenset(dimensions) in GROUPINGS


def grouping(dimensions: Iterable[str]) -> int:
    return sum(BITS[d] for d in set(dimensions))


def _vector(sign: int, e: LogEntry) -> list[Any]:
    return [
        sign,
        sign * e.shift_minutes,
        sign * e.planned_downtime_minutes,
        sign * e.unplanned_downtime_minutes,
        sign * e.changeover_minutes,
        sign * e.minor_stop_minutes,
        sign * e.good,
        sign * e.rework,
        sign * e.scrap,
        sign * e.ideal_cycle_seconds * (e.good + e.rework + e.scrap),
    ]


def apply(changes: Iterable[Change]) -> None:
    """Add (+1) or take away (-1) entries and their lines from the daily sums."""
    totals: dict[tuple[Any, ...], list[Any]] = {}
    reasons: dict[tuple[Any, ...], int] = defaultdict(int)
    for sign, e, downtime, scrap in changes:
        ids = {"work_centre": e.work_centre_id, "product": e.product_id, "shift": e.shift_id}
        vector = _vector(sign, e)
        for dims in GROUPINGS:
            key = (
                e.organization_id,
                e.shift_date,
                *(ids[d] if d in dims else 0 for d in DIMENSIONS),
                grouping(dims),
            )
            row = totals.get(key)
            if row is None:
                totals[key] = list(vector)
            else:
                for i, v in enumerate(vector):
                    row[i] += v
        for kind, lines, attr in (
            (DailyReason.Kind.DOWNTIME, downtime, "minutes"),
            (DailyReason.Kind.SCRAP, scrap, "quantity"),
        ):
            for line in lines:
                for wc in (0, e.work_centre_id):
                    k = (e.organization_id, e.shift_date, wc, kind, line.category, line.reason)
                    reasons[k] += sign * getattr(line, attr)
    # Always in key order: two transactions touching the same rows lock them in the same
    # order and so never deadlock.
    _upsert(
        DailyTotal._meta.db_table,
        {**TOTAL_KEYS, **dict.fromkeys(TOTAL_FIELDS, "bigint"), "ideal_seconds": "numeric"},
        TOTAL_FIELDS,
        [(*k, *v) for k, v in sorted(totals.items())],
        conflict=list(TOTAL_KEYS)[:-1],
    )
    _upsert(
        DailyReason._meta.db_table,
        REASON_COLUMNS,
        ["amount"],
        [(*k, v) for k, v in sorted(reasons.items()) if v],
        conflict=list(REASON_COLUMNS)[:-1],
    )


def _upsert(
    table: str,
    columns: dict[str, str],
    sums: Sequence[str],
    rows: list[tuple[Any, ...]],
    conflict: Sequence[str],
) -> None:
    """INSERT … ON CONFLICT DO UPDATE adding to the stored sums: the database adds under
    its row lock, so simultaneous writes never lose an update. `columns` maps each column
    (in the order of the rows' values) to its PostgreSQL type."""
    if not rows:
        return
    q = connection.ops.quote_name
    names = ", ".join(q(c) for c in columns)
    update = ", ".join(f"{q(c)} = {q(table)}.{q(c)} + EXCLUDED.{q(c)}" for c in sums)
    on = f"ON CONFLICT ({', '.join(q(c) for c in conflict)}) DO UPDATE SET {update}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One statement whatever the number of rows, each column sent as one array: an
            # import's thousands of rows cost one round trip and no client-side parsing.
            arrays = ", ".join(f"%s::{t}[]" for t in columns.values())
            cursor.execute(
                f"INSERT INTO {q(table)} ({names}) SELECT * FROM unnest({arrays}) {on}",
                [list(col) for col in zip(*rows, strict=True)],
            )
        else:
            one = "(" + ", ".join(["%s"] * len(columns)) + ")"
            cursor.executemany(f"INSERT INTO {q(table)} ({names}) VALUES {one} {on}", rows)


def rebuild(*, organization_id: int | None = None) -> None:
    """Recompute the sums of one organisation (or all) from the current entries, in SQL."""
    q = connection.ops.quote_name
    entry = q(LogEntry._meta.db_table)
    where = "e.current = %s" + (" AND e.organization_id = %s" if organization_id else "")
    params: list[Any] = [True] + ([organization_id] if organization_id else [])
    summaries: tuple[Any, ...] = (DailyTotal, DailyReason)
    for summary in summaries:
        rows = summary.objects.all()
        if organization_id:
            rows = rows.filter(organization_id=organization_id)
        rows._raw_delete(rows.db)  # type: ignore[attr-defined]
    sums = (
        "COUNT(*), SUM(e.shift_minutes), SUM(e.planned_downtime_minutes), "
        "SUM(e.unplanned_downtime_minutes), SUM(e.changeover_minutes), "
        "SUM(e.minor_stop_minutes), SUM(e.good), SUM(e.rework), SUM(e.scrap), "
        "SUM(e.ideal_cycle_seconds * (e.good + e.rework + e.scrap))"
    )
    columns = ", ".join(
        q(c)
        for c in (
            "organization_id",
            "shift_date",
            "work_centre_key",
            "product_key",
            "shift_key",
            "grouping",
            *TOTAL_FIELDS,
        )
    )
    with connection.cursor() as cursor:
        for dims in GROUPINGS:
            picked = [f"e.{d}_id" if d in dims else "0" for d in DIMENSIONS]
            group = ["e.organization_id", "e.shift_date", *(f"e.{d}_id" for d in dims)]
            cursor.execute(
                f"INSERT INTO {q(DailyTotal._meta.db_table)} ({columns}) "
                f"SELECT e.organization_id, e.shift_date, {', '.join(picked)}, "
                f"{grouping(dims)}, {sums} "
                f"FROM {entry} e WHERE {where} GROUP BY {', '.join(group)}",
                params,
            )
        reason_columns = ", ".join(
            q(c)
            for c in (
                "organization_id",
                "shift_date",
                "work_centre_key",
                "kind",
                "category",
                "reason",
                "amount",
            )
        )
        lines: tuple[tuple[Any, str, str], ...] = (
            (DowntimeLine, DailyReason.Kind.DOWNTIME, "minutes"),
            (ScrapLine, DailyReason.Kind.SCRAP, "quantity"),
        )
        for model, kind, amount in lines:
            for wc in ("0", "e.work_centre_id"):
                by = "e.organization_id, e.shift_date, l.category, l.reason" + (
                    ", e.work_centre_id" if wc != "0" else ""
                )
                cursor.execute(
                    f"INSERT INTO {q(DailyReason._meta.db_table)} ({reason_columns}) "
                    f"SELECT e.organization_id, e.shift_date, {wc}, %s, l.category, l.reason, "
                    f"SUM(l.{amount}) FROM {q(model._meta.db_table)} l "
                    f"JOIN {entry} e ON e.id = l.entry_id WHERE {where} GROUP BY {by}",
                    [str(kind), *params],
                )


def entry_lines(entry: LogEntry) -> tuple[list[DowntimeLine], list[ScrapLine]]:
    return list(entry.downtime_lines.all()), list(entry.scrap_lines.all())
