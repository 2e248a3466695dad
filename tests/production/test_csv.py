from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from governance.models import AuditEntry
from production import csv_io, selectors
from production.models import DowntimeLine, LogEntry, ScrapLine
from tests.production.conftest import DAY, Line

HEADER = "date,work_centre,shift,product,good,rework,scrap,unplanned_downtime_min,downtime_reason,scrap_reason,workers\n"


def _import(line: Line, text: str) -> csv_io.ImportResult:
    return csv_io.entries_import_csv(actor=line.world.alice, organization=line.world.org, text=text)


def test_valid_file_imports_every_row(line: Line) -> None:
    numbers = f"{line.world.alice_m.member_number} {line.world.bob_m.member_number}"
    result = _import(
        line,
        HEADER
        + f"2025-03-10,oven,day,bread,380,5,15,60,Horno frío,Quemado,{numbers}\n"
        + "2025-03-10,oven,night,bread,100,0,0,0,,,\n",
    )
    assert result.ok and result.imported == 2
    first = LogEntry.objects.get(shift=line.day)
    assert (first.good, first.unplanned_downtime_minutes, first.workers_count) == (380, 60, 2)
    assert DowntimeLine.objects.get().reason == "Horno frío"
    assert ScrapLine.objects.get().quantity == 15
    t = selectors.totals(organization=line.world.org, start=DAY, end=DAY)
    assert t.good == 480


def test_one_bad_row_and_nothing_is_imported(line: Line) -> None:
    result = _import(
        line,
        HEADER
        + "2025-03-10,oven,day,bread,10,0,0,0,,,\n"
        + "2025-03-11,oven,day,croissant,10,0,0,0,,,\n"
        + "2025-03-12,oven,day,bread,-3,0,0,0,,,\n"
        + "2025-03-13,oven,day,bread,10,0,0,900,Apagón,,\n",
    )
    assert not result.ok and result.imported == 0
    assert LogEntry.objects.count() == 0
    assert [(e.row, e.field) for e in result.errors] == [
        (3, "product"),
        (4, "good"),
        (5, "downtime"),
    ]
    assert result.errors[0].message == "Unknown product “croissant”."
    assert "longer than the shift" in result.errors[2].message


def test_errors_come_in_the_readers_language(line: Line) -> None:
    with translation.override("es"):
        result = _import(line, HEADER + "2025-03-11,oven,day,croissant,10,0,0,0,,,\n")
    assert result.errors[0].message == "Producto desconocido «croissant»."


def test_duplicate_rows_and_existing_entries_are_reported(line: Line) -> None:
    line.submit(good=1)
    result = _import(
        line,
        HEADER
        + "2025-03-10,oven,day,bread,10,0,0,0,,,\n"
        + "2025-03-11,oven,day,bread,10,0,0,0,,,\n"
        + "2025-03-11,oven,day,bread,12,0,0,0,,,\n",
    )
    assert result.imported == 0 and LogEntry.objects.count() == 1
    assert [(e.row, e.message[:20]) for e in result.errors] == [
        (2, "This line, shift, da"),
        (4, "Same line, shift, da"),
    ]


def test_missing_and_unknown_columns_are_reported(line: Line) -> None:
    assert _import(line, "date,work_centre\n2025-03-10,oven\n").errors[0].message == (
        "Missing columns."
    )
    assert _import(line, "date,work_centre,shift,product,good,colour\n").errors[0].field == "colour"


def test_semicolon_files_from_spanish_spreadsheets_import(line: Line) -> None:
    result = _import(line, "date;work_centre;shift;product;good\n10/03/2025;oven;day;bread;7\n")
    assert result.ok and LogEntry.objects.get().good == 7


def test_export_csv_and_xlsx_round_trip(line: Line) -> None:
    line.submit(good=42, scrap=3, workers=[line.world.bob_m], notes="=1+1")
    entries = selectors.entries_for_export(organization=line.world.org, start=DAY, end=DAY)
    text = "".join(csv_io.export_csv_stream(entries))
    assert text.startswith("\ufeffdate,work_centre,shift,product,good")
    assert "2025-03-10,oven,day,bread,42,0,3" in text
    assert "'=1+1" in text  # formula injection defused
    wb = load_workbook(io.BytesIO(csv_io.export_xlsx(entries)))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("date", "work_centre", "shift", "product", "good")
    assert rows[1][4] == 42
    # The exported file imports elsewhere once the old entry is gone: same columns.
    LogEntry.objects.all().delete()
    result = _import(line, text.lstrip("\ufeff"))
    assert result.ok and LogEntry.objects.get().good == 42


def test_an_entry_recorded_during_the_import_ends_it_cleanly_with_nothing_imported(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = csv_io._slots_taken

    def crew_records_meanwhile(**kwargs: Any) -> Any:
        taken = real(**kwargs)
        # A crew's phone stores an entry for row 3's slot after the import has looked
        # (on PostgreSQL the check cannot see another transaction's uncommitted row).
        line.submit(good=1, shift_date=DAY + timedelta(days=1))
        return taken

    monkeypatch.setattr(csv_io, "_slots_taken", crew_records_meanwhile)
    result = _import(
        line,
        HEADER
        + "2025-03-10,oven,day,bread,10,0,0,0,,,\n"
        + "2025-03-11,oven,day,bread,10,0,0,0,,,\n",
    )
    assert not result.ok and result.imported == 0
    [error] = result.errors
    assert "Nothing was imported" in error.message
    # Only the crew's entry is stored: not one row of the file.
    assert list(LogEntry.objects.values_list("good", "source")) == [(1, "form")]
    assert not AuditEntry.objects.filter(action="production.entries_import").exists()


def test_the_import_page_reports_the_clash_instead_of_failing(
    line: Line, monkeypatch: pytest.MonkeyPatch
) -> None:
    def clash(**kwargs: Any) -> None:
        raise IntegrityError("UNIQUE constraint failed: entry_one_per_slot")

    monkeypatch.setattr(csv_io, "_bulk_store", clash)
    client = Client()
    client.force_login(line.world.alice)
    upload = SimpleUploadedFile(
        "entries.csv", (HEADER + "2025-03-10,oven,day,bread,10,0,0,0,,,\n").encode()
    )
    r = client.post(reverse("production:import", args=[line.world.org.slug]), {"file": upload})
    assert r.status_code == 400
    assert "Nothing was imported" in r.content.decode()
    assert LogEntry.objects.count() == 0
