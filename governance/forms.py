"""Forms for the governance pages. They only shape input; the services decide."""

from __future__ import annotations

import zoneinfo
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance import selectors
from governance.models import Decision, Mandate, Membership, Organization, Workgroup

User = get_user_model()


def moment_on(day: date, *, end_of_day: bool = False) -> datetime:
    """A day as typed by a worker, in the current (organisation's) time zone."""
    if not end_of_day and day == timezone.localdate():
        return timezone.now()
    tz = timezone.get_current_timezone()
    if end_of_day:
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz)
    return datetime.combine(day, time(12, 0), tzinfo=tz)


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} (#{obj.member_number})"


class DecisionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"#{obj.number} {obj.title}"


class DecisionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=300)
    text = forms.CharField(label=_("Text of the decision"), widget=forms.Textarea)
    body = forms.CharField(
        label=_("Body that decided"), max_length=200, initial=_("General assembly")
    )
    decided_on = forms.DateField(
        label=_("Decided on"), widget=forms.DateInput(attrs={"type": "date"})
    )
    review_on = forms.DateField(
        label=_("Review on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    supersedes = DecisionChoiceField(
        label=_("Replaces decision"),
        queryset=Decision.objects.none(),
        required=False,
        to_field_name="uuid",
    )
    links = forms.CharField(
        label=_("Links (one per line)"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supersedes"].queryset = selectors.decisions_in_force(  # type: ignore[attr-defined]
            organization=organization
        )
        self.fields["decided_on"].initial = timezone.localdate()

    def clean_decided_on(self) -> date:
        day: date = self.cleaned_data["decided_on"]
        if day > timezone.localdate():
            raise forms.ValidationError(_("A decision cannot be recorded before it is taken."))
        return day

    def clean_links(self) -> list[str]:
        links = [line.strip() for line in self.cleaned_data.get("links", "").splitlines()]
        links = [link for link in links if link]
        validator = forms.URLField(assume_scheme="https")
        for link in links:
            validator.clean(link)
        return links

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        review, decided = data.get("review_on"), data.get("decided_on")
        if review and decided and review < decided:
            self.add_error("review_on", _("The review date must come after the decision."))
        return data


class MandateGrantForm(forms.Form):
    membership = MemberChoiceField(
        label=_("Member"), queryset=Membership.objects.none(), to_field_name="uuid"
    )
    role = forms.ChoiceField(label=_("Mandate"), choices=[])
    workgroup = forms.ModelChoiceField(
        label=_("Only for the workgroup"),
        queryset=Workgroup.objects.none(),
        required=False,
        to_field_name="uuid",
        empty_label=_("Whole organisation"),
    )
    ends_on = forms.DateField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    decision = DecisionChoiceField(
        label=_("Granted by decision"), queryset=Decision.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = selectors.members_list(  # type: ignore[attr-defined]
            organization=organization
        ).filter(status=Membership.Status.ACTIVE)
        # Federation powers are granted by the federation's own decisions, through the API.
        self.fields["role"].choices = [  # type: ignore[attr-defined]
            c for c in Mandate.Role.choices if c[0] != Mandate.Role.FEDERATION_REVIEWER
        ]
        self.fields["workgroup"].queryset = selectors.workgroups_list(  # type: ignore[attr-defined]
            organization=organization
        )
        self.fields["decision"].queryset = selectors.decisions_in_force(  # type: ignore[attr-defined]
            organization=organization
        )

    def clean_ends_on(self) -> date:
        day: date = self.cleaned_data["ends_on"]
        if day < timezone.localdate():
            raise forms.ValidationError(_("A mandate must end in the future."))
        if day > timezone.localdate() + timedelta(days=5 * 366):
            raise forms.ValidationError(_("A mandate may last at most five years."))
        return day


class MandateRevokeForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}))
    decision = DecisionChoiceField(
        label=_("Revoked by decision"), queryset=Decision.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["decision"].queryset = selectors.decisions_in_force(  # type: ignore[attr-defined]
            organization=organization
        )


class MemberAddForm(forms.Form):
    username = forms.RegexField(
        label=_("User name"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": _("Use only letters, digits and . @ + - _")},
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    password = forms.CharField(
        label=_("First password"),
        required=False,
        widget=forms.PasswordInput,
        help_text=_("Only for a person without an account yet; they change it after logging in."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username = data.get("username")
        if username and not User.objects.filter(username=username).exists():
            password = data.get("password")
            if not password:
                self.add_error("password", _("A new person needs a first password."))
            else:
                try:
                    validate_password(password)
                except forms.ValidationError as e:
                    self.add_error("password", e)
        return data


class WorkgroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )


class WorkgroupMemberForm(forms.Form):
    membership = MemberChoiceField(
        label=_("Member"), queryset=Membership.objects.none(), to_field_name="uuid"
    )

    def __init__(self, *args: Any, organization: Organization, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["membership"].queryset = selectors.members_list(  # type: ignore[attr-defined]
            organization=organization
        )


GENDER_CHOICES = [
    ("", _("I prefer not to say")),
    ("woman", _("Woman")),
    ("man", _("Man")),
    ("nonbinary", _("Non-binary")),
    ("other", _("Other")),
]
AGE_CHOICES = [
    ("", _("I prefer not to say")),
    ("under_30", _("Under 30")),
    ("30_49", _("30 to 49")),
    ("50_plus", _("50 or more")),
]


class AttributesForm(forms.Form):
    """Optional, self-declared, used only in aggregates (who speaks, who coordinates)."""

    gender = forms.ChoiceField(label=_("Gender"), choices=GENDER_CHOICES, required=False)
    age = forms.ChoiceField(label=_("Age"), choices=AGE_CHOICES, required=False)


class FoundingForm(forms.Form):
    """Founding from the web: the person founding is the first member; the others join
    afterwards through the membership secretary or a facilitator."""

    name = forms.CharField(label=_("Name of the organisation"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=Organization.Kind.choices)
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=[])
    decision_text = forms.CharField(
        label=_("What the founding assembly agreed"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(zoneinfo.available_timezones())
        self.fields["time_zone"].choices = [(z, z) for z in zones]  # type: ignore[attr-defined]
        self.fields["time_zone"].initial = "America/Caracas"
