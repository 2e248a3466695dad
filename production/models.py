"""Work centres, products, shifts, production log entries (with downtime and scrap lines),
co-signatures, handover acknowledgements and targets adopted by assembly decisions.

A submitted log entry is never changed: a correction is a new version of the same series
(`series`), and only the `current` flag of the older version moves. Entries carry the sums
the indicators need (downtime minutes by category, the ideal cycle time at the time of
recording) so that the dashboard aggregates one indexed table in SQL.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import uuid4

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import Decision, Membership, Organization, Scope, Workgroup


class WorkCentre(models.Model):
    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="work_centres"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("work centre")
        verbose_name_plural = _("work centres")
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="workcentre_code_unique")
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)


class Product(models.Model):
    class Unit(models.TextChoices):
        PIECE = "piece", _("pieces")
        KG = "kg", _("kilograms")
        LITRE = "litre", _("litres")
        METRE = "metre", _("metres")
        BOX = "box", _("boxes")

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="products"
    )
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    unit = models.CharField(_("unit"), max_length=10, choices=Unit.choices, default=Unit.PIECE)
    ideal_cycle_seconds = models.DecimalField(
        _("ideal cycle time (seconds per unit)"), max_digits=10, decimal_places=3
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="product_code_unique"),
            models.CheckConstraint(
                condition=Q(ideal_cycle_seconds__gt=0), name="product_cycle_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)


class Shift(models.Model):
    """A shift definition in the organisation's wall-clock time. When `end` is not after
    `start` the shift runs past midnight into the next day (a night shift)."""

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="shifts")
    code = models.SlugField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=120)
    start = models.TimeField(_("starts at"))
    end = models.TimeField(_("ends at"))
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organization", "start"]
        verbose_name = _("shift")
        verbose_name_plural = _("shifts")
        constraints = [
            models.UniqueConstraint(fields=["organization", "code"], name="shift_code_unique"),
            models.CheckConstraint(condition=~Q(start=F("end")), name="shift_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.start:%H:%M}–{self.end:%H:%M})"

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)

    @property
    def spans_midnight(self) -> bool:
        return self.end <= self.start

    def bounds(self, on: date, time_zone: str) -> tuple[datetime, datetime]:
        """The shift worked on local date `on`, as aware UTC datetimes. Arithmetic on aware
        datetimes makes a night shift across a daylight-saving change last its real length."""
        tz = zoneinfo.ZoneInfo(time_zone)
        starts = datetime.combine(on, self.start, tzinfo=tz)
        end_day = on + timedelta(days=1) if self.spans_midnight else on
        ends = datetime.combine(end_day, self.end, tzinfo=tz)
        return starts.astimezone(UTC), ends.astimezone(UTC)

    def moment(self, on: date, at: time, time_zone: str) -> datetime:
        """A time of day typed on the shop floor, placed within the shift worked on `on`
        (on the next day for the after-midnight part of a night shift)."""
        day = on + timedelta(days=1) if self.spans_midnight and at < self.start else on
        return datetime.combine(day, at, tzinfo=zoneinfo.ZoneInfo(time_zone)).astimezone(UTC)

    def minutes_on(self, on: date, time_zone: str) -> int:
        starts, ends = self.bounds(on, time_zone)
        return int((ends - starts).total_seconds() // 60)


class LogEntry(models.Model):
    """What one crew made on one work centre during one shift of one product.

    Immutable once stored: a correction is a new row with the same `series`, a higher
    `version` and `amends` pointing at the version it corrects."""

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    series = models.UUIDField(_("entry"), default=uuid4, editable=False)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    amends = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="amended_by"
    )
    current = models.BooleanField(_("current version"), default=True)
    # A double tap or a retry on a bad network sends the same key again: stored once.
    idempotency_key = models.UUIDField(_("submission key"), unique=True)

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="production_entries"
    )
    work_centre = models.ForeignKey(WorkCentre, on_delete=models.PROTECT, related_name="entries")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="entries")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="entries")
    crew = models.ForeignKey(
        Workgroup, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    shift_date = models.DateField(_("date"))
    starts_at = models.DateTimeField(_("shift start"))
    ends_at = models.DateTimeField(_("shift end"))
    shift_minutes = models.PositiveIntegerField(_("shift length (minutes)"))

    good = models.PositiveIntegerField(_("good"), default=0)
    rework = models.PositiveIntegerField(_("rework"), default=0)
    scrap = models.PositiveIntegerField(_("scrap"), default=0)

    planned_downtime_minutes = models.PositiveIntegerField(default=0)
    unplanned_downtime_minutes = models.PositiveIntegerField(default=0)
    changeover_minutes = models.PositiveIntegerField(default=0)
    minor_stop_minutes = models.PositiveIntegerField(default=0)
    # The product's ideal cycle when recorded, so a later change does not rewrite history.
    ideal_cycle_seconds = models.DecimalField(max_digits=10, decimal_places=3)

    workers: models.ManyToManyField[Membership, EntryWorker] = models.ManyToManyField(
        Membership, through="EntryWorker", related_name="production_entries", blank=True
    )
    workers_count = models.PositiveSmallIntegerField(_("workers present"), default=0)
    notes = models.TextField(_("notes"), blank=True)
    handover_note = models.TextField(_("handover note"), blank=True)
    amendment_reason = models.TextField(_("reason for the correction"), blank=True)

    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    source = models.CharField(max_length=10, default="form")

    class Meta:
        ordering = ["-shift_date", "-starts_at", "work_centre__name"]
        verbose_name = _("production log entry")
        verbose_name_plural = _("production log entries")
        constraints = [
            models.UniqueConstraint(fields=["series", "version"], name="entry_series_version"),
            models.UniqueConstraint(
                fields=["series"], condition=Q(current=True), name="entry_one_current_version"
            ),
            models.UniqueConstraint(
                fields=["work_centre", "shift", "shift_date", "product"],
                condition=Q(current=True),
                name="entry_one_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(good__gte=0, rework__gte=0, scrap__gte=0),
                name="entry_quantities_not_negative",
            ),
            models.CheckConstraint(condition=Q(shift_minutes__gt=0), name="entry_shift_positive"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="entry_ends_after"
            ),
            models.CheckConstraint(
                condition=Q(
                    shift_minutes__gte=F("planned_downtime_minutes")
                    + F("unplanned_downtime_minutes")
                    + F("changeover_minutes")
                    + F("minor_stop_minutes")
                ),
                name="entry_downtime_within_shift",
            ),
            models.CheckConstraint(
                condition=Q(version=1, amends__isnull=True)
                | Q(version__gt=1, amends__isnull=False),
                name="entry_amendment_chain",
            ),
        ]
        indexes = [
            # The dashboard reads one organisation's period of current versions, and its
            # latest entries: newest first, so the latest 20 are the first 20 index rows.
            models.Index(
                F("organization"),
                F("shift_date").desc(),
                F("starts_at").desc(),
                condition=Q(current=True),
                name="entry_org_recent",
            ),
            models.Index(fields=["series", "version"], name="entry_series_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shift_date} {self.work_centre} {self.shift} {self.product} v{self.version}"

    # Fields that may change after submission: only the bookkeeping of which version is current.
    _MUTABLE = frozenset({"current"})

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            fields = kwargs.get("update_fields")
            if fields is None or not set(fields) <= self._MUTABLE:
                raise ValueError("A submitted entry is immutable: record an amendment instead.")
        super().save(*args, **kwargs)

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)

    @property
    def total(self) -> int:
        return self.good + self.rework + self.scrap

    @property
    def downtime_minutes(self) -> int:
        return (
            self.planned_downtime_minutes
            + self.unplanned_downtime_minutes
            + self.changeover_minutes
            + self.minor_stop_minutes
        )

    @property
    def planned_minutes(self) -> int:
        return self.shift_minutes - self.planned_downtime_minutes

    @property
    def run_minutes(self) -> int:
        return self.shift_minutes - self.downtime_minutes

    @property
    def ideal_minutes(self) -> Decimal:
        return self.ideal_cycle_seconds * self.total / 60


class EntryWorker(models.Model):
    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="worker_rows")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entry", "membership"], name="entry_worker_unique")
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} @ {self.entry_id}"


class DowntimeLine(models.Model):
    class Category(models.TextChoices):
        PLANNED = "planned", _("Planned")
        UNPLANNED = "unplanned", _("Unplanned")
        CHANGEOVER = "changeover", _("Changeover")
        MINOR_STOP = "minor_stop", _("Minor stop")

    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="downtime_lines")
    # Copied from the entry (which never changes) so the Pareto reads one organisation's
    # period through an index instead of scanning every organisation's lines.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    shift_date = models.DateField()
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    reason = models.CharField(_("reason"), max_length=120)
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    minutes = models.PositiveIntegerField(_("minutes"))

    class Meta:
        ordering = ["entry", "id"]
        verbose_name = _("downtime")
        verbose_name_plural = _("downtime")
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gt=0), name="downtime_minutes_positive"),
            models.CheckConstraint(
                condition=Q(starts_at__isnull=True, ends_at__isnull=True)
                | Q(starts_at__isnull=False, ends_at__isnull=False, ends_at__gt=F("starts_at")),
                name="downtime_interval_valid",
            ),
            models.CheckConstraint(
                condition=Q(category__in=["planned", "unplanned", "changeover", "minor_stop"]),
                name="downtime_category_valid",
            ),
        ]
        indexes = [models.Index(fields=["organization", "shift_date"], name="downtime_org_date")]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.reason} ({self.minutes} min)"


class ScrapLine(models.Model):
    class Category(models.TextChoices):
        MATERIAL = "material", _("Material")
        MACHINE = "machine", _("Machine")
        METHOD = "method", _("Method")
        HANDLING = "handling", _("Handling")
        OTHER = "other", _("Other")

    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="scrap_lines")
    # Copied from the entry (which never changes) so the Pareto reads one organisation's
    # period through an index instead of scanning every organisation's lines.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    shift_date = models.DateField()
    category = models.CharField(_("category"), max_length=12, choices=Category.choices)
    reason = models.CharField(_("reason"), max_length=120)
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["entry", "id"]
        verbose_name = _("scrap")
        verbose_name_plural = _("scrap")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="scrap_quantity_positive")
        ]
        indexes = [models.Index(fields=["organization", "shift_date"], name="scrap_org_date")]

    def __str__(self) -> str:
        return f"{self.get_category_display()}: {self.reason} ({self.quantity})"


class EntrySignature(models.Model):
    """A crew member co-signs one version of an entry."""

    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="signatures")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "membership"], name="entry_signature_unique")
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} signed {self.entry_id}"


class HandoverAck(models.Model):
    """The next crew confirms it read the handover note."""

    entry = models.ForeignKey(LogEntry, on_delete=models.CASCADE, related_name="handover_acks")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    acknowledged_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["acknowledged_at"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "membership"], name="handover_ack_unique")
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} read {self.entry_id}"


class Target(models.Model):
    """A production target the assembly adopted (the decision is in the register)."""

    class Metric(models.TextChoices):
        OEE = "oee", _("OEE (%)")
        GOOD_PER_DAY = "good_per_day", _("Good units per day")
        SCRAP_RATE = "scrap_rate", _("Scrap rate (%)")

    uuid = models.UUIDField(default=uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="production_targets"
    )
    decision = models.ForeignKey(Decision, on_delete=models.PROTECT, related_name="+")
    metric = models.CharField(_("indicator"), max_length=20, choices=Metric.choices)
    work_centre = models.ForeignKey(
        WorkCentre, on_delete=models.PROTECT, null=True, blank=True, related_name="targets"
    )
    product = models.ForeignKey(
        Product, on_delete=models.PROTECT, null=True, blank=True, related_name="targets"
    )
    value = models.DecimalField(_("target"), max_digits=12, decimal_places=2)
    valid_from = models.DateField(_("from"))
    valid_until = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["organization", "metric", "-valid_from"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [
            models.CheckConstraint(condition=Q(value__gte=0), name="target_not_negative"),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="target_period_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_metric_display()} {self.value}"

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)


class DailyTotal(models.Model):
    """The sums of one day's current entries, kept at every grouping the indicators read:
    the whole organisation, per work centre, product or shift, and per pair of them.

    The dashboard of a year then adds up at most a few hundred rows per grouping however
    many entries the organisation records; the finest grouping (work centre × product ×
    shift × day) is the entries table itself, which the selectors read directly.
    Maintained in the transaction of every write of an entry (services.rollup_apply) and
    rebuilt from the entries by `rollup_rebuild`.

    The keys are plain numbers with 0 meaning "all" rather than nullable foreign keys: the
    incremental upsert needs a unique index, and a unique index never matches NULLs."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    shift_date = models.DateField()
    work_centre_key = models.BigIntegerField(default=0)
    product_key = models.BigIntegerField(default=0)
    shift_key = models.BigIntegerField(default=0)
    # Which keys are set (1 work centre, 2 product, 4 shift): each question reads one
    # grouping, found by equality through the index however the keys are filtered.
    grouping = models.PositiveSmallIntegerField(default=0)
    # Signed on purpose: an amendment subtracts the old version before adding the new one,
    # and a derived table must never make a crew's write fail.
    entries = models.BigIntegerField(default=0)
    shift_minutes = models.BigIntegerField(default=0)
    planned_downtime_minutes = models.BigIntegerField(default=0)
    unplanned_downtime_minutes = models.BigIntegerField(default=0)
    changeover_minutes = models.BigIntegerField(default=0)
    minor_stop_minutes = models.BigIntegerField(default=0)
    good = models.BigIntegerField(default=0)
    rework = models.BigIntegerField(default=0)
    scrap = models.BigIntegerField(default=0)
    ideal_seconds = models.DecimalField(max_digits=20, decimal_places=3, default=Decimal(0))

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "shift_date",
                    "work_centre_key",
                    "product_key",
                    "shift_key",
                ],
                name="dailytotal_key",
            )
        ]
        indexes = [
            # The year's dashboard reads one grouping of one organisation over a period.
            models.Index(
                fields=["organization", "grouping", "shift_date"],
                name="dailytotal_grouping",
            )
        ]

    def __str__(self) -> str:
        return f"{self.shift_date} {self.work_centre_key}/{self.product_key}/{self.shift_key}"


class DailyReason(models.Model):
    """Downtime minutes and scrap units of one day's current entries per kind and reason,
    for the whole organisation (work_centre_key 0) and per work centre: the Paretos."""

    class Kind(models.TextChoices):
        DOWNTIME = "downtime", _("Downtime")
        SCRAP = "scrap", _("Scrap")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    shift_date = models.DateField()
    work_centre_key = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    category = models.CharField(max_length=12)
    reason = models.CharField(max_length=120)
    amount = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "organization",
                    "shift_date",
                    "work_centre_key",
                    "kind",
                    "category",
                    "reason",
                ],
                name="dailyreason_key",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "kind", "work_centre_key", "shift_date"],
                name="dailyreason_grouping",
            )
        ]

    def __str__(self) -> str:
        return f"{self.shift_date} {self.kind} {self.category}: {self.reason}"
