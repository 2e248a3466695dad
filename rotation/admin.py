"""Admin for the server operator: read-mostly; members change rosters through the app."""

from __future__ import annotations

from django.contrib import admin

from rotation.models import Assignment, Post, Qualification, QualificationGrant, Roster, Slot


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "kind", "cadence", "headcount", "role", "active"]
    list_filter = ["kind", "cadence", "organization"]
    search_fields = ["name"]


@admin.register(Qualification)
class QualificationAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "attestations_required", "valid_days"]


@admin.register(QualificationGrant)
class QualificationGrantAdmin(admin.ModelAdmin):
    list_display = ["qualification", "membership", "granted_at", "expires_at"]


@admin.register(Roster)
class RosterAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "period_start", "period_end", "status"]
    list_filter = ["status", "organization"]
    readonly_fields = ["report"]


@admin.register(Slot)
class SlotAdmin(admin.ModelAdmin):
    list_display = ["post", "roster", "starts_at", "ends_at", "position"]
    list_select_related = ["post", "roster"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["slot", "membership", "role", "state", "attendance", "source"]
    list_filter = ["state", "role", "attendance", "source"]
    list_select_related = ["slot__post", "membership__person"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        # History is kept by the services; editing rows here would bypass the rules.
        return False
