"""Every write in production: keyword-only, transactional, permission-checked, audited."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from governance.audit import audit
from governance.models import Decision, Membership, Organization, Workgroup
from governance.permissions import require
from production import rollups
from production.models import (
    DowntimeLine,
    EntrySignature,
    EntryWorker,
    HandoverAck,
    LogEntry,
    Product,
    ScrapLine,
    Shift,
    Target,
    WorkCentre,
)

# --- Configuration --------------------------------------------------------------------------


@transaction.atomic
def work_centre_create(
    *, actor: Any, organization: Organization, code: str, name: str
) -> WorkCentre:
    require(actor, "production.configure", organization)
    if WorkCentre.objects.filter(organization=organization, code=code).exists():
        raise ValidationError({"code": _("This code is already used by another work centre.")})
    wc = WorkCentre.objects.create(organization=organization, code=code, name=name)
    audit(
        actor=actor,
        action="production.work_centre_create",
        organization=organization,
        obj=wc,
        code=code,
        name=name,
    )
    return wc


@transaction.atomic
def product_create(
    *,
    actor: Any,
    organization: Organization,
    code: str,
    name: str,
    unit: str,
    ideal_cycle_seconds: Decimal,
) -> Product:
    require(actor, "production.configure", organization)
    if ideal_cycle_seconds is None or ideal_cycle_seconds <= 0:
        raise ValidationError(
            {"ideal_cycle_seconds": _("The ideal cycle time must be more than zero.")}
        )
    if Product.objects.filter(organization=organization, code=code).exists():
        raise ValidationError({"code": _("This code is already used by another product.")})
    product = Product.objects.create(
        organization=organization,
        code=code,
        name=name,
        unit=unit,
        ideal_cycle_seconds=ideal_cycle_seconds,
    )
    audit(
        actor=actor,
        action="production.product_create",
        organization=organization,
        obj=product,
        code=code,
        ideal_cycle_seconds=ideal_cycle_seconds,
    )
    return product


@transaction.atomic
def shift_create(
    *, actor: Any, organization: Organization, code: str, name: str, start: Any, end: Any
) -> Shift:
    require(actor, "production.configure", organization)
    if start == end:
        raise ValidationError({"end": _("A shift must end at a different time than it starts.")})
    if Shift.objects.filter(organization=organization, code=code).exists():
        raise ValidationError({"code": _("This code is already used by another shift.")})
    shift = Shift.objects.create(
        organization=organization, code=code, name=name, start=start, end=end
    )
    audit(
        actor=actor,
        action="production.shift_create",
        organization=organization,
        obj=shift,
        code=code,
        start=start,
        end=end,
    )
    return shift


def _changes(obj: Any, values: dict[str, Any]) -> dict[str, Any]:
    """The given values that differ from what is stored (None means: not given)."""
    return {k: v for k, v in values.items() if v is not None and getattr(obj, k) != v}


@transaction.atomic
def work_centre_update(
    *, actor: Any, work_centre: WorkCentre, name: str | None = None, active: bool | None = None
) -> WorkCentre:
    """Rename a work centre or take it out of (or back into) use. Its code stays: CSV files
    and API clients refer to it, and its entries keep pointing at it."""
    require(actor, "production.configure", work_centre)
    changed = _changes(work_centre, {"name": name, "active": active})
    if changed:
        WorkCentre.objects.filter(pk=work_centre.pk).update(**changed)
        work_centre.refresh_from_db()
        audit(
            actor=actor,
            action="production.work_centre_update",
            organization=work_centre.organization,
            obj=work_centre,
            **changed,
        )
    return work_centre


@transaction.atomic
def product_update(
    *,
    actor: Any,
    product: Product,
    name: str | None = None,
    unit: str | None = None,
    ideal_cycle_seconds: Decimal | None = None,
    active: bool | None = None,
) -> Product:
    """Change a product. A new ideal cycle time applies to entries recorded from now on:
    each entry keeps the one it was recorded with."""
    require(actor, "production.configure", product)
    if ideal_cycle_seconds is not None and ideal_cycle_seconds <= 0:
        raise ValidationError(
            {"ideal_cycle_seconds": _("The ideal cycle time must be more than zero.")}
        )
    if unit is not None and unit not in Product.Unit.values:
        raise ValidationError({"unit": _("Unknown unit.")})
    changed = _changes(
        product,
        {"name": name, "unit": unit, "ideal_cycle_seconds": ideal_cycle_seconds, "active": active},
    )
    if changed:
        Product.objects.filter(pk=product.pk).update(**changed)
        product.refresh_from_db()
        audit(
            actor=actor,
            action="production.product_update",
            organization=product.organization,
            obj=product,
            **changed,
        )
    return product


@transaction.atomic
def shift_update(
    *,
    actor: Any,
    shift: Shift,
    name: str | None = None,
    start: Any = None,
    end: Any = None,
    active: bool | None = None,
) -> Shift:
    """Change a shift definition. Entries already recorded keep their own start, end and
    length, so new times only apply from now on."""
    require(actor, "production.configure", shift)
    if (start if start is not None else shift.start) == (end if end is not None else shift.end):
        raise ValidationError({"end": _("A shift must end at a different time than it starts.")})
    changed = _changes(shift, {"name": name, "start": start, "end": end, "active": active})
    if changed:
        Shift.objects.filter(pk=shift.pk).update(**changed)
        shift.refresh_from_db()
        audit(
            actor=actor,
            action="production.shift_update",
            organization=shift.organization,
            obj=shift,
            **changed,
        )
    return shift


@transaction.atomic
def target_adopt(
    *,
    actor: Any,
    organization: Organization,
    decision: Decision,
    metric: str,
    value: Decimal,
    valid_from: date,
    valid_until: date | None = None,
    work_centre: WorkCentre | None = None,
    product: Product | None = None,
) -> Target:
    """Record a target an assembly adopted; the decision in the register is its source."""
    require(actor, "production.target", organization)
    errors: dict[str, str] = {}
    if decision.organization_id != organization.pk:
        errors["decision"] = _("The decision must be one of this organisation's register.")
    elif decision.status != Decision.Status.IN_FORCE:
        errors["decision"] = _("Only a decision in force can set a target.")
    if metric not in Target.Metric.values:
        errors["metric"] = _("Unknown indicator.")
    if value is None or value < 0:
        errors["value"] = _("A target cannot be negative.")
    elif metric in (Target.Metric.OEE, Target.Metric.SCRAP_RATE) and value > 100:
        errors["value"] = _("A percentage target cannot be above 100.")
    if valid_until is not None and valid_until < valid_from:
        errors["valid_until"] = _("The end date must not be before the start date.")
    for obj, name in ((work_centre, "work_centre"), (product, "product")):
        if obj is not None and obj.organization_id != organization.pk:
            errors[name] = _("Not part of this organisation.")
    if errors:
        raise ValidationError(errors)
    target = Target.objects.create(
        organization=organization,
        decision=decision,
        metric=metric,
        value=value,
        valid_from=valid_from,
        valid_until=valid_until,
        work_centre=work_centre,
        product=product,
    )
    audit(
        actor=actor,
        action="production.target_adopt",
        organization=organization,
        obj=target,
        decision=decision.uuid,
        metric=metric,
        value=value,
    )
    return target


# --- Log entries ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DowntimeInput:
    category: str
    reason: str
    minutes: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None


@dataclass(frozen=True)
class ScrapInput:
    category: str
    reason: str
    quantity: int


@dataclass
class EntryData:
    """What a crew records; the same shape for a first submission and an amendment."""

    work_centre: WorkCentre
    shift: Shift
    product: Product
    shift_date: date
    good: int = 0
    rework: int = 0
    scrap: int = 0
    downtime: list[DowntimeInput] = field(default_factory=list)
    scrap_lines: list[ScrapInput] = field(default_factory=list)
    workers: list[Membership] = field(default_factory=list)
    crew: Workgroup | None = None
    notes: str = ""
    handover_note: str = ""


@dataclass(frozen=True)
class SubmitResult:
    entry: LogEntry
    created: bool


def _build(
    *, organization: Organization, data: EntryData, for_new_slot: bool
) -> tuple[LogEntry, list[DowntimeLine], list[ScrapLine]]:
    """Validate what was recorded and build the unsaved rows. Raises ValidationError with
    one message per field, in the reader's language."""
    errors: dict[str, list[str]] = {}

    def err(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for obj, name in (
        (data.work_centre, "work_centre"),
        (data.shift, "shift"),
        (data.product, "product"),
    ):
        if obj.organization_id != organization.pk:
            err(name, _("Not part of this organisation."))
        elif for_new_slot and not obj.active:
            err(name, _("No longer in use."))
    if errors:
        raise ValidationError(errors)
    for name in ("good", "rework", "scrap"):
        value = getattr(data, name)
        if value is None or value < 0:
            err(name, _("Quantities cannot be negative."))
    starts, ends = data.shift.bounds(data.shift_date, organization.time_zone)
    shift_minutes = int((ends - starts).total_seconds() // 60)

    by_category = dict.fromkeys(DowntimeLine.Category.values, 0)
    lines: list[DowntimeLine] = []
    for i, d in enumerate(data.downtime, start=1):
        if d.category not in DowntimeLine.Category.values:
            err("downtime", _("Downtime line %(n)s: unknown kind of stop.") % {"n": i})
            continue
        if not d.reason.strip():
            err("downtime", _("Downtime line %(n)s: say why the line stopped.") % {"n": i})
        minutes = d.minutes
        if d.starts_at is not None or d.ends_at is not None:
            if d.starts_at is None or d.ends_at is None or d.ends_at <= d.starts_at:
                err(
                    "downtime",
                    _("Downtime line %(n)s: the end must be after the start.") % {"n": i},
                )
                continue
            if d.starts_at < starts or d.ends_at > ends:
                err(
                    "downtime",
                    _("Downtime line %(n)s: the stop must fall within the shift.") % {"n": i},
                )
                continue
            minutes = math.ceil((d.ends_at - d.starts_at).total_seconds() / 60)
        if minutes is None or minutes <= 0:
            err(
                "downtime",
                _("Downtime line %(n)s: give the minutes or the start and end.") % {"n": i},
            )
            continue
        by_category[d.category] += minutes
        lines.append(
            DowntimeLine(
                category=d.category,
                reason=d.reason.strip()[:120],
                starts_at=d.starts_at,
                ends_at=d.ends_at,
                minutes=minutes,
            )
        )
    down_total = sum(by_category.values())
    if down_total > shift_minutes:
        err(
            "downtime",
            _("Downtime (%(down)s min) is longer than the shift (%(shift)s min).")
            % {"down": down_total, "shift": shift_minutes},
        )

    scrap_rows: list[ScrapLine] = []
    for i, s in enumerate(data.scrap_lines, start=1):
        if s.category not in ScrapLine.Category.values:
            err("scrap_lines", _("Scrap line %(n)s: unknown category.") % {"n": i})
        elif not s.reason.strip():
            err("scrap_lines", _("Scrap line %(n)s: give a reason.") % {"n": i})
        elif s.quantity is None or s.quantity <= 0:
            err(
                "scrap_lines",
                _("Scrap line %(n)s: the quantity must be more than zero.") % {"n": i},
            )
        else:
            scrap_rows.append(
                ScrapLine(category=s.category, reason=s.reason.strip()[:120], quantity=s.quantity)
            )
    lines_total = sum(s.quantity for s in scrap_rows)
    if scrap_rows and data.scrap is not None and lines_total != data.scrap:
        err(
            "scrap_lines",
            _("The scrap lines add up to %(lines)s but the scrap is %(scrap)s.")
            % {"lines": lines_total, "scrap": data.scrap},
        )
    for m in data.workers:
        if m.organization_id != organization.pk or not m.is_participating:
            err("workers", _("Only members of this organisation can be on the crew."))
            break
    if data.crew is not None and data.crew.organization_id != organization.pk:
        err("crew", _("Not part of this organisation."))
    if errors:
        raise ValidationError(errors)

    entry = LogEntry(
        organization=organization,
        work_centre=data.work_centre,
        shift=data.shift,
        product=data.product,
        crew=data.crew,
        shift_date=data.shift_date,
        starts_at=starts,
        ends_at=ends,
        shift_minutes=shift_minutes,
        good=data.good,
        rework=data.rework,
        scrap=data.scrap,
        planned_downtime_minutes=by_category[DowntimeLine.Category.PLANNED],
        unplanned_downtime_minutes=by_category[DowntimeLine.Category.UNPLANNED],
        changeover_minutes=by_category[DowntimeLine.Category.CHANGEOVER],
        minor_stop_minutes=by_category[DowntimeLine.Category.MINOR_STOP],
        ideal_cycle_seconds=data.product.ideal_cycle_seconds,
        workers_count=len({m.pk for m in data.workers}),
        notes=data.notes.strip(),
        handover_note=data.handover_note.strip(),
    )
    return entry, lines, scrap_rows


def _slot_taken_message() -> str:
    return _(
        "This line, shift, date and product already has an entry. To change it, record a "
        "correction of that entry."
    )


def _store(
    *,
    entry: LogEntry,
    lines: list[DowntimeLine],
    scraps: list[ScrapLine],
    workers: list[Membership],
    idempotency_key: uuid.UUID,
) -> SubmitResult:
    entry.idempotency_key = idempotency_key
    try:
        # A savepoint, so that losing a race on a unique constraint leaves the outer
        # transaction usable for looking up the winner.
        with transaction.atomic():
            entry.save()
    except IntegrityError:
        existing = LogEntry.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None and existing.organization_id == entry.organization_id:
            return SubmitResult(entry=existing, created=False)
        raise ValidationError({"__all__": [_slot_taken_message()]}) from None
    every: list[DowntimeLine | ScrapLine] = [*lines, *scraps]
    for line in every:
        line.entry = entry
        line.organization_id = entry.organization_id
        line.shift_date = entry.shift_date
    DowntimeLine.objects.bulk_create(lines)
    ScrapLine.objects.bulk_create(scraps)
    EntryWorker.objects.bulk_create(
        [EntryWorker(entry=entry, membership=m) for m in {m.pk: m for m in workers}.values()]
    )
    return SubmitResult(entry=entry, created=True)


def _already(idempotency_key: uuid.UUID, organization: Organization) -> LogEntry | None:
    return LogEntry.objects.filter(
        idempotency_key=idempotency_key, organization=organization
    ).first()


@transaction.atomic
def entry_submit(
    *, actor: Any, organization: Organization, data: EntryData, idempotency_key: uuid.UUID
) -> SubmitResult:
    """Record a crew's entry. The same `idempotency_key` sent again (a double tap, a retry on
    a bad network) returns the entry stored the first time, with `created=False`."""
    require(actor, "production.record", organization)
    existing = _already(idempotency_key, organization)
    if existing is not None:
        return SubmitResult(entry=existing, created=False)
    entry, lines, scraps = _build(organization=organization, data=data, for_new_slot=True)
    if LogEntry.objects.filter(
        work_centre=data.work_centre,
        shift=data.shift,
        shift_date=data.shift_date,
        product=data.product,
        current=True,
    ).exists():
        raise ValidationError({"__all__": [_slot_taken_message()]})
    entry.recorded_by = actor
    result = _store(
        entry=entry,
        lines=lines,
        scraps=scraps,
        workers=data.workers,
        idempotency_key=idempotency_key,
    )
    if result.created:
        rollups.apply([(1, result.entry, lines, scraps)])
        audit(
            actor=actor,
            action="production.entry_submit",
            organization=organization,
            obj=result.entry,
            series=result.entry.series,
            good=data.good,
            scrap=data.scrap,
        )
    return result


@transaction.atomic
def entry_amend(
    *, actor: Any, entry: LogEntry, data: EntryData, reason: str, idempotency_key: uuid.UUID
) -> SubmitResult:
    """Correct an entry: a new version that becomes current; the old one stays visible."""
    organization = entry.organization
    require(actor, "production.record", organization)
    existing = _already(idempotency_key, organization)
    if existing is not None:
        return SubmitResult(entry=existing, created=False)
    if not reason.strip():
        raise ValidationError({"reason": _("Say what the correction is for.")})
    # Lock the current version so two simultaneous corrections cannot both succeed.
    locked = LogEntry.objects.select_for_update().filter(pk=entry.pk).first()
    if locked is None or not locked.current:
        raise ValidationError(
            {"__all__": [_("A newer version of this entry exists: correct that one.")]}
        )
    new, lines, scraps = _build(organization=organization, data=data, for_new_slot=False)
    slot_changed = (data.work_centre.pk, data.shift.pk, data.shift_date, data.product.pk) != (
        locked.work_centre_id,
        locked.shift_id,
        locked.shift_date,
        locked.product_id,
    )
    if (
        slot_changed
        and LogEntry.objects.filter(
            work_centre=data.work_centre,
            shift=data.shift,
            shift_date=data.shift_date,
            product=data.product,
            current=True,
        ).exists()
    ):
        raise ValidationError({"__all__": [_slot_taken_message()]})
    locked.current = False
    locked.save(update_fields=["current"])
    old_lines = rollups.entry_lines(locked)
    new.series = locked.series
    new.version = locked.version + 1
    new.amends = locked
    new.amendment_reason = reason.strip()
    new.recorded_by = actor
    result = _store(
        entry=new, lines=lines, scraps=scraps, workers=data.workers, idempotency_key=idempotency_key
    )
    rollups.apply([(-1, locked, *old_lines), (1, result.entry, lines, scraps)])
    audit(
        actor=actor,
        action="production.entry_amend",
        organization=organization,
        obj=result.entry,
        series=locked.series,
        amends=locked.uuid,
        reason=reason.strip(),
    )
    return result


def _membership(actor: Any, organization: Organization) -> Membership:
    m = (
        Membership.objects.filter(person=actor, organization=organization)
        .exclude(status=Membership.Status.LEFT)
        .first()
    )
    if m is None:
        raise ValidationError(_("Only members can do this."))
    return m


@transaction.atomic
def entry_sign(*, actor: Any, entry: LogEntry) -> EntrySignature:
    """A crew member co-signs the entry (only those recorded as present can)."""
    require(actor, "production.record", entry)
    m = _membership(actor, entry.organization)
    if not entry.worker_rows.filter(membership=m).exists():
        raise ValidationError(_("Only the crew present on this shift can co-sign the entry."))
    sig, created = EntrySignature.objects.get_or_create(entry=entry, membership=m)
    if created:
        audit(
            actor=actor, action="production.entry_sign", organization=entry.organization, obj=entry
        )
    return sig


@transaction.atomic
def handover_acknowledge(*, actor: Any, entry: LogEntry) -> HandoverAck:
    """The next crew confirms it read the handover; the crew that wrote it cannot."""
    require(actor, "production.record", entry)
    m = _membership(actor, entry.organization)
    if not entry.current:
        raise ValidationError(_("Acknowledge the current version of the entry."))
    if entry.worker_rows.filter(membership=m).exists():
        raise ValidationError(
            _("The next crew acknowledges the handover, not the crew that wrote it.")
        )
    ack, created = HandoverAck.objects.get_or_create(entry=entry, membership=m)
    if created:
        audit(
            actor=actor,
            action="production.handover_acknowledge",
            organization=entry.organization,
            obj=entry,
        )
    return ack
