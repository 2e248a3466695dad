"""Live assemblies: agenda, attendance, speaking queue, proposals, consensus rounds, votes and
the append-only event log every screen follows.

Minutes models are in assemblies/minutes/models.py (imported at the bottom).
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


class Assembly(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONVENED = "convened", _("Convened")
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="assemblies"
    )
    federation = models.ForeignKey(
        Federation, on_delete=models.CASCADE, null=True, blank=True, related_name="assemblies"
    )
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    place = models.CharField(_("place"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.DRAFT
    )
    # Shown in the room (or as a QR code) so a phone check-in proves presence.
    code = models.CharField(_("room code"), max_length=12, blank=True)
    require_code = models.BooleanField(_("check-in needs the room code"), default=False)
    progressive_stack = models.BooleanField(_("progressive stack"), default=False)
    speaking_limit_seconds = models.PositiveIntegerField(
        _("speaking time limit (seconds)"), null=True, blank=True
    )
    # The rules in force when the assembly opened: later rule changes do not move it.
    rules = models.JSONField(_("rules in force"), default=dict, blank=True)
    last_seq = models.BigIntegerField(default=0)
    current_item = models.ForeignKey(
        "AgendaItem", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("assembly")
        verbose_name_plural = _("assemblies")
        constraints = [
            models.CheckConstraint(
                condition=Q(organization__isnull=False, federation__isnull=True)
                | Q(organization__isnull=True, federation__isnull=False),
                name="assembly_has_one_body",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["draft", "convened", "open", "closed"]),
                name="assembly_status_valid",
            ),
            models.CheckConstraint(condition=Q(last_seq__gte=0), name="assembly_seq_positive"),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="assembly_closed_has_date",
            ),
            models.CheckConstraint(
                condition=Q(require_code=False) | ~Q(code=""),
                name="assembly_required_code_set",
            ),
        ]
        indexes = [models.Index(fields=["organization", "-starts_at"])]

    def __str__(self) -> str:
        return self.title

    def governance_scope(self) -> Scope:
        return Scope(
            organization_id=self.organization_id,
            federation_id=self.federation_id,
            object_kind="assembly",
            object_uuid=self.uuid,
        )

    @property
    def body(self) -> Organization | Federation:
        return self.organization or self.federation  # type: ignore[return-value]

    @property
    def is_live(self) -> bool:
        return self.status == self.Status.OPEN

    @property
    def time_zone(self) -> str:
        return self.organization.time_zone if self.organization else settings.TIME_ZONE


class AgendaItem(models.Model):
    class Kind(models.TextChoices):
        INFORMATION = "information", _("Information")
        DISCUSSION = "discussion", _("Discussion")
        DECISION = "decision", _("Decision")

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        CURRENT = "current", _("Under discussion")
        DONE = "done", _("Done")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assembly = models.ForeignKey(Assembly, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveIntegerField(_("order"))
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.DISCUSSION)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    time_box_minutes = models.PositiveSmallIntegerField(
        _("time box (minutes)"), null=True, blank=True
    )
    proposed_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # A governance.attachments kind and its parameters, e.g. {"kind": "production_report", ...}
    attachment = models.JSONField(_("attachment"), default=dict, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["assembly", "order", "id"]
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        constraints = [
            models.UniqueConstraint(fields=["assembly", "order"], name="agenda_item_order_unique"),
            models.UniqueConstraint(
                fields=["assembly"], condition=Q(status="current"), name="agenda_one_current_item"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["information", "discussion", "decision"]),
                name="agenda_item_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(time_box_minutes__isnull=True) | Q(time_box_minutes__gte=1),
                name="agenda_item_time_box_positive",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def governance_scope(self) -> Scope:
        return self.assembly.governance_scope()


class Attendance(models.Model):
    """One stretch of presence: check-in to check-out. Coming back opens a new stretch."""

    class Method(models.TextChoices):
        SELF = "self", _("Self check-in")
        FACILITATOR = "facilitator", _("Checked in by the facilitator")
        CODE = "code", _("Room code")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assembly = models.ForeignKey(Assembly, on_delete=models.CASCADE, related_name="attendances")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="attendances")
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    method = models.CharField(_("method"), max_length=12, choices=Method.choices)

    class Meta:
        ordering = ["assembly", "checked_in_at"]
        verbose_name = _("attendance")
        verbose_name_plural = _("attendance")
        constraints = [
            models.UniqueConstraint(
                fields=["assembly", "membership"],
                condition=Q(checked_out_at__isnull=True),
                name="attendance_one_open",
            ),
            models.CheckConstraint(
                condition=Q(checked_out_at__isnull=True)
                | Q(checked_out_at__gte=models.F("checked_in_at")),
                name="attendance_out_after_in",
            ),
            models.CheckConstraint(
                condition=Q(method__in=["self", "facilitator", "code"]),
                name="attendance_method_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership.display_name} @ {self.assembly}"


class SpeakingRequest(models.Model):
    class Kind(models.TextChoices):
        NORMAL = "normal", _("To speak")
        PROCESS = "process", _("Point of process")
        CLARIFICATION = "clarification", _("Clarification")

    class State(models.TextChoices):
        WAITING = "waiting", _("Waiting")
        SPEAKING = "speaking", _("Speaking")
        DONE = "done", _("Done")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assembly = models.ForeignKey(
        Assembly, on_delete=models.CASCADE, related_name="speaking_requests"
    )
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="speaking_requests")
    membership = models.ForeignKey(
        Membership, on_delete=models.CASCADE, related_name="speaking_requests"
    )
    kind = models.CharField(_("kind"), max_length=14, choices=Kind.choices, default=Kind.NORMAL)
    state = models.CharField(
        _("state"), max_length=10, choices=State.choices, default=State.WAITING
    )
    requested_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    limit_seconds = models.PositiveIntegerField(_("time limit (seconds)"), null=True, blank=True)

    class Meta:
        ordering = ["requested_at", "id"]
        verbose_name = _("speaking request")
        verbose_name_plural = _("speaking requests")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "membership", "kind"],
                condition=Q(state="waiting"),
                name="speaking_one_waiting_per_kind",
            ),
            models.UniqueConstraint(
                fields=["item"], condition=Q(state="speaking"), name="speaking_one_speaker"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["normal", "process", "clarification"]),
                name="speaking_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(state="waiting", started_at__isnull=True)
                | Q(state="withdrawn", started_at__isnull=True)
                | Q(state="speaking", started_at__isnull=False, ended_at__isnull=True)
                | Q(state="done", started_at__isnull=False, ended_at__isnull=False),
                name="speaking_state_times",
            ),
        ]
        indexes = [models.Index(fields=["item", "state"])]

    def __str__(self) -> str:
        return f"{self.membership.display_name}: {self.get_kind_display()}"

    @property
    def seconds(self) -> int:
        if self.started_at is None:
            return 0
        end = self.ended_at or timezone.now()
        return max(0, int((end - self.started_at).total_seconds()))


class Proposal(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Under discussion")
        ADOPTED = "adopted", _("Adopted")
        HELD = "held", _("Held by a block")
        REJECTED = "rejected", _("Not adopted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    assembly = models.ForeignKey(Assembly, on_delete=models.CASCADE, related_name="proposals")
    item = models.ForeignKey(AgendaItem, on_delete=models.CASCADE, related_name="proposals")
    proposed_by = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    title = models.CharField(_("title"), max_length=200)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision = models.OneToOneField(
        Decision, on_delete=models.PROTECT, null=True, blank=True, related_name="proposal"
    )
    # How the outcome was reached: "consensus", "vote", "fallback_vote", with the round/vote.
    outcome = models.JSONField(_("outcome"), default=dict, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("proposal")
        verbose_name_plural = _("proposals")
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="adopted") | Q(decision__isnull=False),
                name="proposal_adopted_has_decision",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def current_version(self) -> ProposalVersion | None:
        versions = list(self.versions.all())
        return versions[-1] if versions else None


class ProposalVersion(models.Model):
    """The text of a proposal; an amendment is a new version, earlier ones are kept."""

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    note = models.TextField(_("what changed"), blank=True)
    author = models.ForeignKey(
        Membership, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["proposal", "number"]
        verbose_name = _("proposal version")
        verbose_name_plural = _("proposal versions")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="proposal_version_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="proposal_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} v{self.number}"


class ConsensusRound(models.Model):
    class Outcome(models.TextChoices):
        CONSENSUS = "consensus", _("Consensus")
        BLOCKED = "blocked", _("Blocked")
        CANCELLED = "cancelled", _("Closed without outcome")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="rounds")
    version = models.ForeignKey(ProposalVersion, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveIntegerField(_("round"))
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    # Attendance and quorum at closing, kept with the round.
    attendance = models.JSONField(_("attendance"), default=dict, blank=True)

    class Meta:
        ordering = ["proposal", "number"]
        verbose_name = _("consensus round")
        verbose_name_plural = _("consensus rounds")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="round_number_unique"),
            models.UniqueConstraint(
                fields=["proposal"], condition=Q(closed_at__isnull=True), name="round_one_open"
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, outcome="")
                | (Q(closed_at__isnull=False) & ~Q(outcome="")),
                name="round_closed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} · {self.number}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Position(models.Model):
    """A stance in a round. Stating again supersedes the earlier one, which is kept."""

    class Stance(models.TextChoices):
        AGREE = "agree", _("Agree")
        CONCERN = "concern", _("Concern")
        STAND_ASIDE = "stand_aside", _("Stand aside")
        BLOCK = "block", _("Block")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    round = models.ForeignKey(ConsensusRound, on_delete=models.CASCADE, related_name="positions")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="positions")
    stance = models.CharField(_("stance"), max_length=12, choices=Stance.choices)
    text = models.TextField(_("reason"), blank=True)
    stated_at = models.DateTimeField(_("stated at"), default=timezone.now)
    superseded_at = models.DateTimeField(_("replaced at"), null=True, blank=True)
    # A concern the facilitator has worked through (kept, marked addressed).
    addressed_at = models.DateTimeField(_("addressed at"), null=True, blank=True)
    addressed_note = models.TextField(_("how it was addressed"), blank=True)

    class Meta:
        ordering = ["round", "stated_at", "id"]
        verbose_name = _("position")
        verbose_name_plural = _("positions")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "membership"],
                condition=Q(superseded_at__isnull=True),
                name="position_one_current",
            ),
            models.CheckConstraint(
                condition=Q(stance="agree") | ~Q(text=""), name="position_reason_given"
            ),
            models.CheckConstraint(
                condition=Q(stance__in=["agree", "concern", "stand_aside", "block"]),
                name="position_stance_valid",
            ),
            models.CheckConstraint(
                condition=Q(addressed_at__isnull=True) | Q(stance="concern"),
                name="position_only_concerns_addressed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership.display_name}: {self.get_stance_display()}"


class Vote(models.Model):
    """A vote on a proposal. Phone ballots and counts entered by the facilitator add up."""

    class Rule(models.TextChoices):
        MAJORITY = "majority", _("Simple majority")
        SUPERMAJORITY = "supermajority", _("Supermajority")

    class Outcome(models.TextChoices):
        ADOPTED = "adopted", _("Adopted")
        REJECTED = "rejected", _("Not adopted")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    proposal = models.ForeignKey(Proposal, on_delete=models.CASCADE, related_name="votes")
    version = models.ForeignKey(ProposalVersion, on_delete=models.PROTECT, related_name="votes")
    number = models.PositiveIntegerField(_("number"))
    secret = models.BooleanField(_("secret ballot"), default=False)
    rule = models.CharField(_("rule"), max_length=14, choices=Rule.choices)
    threshold_percent = models.PositiveSmallIntegerField(_("threshold (%)"), default=50)
    # Set when the vote is the fallback after a blocked consensus round (recorded explicitly).
    fallback_for = models.ForeignKey(
        ConsensusRound, on_delete=models.PROTECT, null=True, blank=True, related_name="fallbacks"
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, blank=True)
    tally = models.JSONField(_("final tally"), default=dict, blank=True)
    attendance = models.JSONField(_("attendance"), default=dict, blank=True)
    # Phone ballots of a secret vote are counters, never rows: a row per ballot keeps its
    # insertion order (SQLite rowid, PostgreSQL heap order and xmin) next to the ordered
    # VoteParticipation rows, which would link each choice back to its voter.
    secret_yes = models.PositiveIntegerField(default=0, editable=False)
    secret_no = models.PositiveIntegerField(default=0, editable=False)
    secret_abstain = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["proposal", "number"]
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "number"], name="vote_number_unique"),
            models.UniqueConstraint(
                fields=["proposal"], condition=Q(closed_at__isnull=True), name="vote_one_open"
            ),
            models.CheckConstraint(
                condition=Q(threshold_percent__gte=50, threshold_percent__lte=100),
                name="vote_threshold_range",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, outcome="")
                | (Q(closed_at__isnull=False) & ~Q(outcome="")),
                name="vote_closed_has_outcome",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.proposal} · {_('vote')} {self.number}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class Choice(models.TextChoices):
    YES = "yes", _("Yes")
    NO = "no", _("No")
    ABSTAIN = "abstain", _("Abstain")


class Ballot(models.Model):
    """One phone ballot of an open vote, with its voter. Secret votes keep no ballot rows,
    only the counters on `Vote` (see there why)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="ballots")
    choice = models.CharField(_("choice"), max_length=8, choices=Choice.choices)
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("ballot")
        verbose_name_plural = _("ballots")
        constraints = [
            models.UniqueConstraint(fields=["vote", "membership"], name="ballot_one_per_voter"),
            models.CheckConstraint(
                condition=Q(choice__in=["yes", "no", "abstain"]), name="ballot_choice_valid"
            ),
        ]

    def __str__(self) -> str:
        return str(self.get_choice_display())


class VoteParticipation(models.Model):
    """Who has voted (never how): one per member per vote."""

    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="participations")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    voted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("vote participation")
        verbose_name_plural = _("vote participations")
        constraints = [
            models.UniqueConstraint(fields=["vote", "membership"], name="vote_participation_unique")
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} @ {self.vote_id}"


class VoteCount(models.Model):
    """Votes counted by hand or on paper in the room, entered by the facilitator."""

    class Source(models.TextChoices):
        HAND = "hand", _("Show of hands")
        PAPER = "paper", _("Paper ballots")

    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    vote = models.ForeignKey(Vote, on_delete=models.CASCADE, related_name="counts")
    source = models.CharField(_("source"), max_length=8, choices=Source.choices)
    yes = models.PositiveIntegerField(_("yes"), default=0)
    no = models.PositiveIntegerField(_("no"), default=0)
    abstain = models.PositiveIntegerField(_("abstain"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["vote", "entered_at"]
        verbose_name = _("vote count")
        verbose_name_plural = _("vote counts")
        constraints = [
            models.CheckConstraint(
                condition=Q(source__in=["hand", "paper"]), name="vote_count_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.yes}/{self.no}/{self.abstain}"


class AssemblyEvent(models.Model):
    """Append-only log of what changed, with the shared HTML rendered once for everyone."""

    assembly = models.ForeignKey(Assembly, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    html = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["assembly", "seq"]
        verbose_name = _("assembly event")
        verbose_name_plural = _("assembly events")
        constraints = [
            models.UniqueConstraint(fields=["assembly", "seq"], name="assembly_event_seq_unique")
        ]

    def __str__(self) -> str:
        return f"{self.assembly_id}#{self.seq} {self.kind}"

    def as_message(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "data": self.data, "html": self.html}


from assemblies.minutes.models import *  # noqa: E402,F403
