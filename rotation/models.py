"""Posts and tasks, peer-granted qualifications, unavailability, rosters, slots, assignments.

A roster is a proposal until published; publishing turns post assignments into mandates
(governance). Nothing is deleted when a slot changes hands: the old assignment is marked
replaced and a new one is created, so the history of every slot stays readable.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import Mandate, Membership, Organization, Scope, Workgroup


class Qualification(models.Model):
    """A skill members grant each other: N qualified members attest, optionally expiring."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="qualifications"
    )
    name = models.CharField(_("name"), max_length=120)
    description = models.TextField(_("description"), blank=True)
    attestations_required = models.PositiveSmallIntegerField(_("attestations required"), default=2)
    valid_days = models.PositiveIntegerField(
        _("valid for (days)"), null=True, blank=True, help_text=_("Empty: does not expire.")
    )

    class Meta:
        ordering = ["organization", "name"]
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="qualification_unique"),
            models.CheckConstraint(
                condition=Q(attestations_required__gte=1), name="qualification_attest_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id)


class QualificationGrant(models.Model):
    """A member holds a qualification (renewal moves the dates forward)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    qualification = models.ForeignKey(
        Qualification, on_delete=models.CASCADE, related_name="grants"
    )
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="qualification_grants"
    )
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        ordering = ["qualification", "membership"]
        verbose_name = _("qualification held")
        verbose_name_plural = _("qualifications held")
        constraints = [
            models.UniqueConstraint(
                fields=["qualification", "membership"], name="qualification_grant_unique"
            ),
            models.CheckConstraint(
                condition=Q(expires_at__isnull=True) | Q(expires_at__gt=F("granted_at")),
                name="qualification_grant_expiry_after_grant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.qualification}: {self.membership.display_name}"

    def is_valid(self, at: datetime | None = None) -> bool:
        at = at or timezone.now()
        return self.granted_at <= at and (self.expires_at is None or at < self.expires_at)


class Attestation(models.Model):
    """One qualified peer vouches for a candidate. Used up when the grant is made."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    qualification = models.ForeignKey(
        Qualification, on_delete=models.CASCADE, related_name="attestations"
    )
    candidate = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    attester = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    note = models.CharField(_("note"), max_length=300, blank=True)
    grant = models.ForeignKey(
        QualificationGrant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-at"]
        verbose_name = _("attestation")
        verbose_name_plural = _("attestations")
        constraints = [
            models.CheckConstraint(
                condition=~Q(candidate=F("attester")), name="attestation_not_self"
            ),
            models.UniqueConstraint(
                fields=["qualification", "candidate", "attester"],
                condition=Q(grant__isnull=True),
                name="attestation_open_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.attester.display_name} → {self.candidate.display_name}"


class Post(models.Model):
    """A post (coordination, carries a mandate) or a task (work that rotates)."""

    class Kind(models.TextChoices):
        POST = "post", _("Post")
        TASK = "task", _("Task")

    class Cadence(models.TextChoices):
        SHIFT = "shift", _("Shift")
        DAY = "day", _("Day")
        WEEK = "week", _("Week")
        MONTH = "month", _("Month")
        TERM = "term", _("Term")

    # Posts that become mandates when a roster is published. Tasks have none.
    ROLE_CHOICES = [("", _("No mandate"))] + list(Mandate.Role.choices)

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="posts")
    workgroup = models.ForeignKey(
        Workgroup,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="posts",
        help_text=_("Empty: the whole organisation takes part."),
    )
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.TASK)
    role = models.CharField(_("mandate"), max_length=30, choices=ROLE_CHOICES, blank=True)
    headcount = models.PositiveSmallIntegerField(_("people per slot"), default=1)
    cadence = models.CharField(
        _("cadence"), max_length=8, choices=Cadence.choices, default=Cadence.WEEK
    )
    term_length = models.PositiveSmallIntegerField(
        _("term length (in cadence units)"),
        default=1,
        help_text=_("How many days, weeks or months one person keeps it. Shifts are one each."),
    )
    shift_start = models.TimeField(_("shift starts"), null=True, blank=True)
    shift_hours = models.PositiveSmallIntegerField(_("shift hours"), default=8)
    rest_hours = models.PositiveSmallIntegerField(_("rest after a shift (hours)"), default=11)
    burden = models.DecimalField(_("burden weight"), max_digits=4, decimal_places=2, default=1)
    unpleasant = models.BooleanField(_("unpleasant (night, cleaning…)"), default=False)
    coordination = models.BooleanField(_("coordination (power)"), default=False)
    shadowing = models.BooleanField(
        _("a trainee shadows the holder the term before taking over"), default=False
    )
    qualifications = models.ManyToManyField(
        Qualification, blank=True, related_name="posts", verbose_name=_("qualifications required")
    )
    max_consecutive_terms = models.PositiveSmallIntegerField(
        _("term limit (consecutive terms)"), default=1
    )
    cooldown_terms = models.PositiveSmallIntegerField(
        _("cooldown (terms)"),
        null=True,
        blank=True,
        help_text=_("Empty: the organisation's rules for posts, none for tasks."),
    )
    max_share_percent = models.PositiveSmallIntegerField(
        _("maximum share per person (%)"),
        null=True,
        blank=True,
        help_text=_("Empty: the organisation's rules for coordination, no cap otherwise."),
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["organization", "kind", "name"]
        verbose_name = _("post or task")
        verbose_name_plural = _("posts and tasks")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="post_unique_name"),
            models.CheckConstraint(condition=Q(headcount__gte=1), name="post_headcount_positive"),
            models.CheckConstraint(condition=Q(term_length__gte=1), name="post_term_positive"),
            models.CheckConstraint(
                condition=Q(max_consecutive_terms__gte=1), name="post_term_limit_positive"
            ),
            models.CheckConstraint(
                condition=~Q(cadence="shift") | Q(shift_start__isnull=False, term_length=1),
                name="post_shift_has_start",
            ),
            models.CheckConstraint(
                condition=Q(shift_hours__gte=1, shift_hours__lte=24), name="post_shift_hours_range"
            ),
            models.CheckConstraint(
                condition=Q(max_share_percent__isnull=True)
                | Q(max_share_percent__gte=1, max_share_percent__lte=100),
                name="post_share_range",
            ),
            models.CheckConstraint(condition=Q(burden__gte=0), name="post_burden_nonnegative"),
            models.CheckConstraint(
                condition=Q(kind="post") | Q(role=""), name="post_only_posts_have_mandates"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id, workgroup_id=self.workgroup_id)


class Unavailability(models.Model):
    """A period a member cannot be rostered (holidays, training, appointments)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="unavailabilities"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("unavailability")
        verbose_name_plural = _("unavailabilities")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="unavailability_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.membership.display_name} {self.starts_at:%Y-%m-%d}"

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.membership.organization_id)


class Roster(models.Model):
    class Status(models.TextChoices):
        PROPOSAL = "proposal", _("Proposal")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="rosters")
    name = models.CharField(_("name"), max_length=160)
    period_start = models.DateField(_("first day"))
    period_end = models.DateField(_("last day"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSAL
    )
    posts = models.ManyToManyField(Post, related_name="rosters", verbose_name=_("posts and tasks"))
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by_decision = models.ForeignKey(
        "governance.Decision", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Slots the engine could not fill, and why (codes and numbers, translated when shown).
    report = models.JSONField(_("report"), default=dict, blank=True)

    class Meta:
        ordering = ["organization", "-period_start"]
        verbose_name = _("roster")
        verbose_name_plural = _("rosters")
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="roster_period_ordered"
            ),
            models.CheckConstraint(
                condition=~Q(status="published") | Q(published_at__isnull=False),
                name="roster_published_has_date",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def governance_scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id, object_kind="roster", object_uuid=self.uuid
        )


class Slot(models.Model):
    """One seat of one post for one term (headcount 3 = three slots at the same time)."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    roster = models.ForeignKey(Roster, on_delete=models.CASCADE, related_name="slots")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="slots")
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    term_index = models.IntegerField(_("term number"))
    position = models.PositiveSmallIntegerField(default=1)
    # Why nobody could be assigned: [{"code": ..., "n": ...}], empty when filled.
    unfilled_reasons = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["starts_at", "post__name", "position"]
        verbose_name = _("slot")
        verbose_name_plural = _("slots")
        constraints = [
            models.UniqueConstraint(
                fields=["roster", "post", "term_index", "position"], name="slot_unique_seat"
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="slot_ordered"),
        ]
        indexes = [models.Index(fields=["post", "term_index"])]

    def __str__(self) -> str:
        return f"{self.post} {self.starts_at:%Y-%m-%d %H:%M}"

    def governance_scope(self) -> Scope:
        return self.roster.governance_scope()


class Assignment(models.Model):
    """Who fills a slot. A slot has at most one current holder and one current trainee."""

    class Role(models.TextChoices):
        HOLDER = "holder", _("Holder")
        TRAINEE = "trainee", _("Trainee (shadowing)")

    class State(models.TextChoices):
        ACTIVE = "active", _("Assigned")
        OFFERED = "offered", _("Offered to others")
        REPLACED = "replaced", _("Replaced")

    class Attendance(models.TextChoices):
        PENDING = "pending", _("Not recorded")
        DONE = "done", _("Done")
        MISSED = "missed", _("Missed")
        EXCUSED = "excused", _("Excused")

    class Source(models.TextChoices):
        ENGINE = "engine", _("Rotation engine")
        TAKEN = "taken", _("Took an offered slot")
        SWAP = "swap", _("Swap")
        REASSIGNED = "reassigned", _("Reassigned by a coordinator")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    slot = models.ForeignKey(Slot, on_delete=models.CASCADE, related_name="assignments")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="rotation_assignments"
    )
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.HOLDER)
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    attendance = models.CharField(
        _("attendance"), max_length=8, choices=Attendance.choices, default=Attendance.PENDING
    )
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.ENGINE)
    # [{"code": ..., **params}] rendered in the reader's language.
    explanation = models.JSONField(default=list, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    replaced_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["slot__starts_at", "created_at"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        constraints = [
            # The backstop for two people taking the same offered slot at once.
            models.UniqueConstraint(
                fields=["slot", "role"],
                condition=~Q(state="replaced"),
                name="assignment_one_current_per_role",
            ),
            models.UniqueConstraint(
                fields=["slot", "membership"],
                condition=~Q(state="replaced"),
                name="assignment_person_once_per_slot",
            ),
            models.CheckConstraint(
                condition=Q(state="replaced", ended_at__isnull=False)
                | (~Q(state="replaced") & Q(ended_at__isnull=True)),
                name="assignment_replaced_has_end",
            ),
            models.CheckConstraint(
                condition=Q(source="engine") | ~Q(reason=""), name="assignment_change_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["membership", "state"])]

    def __str__(self) -> str:
        return f"{self.slot}: {self.membership.display_name}"

    @property
    def is_current(self) -> bool:
        return self.state != self.State.REPLACED

    def governance_scope(self) -> Scope:
        return self.slot.roster.governance_scope()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


class CalendarToken(models.Model):
    """The private part of a member's calendar feed URL (reset it to revoke old links)."""

    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="calendar_token"
    )
    token = models.CharField(max_length=64, unique=True, default=_new_token)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("calendar link")
        verbose_name_plural = _("calendar links")

    def __str__(self) -> str:
        return str(self.membership)


class SwapRequest(models.Model):
    """A member proposes to exchange one of their slots for one of another member's."""

    class State(models.TextChoices):
        OPEN = "open", _("Waiting for an answer")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        CANCELLED = "cancelled", _("Cancelled")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    offered = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="swaps_offered")
    wanted = models.ForeignKey(Assignment, on_delete=models.CASCADE, related_name="swaps_wanted")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    note = models.CharField(_("note"), max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("swap request")
        verbose_name_plural = _("swap requests")
        constraints = [
            models.CheckConstraint(condition=~Q(offered=F("wanted")), name="swap_two_slots"),
            models.UniqueConstraint(
                fields=["offered", "wanted"], condition=Q(state="open"), name="swap_open_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.offered} ⇄ {self.wanted}"

    def governance_scope(self) -> Scope:
        return self.offered.governance_scope()
