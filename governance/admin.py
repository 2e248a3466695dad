"""Django admin: the server operator's tool (not a boss's: powers inside an organisation are
mandates). The audit log is read-only here as in the database."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from governance.models import (
    AuditEntry,
    Decision,
    Federation,
    FederationMembership,
    Mandate,
    Membership,
    Organization,
    RuleSet,
    Workgroup,
    WorkgroupMember,
)


class AffiliationInline(admin.TabularInline):
    model = FederationMembership
    extra = 0
    autocomplete_fields = ["organization", "federation"]


@admin.register(Federation)
class FederationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["uuid"]
    inlines = [AffiliationInline]


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "time_zone", "language"]
    list_filter = ["kind", "language"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["uuid"]


@admin.register(FederationMembership)
class FederationMembershipAdmin(admin.ModelAdmin):
    list_display = ["organization", "federation", "start", "end"]
    list_filter = ["federation"]
    autocomplete_fields = ["organization", "federation"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["__str__", "member_number", "status", "joined_on"]
    list_filter = ["status", "organization"]
    search_fields = ["person__username", "person__first_name", "person__last_name", "member_number"]
    autocomplete_fields = ["person", "organization"]
    list_select_related = ["person", "organization"]
    readonly_fields = ["uuid"]


class WorkgroupMemberInline(admin.TabularInline):
    model = WorkgroupMember
    extra = 0
    autocomplete_fields = ["membership"]


@admin.register(Workgroup)
class WorkgroupAdmin(admin.ModelAdmin):
    list_display = ["name", "organization"]
    list_filter = ["organization"]
    search_fields = ["name", "organization__name"]
    list_select_related = ["organization"]
    readonly_fields = ["uuid"]
    inlines = [WorkgroupMemberInline]


@admin.register(WorkgroupMember)
class WorkgroupMemberAdmin(admin.ModelAdmin):
    list_display = ["membership", "workgroup", "since"]
    autocomplete_fields = ["membership", "workgroup"]
    list_select_related = ["membership__person", "membership__organization", "workgroup"]


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "organization", "federation", "status", "decided_at"]
    list_filter = ["status", "federation"]
    search_fields = ["title", "text", "body"]
    date_hierarchy = "decided_at"
    list_select_related = ["organization", "federation"]
    raw_id_fields = ["supersedes", "recorded_by", "organization", "federation"]
    filter_horizontal = ["related"]
    readonly_fields = ["uuid"]


@admin.register(RuleSet)
class RuleSetAdmin(admin.ModelAdmin):
    list_display = ["organization", "version", "valid_from", "decision_rule", "quorum_percent"]
    list_filter = ["decision_rule"]
    search_fields = ["organization__name"]
    raw_id_fields = ["adopted_by", "organization"]
    list_select_related = ["organization"]


@admin.register(Mandate)
class MandateAdmin(admin.ModelAdmin):
    list_display = ["__str__", "role", "scope_kind", "starts_at", "ends_at", "revoked_at"]
    list_filter = ["role", "scope_kind"]
    search_fields = [
        "membership__person__username",
        "membership__person__first_name",
        "membership__organization__name",
    ]
    raw_id_fields = [
        "membership",
        "workgroup",
        "federation",
        "source_decision",
        "revoked_by_decision",
    ]
    list_select_related = ["membership__person", "membership__organization"]
    readonly_fields = ["uuid"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "action", "actor", "organization", "federation", "object_kind"]
    list_filter = ["action"]
    search_fields = ["action", "object_uuid", "actor__username"]
    date_hierarchy = "at"
    list_select_related = ["actor", "organization", "federation"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
