"""CSV import (all rows or none) and CSV/XLSX export of production log entries.

Import and export share the columns, so an exported file can be corrected in a spreadsheet
and imported into another installation. Every row is checked by the same rules as the phone
form (services._build); errors come back row by row in the reader's language.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from governance.audit import audit
from governance.models import Membership, Organization
from governance.permissions import require
from production import rollups
from production.models import (
    DowntimeLine,
    EntryWorker,
    LogEntry,
    Product,
    ScrapLine,
    Shift,
    WorkCentre,
)
from production.services import DowntimeInput, EntryData, ScrapInput, _build

COLUMNS = [
    "date",
    "work_centre",
    "shift",
    "product",
    "good",
    "rework",
    "scrap",
    "planned_downtime_min",
    "unplanned_downtime_min",
    "changeover_min",
    "minor_stop_min",
    "downtime_reason",
    "scrap_reason",
    "scrap_category",
    "workers",
    "notes",
    "handover_note",
]
REQUIRED = ["date", "work_centre", "shift", "product", "good"]
# Written on export for reference and ignored on import.
EXPORT_ONLY = ["entry", "version", "recorded_at"]
DOWNTIME_COLUMNS = {
    "planned_downtime_min": DowntimeLine.Category.PLANNED,
    "unplanned_downtime_min": DowntimeLine.Category.UNPLANNED,
    "changeover_min": DowntimeLine.Category.CHANGEOVER,
    "minor_stop_min": DowntimeLine.Category.MINOR_STOP,
}
MAX_ROWS = 200_000
MAX_UPLOAD = 25 * 1024 * 1024
BATCH = 2_000


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    message: str


@dataclass(frozen=True)
class ImportResult:
    imported: int
    errors: list[RowError]

    @property
    def ok(self) -> bool:
        return not self.errors


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _reader(text: str) -> csv.DictReader[str]:
    first = text.split("\n", 1)[0]
    # Spreadsheets set to Spanish write semicolons.
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return csv.DictReader(io.StringIO(text), delimiter=delimiter)


class _Lookups:
    def __init__(self, organization: Organization) -> None:
        self.work_centres = {
            w.code: w for w in WorkCentre.objects.filter(organization=organization)
        }
        self.shifts = {s.code: s for s in Shift.objects.filter(organization=organization)}
        self.products = {p.code: p for p in Product.objects.filter(organization=organization)}
        self.members = {
            m.member_number: m
            for m in Membership.objects.filter(organization=organization).exclude(
                status=Membership.Status.LEFT
            )
        }


def _row_data(
    row: dict[str, str], n: int, look: _Lookups, errors: list[RowError]
) -> EntryData | None:
    def get(name: str) -> str:
        return (row.get(name) or "").strip()

    start = len(errors)
    for name in REQUIRED:
        if not get(name):
            errors.append(RowError(n, name, _("This column is required.")))
    if len(errors) > start:
        return None
    try:
        shift_date = _parse_date(get("date"))
    except ValueError:
        errors.append(RowError(n, "date", _("Not a date: write it as 2025-03-31.")))
        shift_date = date.min
    wc = look.work_centres.get(get("work_centre"))
    if wc is None:
        errors.append(
            RowError(
                n,
                "work_centre",
                _("Unknown work centre “%(code)s”.") % {"code": get("work_centre")},
            )
        )
    shift = look.shifts.get(get("shift"))
    if shift is None:
        errors.append(RowError(n, "shift", _("Unknown shift “%(code)s”.") % {"code": get("shift")}))
    product = look.products.get(get("product"))
    if product is None:
        errors.append(
            RowError(n, "product", _("Unknown product “%(code)s”.") % {"code": get("product")})
        )
    numbers: dict[str, int] = {}
    for name in ["good", "rework", "scrap", *DOWNTIME_COLUMNS]:
        raw = get(name)
        if not raw:
            numbers[name] = 0
            continue
        try:
            numbers[name] = int(raw)
        except ValueError:
            errors.append(RowError(n, name, _("Not a whole number: “%(value)s”.") % {"value": raw}))
            continue
        if numbers[name] < 0:
            errors.append(RowError(n, name, _("Quantities cannot be negative.")))
    workers: list[Membership] = []
    for number in get("workers").replace(";", " ").replace("|", " ").split():
        m = look.members.get(number)
        if m is None:
            errors.append(
                RowError(
                    n, "workers", _("Unknown member number “%(number)s”.") % {"number": number}
                )
            )
        else:
            workers.append(m)
    if len(errors) > start or wc is None or shift is None or product is None:
        return None
    reason = get("downtime_reason") or _("Not specified")
    downtime = [
        DowntimeInput(category=cat, reason=reason, minutes=numbers[col])
        for col, cat in DOWNTIME_COLUMNS.items()
        if numbers[col] > 0
    ]
    scrap_lines: list[ScrapInput] = []
    if numbers["scrap"] > 0 and get("scrap_reason"):
        category = get("scrap_category") or ScrapLine.Category.OTHER
        scrap_lines.append(
            ScrapInput(category=category, reason=get("scrap_reason"), quantity=numbers["scrap"])
        )
    return EntryData(
        work_centre=wc,
        shift=shift,
        product=product,
        shift_date=shift_date,
        good=numbers["good"],
        rework=numbers["rework"],
        scrap=numbers["scrap"],
        downtime=downtime,
        scrap_lines=scrap_lines,
        workers=workers,
        notes=get("notes"),
        handover_note=get("handover_note"),
    )


_FIELD_TO_COLUMN = {"downtime": "downtime", "scrap_lines": "scrap_category", "__all__": ""}


@transaction.atomic
def entries_import_csv(*, actor: Any, organization: Organization, text: str) -> ImportResult:
    """Import every row or none: any error in any row and nothing is stored."""
    require(actor, "production.record", organization)
    reader = _reader(text.lstrip("\ufeff"))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        return ImportResult(0, [RowError(1, ", ".join(missing), _("Missing columns."))])
    unknown = [c for c in header if c not in COLUMNS and c not in EXPORT_ONLY]
    if unknown:
        return ImportResult(0, [RowError(1, ", ".join(unknown), _("Unknown columns."))])

    look = _Lookups(organization)
    errors: list[RowError] = []
    built: list[tuple[LogEntry, list[DowntimeLine], list[ScrapLine], list[Membership]]] = []
    seen: dict[tuple[int, int, date, int], int] = {}
    n = 1
    for n, row in enumerate(reader, start=2):
        if n - 1 > MAX_ROWS:
            errors.append(
                RowError(
                    n, "", _("Too many rows: import at most %(max)s at a time.") % {"max": MAX_ROWS}
                )
            )
            break
        data = _row_data(row, n, look, errors)
        if data is None:
            continue
        try:
            entry, lines, scraps = _build(organization=organization, data=data, for_new_slot=True)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                for message in messages:
                    errors.append(RowError(n, _FIELD_TO_COLUMN.get(name, name), message))
            continue
        key = (data.work_centre.pk, data.shift.pk, data.shift_date, data.product.pk)
        if key in seen:
            errors.append(
                RowError(
                    n,
                    "",
                    _("Same line, shift, date and product as row %(row)s.") % {"row": seen[key]},
                )
            )
            continue
        seen[key] = n
        built.append((entry, lines, scraps, data.workers))
    if not built and not errors:
        errors.append(RowError(n, "", _("The file has no rows to import.")))
    if built:
        for key in _slots_taken(organization=organization, keys=set(seen)):
            errors.append(
                RowError(
                    seen[key],
                    "",
                    _(
                        "This line, shift, date and product already has an entry. To change it, "
                        "record a correction of that entry."
                    ),
                )
            )
    if errors:
        errors.sort(key=lambda e: e.row)
        return ImportResult(0, errors)

    try:
        # A savepoint, so that a clash below undoes every row of the file and nothing else.
        with transaction.atomic():
            _bulk_store(actor=actor, built=built)
    except IntegrityError:
        # The check above cannot see entries another transaction has not committed yet: a
        # crew's form or a second import can still take one of these slots in between, and
        # the unique index refuses the duplicate. All rows or none, so none.
        return ImportResult(
            0,
            [
                RowError(
                    1,
                    "",
                    _(
                        "Someone recorded entries for some of the same lines, shifts, dates "
                        "and products while this file was being imported. Nothing was "
                        "imported: import the file again to see which rows already have an "
                        "entry."
                    ),
                )
            ],
        )
    audit(
        actor=actor, action="production.entries_import", organization=organization, rows=len(built)
    )
    return ImportResult(len(built), [])


def _slots_taken(
    *, organization: Organization, keys: set[tuple[int, int, date, int]]
) -> set[tuple[int, int, date, int]]:
    """Which (work centre, shift, date, product) of `keys` already have a current entry."""
    dates = [key[2] for key in keys]
    taken = set(
        LogEntry.objects.filter(
            organization=organization,
            current=True,
            shift_date__gte=min(dates),
            shift_date__lte=max(dates),
        ).values_list("work_centre_id", "shift_id", "shift_date", "product_id")
    )
    return taken & keys


def _bulk_store(
    *,
    actor: Any,
    built: list[tuple[LogEntry, list[DowntimeLine], list[ScrapLine], list[Membership]]],
) -> None:
    for i in range(0, len(built), BATCH):
        chunk = built[i : i + BATCH]
        for entry, *_rest in chunk:
            entry.recorded_by = actor
            entry.source = "csv"
            entry.idempotency_key = uuid.uuid4()
        LogEntry.objects.bulk_create([c[0] for c in chunk])
        if chunk[0][0].pk is None:
            # SQLite before 3.35 cannot return ids from a bulk insert; fetch them back.
            ids = dict(
                LogEntry.objects.filter(
                    idempotency_key__in=[c[0].idempotency_key for c in chunk]
                ).values_list("idempotency_key", "pk")
            )
            for entry, *_rest in chunk:
                entry.pk = ids[entry.idempotency_key]
        downtime: list[DowntimeLine] = []
        scraps: list[ScrapLine] = []
        workers: list[EntryWorker] = []
        for entry, lines, scrap_lines, members in chunk:
            every: list[DowntimeLine | ScrapLine] = [*lines, *scrap_lines]
            for line in every:
                line.entry = entry
                line.organization_id = entry.organization_id
                line.shift_date = entry.shift_date
            downtime.extend(lines)
            scraps.extend(scrap_lines)
            workers.extend(
                EntryWorker(entry=entry, membership=m) for m in {m.pk: m for m in members}.values()
            )
        DowntimeLine.objects.bulk_create(downtime, batch_size=BATCH)
        ScrapLine.objects.bulk_create(scraps, batch_size=BATCH)
        EntryWorker.objects.bulk_create(workers, batch_size=BATCH)
    # Once for the whole file: a day's sums are then written once, not once per batch.
    rollups.apply((1, entry, lines, scrap_lines) for entry, lines, scrap_lines, _m in built)


# --- Export ---------------------------------------------------------------------------------


def export_rows(entries: Iterable[LogEntry]) -> Iterator[list[Any]]:
    """Header, then one row per entry (callers pass current versions of a period)."""
    yield COLUMNS + EXPORT_ONLY
    for e in entries:
        reasons = sorted({d.reason for d in e.downtime_lines.all()})
        scrap = list(e.scrap_lines.all())
        yield [
            e.shift_date.isoformat(),
            e.work_centre.code,
            e.shift.code,
            e.product.code,
            e.good,
            e.rework,
            e.scrap,
            e.planned_downtime_minutes,
            e.unplanned_downtime_minutes,
            e.changeover_minutes,
            e.minor_stop_minutes,
            "; ".join(reasons),
            scrap[0].reason if len(scrap) == 1 else "",
            scrap[0].category if len(scrap) == 1 else "",
            " ".join(sorted(w.member_number for w in e.workers.all())),
            e.notes,
            e.handover_note,
            str(e.series),
            e.version,
            e.recorded_at.isoformat(),
        ]


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv_stream(entries: Iterable[LogEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff"  # so spreadsheet programs read the accents right
    for row in export_rows(entries):
        yield writer.writerow([_defuse(v) for v in row])


def _defuse(value: Any) -> Any:
    # A cell starting with = + - @ is run as a formula by spreadsheets (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def export_xlsx(entries: Iterable[LogEntry]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Production"))
    for row in export_rows(entries):
        ws.append([_defuse(v) for v in row])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
