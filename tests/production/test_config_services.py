"""Changing work centres, products and shifts: a coordinator's mandate, an audit entry per
real change, and the history of recorded entries left as it was."""

from __future__ import annotations

from datetime import time
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from governance.models import AuditEntry
from production import services
from tests.production.conftest import Line


def test_a_product_change_is_audited_once(line: Line) -> None:
    alice = line.world.alice
    services.product_update(actor=alice, product=line.bread, ideal_cycle_seconds=Decimal(50))
    services.product_update(actor=alice, product=line.bread, ideal_cycle_seconds=Decimal(50))
    assert AuditEntry.objects.filter(action="production.product_update").count() == 1
    assert line.bread.ideal_cycle_seconds == Decimal(50)


def test_changes_need_a_coordinator(line: Line) -> None:
    with pytest.raises(PermissionDenied):
        services.work_centre_update(actor=line.world.bob, work_centre=line.oven, active=False)
    line.oven.refresh_from_db()
    assert line.oven.active


def test_a_shift_cannot_end_when_it_starts(line: Line) -> None:
    with pytest.raises(ValidationError):
        services.shift_update(actor=line.world.alice, shift=line.day, end=time(6))
    entry = line.submit(good=1)
    services.shift_update(actor=line.world.alice, shift=line.day, end=time(15))
    entry.refresh_from_db()
    assert entry.shift_minutes == 480 and line.day.minutes_on(entry.shift_date, "UTC") == 540


def test_a_retired_line_takes_no_new_entries(line: Line) -> None:
    services.work_centre_update(actor=line.world.alice, work_centre=line.mixer, active=False)
    with pytest.raises(ValidationError) as err:
        line.submit(good=1, work_centre=line.mixer)
    assert "No longer in use." in str(err.value)
