"""Minutes of an assembly: the draft (notes, tasks, apologies, corrections, signatures), the
approved versions (immutable, hash-chained per body: an organisation, or a federation for
its own assemblies), federation review and the render jobs the PDF worker runs.

Imported by assemblies/models.py, so these are models of the `assemblies` app.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from governance.models import Decision, Federation, Membership, Organization, Scope

__all__ = [
    "Minutes",
    "MinutesItemNote",
    "MinutesTask",
    "MinutesApology",
    "MinutesCorrection",
    "MinutesSignature",
    "MinutesVersion",
    "MinutesPublication",
    "MinutesAcknowledgement",
    "MinutesQuestion",
    "MinutesRenderJob",
]


def _one_body() -> Q:
    return Q(organization__isnull=False, federation__isnull=True) | Q(
        organization__isnull=True, federation__isnull=False
    )


class Minutes(models.Model):
    """The minutes of one assembly of an organisation or of a federation, from first note
    to approval."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        REVIEW = "review", _("Open for corrections")
        APPROVED = "approved", _("Approved")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # The body whose assembly it was (exactly one of the two).
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="minutes"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.PROTECT, null=True, blank=True, related_name="minutes"
    )
    assembly = models.OneToOneField(
        "assemblies.Assembly", on_delete=models.PROTECT, related_name="minutes"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    notes = models.TextField(_("general notes"), blank=True)
    review_opened_at = models.DateTimeField(_("corrections open since"), null=True, blank=True)
    amendment_until = models.DateTimeField(_("corrections until"), null=True, blank=True)
    # Set when approved minutes are reopened: the reason goes into the next version.
    correction_reason = models.TextField(_("reason for the correction"), blank=True)
    # Approval by the next assembly: the proposal put to it, and the exact draft (its
    # hash) it was asked to approve. The assembly's adopted decision is what approves.
    approval_proposal = models.ForeignKey(
        "assemblies.Proposal",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    approval_draft_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("minutes")
        verbose_name_plural = _("minutes")
        constraints = [
            models.CheckConstraint(condition=_one_body(), name="minutes_has_one_body"),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "review", "approved"]),
                name="minutes_status_valid",
            ),
            models.CheckConstraint(
                condition=~Q(status="review")
                | Q(review_opened_at__isnull=False, amendment_until__isnull=False),
                name="minutes_review_has_window",
            ),
        ]

    def __str__(self) -> str:
        return f"{_('Minutes')}: {self.assembly}"

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id, federation_id=self.federation_id)

    @property
    def body(self) -> Organization | Federation:
        return self.organization or self.federation  # type: ignore[return-value]

    @property
    def editable(self) -> bool:
        return self.status != self.Status.APPROVED

    def amendment_window_open(self, at: Any = None) -> bool:
        at = at or timezone.now()
        return (
            self.status == self.Status.REVIEW
            and self.amendment_until is not None
            and at < self.amendment_until
        )


class MinutesItemNote(models.Model):
    """What the minute-taker writes about one agenda item, during the assembly and after."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="item_notes")
    item = models.ForeignKey(
        "assemblies.AgendaItem", on_delete=models.CASCADE, related_name="minutes_notes"
    )
    text = models.TextField(_("notes"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("item notes")
        verbose_name_plural = _("item notes")
        constraints = [
            models.UniqueConstraint(fields=["minutes", "item"], name="minutes_note_one_per_item")
        ]

    def __str__(self) -> str:
        return str(f"{self.minutes_id}/{self.item_id}")


class MinutesTask(models.Model):
    """A follow-up task agreed at the assembly: who does it and by when."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="tasks")
    item = models.ForeignKey(
        "assemblies.AgendaItem",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="minutes_tasks",
    )
    text = models.CharField(_("task"), max_length=500)
    responsible = models.ForeignKey(
        Membership,
        on_delete=models.PROTECT,
        related_name="minutes_tasks",
        verbose_name=_("responsible"),
    )
    due_on = models.DateField(_("due"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        verbose_name = _("follow-up task")
        verbose_name_plural = _("follow-up tasks")
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="minutes_task_has_text"),
        ]

    def __str__(self) -> str:
        return str(self.text)


class MinutesApology(models.Model):
    """A member who sent apologies for not attending."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="apologies")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at", "id"]
        verbose_name = _("apology")
        verbose_name_plural = _("apologies")
        constraints = [
            models.UniqueConstraint(fields=["minutes", "membership"], name="minutes_apology_once")
        ]

    def __str__(self) -> str:
        return str(f"{self.membership_id}: {self.reason}")


class MinutesCorrection(models.Model):
    """A correction an attendee proposes during the amendment window."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Not accepted")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="corrections")
    proposed_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("correction"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED
    )
    response = models.TextField(_("response"), blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("correction")
        verbose_name_plural = _("corrections")
        constraints = [
            models.CheckConstraint(
                condition=Q(status="proposed", resolved_at__isnull=True)
                | (Q(status__in=["accepted", "rejected"]) & Q(resolved_at__isnull=False)),
                name="minutes_correction_resolution",
            ),
            models.CheckConstraint(condition=~Q(text=""), name="minutes_correction_has_text"),
        ]

    def __str__(self) -> str:
        return str(self.text[:60])


class MinutesSignature(models.Model):
    """An attendee signs one exact draft (by its hash): a changed draft needs new signatures."""

    minutes = models.ForeignKey(Minutes, on_delete=models.CASCADE, related_name="signatures")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    draft_hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["signed_at", "id"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [
            models.UniqueConstraint(
                fields=["minutes", "membership", "draft_hash"], name="minutes_signature_once"
            )
        ]

    def __str__(self) -> str:
        return str(f"{self.membership_id} {self.draft_hash[:12]}")


class MinutesVersion(models.Model):
    """An approved version: immutable (here and by database triggers), one link of the
    organisation's hash chain. A later correction is a new version with its reason."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    minutes = models.ForeignKey(Minutes, on_delete=models.PROTECT, related_name="versions")
    # The chain it belongs to: the organisation's, or the federation's (exactly one).
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="minutes_versions",
    )
    federation = models.ForeignKey(
        Federation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="minutes_versions",
    )
    number = models.PositiveIntegerField(_("version"))
    # Position in the body's chain, 1 for its first approved minutes.
    chain_index = models.PositiveIntegerField()
    # Canonical JSON texts, exactly as hashed (see assemblies.minutes.canonical).
    content = models.TextField()
    approval = models.TextField()
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    reason = models.TextField(_("reason for the correction"), blank=True)
    approved_at = models.DateTimeField(_("approved at"))
    decision = models.ForeignKey(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["organization", "chain_index"]
        verbose_name = _("approved minutes")
        verbose_name_plural = _("approved minutes")
        constraints = [
            models.CheckConstraint(condition=_one_body(), name="minutes_version_has_one_body"),
            models.UniqueConstraint(fields=["minutes", "number"], name="minutes_version_unique"),
            # Conditional: NULLs never collide, so each body's chain needs its own constraint.
            models.UniqueConstraint(
                fields=["organization", "chain_index"],
                condition=Q(organization__isnull=False),
                name="minutes_chain_index_unique",
            ),
            models.UniqueConstraint(
                fields=["federation", "chain_index"],
                condition=Q(federation__isnull=False),
                name="minutes_fed_chain_index_unique",
            ),
            # One successor per link: the chain cannot fork.
            models.UniqueConstraint(
                fields=["organization", "previous_hash"],
                condition=Q(organization__isnull=False),
                name="minutes_chain_no_fork",
            ),
            models.UniqueConstraint(
                fields=["federation", "previous_hash"],
                condition=Q(federation__isnull=False),
                name="minutes_fed_chain_no_fork",
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="minutes_version_positive"),
            models.CheckConstraint(
                condition=Q(chain_index__gte=1), name="minutes_chain_index_positive"
            ),
            models.CheckConstraint(
                condition=Q(number=1) | ~Q(reason=""), name="minutes_correction_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.minutes.assembly} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Approved minutes are immutable: approve a corrected version.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Approved minutes are immutable.")

    def governance_scope(self) -> Scope:
        return Scope(organization_id=self.organization_id, federation_id=self.federation_id)

    @property
    def body(self) -> Organization | Federation:
        return self.organization or self.federation  # type: ignore[return-value]


class MinutesPublication(models.Model):
    """Approved minutes made visible to one federation's reviewers."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    version = models.ForeignKey(
        MinutesVersion, on_delete=models.PROTECT, related_name="publications"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, related_name="minutes_publications"
    )
    # The organisation whose minutes these are; empty for a federation's own minutes.
    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name = _("published minutes")
        verbose_name_plural = _("published minutes")
        constraints = [
            models.UniqueConstraint(
                fields=["version", "federation"], name="minutes_publication_once"
            )
        ]

    def __str__(self) -> str:
        return str(f"{self.version_id} → {self.federation_id}")

    def governance_scope(self) -> Scope:
        return Scope(federation_id=self.federation_id)


class MinutesAcknowledgement(models.Model):
    publication = models.ForeignKey(
        MinutesPublication, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    reviewer = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at"]
        verbose_name = _("acknowledgement")
        verbose_name_plural = _("acknowledgements")
        constraints = [
            models.UniqueConstraint(
                fields=["publication", "reviewer"], name="minutes_acknowledged_once"
            )
        ]

    def __str__(self) -> str:
        return str(f"{self.reviewer_id} @ {self.publication_id}")


class MinutesQuestion(models.Model):
    """A reviewer's question about published minutes, answered by the organisation."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    publication = models.ForeignKey(
        MinutesPublication, on_delete=models.CASCADE, related_name="questions"
    )
    asked_by = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(_("question"))
    asked_at = models.DateTimeField(default=timezone.now)
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["asked_at", "id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        constraints = [
            models.CheckConstraint(condition=~Q(text=""), name="minutes_question_has_text"),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True, answer="")
                | (Q(answered_at__isnull=False) & ~Q(answer="")),
                name="minutes_question_answered",
            ),
        ]

    def __str__(self) -> str:
        return str(self.text[:60])


class MinutesRenderJob(models.Model):
    """A PDF (or a federation bundle) to be rendered by the worker process, never by the
    web process. The page polls it for progress."""

    class Kind(models.TextChoices):
        PDF = "pdf", _("PDF")
        BUNDLE = "bundle", _("Bundle")

    class Variant(models.TextChoices):
        STANDARD = "standard", _("PDF")
        PDFA = "pdfa", _("PDF/A-3b with embedded data")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Rendering")
        DONE = "done", _("Ready")
        FAILED = "failed", _("Failed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    variant = models.CharField(max_length=10, choices=Variant.choices, default=Variant.STANDARD)
    signed = models.BooleanField(default=False)
    version = models.ForeignKey(
        MinutesVersion, on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Bundle filters (organisation uuid, date range, decision text).
    params = models.JSONField(default=dict, blank=True)
    base_url = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    file = models.CharField(max_length=300, blank=True)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("render job")
        verbose_name_plural = _("render jobs")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="pdf", version__isnull=False, federation__isnull=True)
                | Q(kind="bundle", version__isnull=True, federation__isnull=False),
                name="minutes_job_target",
            ),
            models.CheckConstraint(
                condition=~Q(status="done") | ~Q(file=""), name="minutes_job_done_has_file"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return str(f"{self.kind} {self.uuid} {self.status}")

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.progress_total:
            return 0
        return min(99, self.progress_done * 100 // self.progress_total)
