from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import Decision, Membership, Organization, Workgroup
from production.models import DowntimeLine, LogEntry, Product, ScrapLine, Shift, Target, WorkCentre
from production.services import DowntimeInput, EntryData, ScrapInput


def _qty(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        min_value=0,
        initial=0,
        max_value=10_000_000,
        error_messages={"min_value": _("Quantities cannot be negative.")},
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty", "min": 0}),
    )


class EntryForm(forms.Form):
    work_centre = forms.ModelChoiceField(WorkCentre.objects.none(), label=_("Work centre"))
    shift = forms.ModelChoiceField(Shift.objects.none(), label=_("Shift"))
    shift_date = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}))
    product = forms.ModelChoiceField(Product.objects.none(), label=_("Product"))
    good = _qty(_("Good"))
    rework = _qty(_("Rework"))
    scrap = _qty(_("Scrap"))
    crew = forms.ModelChoiceField(
        Workgroup.objects.none(), label=_("Crew (workgroup)"), required=False
    )
    # Never rendered as one checkbox per member (an organisation may have 1,300): the page
    # shows the likely crew and a search (see entry_form.html); this field only validates.
    workers = forms.ModelMultipleChoiceField(
        Membership.objects.none(),
        label=_("Workers present"),
        required=False,
        widget=forms.MultipleHiddenInput,
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, max_length=4000, widget=forms.Textarea(attrs={"rows": 2})
    )
    handover_note = forms.CharField(
        label=_("Handover note for the next crew"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    # Generated when the form is shown: a double tap sends the same key twice.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        f = self.fields
        f["work_centre"].queryset = WorkCentre.objects.filter(  # type: ignore[attr-defined]
            organization=organization, active=True
        )
        f["shift"].queryset = Shift.objects.filter(  # type: ignore[attr-defined]
            organization=organization, active=True
        )
        f["product"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organization=organization, active=True
        )
        f["workers"].queryset = Membership.objects.filter(  # type: ignore[attr-defined]
            organization=organization
        ).exclude(status=Membership.Status.LEFT)
        f["crew"].queryset = Workgroup.objects.filter(  # type: ignore[attr-defined]
            organization=organization
        )
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", uuid.uuid4())
            self.initial.setdefault("shift_date", timezone.localdate())


class AmendForm(EntryForm):
    reason = forms.CharField(
        label=_("What does this correction fix?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, organization=organization, **kwargs)
        # A correction may keep a line or product that is no longer in use.
        for name, model in (("work_centre", WorkCentre), ("shift", Shift), ("product", Product)):
            self.fields[name].queryset = model.objects.filter(  # type: ignore[attr-defined]
                organization=organization
            )

    @staticmethod
    def initial_from(entry: LogEntry) -> dict[str, Any]:
        return {
            "work_centre": entry.work_centre_id,
            "shift": entry.shift_id,
            "shift_date": entry.shift_date,
            "product": entry.product_id,
            "good": entry.good,
            "rework": entry.rework,
            "scrap": entry.scrap,
            "workers": [w.membership_id for w in entry.worker_rows.all()],
            "crew": entry.crew_id,
            "notes": entry.notes,
            "handover_note": entry.handover_note,
            "idempotency_key": uuid.uuid4(),
        }


class DowntimeForm(forms.Form):
    category = forms.ChoiceField(
        label=_("Kind of stop"),
        choices=DowntimeLine.Category.choices,
        initial=DowntimeLine.Category.UNPLANNED,
    )
    reason = forms.CharField(label=_("Reason"), max_length=120, required=False)
    minutes = forms.IntegerField(
        label=_("Minutes"),
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty", "min": 1}),
    )
    start = forms.TimeField(
        label=_("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end = forms.TimeField(
        label=_("Until"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return not (d.get("reason") or d.get("minutes") or d.get("start") or d.get("end"))


class ScrapForm(forms.Form):
    category = forms.ChoiceField(label=_("Category"), choices=ScrapLine.Category.choices)
    reason = forms.CharField(label=_("Reason"), max_length=120, required=False)
    quantity = forms.IntegerField(
        label=_("Quantity"),
        min_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "class": "qty", "min": 1}),
    )

    def is_blank(self) -> bool:
        d = self.cleaned_data
        return not (d.get("reason") or d.get("quantity"))


DowntimeFormSet = forms.formset_factory(DowntimeForm, extra=1, max_num=30, absolute_max=30)
ScrapFormSet = forms.formset_factory(ScrapForm, extra=1, max_num=30, absolute_max=30)


def entry_data(form: EntryForm, downtime: Any, scrap: Any, time_zone: str) -> EntryData:
    d = form.cleaned_data
    shift: Shift = d["shift"]
    on: date = d["shift_date"]
    lines = []
    for f in downtime.forms:
        if f.is_blank():
            continue
        c = f.cleaned_data
        starts = shift.moment(on, c["start"], time_zone) if c.get("start") else None
        ends = shift.moment(on, c["end"], time_zone) if c.get("end") else None
        lines.append(
            DowntimeInput(
                category=c["category"],
                reason=c.get("reason") or "",
                minutes=c.get("minutes"),
                starts_at=starts,
                ends_at=ends,
            )
        )
    scraps = [
        ScrapInput(
            category=f.cleaned_data["category"],
            reason=f.cleaned_data.get("reason") or "",
            quantity=f.cleaned_data.get("quantity") or 0,
        )
        for f in scrap.forms
        if not f.is_blank()
    ]
    return EntryData(
        work_centre=d["work_centre"],
        shift=shift,
        product=d["product"],
        shift_date=on,
        good=d["good"],
        rework=d["rework"],
        scrap=d["scrap"],
        downtime=lines,
        scrap_lines=scraps,
        workers=list(d["workers"]),
        crew=d.get("crew"),
        notes=d["notes"],
        handover_note=d["handover_note"],
    )


class PeriodForm(forms.Form):
    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("Until"), widget=forms.DateInput(attrs={"type": "date"}))
    group = forms.ChoiceField(
        label=_("Totals by"),
        required=False,
        choices=[
            ("", _("Automatic")),
            ("day", _("Day")),
            ("week", _("Week")),
            ("month", _("Month")),
        ],
    )
    work_centre = forms.ModelChoiceField(
        WorkCentre.objects.none(), label=_("Work centre"), required=False, to_field_name="code"
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["work_centre"].queryset = WorkCentre.objects.filter(  # type: ignore[attr-defined]
            organization=organization
        )


class ImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"))


class WorkCentreForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)


class ProductForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)
    unit = forms.ChoiceField(label=_("Unit"), choices=Product.Unit.choices)
    ideal_cycle_seconds = forms.DecimalField(
        label=_("Ideal cycle time (seconds per unit)"),
        min_value=0.001,
        max_digits=10,
        decimal_places=3,
    )


class ShiftForm(forms.Form):
    code = forms.SlugField(label=_("Code"), max_length=40)
    name = forms.CharField(label=_("Name"), max_length=120)
    start = forms.TimeField(label=_("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(
        label=_("Ends at"),
        widget=forms.TimeInput(attrs={"type": "time"}),
        help_text=_("Earlier than the start for a night shift."),
    )


class TargetForm(forms.Form):
    decision = forms.ModelChoiceField(
        Decision.objects.none(), label=_("Decision that adopted it"), to_field_name="uuid"
    )
    metric = forms.ChoiceField(label=_("Indicator"), choices=Target.Metric.choices)
    value = forms.DecimalField(label=_("Target"), min_value=0, max_digits=12, decimal_places=2)
    work_centre = forms.ModelChoiceField(
        WorkCentre.objects.none(), label=_("Work centre"), required=False
    )
    product = forms.ModelChoiceField(Product.objects.none(), label=_("Product"), required=False)
    valid_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        f = self.fields
        f["decision"].queryset = Decision.objects.filter(  # type: ignore[attr-defined]
            organization=organization, status=Decision.Status.IN_FORCE
        )
        f["work_centre"].queryset = WorkCentre.objects.filter(  # type: ignore[attr-defined]
            organization=organization
        )
        f["product"].queryset = Product.objects.filter(  # type: ignore[attr-defined]
            organization=organization
        )
