"""Federations, organisations, members, workgroups, mandates, rules, decisions, audit log.

There is no admin or manager flag anywhere: every power is a `Mandate` with an end date.
"""

from __future__ import annotations

import uuid
import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Scope:
    """Where an object lives, for permission checks (see governance.permissions)."""

    organization_id: int | None = None
    federation_id: int | None = None
    workgroup_id: int | None = None
    # A single object a mandate may be limited to (one roster, one assembly).
    object_kind: str = ""
    object_uuid: uuid.UUID | None = None


class Federation(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    description = models.TextField(_("description"), blank=True)
    # ISO 4217 code of a network fund's books.
    currency = models.CharField(_("currency"), max_length=3, default="VES")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("federation")
        verbose_name_plural = _("federations")

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(federation_id=self.pk)


class Organization(models.Model):
    class Kind(models.TextChoices):
        COOPERATIVE = "cooperative", _("Cooperative")
        FACTORY = "factory", _("Worker-managed factory")
        COMMUNE = "commune", _("Commune")
        OTHER = "other", _("Other")

    class PageSize(models.TextChoices):
        A4 = "A4", "A4"
        LETTER = "letter", _("Letter")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    kind = models.CharField(
        _("kind"), max_length=20, choices=Kind.choices, default=Kind.COOPERATIVE
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="America/Caracas")
    language = models.CharField(
        _("language"), max_length=8, choices=settings.LANGUAGES, default="es"
    )
    page_size = models.CharField(
        _("page size"), max_length=10, choices=PageSize.choices, default=PageSize.A4
    )
    # ISO 4217 code of the money its books are kept in (MXN, VES, USD...).
    currency = models.CharField(_("currency"), max_length=3, default="VES")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.pk)

    def local_date(self, at: datetime) -> date:
        """The calendar day `at` falls on where the organisation works: "today" and "the
        day of the decision" are the members' days, not the server's."""
        try:
            tz: Any = zoneinfo.ZoneInfo(self.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = timezone.get_current_timezone()
        return timezone.localdate(at, tz)


class FederationMembership(models.Model):
    """An organisation belongs to a federation over a dated period."""

    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, related_name="affiliations"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="affiliations"
    )
    start = models.DateField(_("from"))
    end = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        ordering = ["federation", "organization", "start"]
        verbose_name = _("federation membership")
        verbose_name_plural = _("federation memberships")
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("start")),
                name="affiliation_end_after_start",
            ),
            models.UniqueConstraint(
                fields=["federation", "organization", "start"], name="affiliation_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ∈ {self.federation}"

    def is_current(self, on: date | None = None) -> bool:
        on = on or timezone.localdate()
        return self.start <= on and (self.end is None or self.end >= on)


class Membership(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ON_LEAVE = "on_leave", _("On leave")
        LEFT = "left", _("Left")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    member_number = models.CharField(_("member number"), max_length=20)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    joined_on = models.DateField(_("joined on"), default=timezone.localdate)
    status_since = models.DateField(_("status since"), default=timezone.localdate)
    left_on = models.DateField(_("left on"), null=True, blank=True)
    # Self-declared, optional, used only in aggregates (speaking statistics and the like).
    attributes = models.JSONField(_("self-declared attributes"), default=dict, blank=True)

    class Meta:
        ordering = ["organization", "person__first_name", "person__last_name", "person__username"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["person", "organization"], name="membership_unique"),
            models.UniqueConstraint(
                fields=["organization", "member_number"], name="membership_number_unique"
            ),
            models.CheckConstraint(
                condition=Q(status="left", left_on__isnull=False)
                | (~Q(status="left") & Q(left_on__isnull=True)),
                name="membership_left_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} ({self.organization})"

    @property
    def display_name(self) -> str:
        person = self.person
        full = f"{person.first_name} {person.last_name}".strip()
        return full or person.username

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_participating(self) -> bool:
        """Members on leave still see their organisation; those who left do not."""
        return self.status != self.Status.LEFT

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)


class Workgroup(models.Model):
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="workgroups"
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    members: models.ManyToManyField[Membership, WorkgroupMember] = models.ManyToManyField(
        Membership, through="WorkgroupMember", related_name="workgroups", blank=True
    )

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("workgroup")
        verbose_name_plural = _("workgroups")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="workgroup_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id, workgroup_id=self.pk)


class WorkgroupMember(models.Model):
    workgroup = models.ForeignKey(Workgroup, on_delete=models.CASCADE)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE)
    since = models.DateField(_("since"), default=timezone.localdate)

    class Meta:
        verbose_name = _("workgroup member")
        verbose_name_plural = _("workgroup members")
        constraints = [
            models.UniqueConstraint(
                fields=["workgroup", "membership"], name="workgroup_member_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.membership} @ {self.workgroup}"


class Decision(models.Model):
    """The decision register: what a body (organisation or federation) decided."""

    class Status(models.TextChoices):
        IN_FORCE = "in_force", _("In force")
        SUPERSEDED = "superseded", _("Superseded")
        REVOKED = "revoked", _("Revoked")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions"
    )
    number = models.PositiveIntegerField(_("number"))
    title = models.CharField(_("title"), max_length=300)
    text = models.TextField(_("text"))
    decided_at = models.DateTimeField(_("decided at"), default=timezone.now)
    body = models.CharField(
        _("body"),
        max_length=200,
        help_text=_("Which body took it, e.g. 'General assembly' or 'Bakery workgroup'."),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IN_FORCE
    )
    review_on = models.DateField(_("review date"), null=True, blank=True)
    supersedes = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="superseded_by"
    )
    related = models.ManyToManyField("self", blank=True, symmetrical=True)
    links = models.JSONField(_("links"), default=list, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Frozen at the moment the decision was taken (filled by assemblies).
    attendance = models.JSONField(_("attendance"), default=dict, blank=True)

    class Meta:
        ordering = ["-decided_at", "-number"]
        verbose_name = _("decision")
        verbose_name_plural = _("decisions")
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False, federation__isnull=True)
                | Q(organization__isnull=True, federation__isnull=False),
                name="decision_has_one_body",
            ),
            models.UniqueConstraint(
                fields=["organization", "number"],
                condition=Q(organization__isnull=False),
                name="decision_number_unique_org",
            ),
            models.UniqueConstraint(
                fields=["federation", "number"],
                condition=Q(federation__isnull=False),
                name="decision_number_unique_fed",
            ),
        ]
        indexes = [models.Index(fields=["organization", "status"])]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id, federation_id=self.federation_id)


class RuleSet(models.Model):
    """One version of an organisation's rules; a new version needs the decision adopting it."""

    class DecisionRule(models.TextChoices):
        CONSENSUS = "consensus", _("Consensus")
        MAJORITY = "majority", _("Simple majority")
        SUPERMAJORITY = "supermajority", _("Supermajority")

    class Fallback(models.TextChoices):
        NONE = "none", _("No fallback: a block holds the proposal")
        SUPERMAJORITY_AFTER_SECOND_ROUND = (
            "supermajority_after_second_round",
            _("Supermajority vote after a second round"),
        )
        MAJORITY_AFTER_SECOND_ROUND = (
            "majority_after_second_round",
            _("Majority vote after a second round"),
        )

    class MinutesApproval(models.TextChoices):
        NEXT_ASSEMBLY = "next_assembly", _("Approved by the next assembly")
        SIGNATURES = "signatures", _("Signed by attendees")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="rulesets"
    )
    version = models.PositiveIntegerField(_("version"))
    adopted_by = models.OneToOneField(
        Decision, on_delete=models.PROTECT, related_name="adopted_rules"
    )
    valid_from = models.DateTimeField(_("in force from"), default=timezone.now)
    quorum_percent = models.PositiveSmallIntegerField(_("quorum (% of active members)"), default=50)
    quorum_minimum = models.PositiveIntegerField(_("minimum people present"), default=3)
    decision_rule = models.CharField(
        _("decision rule"), max_length=20, choices=DecisionRule.choices, default="consensus"
    )
    fallback = models.CharField(
        _("fallback when blocked"), max_length=40, choices=Fallback.choices, default="none"
    )
    supermajority_percent = models.PositiveSmallIntegerField(_("supermajority (%)"), default=75)
    default_term_days = models.PositiveIntegerField(_("default term (days)"), default=180)
    cooldown_terms = models.PositiveSmallIntegerField(_("cooldown between terms"), default=1)
    max_coordination_share = models.PositiveSmallIntegerField(
        _("maximum share of coordination per person (%)"), default=25
    )
    minutes_approval = models.CharField(
        _("minutes approval"),
        max_length=20,
        choices=MinutesApproval.choices,
        default="next_assembly",
    )
    minutes_signatures_required = models.PositiveSmallIntegerField(
        _("signatures required to approve minutes"), default=2
    )
    amendment_window_days = models.PositiveSmallIntegerField(
        _("days to propose corrections to minutes"), default=7
    )

    class Meta:
        ordering = ["organization", "-version"]
        verbose_name = _("rules")
        verbose_name_plural = _("rules")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="ruleset_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(quorum_percent__lte=100), name="ruleset_quorum_percent_range"
            ),
            models.CheckConstraint(
                condition=Q(supermajority_percent__gt=50, supermajority_percent__lte=100),
                name="ruleset_supermajority_range",
            ),
            models.CheckConstraint(
                condition=Q(default_term_days__gte=1), name="ruleset_term_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organization} v{self.version}"

    def quorum_for(self, active_members: int) -> int:
        """People needed present: the percentage of active members, at least the minimum."""
        needed = -(-active_members * self.quorum_percent // 100)  # ceiling division
        return max(needed, min(self.quorum_minimum, active_members))

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "quorum_percent": self.quorum_percent,
            "quorum_minimum": self.quorum_minimum,
            "decision_rule": self.decision_rule,
            "fallback": self.fallback,
            "supermajority_percent": self.supermajority_percent,
            "default_term_days": self.default_term_days,
            "cooldown_terms": self.cooldown_terms,
            "max_coordination_share": self.max_coordination_share,
            "minutes_approval": self.minutes_approval,
            "minutes_signatures_required": self.minutes_signatures_required,
            "amendment_window_days": self.amendment_window_days,
        }


class Mandate(models.Model):
    """A time-limited power, granted by a recorded decision or by a rotation assignment."""

    class Role(models.TextChoices):
        FACILITATOR = "facilitator", _("Facilitator")
        MINUTE_TAKER = "minute_taker", _("Minute-taker")
        ROSTER_COORDINATOR = "roster_coordinator", _("Roster coordinator")
        FEDERATION_REVIEWER = "federation_reviewer", _("Federation reviewer")
        TREASURER = "treasurer", _("Treasurer")
        DELEGATE = "delegate", _("Federation delegate")
        LINE_COORDINATOR = "line_coordinator", _("Line coordinator")
        MEMBERSHIP_SECRETARY = "membership_secretary", _("Membership secretary")
        PROGRAMME_COORDINATOR = "programme_coordinator", _("Programme coordinator")
        PILLAR_LEAD = "pillar_lead", _("Person accountable for a pillar")
        TRANSLATOR = "translator", _("Community translator")

    class ScopeKind(models.TextChoices):
        ORGANIZATION = "organization", _("Whole organisation")
        WORKGROUP = "workgroup", _("Workgroup")
        FEDERATION = "federation", _("Federation")
        OBJECT = "object", _("One roster or assembly")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="mandates")
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    scope_kind = models.CharField(_("scope"), max_length=20, choices=ScopeKind.choices)
    workgroup = models.ForeignKey(
        Workgroup, on_delete=models.CASCADE, null=True, blank=True, related_name="mandates"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, null=True, blank=True, related_name="mandates"
    )
    object_kind = models.CharField(_("object kind"), max_length=30, blank=True)
    object_uuid = models.UUIDField(_("object"), null=True, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    source_decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="mandates"
    )
    # The rotation assignment that produced it (rotation owns that model; governance only
    # stores its public id, because governance imports no other app).
    source_rotation = models.UUIDField(_("rotation assignment"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.TextField(_("reason for revocation"), blank=True)
    revoked_by_decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="revocations"
    )

    class Meta:
        ordering = ["ends_at"]
        verbose_name = _("mandate")
        verbose_name_plural = _("mandates")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="mandate_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(source_decision__isnull=False, source_rotation__isnull=True)
                | Q(source_decision__isnull=True, source_rotation__isnull=False),
                name="mandate_has_one_source",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        scope_kind="organization",
                        workgroup__isnull=True,
                        federation__isnull=True,
                        object_uuid__isnull=True,
                    )
                    | Q(
                        scope_kind="workgroup",
                        workgroup__isnull=False,
                        federation__isnull=True,
                        object_uuid__isnull=True,
                    )
                    | Q(
                        scope_kind="federation",
                        workgroup__isnull=True,
                        federation__isnull=False,
                        object_uuid__isnull=True,
                    )
                    | Q(
                        scope_kind="object",
                        workgroup__isnull=True,
                        federation__isnull=True,
                        object_uuid__isnull=False,
                    )
                ),
                name="mandate_scope_consistent",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoked_reason=""),
                name="mandate_revocation_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["membership", "role", "ends_at"])]

    def __str__(self) -> str:
        return f"{self.get_role_display()}: {self.membership.display_name}"

    def is_active(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        if self.revoked_at is not None and self.revoked_at <= at:
            return False
        return self.starts_at <= at < self.ends_at

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.membership.organization_id)


class AuditEntry(models.Model):
    """Append-only record of every write made through a service."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT, not SET_NULL: a database trigger refuses every UPDATE of this table.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=80)
    object_kind = models.CharField(max_length=60, blank=True)
    object_uuid = models.CharField(max_length=64, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["organization", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("The audit log is append-only.")
