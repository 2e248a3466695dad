from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from assemblies.models import MinutesRenderJob


class NotesForm(forms.Form):
    item = forms.UUIDField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(
        label=_("Notes"),
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"rows": 5, "dir": "auto"}),
    )


class TaskForm(forms.Form):
    item = forms.UUIDField(required=False, widget=forms.HiddenInput)
    text = forms.CharField(label=_("Task"), max_length=500)
    responsible = forms.CharField(
        label=_("Responsible (member number)"),
        max_length=20,
        help_text=_("The member number of the person who takes it on."),
    )
    due_on = forms.DateField(label=_("Due"), widget=forms.DateInput(attrs={"type": "date"}))


class ApologyForm(forms.Form):
    member = forms.CharField(label=_("Member number"), max_length=20)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class CorrectionForm(forms.Form):
    text = forms.CharField(
        label=_("Your correction"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )


class ResolveForm(forms.Form):
    correction = forms.UUIDField(widget=forms.HiddenInput)
    accept = forms.TypedChoiceField(
        label=_("Answer"),
        coerce=lambda v: v == "yes",
        choices=[("yes", _("Accept")), ("no", _("Do not accept"))],
    )
    response = forms.CharField(label=_("Response"), max_length=10_000, required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for the correction"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2, "dir": "auto"}),
    )


class ApproveForm(forms.Form):
    assembly = forms.UUIDField(widget=forms.HiddenInput)


class PublishForm(forms.Form):
    federation = forms.SlugField(widget=forms.HiddenInput)


class PdfForm(forms.Form):
    variant = forms.ChoiceField(
        choices=MinutesRenderJob.Variant.choices, initial="standard", required=False
    )
    signed = forms.BooleanField(required=False, label=_("Sign the PDF (PAdES)"))

    def clean_variant(self) -> Any:
        return self.cleaned_data.get("variant") or "standard"


class QuestionForm(forms.Form):
    text = forms.CharField(
        label=_("Your question"),
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 3, "dir": "auto"}),
    )


class AnswerForm(forms.Form):
    question = forms.UUIDField(widget=forms.HiddenInput)
    answer = forms.CharField(
        label=_("Answer"), max_length=10_000, widget=forms.Textarea(attrs={"rows": 3})
    )


class ReviewFilterForm(forms.Form):
    organization = forms.CharField(label=_("Organisation"), required=False, max_length=200)
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    q = forms.CharField(label=_("Decision text"), required=False, max_length=200)
