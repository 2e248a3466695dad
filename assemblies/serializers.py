"""Explicit input and output serializers of the assemblies API."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from assemblies.models import (
    AgendaItem,
    Assembly,
    Attendance,
    ConsensusRound,
    Position,
    Proposal,
    ProposalVersion,
    SpeakingRequest,
    Vote,
    VoteCount,
)
from governance.models import Mandate

# --- Output ---------------------------------------------------------------------------------


class ParticipantOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField(source="display_name")
    member_number = serializers.CharField()


class AttendanceSummaryOut(serializers.Serializer):
    present = serializers.IntegerField()
    members = serializers.IntegerField()
    quorum = serializers.IntegerField()
    quorum_met = serializers.BooleanField()


class AgendaItemOut(serializers.ModelSerializer):
    proposed_by = ParticipantOut(allow_null=True)

    class Meta:
        model = AgendaItem
        fields = [
            "uuid",
            "order",
            "kind",
            "title",
            "description",
            "time_box_minutes",
            "status",
            "started_at",
            "ended_at",
            "proposed_by",
            "attachment",
        ]


class AssemblyOut(serializers.ModelSerializer):
    # An assembly belongs to an organisation or to a federation: the other one is null.
    organization: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    federation: serializers.SlugRelatedField = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True
    )
    current_item = serializers.UUIDField(source="current_item.uuid", allow_null=True, default=None)

    class Meta:
        model = Assembly
        fields = [
            "uuid",
            "organization",
            "federation",
            "title",
            "starts_at",
            "place",
            "status",
            "require_code",
            "progressive_stack",
            "speaking_limit_seconds",
            "rules",
            "last_seq",
            "current_item",
            "opened_at",
            "closed_at",
        ]


class AssemblyDetailOut(AssemblyOut):
    attendance = AttendanceSummaryOut()
    agenda = AgendaItemOut(many=True)
    is_facilitator = serializers.BooleanField()
    code = serializers.CharField(allow_null=True, help_text="Only shown to facilitators.")

    class Meta(AssemblyOut.Meta):
        fields = [*AssemblyOut.Meta.fields, "attendance", "agenda", "is_facilitator", "code"]


class AttendanceOut(serializers.ModelSerializer):
    membership = ParticipantOut()

    class Meta:
        model = Attendance
        fields = ["uuid", "membership", "checked_in_at", "checked_out_at", "method"]


class SpeakingRequestOut(serializers.ModelSerializer):
    membership = ParticipantOut()

    class Meta:
        model = SpeakingRequest
        fields = [
            "uuid",
            "membership",
            "kind",
            "state",
            "requested_at",
            "started_at",
            "ended_at",
            "limit_seconds",
        ]


class QueueEntryOut(serializers.Serializer):
    place = serializers.IntegerField()
    reason = serializers.CharField()
    request = SpeakingRequestOut()


class QueueOut(serializers.Serializer):
    speaker = SpeakingRequestOut(allow_null=True)
    entries = QueueEntryOut(many=True)


class QueuePlaceOut(serializers.Serializer):
    request = SpeakingRequestOut()
    place = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class SpeakingStatsPersonOut(serializers.Serializer):
    membership = ParticipantOut()
    count = serializers.IntegerField()
    seconds = serializers.IntegerField()


class SpeakingStatsGroupOut(serializers.Serializer):
    value = serializers.CharField()
    suppressed = serializers.BooleanField()
    people = serializers.IntegerField(allow_null=True)
    count = serializers.IntegerField(allow_null=True)
    seconds = serializers.IntegerField(allow_null=True)


class SpeakingStatsOut(serializers.Serializer):
    total_count = serializers.IntegerField()
    total_seconds = serializers.IntegerField()
    people = SpeakingStatsPersonOut(many=True)
    by_attribute = serializers.DictField(child=SpeakingStatsGroupOut(many=True))


class ProposalVersionOut(serializers.ModelSerializer):
    class Meta:
        model = ProposalVersion
        fields = ["uuid", "number", "text", "note", "created_at"]


class ConsensusRoundBriefOut(serializers.ModelSerializer):
    class Meta:
        model = ConsensusRound
        fields = ["uuid", "number", "opened_at", "closed_at", "outcome"]


class VoteBriefOut(serializers.ModelSerializer):
    class Meta:
        model = Vote
        fields = [
            "uuid",
            "number",
            "secret",
            "rule",
            "threshold_percent",
            "opened_at",
            "closed_at",
            "outcome",
            "tally",
        ]


class ProposalOut(serializers.ModelSerializer):
    item = serializers.UUIDField(source="item.uuid")
    proposed_by = ParticipantOut(allow_null=True)
    versions = ProposalVersionOut(many=True)
    rounds = ConsensusRoundBriefOut(many=True)
    votes = VoteBriefOut(many=True)
    decision = serializers.UUIDField(source="decision.uuid", allow_null=True, default=None)

    class Meta:
        model = Proposal
        fields = [
            "uuid",
            "item",
            "title",
            "status",
            "proposed_by",
            "created_at",
            "decided_at",
            "decision",
            "outcome",
            "versions",
            "rounds",
            "votes",
        ]


class ConsensusPositionOut(serializers.ModelSerializer):
    membership = ParticipantOut()

    class Meta:
        model = Position
        fields = [
            "uuid",
            "membership",
            "stance",
            "text",
            "stated_at",
            "superseded_at",
            "addressed_at",
            "addressed_note",
        ]


class RoundTallyOut(serializers.Serializer):
    agree = serializers.IntegerField()
    concern = serializers.IntegerField()
    stand_aside = serializers.IntegerField()
    block = serializers.IntegerField()


class ConsensusRoundOut(serializers.ModelSerializer):
    proposal = serializers.UUIDField(source="proposal.uuid")
    version = ProposalVersionOut()
    tally = RoundTallyOut()
    positions = ConsensusPositionOut(
        many=True, help_text="Current positions (replaced ones in history)."
    )
    history = ConsensusPositionOut(many=True)

    class Meta:
        model = ConsensusRound
        fields = [
            "uuid",
            "proposal",
            "number",
            "version",
            "opened_at",
            "closed_at",
            "outcome",
            "attendance",
            "tally",
            "positions",
            "history",
        ]


class ConsensusPositionResultOut(serializers.Serializer):
    position = ConsensusPositionOut()
    replaced = ConsensusPositionOut(allow_null=True)


class VoteChoiceCountOut(serializers.Serializer):
    yes = serializers.IntegerField()
    no = serializers.IntegerField()
    abstain = serializers.IntegerField()


class VoteTallyOut(serializers.Serializer):
    # Null while a secret vote is open: its running tally is not shown to anyone.
    phone = VoteChoiceCountOut(allow_null=True)
    room = VoteChoiceCountOut()
    total = VoteChoiceCountOut(allow_null=True)
    voters = serializers.IntegerField()
    hidden = serializers.BooleanField()


class VoteOut(VoteBriefOut):
    proposal = serializers.UUIDField(source="proposal.uuid")
    version = ProposalVersionOut()
    current_tally = VoteTallyOut()
    fallback_for = serializers.UUIDField(source="fallback_for.uuid", allow_null=True, default=None)

    class Meta(VoteBriefOut.Meta):
        fields = [
            *VoteBriefOut.Meta.fields,
            "proposal",
            "version",
            "current_tally",
            "fallback_for",
            "attendance",
        ]


class VoteCountOut(serializers.ModelSerializer):
    class Meta:
        model = VoteCount
        fields = ["uuid", "source", "yes", "no", "abstain", "note", "entered_at"]


class BallotReceiptOut(serializers.Serializer):
    voted = serializers.BooleanField()
    voted_at = serializers.DateTimeField()


class AssemblyMandateOut(serializers.ModelSerializer):
    membership = ParticipantOut()
    source_decision = serializers.UUIDField(source="source_decision.uuid")

    class Meta:
        model = Mandate
        fields = [
            "uuid",
            "membership",
            "role",
            "scope_kind",
            "object_uuid",
            "starts_at",
            "ends_at",
            "source_decision",
        ]


class AssemblyEventOut(serializers.Serializer):
    seq = serializers.IntegerField()
    kind = serializers.CharField()
    data = serializers.DictField()  # type: ignore[assignment]  # only used with many=True
    created_at = serializers.DateTimeField()


class AssemblyMessageOut(serializers.Serializer):
    detail = serializers.CharField()


# --- Input ----------------------------------------------------------------------------------


class AssemblyIn(serializers.Serializer):
    organization = serializers.SlugField(required=False, help_text="Slug of the organisation.")
    federation = serializers.SlugField(required=False, help_text="Slug of the federation.")
    title = serializers.CharField(max_length=200)
    starts_at = serializers.DateTimeField()
    place = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    require_code = serializers.BooleanField(default=False)
    progressive_stack = serializers.BooleanField(default=False)
    speaking_limit_seconds = serializers.IntegerField(
        min_value=10, max_value=3600, required=False, allow_null=True, default=None
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("organization")) == bool(attrs.get("federation")):
            raise serializers.ValidationError("Give either an organisation or a federation.")
        return attrs


class AssemblySettingsIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    starts_at = serializers.DateTimeField(required=False)
    place = serializers.CharField(max_length=200, required=False, allow_blank=True)
    require_code = serializers.BooleanField(required=False)
    progressive_stack = serializers.BooleanField(required=False)
    speaking_limit_seconds = serializers.IntegerField(
        min_value=10, max_value=3600, required=False, allow_null=True
    )


class MandateAgreeIn(serializers.Serializer):
    membership = serializers.UUIDField()
    role = serializers.ChoiceField(choices=["facilitator", "minute_taker"])
    hours = serializers.IntegerField(min_value=1, max_value=72, default=12)


class AgendaItemIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=AgendaItem.Kind.choices, default="discussion")
    description = serializers.CharField(
        max_length=5000, required=False, allow_blank=True, default=""
    )
    time_box_minutes = serializers.IntegerField(
        min_value=1, max_value=600, required=False, allow_null=True, default=None
    )
    attachment = serializers.DictField(required=False, default=dict)


class AgendaItemUpdateIn(serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    kind = serializers.ChoiceField(choices=AgendaItem.Kind.choices, required=False)
    description = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    time_box_minutes = serializers.IntegerField(
        min_value=1, max_value=600, required=False, allow_null=True
    )


class AgendaOrderIn(serializers.Serializer):
    items = serializers.ListField(child=serializers.UUIDField(), max_length=500)


class AssemblyCheckInIn(serializers.Serializer):
    code = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    membership = serializers.UUIDField(
        required=False, help_text="Facilitators: check in this member instead of yourself."
    )


class AssemblyCheckOutIn(serializers.Serializer):
    membership = serializers.UUIDField(
        required=False, help_text="Facilitators: check out this member instead of yourself."
    )


class HandRaiseIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SpeakingRequest.Kind.choices, default="normal")


class ProposalIn(serializers.Serializer):
    title = serializers.CharField(max_length=200)
    text = serializers.CharField(max_length=5000)
    item = serializers.UUIDField(required=False, help_text="Default: the current item.")


class ProposalAmendIn(serializers.Serializer):
    text = serializers.CharField(max_length=5000)
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class VoteOpenIn(serializers.Serializer):
    secret = serializers.BooleanField(default=False)
    fallback = serializers.BooleanField(
        default=False, help_text="Apply the rules' fallback to a proposal held by a block."
    )


class ConsensusPositionIn(serializers.Serializer):
    stance = serializers.ChoiceField(choices=Position.Stance.choices)
    text = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RoundCloseIn(serializers.Serializer):
    cancel = serializers.BooleanField(default=False)


class ConcernNoteIn(serializers.Serializer):
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class VoteBallotIn(serializers.Serializer):
    choice = serializers.ChoiceField(choices=["yes", "no", "abstain"])


class VoteCountIn(serializers.Serializer):
    source = serializers.ChoiceField(choices=VoteCount.Source.choices)  # type: ignore[assignment]
    yes = serializers.IntegerField(min_value=0, max_value=100000, default=0)
    no = serializers.IntegerField(min_value=0, max_value=100000, default=0)
    abstain = serializers.IntegerField(min_value=0, max_value=100000, default=0)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
