"""Django admin for the server operator. Live state changes go through the services (and the
event log), so everything here is read-only: editing a row would skip the log every screen
follows and the audit trail."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from assemblies.models import (
    AgendaItem,
    Assembly,
    AssemblyEvent,
    Attendance,
    ConsensusRound,
    Position,
    Proposal,
    ProposalVersion,
    SpeakingRequest,
    Vote,
    VoteCount,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgendaInline(admin.TabularInline):
    model = AgendaItem
    extra = 0
    fields = ["order", "kind", "title", "status", "time_box_minutes"]
    readonly_fields = ["order", "kind", "title", "status", "time_box_minutes"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Assembly)
class AssemblyAdmin(ReadOnlyAdmin):
    list_display = ["title", "organization", "federation", "starts_at", "status", "last_seq"]
    list_filter = ["status"]
    search_fields = ["title", "organization__name", "federation__name"]
    inlines = [AgendaInline]
    exclude = ["code"]


@admin.register(Attendance)
class AttendanceAdmin(ReadOnlyAdmin):
    list_display = ["assembly", "membership", "checked_in_at", "checked_out_at", "method"]
    list_select_related = ["assembly", "membership__person"]


@admin.register(SpeakingRequest)
class SpeakingRequestAdmin(ReadOnlyAdmin):
    list_display = ["assembly", "membership", "kind", "state", "requested_at", "started_at"]
    list_select_related = ["assembly", "membership__person"]


class VersionInline(admin.TabularInline):
    model = ProposalVersion
    extra = 0
    fields = ["number", "text", "note", "created_at"]
    readonly_fields = ["number", "text", "note", "created_at"]
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Proposal)
class ProposalAdmin(ReadOnlyAdmin):
    list_display = ["title", "assembly", "status", "decision"]
    list_filter = ["status"]
    inlines = [VersionInline]


@admin.register(ConsensusRound)
class ConsensusRoundAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "number", "opened_at", "closed_at", "outcome"]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ["round", "membership", "stance", "stated_at", "superseded_at"]
    list_select_related = ["round__proposal", "membership__person"]


@admin.register(Vote)
class VoteAdmin(ReadOnlyAdmin):
    list_display = ["proposal", "number", "secret", "rule", "closed_at", "outcome"]


@admin.register(VoteCount)
class VoteCountAdmin(ReadOnlyAdmin):
    list_display = ["vote", "source", "yes", "no", "abstain", "entered_at"]


@admin.register(AssemblyEvent)
class AssemblyEventAdmin(ReadOnlyAdmin):
    list_display = ["assembly", "seq", "kind", "created_at"]
    list_select_related = ["assembly"]
    exclude = ["html"]
