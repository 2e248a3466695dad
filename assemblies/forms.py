from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assemblies.models import AgendaItem, Position, SpeakingRequest, VoteCount
from governance.models import Mandate


class AssemblyForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(label=_("Place"), max_length=200, required=False)
    require_code = forms.BooleanField(
        label=_("Check-in needs the room code shown in the room"), required=False
    )
    progressive_stack = forms.BooleanField(
        label=_("Progressive stack (people who spoke less go first)"), required=False
    )
    speaking_limit_seconds = forms.IntegerField(
        label=_("Speaking time limit (seconds)"), required=False, min_value=10, max_value=3600
    )


class SettingsForm(forms.Form):
    require_code = forms.BooleanField(label=_("Check-in needs the room code"), required=False)
    progressive_stack = forms.BooleanField(label=_("Progressive stack"), required=False)
    speaking_limit_seconds = forms.IntegerField(
        label=_("Speaking time limit (seconds)"), required=False, min_value=10, max_value=3600
    )


class AgendaItemForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(
        label=_("Kind"), choices=AgendaItem.Kind.choices, initial=AgendaItem.Kind.DISCUSSION
    )
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    time_box_minutes = forms.IntegerField(
        label=_("Time box (minutes)"), required=False, min_value=1, max_value=600
    )


class CheckInForm(forms.Form):
    code = forms.CharField(label=_("Room code"), max_length=12, required=False)


class SpeakForm(forms.Form):
    kind = forms.ChoiceField(
        choices=SpeakingRequest.Kind.choices, initial=SpeakingRequest.Kind.NORMAL, required=False
    )


class ProposalForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(label=_("Proposal"), max_length=5000, widget=forms.Textarea)


class AmendForm(forms.Form):
    text = forms.CharField(label=_("Amended text"), max_length=5000, widget=forms.Textarea)
    note = forms.CharField(label=_("What changed"), max_length=1000, required=False)


class PositionForm(forms.Form):
    stance = forms.ChoiceField(choices=Position.Stance.choices)
    text = forms.CharField(max_length=2000, required=False)


class BallotForm(forms.Form):
    choice = forms.ChoiceField(
        choices=[("yes", _("Yes")), ("no", _("No")), ("abstain", _("Abstain"))]
    )


class VoteCountForm(forms.Form):
    source = forms.ChoiceField(choices=VoteCount.Source.choices)
    yes = forms.IntegerField(min_value=0, max_value=100000, initial=0)
    no = forms.IntegerField(min_value=0, max_value=100000, initial=0)
    abstain = forms.IntegerField(min_value=0, max_value=100000, initial=0)
    note = forms.CharField(max_length=200, required=False)


class MandateAgreeForm(forms.Form):
    member_number = forms.CharField(label=_("Member number or name"), max_length=100)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Mandate.Role.FACILITATOR.value, Mandate.Role.FACILITATOR.label),
            (Mandate.Role.MINUTE_TAKER.value, Mandate.Role.MINUTE_TAKER.label),
        ],
    )


class NoteForm(forms.Form):
    note = forms.CharField(max_length=1000, required=False)


def errors_text(form: forms.Form) -> str:
    """One readable line from a bound form's errors."""
    parts: list[str] = []
    for field, errs in form.errors.items():
        label: Any = form.fields[field].label if field in form.fields else ""
        for e in errs:
            parts.append(f"{label}: {e}" if label else str(e))
    return " ".join(parts)
