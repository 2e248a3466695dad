"""Explicit input and output serializers of the governance API (no ModelSerializer magic:
what goes out is what is written here, and self-declared attributes never go out)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from governance.forms import AGE_CHOICES, GENDER_CHOICES
from governance.models import Decision, Mandate, Membership, Organization, RuleSet

# --- Output ---------------------------------------------------------------------------------


class FederationOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    description = serializers.CharField()


class OrganizationOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    slug = serializers.SlugField()
    kind = serializers.ChoiceField(choices=Organization.Kind.choices)
    time_zone = serializers.CharField()
    language = serializers.CharField()
    created_at = serializers.DateTimeField()


class OrganizationDetailOut(OrganizationOut):
    member_count = serializers.IntegerField()
    workgroup_count = serializers.IntegerField()
    federations = FederationOut(many=True)


class MemberOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField(source="display_name")
    username = serializers.CharField(source="person.username")
    member_number = serializers.CharField()
    status = serializers.ChoiceField(choices=Membership.Status.choices)
    joined_on = serializers.DateField()


class MemberBriefOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField(source="display_name")


class WorkgroupOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    members = serializers.SerializerMethodField()

    def get_members(self, obj: Any) -> list[str]:
        return [str(m.uuid) for m in obj.members.all()]


class MandateOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    role = serializers.ChoiceField(choices=Mandate.Role.choices)
    role_label = serializers.CharField(source="get_role_display")
    scope_kind = serializers.ChoiceField(choices=Mandate.ScopeKind.choices)
    member = MemberBriefOut(source="membership")
    organization = serializers.UUIDField(source="membership.organization.uuid")
    workgroup = serializers.UUIDField(source="workgroup.uuid", allow_null=True, default=None)
    federation = serializers.UUIDField(source="federation.uuid", allow_null=True, default=None)
    object_kind = serializers.CharField()
    object_uuid = serializers.UUIDField(allow_null=True)
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()
    source_decision = serializers.UUIDField(
        source="source_decision.uuid", allow_null=True, default=None
    )
    source_rotation = serializers.UUIDField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    revoked_reason = serializers.CharField()


class DecisionOut(serializers.Serializer):
    uuid = serializers.UUIDField()
    number = serializers.IntegerField()
    title = serializers.CharField()
    text = serializers.CharField()
    body = serializers.CharField()
    decided_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=Decision.Status.choices)
    review_on = serializers.DateField(allow_null=True)
    supersedes = serializers.UUIDField(source="supersedes.uuid", allow_null=True, default=None)
    links = serializers.ListField(child=serializers.CharField())


class RuleSetOut(serializers.Serializer):
    version = serializers.IntegerField()
    valid_from = serializers.DateTimeField()
    adopted_by = serializers.UUIDField(source="adopted_by.uuid")
    quorum_percent = serializers.IntegerField()
    quorum_minimum = serializers.IntegerField()
    decision_rule = serializers.ChoiceField(choices=RuleSet.DecisionRule.choices)
    fallback = serializers.ChoiceField(choices=RuleSet.Fallback.choices)
    supermajority_percent = serializers.IntegerField()
    default_term_days = serializers.IntegerField()
    cooldown_terms = serializers.IntegerField()
    max_coordination_share = serializers.IntegerField()
    minutes_approval = serializers.ChoiceField(choices=RuleSet.MinutesApproval.choices)
    minutes_signatures_required = serializers.IntegerField()
    amendment_window_days = serializers.IntegerField()


class MeOut(serializers.Serializer):
    membership = MemberOut()
    attributes = serializers.DictField(child=serializers.CharField())
    mandates = MandateOut(many=True)


class TokenOut(serializers.Serializer):
    token = serializers.CharField()


# --- Input ----------------------------------------------------------------------------------


class TokenIn(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False)


class MemberIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]+\Z", max_length=150)
    first_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    password = serializers.CharField(
        max_length=4096,
        required=False,
        default="",
        allow_blank=True,
        write_only=True,
        help_text=_("First password, only for a person without an account yet."),
    )


class WorkgroupIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, default="", allow_blank=True)


class MandateGrantIn(serializers.Serializer):
    member = serializers.UUIDField(help_text=_("The member's uuid."))
    role = serializers.ChoiceField(choices=Mandate.Role.choices)
    decision = serializers.UUIDField(help_text=_("The recorded decision granting it."))
    ends_at = serializers.DateTimeField()
    starts_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    workgroup = serializers.UUIDField(required=False, allow_null=True, default=None)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        starts = attrs.get("starts_at")
        if starts and attrs["ends_at"] <= starts:
            raise serializers.ValidationError({"ends_at": _("A mandate must end after it starts.")})
        return attrs


class MandateRevokeIn(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
    decision = serializers.UUIDField(help_text=_("The recorded decision revoking it."))


class DecisionIn(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    text = serializers.CharField(max_length=50_000)
    body = serializers.CharField(max_length=200)
    decided_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    review_on = serializers.DateField(required=False, allow_null=True, default=None)
    supersedes = serializers.UUIDField(required=False, allow_null=True, default=None)
    links = serializers.ListField(
        child=serializers.URLField(max_length=500), required=False, default=list, max_length=20
    )


class DecisionFilterIn(serializers.Serializer):
    q = serializers.CharField(required=False, default="", allow_blank=True, max_length=200)
    status = serializers.ChoiceField(
        choices=Decision.Status.choices, required=False, default="", allow_blank=True
    )


class MandateFilterIn(serializers.Serializer):
    role = serializers.ChoiceField(
        choices=Mandate.Role.choices, required=False, default="", allow_blank=True
    )


class RulesAtIn(serializers.Serializer):
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)


class RulesAdoptIn(serializers.Serializer):
    decision = serializers.UUIDField(help_text=_("The recorded decision adopting the rules."))
    valid_from = serializers.DateTimeField(required=False, allow_null=True, default=None)
    quorum_percent = serializers.IntegerField(min_value=0, max_value=100, required=False)
    quorum_minimum = serializers.IntegerField(min_value=0, max_value=100_000, required=False)
    decision_rule = serializers.ChoiceField(choices=RuleSet.DecisionRule.choices, required=False)
    fallback = serializers.ChoiceField(choices=RuleSet.Fallback.choices, required=False)
    supermajority_percent = serializers.IntegerField(min_value=51, max_value=100, required=False)
    default_term_days = serializers.IntegerField(min_value=1, max_value=3660, required=False)
    cooldown_terms = serializers.IntegerField(min_value=0, max_value=100, required=False)
    max_coordination_share = serializers.IntegerField(min_value=1, max_value=100, required=False)
    minutes_approval = serializers.ChoiceField(
        choices=RuleSet.MinutesApproval.choices, required=False
    )
    minutes_signatures_required = serializers.IntegerField(
        min_value=1, max_value=1000, required=False
    )
    amendment_window_days = serializers.IntegerField(min_value=0, max_value=365, required=False)


class AttributesIn(serializers.Serializer):
    gender = serializers.ChoiceField(
        choices=GENDER_CHOICES, required=False, default="", allow_blank=True
    )
    age = serializers.ChoiceField(choices=AGE_CHOICES, required=False, default="", allow_blank=True)
