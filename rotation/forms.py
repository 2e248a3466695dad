from __future__ import annotations

from datetime import date, timedelta
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from governance.models import Decision, Membership, Organization, Workgroup
from rotation.models import Assignment, Post, Qualification, Roster

DATE = forms.DateInput(attrs={"type": "date"})


class PostForm(forms.ModelForm):
    class Meta:
        model = Post
        fields = [
            "name",
            "kind",
            "role",
            "workgroup",
            "headcount",
            "cadence",
            "term_length",
            "shift_start",
            "shift_hours",
            "rest_hours",
            "burden",
            "unpleasant",
            "coordination",
            "shadowing",
            "qualifications",
            "max_consecutive_terms",
            "cooldown_terms",
            "max_share_percent",
        ]
        widgets = {"shift_start": forms.TimeInput(attrs={"type": "time"})}

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["workgroup"]).queryset = Workgroup.objects.filter(
            organization=organization
        )
        cast(Any, self.fields["qualifications"]).queryset = Qualification.objects.filter(
            organization=organization
        )
        self.fields["qualifications"].widget = forms.CheckboxSelectMultiple()
        cast(Any, self.fields["qualifications"]).queryset = Qualification.objects.filter(
            organization=organization
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("cadence") == Post.Cadence.SHIFT and not data.get("shift_start"):
            self.add_error("shift_start", _("Say when the shift starts."))
        if data.get("kind") == Post.Kind.TASK and data.get("role"):
            self.add_error("role", _("Only posts carry a mandate."))
        return data

    def validate_constraints(self, exclude: Any = None) -> None:
        # The organisation is set by the service; its constraints are checked there.
        return None


class RosterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=160)
    period_start = forms.DateField(label=_("First day"), widget=DATE)
    period_end = forms.DateField(label=_("Last day"), widget=DATE)
    posts = forms.ModelMultipleChoiceField(
        label=_("Posts and tasks"),
        queryset=Post.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("None chosen: all active posts and tasks."),
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["posts"]).queryset = Post.objects.filter(
            organization=organization, active=True
        )
        if not self.is_bound:
            today = timezone.localdate()
            monday = today + timedelta(days=7 - today.weekday())
            self.initial.setdefault("period_start", monday)
            self.initial.setdefault("period_end", monday + timedelta(days=27))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("period_start"), data.get("period_end")
        if isinstance(start, date) and isinstance(end, date):
            if end < start:
                self.add_error("period_end", _("The last day must not be before the first."))
            elif (end - start).days > 400:
                self.add_error("period_end", _("A roster covers at most about a year."))
        return data


class UnavailabilityForm(forms.Form):
    first_day = forms.DateField(label=_("First day"), widget=DATE)
    last_day = forms.DateField(label=_("Last day"), widget=DATE)
    reason = forms.CharField(label=_("Reason (optional)"), max_length=200, required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if isinstance(first, date) and isinstance(last, date) and last < first:
            self.add_error("last_day", _("The last day must not be before the first."))
        return data


class MemberChoiceForm(forms.Form):
    membership = forms.ModelChoiceField(
        label=_("Member"), queryset=Membership.objects.none(), to_field_name="uuid"
    )
    reason = forms.CharField(label=_("Reason"), max_length=500, widget=forms.Textarea)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["membership"]).queryset = (
            Membership.objects.filter(organization=organization)
            .exclude(status=Membership.Status.LEFT)
            .select_related("person")
        )
        cast(Any, self.fields["membership"]).label_from_instance = lambda m: m.display_name


class AttendanceForm(forms.Form):
    attendance = forms.ChoiceField(label=_("Attendance"), choices=Assignment.Attendance.choices)


class SwapForm(forms.Form):
    mine = forms.ModelChoiceField(
        label=_("Give in exchange one of my slots"),
        queryset=Assignment.objects.none(),
        to_field_name="uuid",
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=300, required=False)

    def __init__(self, *args: Any, choices: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["mine"]).queryset = choices
        cast(Any, self.fields["mine"]).label_from_instance = lambda a: (
            f"{a.slot.post.name} · {timezone.localtime(a.slot.starts_at):%d/%m %H:%M}"
        )


class QualificationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    attestations_required = forms.IntegerField(
        label=_("Attestations required"), min_value=1, max_value=20, initial=2
    )
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"),
        min_value=1,
        required=False,
        help_text=_("Empty: does not expire."),
    )


class AttestForm(forms.Form):
    qualification = forms.ModelChoiceField(
        label=_("Qualification"), queryset=Qualification.objects.none(), to_field_name="uuid"
    )
    candidate = forms.ModelChoiceField(
        label=_("Member"), queryset=Membership.objects.none(), to_field_name="uuid"
    )
    note = forms.CharField(label=_("Note (optional)"), max_length=300, required=False)

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(Any, self.fields["qualification"]).queryset = Qualification.objects.filter(
            organization=organization
        )
        cast(Any, self.fields["candidate"]).queryset = (
            Membership.objects.filter(organization=organization)
            .exclude(status=Membership.Status.LEFT)
            .select_related("person")
        )
        cast(Any, self.fields["candidate"]).label_from_instance = lambda m: m.display_name


class PublishByDecisionForm(forms.Form):
    """Publish a roster citing the assembly's decision. Only decisions in force that name
    this roster in their links are offered: the service would refuse any other, and a
    register of hundreds of decisions is no list to scroll on a phone."""

    decision = forms.ModelChoiceField(
        label=_("Decision of the assembly"),
        queryset=Decision.objects.none(),
        to_field_name="uuid",
        empty_label=None,
    )

    def __init__(self, *args: Any, roster: Roster, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(Any, self.fields["decision"])
        field.queryset = Decision.objects.filter(
            organization_id=roster.organization_id,
            status=Decision.Status.IN_FORCE,
            links__icontains=str(roster.uuid),
        ).order_by("-decided_at", "-number")
        field.label_from_instance = lambda d: (
            _("#%(number)s %(title)s (%(day)s)")
            % {
                "number": d.number,
                "title": d.title,
                "day": date_format(timezone.localtime(d.decided_at), "SHORT_DATE_FORMAT"),
            }
        )
