from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from governance.models import AuditEntry
from production import selectors, services
from production.models import DowntimeLine, LogEntry
from production.services import DowntimeInput, ScrapInput
from tests import factories
from tests.production.conftest import DAY, Line


def test_entry_stores_quantities_downtime_scrap_and_crew(line: Line) -> None:
    w = line.world
    entry = line.submit(
        good=380,
        rework=5,
        scrap=15,
        workers=[w.alice_m, w.bob_m],
        downtime=[
            DowntimeInput(category="unplanned", reason="Horno frío", minutes=45),
            DowntimeInput(category="minor_stop", reason="Atasco", minutes=15),
        ],
        scrap_lines=[
            ScrapInput(category="material", reason="Harina húmeda", quantity=10),
            ScrapInput(category="handling", reason="Caída", quantity=5),
        ],
        handover_note="Falta harina para mañana",
    )
    assert (entry.shift_minutes, entry.unplanned_downtime_minutes, entry.minor_stop_minutes) == (
        480,
        45,
        15,
    )
    assert entry.run_minutes == 420 and entry.workers_count == 2
    assert entry.downtime_lines.count() == 2 and entry.scrap_lines.count() == 2
    assert AuditEntry.objects.filter(action="production.entry_submit").count() == 1


def test_same_submission_twice_is_stored_once(line: Line) -> None:
    key = uuid.uuid4()
    first = services.entry_submit(
        actor=line.world.alice,
        organization=line.world.org,
        data=line.data(good=10),
        idempotency_key=key,
    )
    again = services.entry_submit(
        actor=line.world.bob,
        organization=line.world.org,
        data=line.data(good=10),
        idempotency_key=key,
    )
    assert first.created and not again.created
    assert again.entry.pk == first.entry.pk
    assert LogEntry.objects.count() == 1


def test_second_entry_for_the_same_slot_is_refused_with_a_clear_message(line: Line) -> None:
    line.submit(good=10)
    with pytest.raises(ValidationError, match="already has an entry"):
        line.submit(good=11)
    assert LogEntry.objects.count() == 1


def test_negative_quantities_are_refused(line: Line) -> None:
    with pytest.raises(ValidationError) as exc:
        line.submit(good=-1)
    assert exc.value.message_dict["good"] == ["Quantities cannot be negative."]


def test_downtime_longer_than_the_shift_is_refused(line: Line) -> None:
    with pytest.raises(
        ValidationError, match=r"Downtime \(500 min\) is longer than the shift \(480 min\)"
    ):
        line.submit(
            good=1, downtime=[DowntimeInput(category="unplanned", reason="Apagón", minutes=500)]
        )
    assert LogEntry.objects.count() == 0 and DowntimeLine.objects.count() == 0


def test_database_refuses_downtime_beyond_shift_and_negative_quantities(line: Line) -> None:
    entry = line.submit(good=1)
    for bad in (
        {"unplanned_downtime_minutes": 481},
        {"planned_downtime_minutes": 300, "changeover_minutes": 200},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            LogEntry.objects.filter(pk=entry.pk).update(**bad)
    with pytest.raises(IntegrityError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(good=-5)


def test_scrap_lines_must_add_up_to_the_scrap(line: Line) -> None:
    with pytest.raises(ValidationError, match="add up to 3 but the scrap is 5"):
        line.submit(good=1, scrap=5, scrap_lines=[ScrapInput("material", "Harina", 3)])


def test_night_shift_spans_midnight_and_is_stored_in_utc(line: Line) -> None:
    entry = line.submit(good=10, shift=line.night)
    # America/Caracas is UTC-4: 22:00 local is 02:00 UTC the next day, 06:00 is 10:00 UTC.
    assert entry.starts_at == datetime(2025, 3, 11, 2, tzinfo=UTC)
    assert entry.ends_at == datetime(2025, 3, 11, 10, tzinfo=UTC)
    assert entry.shift_minutes == 480
    assert line.night.moment(DAY, time(1, 30), "America/Caracas") == datetime(
        2025, 3, 11, 5, 30, tzinfo=UTC
    )


def test_shift_across_a_daylight_saving_change_lasts_its_real_length(line: Line) -> None:
    # Madrid moved clocks forward at 02:00 on 2025-03-30: that night shift is 7 hours.
    assert line.night.minutes_on(datetime(2025, 3, 29).date(), "Europe/Madrid") == 420


def test_downtime_given_as_start_and_end_inside_the_shift(line: Line) -> None:
    tz = line.world.org.time_zone
    start = line.night.moment(DAY, time(23, 30), tz)
    end = line.night.moment(DAY, time(0, 15), tz)
    entry = line.submit(
        good=1,
        shift=line.night,
        downtime=[
            DowntimeInput(category="unplanned", reason="Corte de luz", starts_at=start, ends_at=end)
        ],
    )
    assert entry.unplanned_downtime_minutes == 45
    with pytest.raises(ValidationError, match="within the shift"):
        line.submit(
            good=1,
            shift=line.day,
            downtime=[
                DowntimeInput(category="unplanned", reason="x", starts_at=start, ends_at=end)
            ],
        )


def test_amendment_keeps_every_version_visible(line: Line) -> None:
    v1 = line.submit(good=100)
    r = services.entry_amend(
        actor=line.world.bob,
        entry=v1,
        data=line.data(good=120),
        reason="Conteo equivocado",
        idempotency_key=uuid.uuid4(),
    )
    v2 = r.entry
    v1.refresh_from_db()
    assert (v1.current, v1.good, v2.current, v2.good, v2.version) == (False, 100, True, 120, 2)
    assert v2.series == v1.series and v2.amends == v1
    assert [v.good for v in selectors.entry_versions(entry=v1)] == [120, 100]
    # Only the current version counts.
    assert selectors.totals(organization=line.world.org, start=DAY, end=DAY).good == 120
    # Correcting an old version is refused: the newer one must be corrected.
    with pytest.raises(ValidationError, match="newer version"):
        services.entry_amend(
            actor=line.world.bob,
            entry=v1,
            data=line.data(good=1),
            reason="x",
            idempotency_key=uuid.uuid4(),
        )


def test_submitted_entry_cannot_be_edited_in_place(line: Line) -> None:
    entry = line.submit(good=100)
    entry.good = 1
    with pytest.raises(ValueError, match="immutable"):
        entry.save()


def test_crew_cosigns_and_next_crew_acknowledges(line: Line) -> None:
    w = line.world
    entry = line.submit(good=10, workers=[w.alice_m], handover_note="Limpiar el horno")
    services.entry_sign(actor=w.alice, entry=entry)
    services.entry_sign(actor=w.alice, entry=entry)  # twice is once
    assert entry.signatures.count() == 1
    with pytest.raises(ValidationError, match="crew present"):
        services.entry_sign(actor=w.bob, entry=entry)
    with pytest.raises(ValidationError, match="next crew"):
        services.handover_acknowledge(actor=w.alice, entry=entry)
    services.handover_acknowledge(actor=w.bob, entry=entry)
    assert entry.handover_acks.get().membership == w.bob_m


def test_other_organisations_cannot_record_or_use_foreign_lines(line: Line) -> None:
    w = line.world
    with pytest.raises(PermissionDenied):
        services.entry_submit(
            actor=w.charlie,
            organization=w.org,
            data=line.data(good=1),
            idempotency_key=uuid.uuid4(),
        )
    with pytest.raises(ValidationError, match="Not part of this organisation"):
        services.entry_submit(
            actor=w.charlie,
            organization=w.other_org,
            data=line.data(good=1),
            idempotency_key=uuid.uuid4(),
        )


def test_configuration_needs_a_line_coordinator_mandate(line: Line) -> None:
    with pytest.raises(PermissionDenied, match="current mandate"):
        services.work_centre_create(
            actor=line.world.bob, organization=line.world.org, code="x", name="X"
        )


def test_target_comes_from_a_decision_of_the_register(line: Line) -> None:
    w = line.world
    decision = factories.founding_decision(w.org)
    t = services.target_adopt(
        actor=w.alice,
        organization=w.org,
        decision=decision,
        metric="oee",
        value=Decimal(75),
        valid_from=DAY,
    )
    line.submit(
        good=380,
        rework=5,
        scrap=15,
        downtime=[DowntimeInput(category="unplanned", reason="x", minutes=60)],
    )
    [status] = selectors.targets_vs_actuals(
        organization=w.org, start=DAY, end=DAY + timedelta(days=6)
    )
    assert status.target == t and status.met is True
    assert round(status.actual, 2) == Decimal("79.17")  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied):
        services.target_adopt(
            actor=w.bob,
            organization=w.org,
            decision=decision,
            metric="oee",
            value=Decimal(75),
            valid_from=DAY,
        )
    other = factories.founding_decision(w.other_org)
    with pytest.raises(ValidationError, match="register"):
        services.target_adopt(
            actor=w.alice,
            organization=w.org,
            decision=other,
            metric="oee",
            value=Decimal(75),
            valid_from=DAY,
        )
