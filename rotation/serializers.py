"""Explicit input and output serializers of the rotation API."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers

from rotation.models import Assignment, Post, Roster, SwapRequest
from rotation.texts import explanation_text, unfilled_text

# --- Output ---------------------------------------------------------------------------------


class MemberRefOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField(source="display_name")


class QualificationOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    attestations_required = serializers.IntegerField()
    valid_days = serializers.IntegerField(allow_null=True)


class QualificationGrantOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    qualification = QualificationOut()
    member = MemberRefOut(source="membership")
    granted_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)


class PostOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Post.Kind.choices)
    role = serializers.CharField()
    workgroup = serializers.UUIDField(source="workgroup.uuid", allow_null=True, default=None)
    headcount = serializers.IntegerField()
    cadence = serializers.ChoiceField(choices=Post.Cadence.choices)
    term_length = serializers.IntegerField()
    shift_start = serializers.TimeField(allow_null=True)
    shift_hours = serializers.IntegerField()
    rest_hours = serializers.IntegerField()
    burden = serializers.DecimalField(max_digits=4, decimal_places=2)
    unpleasant = serializers.BooleanField()
    coordination = serializers.BooleanField()
    shadowing = serializers.BooleanField()
    max_consecutive_terms = serializers.IntegerField()
    cooldown_terms = serializers.IntegerField(allow_null=True)
    max_share_percent = serializers.IntegerField(allow_null=True)
    qualifications = serializers.SerializerMethodField()
    active = serializers.BooleanField()

    def get_qualifications(self, obj: Post) -> list[str]:
        return [str(q.uuid) for q in obj.qualifications.all()]


class RosterOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    status = serializers.ChoiceField(choices=Roster.Status.choices)
    published_at = serializers.DateTimeField(allow_null=True)
    report = serializers.DictField()


class AssignmentOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    slot = serializers.UUIDField(source="slot.uuid")
    roster = serializers.UUIDField(source="slot.roster.uuid")
    post = serializers.CharField(source="slot.post.name")
    post_uuid = serializers.UUIDField(source="slot.post.uuid")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    member = MemberRefOut(source="membership")
    role = serializers.ChoiceField(choices=Assignment.Role.choices)
    state = serializers.ChoiceField(choices=Assignment.State.choices)
    attendance = serializers.ChoiceField(choices=Assignment.Attendance.choices)
    source = serializers.ChoiceField(choices=Assignment.Source.choices)  # type: ignore[assignment]
    reason = serializers.CharField()
    explanation = serializers.SerializerMethodField()
    explanation_codes = serializers.JSONField(source="explanation")
    created_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)

    def get_explanation(self, obj: Assignment) -> str:
        return explanation_text(obj.explanation)


class SlotOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    post = serializers.CharField(source="post.name")
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    position = serializers.IntegerField()
    unfilled = serializers.SerializerMethodField()
    unfilled_reasons = serializers.JSONField()

    def get_unfilled(self, obj: Any) -> str:
        return unfilled_text(obj.unfilled_reasons)


class RosterDetailOut(RosterOut):
    assignments = AssignmentOut(many=True)
    unfilled_slots = SlotOut(many=True)


class WeekRowOut(serializers.Serializer):
    slot = serializers.UUIDField(source="slot.uuid")
    post = serializers.CharField(source="slot.post.name")
    post_uuid = serializers.UUIDField(source="slot.post.uuid")
    starts_at = serializers.DateTimeField(source="slot.starts_at")
    ends_at = serializers.DateTimeField(source="slot.ends_at")
    position = serializers.IntegerField(source="slot.position")
    holder = AssignmentOut(allow_null=True)
    trainee = AssignmentOut(allow_null=True)
    unfilled = serializers.SerializerMethodField(
        help_text="Why nobody could take it, when nobody holds it; empty otherwise."
    )
    unfilled_reasons = serializers.SerializerMethodField()

    def get_unfilled(self, obj: Any) -> str:
        return "" if obj.holder else unfilled_text(obj.slot.unfilled_reasons)

    def get_unfilled_reasons(self, obj: Any) -> list[dict[str, Any]]:
        return [] if obj.holder else list(obj.slot.unfilled_reasons)


class RosterWeekOut(serializers.Serializer):
    roster = RosterOut()
    week = serializers.DateField(help_text="The Monday the week starts on.")
    previous_week = serializers.DateField(allow_null=True)
    next_week = serializers.DateField(allow_null=True)
    slots = WeekRowOut(many=True)


class CalendarOut(serializers.Serializer):
    url = serializers.URLField(help_text="Private: whoever has it sees your turns.")
    created_at = serializers.DateTimeField()


class SwapOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    offered = AssignmentOut()
    wanted = AssignmentOut()
    state = serializers.ChoiceField(choices=SwapRequest.State.choices)
    note = serializers.CharField()
    created_at = serializers.DateTimeField()


class MemberLoadOut(serializers.Serializer):
    member = MemberRefOut(source="membership")
    turns = serializers.IntegerField()
    burden = serializers.DecimalField(max_digits=10, decimal_places=2)
    unpleasant = serializers.IntegerField()
    coordination = serializers.IntegerField()
    coordination_share = serializers.FloatField()
    learning = serializers.IntegerField()
    missed = serializers.IntegerField()


class FairnessOut(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    gini_burden = serializers.FloatField()
    gini_coordination = serializers.FloatField()
    max_coordination_share = serializers.FloatField()
    members = MemberLoadOut(many=True)


class UnavailabilityOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField()


class GrantResultOut(serializers.Serializer):
    qualified = serializers.BooleanField()
    grant = QualificationGrantOut(allow_null=True)


# --- Input ----------------------------------------------------------------------------------


class PostIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    kind = serializers.ChoiceField(choices=Post.Kind.choices, default=Post.Kind.TASK)
    role = serializers.ChoiceField(  # type: ignore[assignment]
        choices=Post.ROLE_CHOICES, default="", allow_blank=True
    )
    workgroup = serializers.UUIDField(required=False, allow_null=True)
    headcount = serializers.IntegerField(min_value=1, max_value=500, default=1)
    cadence = serializers.ChoiceField(choices=Post.Cadence.choices, default=Post.Cadence.WEEK)
    term_length = serializers.IntegerField(min_value=1, max_value=365, default=1)
    shift_start = serializers.TimeField(required=False, allow_null=True)
    shift_hours = serializers.IntegerField(min_value=1, max_value=24, default=8)
    rest_hours = serializers.IntegerField(min_value=0, max_value=72, default=11)
    burden = serializers.DecimalField(
        max_digits=4, decimal_places=2, min_value=Decimal(0), default=Decimal(1)
    )
    unpleasant = serializers.BooleanField(default=False)
    coordination = serializers.BooleanField(default=False)
    shadowing = serializers.BooleanField(default=False)
    max_consecutive_terms = serializers.IntegerField(min_value=1, max_value=100, default=1)
    cooldown_terms = serializers.IntegerField(
        min_value=0, max_value=100, required=False, allow_null=True
    )
    max_share_percent = serializers.IntegerField(
        min_value=1, max_value=100, required=False, allow_null=True
    )
    qualifications = serializers.ListField(child=serializers.UUIDField(), default=list)


class RosterIn(serializers.Serializer):
    name = serializers.CharField(max_length=160)
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    posts = serializers.ListField(child=serializers.UUIDField(), default=list)


class RosterPublishIn(serializers.Serializer):
    decision = serializers.UUIDField(
        required=False,
        allow_null=True,
        help_text="A decision in force whose links include this roster's page "
        "(/rotation/rosters/{uuid}/); without it, a roster coordinator's mandate is needed.",
    )


class NoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class SwapIn(serializers.Serializer):
    mine = serializers.UUIDField()
    theirs = serializers.UUIDField()
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class SwapAnswerIn(serializers.Serializer):
    accept = serializers.BooleanField()


class ReassignIn(serializers.Serializer):
    member = serializers.UUIDField()
    reason = serializers.CharField(max_length=500)


class FillIn(serializers.Serializer):
    member = serializers.UUIDField()
    reason = serializers.CharField(max_length=500)


class AttendanceIn(serializers.Serializer):
    attendance = serializers.ChoiceField(choices=Assignment.Attendance.choices)


class QualificationIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, default="", allow_blank=True)
    attestations_required = serializers.IntegerField(min_value=1, max_value=20, default=2)
    valid_days = serializers.IntegerField(min_value=1, required=False, allow_null=True)


class AttestIn(serializers.Serializer):
    candidate = serializers.UUIDField()
    note = serializers.CharField(max_length=300, required=False, default="", allow_blank=True)


class UnavailabilityIn(serializers.Serializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    reason = serializers.CharField(max_length=200, required=False, default="", allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["ends_at"] <= attrs["starts_at"]:
            raise serializers.ValidationError({"ends_at": _("The end must be after the start.")})
        return attrs
