"""Reads with access rules: what a person may not see is a 404, never a 403."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from assemblies.models import (
    AgendaItem,
    Assembly,
    Attendance,
    Ballot,
    ConsensusRound,
    Position,
    Proposal,
    ProposalVersion,
    SpeakingRequest,
    Vote,
    VoteCount,
)
from governance.models import FederationMembership, Mandate, Membership, RuleSet
from governance.permissions import memberships_for
from governance.selectors import federations_of, memberships_of

# Groups smaller than this are not shown in aggregated speaking statistics, so a
# self-declared attribute held by one or two people does not single them out.
SMALL_GROUP = 3


# --- Access ---------------------------------------------------------------------------------


def assemblies_visible_to(user: Any) -> QuerySet[Assembly]:
    org_ids = memberships_of(user).values("organization_id")
    fed_ids = federations_of(user).values("pk")
    return Assembly.objects.filter(
        Q(organization_id__in=org_ids) | Q(federation_id__in=fed_ids)
    ).select_related("organization", "federation", "current_item")


def assembly_list(
    *, user: Any, organization: Any = None, federation: Any = None
) -> QuerySet[Assembly]:
    qs = assemblies_visible_to(user)
    if organization is not None:
        qs = qs.filter(organization=organization)
    if federation is not None:
        qs = qs.filter(federation=federation)
    return qs.order_by("-starts_at")


def only_row(qs: QuerySet[Any]) -> Any:
    """The row of a lookup by a unique key, or None, with no ORDER BY at all: `.first()`
    orders by the model's default (whose related orderings join other tables) or by pk,
    and compiling either was a fifth of each hot lookup's CPU in a vote storm."""
    rows = list(qs.order_by()[:1])
    return rows[0] if rows else None


PAGE_RELATED = ("organization", "federation", "current_item")


def assembly_get_for_member(
    *, user: Any, uuid: Any, related: Sequence[str] = PAGE_RELATED
) -> Assembly:
    """The assembly if this person may take part in it, else 404. The same answer as
    `assemblies_visible_to` for one assembly, by the one membership lookup the services
    need next anyway (kept on the instance): this runs first on every position of a storm.

    `related`: what to fetch with it. Pages need the body and the current item; a position
    or a ballot needs neither, and joining them cost ~0.8 ms a request (of ~20 ms of server
    CPU per position in a storm)."""
    qs = Assembly.objects.filter(uuid=uuid)
    if related:  # select_related() with no names would follow every relation
        qs = qs.select_related(*related)
    assembly: Assembly | None = only_row(qs)
    if assembly is None or membership_for(user=user, assembly=assembly, remember=True) is None:
        raise Http404(_("No such assembly."))
    return assembly


_MEMBERSHIP_CACHE = "_membership_of_person"


def membership_for(*, user: Any, assembly: Assembly, remember: bool = False) -> Membership | None:
    """The membership through which this person takes part (None: not a member).

    With `remember`, kept on this assembly instance for the person: only for an instance
    fetched for one request (`assembly_get_for_member`), which lives no longer than it.
    """
    cache: dict[int, Membership | None] = assembly.__dict__.get(_MEMBERSHIP_CACHE, {})
    key = getattr(user, "pk", None)
    if key is not None and key in cache:
        return cache[key]
    found = memberships_for(user, assembly.governance_scope())
    chosen: Membership | None = None
    if found and assembly.organization_id is not None:
        chosen = found[0]
    elif found:
        # In a federation assembly, a person in several member organisations takes part once.
        chosen = sorted(found, key=lambda m: (m.organization_id, m.pk))[0]
    if chosen is not None:
        chosen.person = user  # it is this person's membership: no second query for the name
    if remember and key is not None:
        assembly.__dict__.setdefault(_MEMBERSHIP_CACHE, {})[key] = chosen
    return chosen


def item_get(*, assembly: Assembly, uuid: Any) -> AgendaItem:
    item = AgendaItem.objects.filter(assembly=assembly, uuid=uuid).first()
    if item is None:
        raise Http404(_("No such agenda item."))
    return item


def proposal_get(*, assembly: Assembly, uuid: Any) -> Proposal:
    p = Proposal.objects.filter(assembly=assembly, uuid=uuid).select_related("item").first()
    if p is None:
        raise Http404(_("No such proposal."))
    return p


def round_get(*, assembly: Assembly, uuid: Any) -> ConsensusRound:
    r: ConsensusRound | None = only_row(
        ConsensusRound.objects.filter(proposal__assembly=assembly, uuid=uuid).select_related(
            "proposal"
        )
    )
    if r is None:
        raise Http404(_("No such round."))
    r.proposal.assembly = assembly  # the filter above made sure; spares the services a fetch
    return r


def vote_get(*, assembly: Assembly, uuid: Any) -> Vote:
    v: Vote | None = only_row(
        Vote.objects.filter(proposal__assembly=assembly, uuid=uuid).select_related("proposal")
    )
    if v is None:
        raise Http404(_("No such vote."))
    v.proposal.assembly = assembly  # as in round_get
    return v


def position_get(*, assembly: Assembly, uuid: Any) -> Position:
    p = (
        Position.objects.filter(round__proposal__assembly=assembly, uuid=uuid)
        .select_related("round__proposal", "membership__person")
        .first()
    )
    if p is None:
        raise Http404(_("No such position."))
    return p


def speaking_request_get(*, assembly: Assembly, uuid: Any) -> SpeakingRequest:
    r = (
        SpeakingRequest.objects.filter(assembly=assembly, uuid=uuid)
        .select_related("membership__person", "item")
        .first()
    )
    if r is None:
        raise Http404(_("No such request to speak."))
    return r


def eligible_memberships(*, assembly: Assembly) -> QuerySet[Membership]:
    """Everyone who may take part: members of the organisation, or of the federation's
    organisations."""
    qs = Membership.objects.exclude(status=Membership.Status.LEFT)
    if assembly.organization_id is not None:
        return qs.filter(organization_id=assembly.organization_id)
    today = timezone.localdate()
    org_ids = FederationMembership.objects.filter(
        Q(end__isnull=True) | Q(end__gte=today),
        federation_id=assembly.federation_id,  # type: ignore[misc]
        start__lte=today,
    ).values("organization_id")
    return qs.filter(organization_id__in=org_ids)


def member_find(*, assembly: Assembly, query: str) -> list[Membership]:
    """For a facilitator checking in someone without a phone: by member number or name."""
    query = query.strip()
    if not query:
        return []
    qs = eligible_memberships(assembly=assembly).select_related("person", "organization")
    exact = list(qs.filter(member_number=query))
    if exact:
        return exact
    for word in query.split()[:4]:
        qs = qs.filter(
            Q(person__first_name__icontains=word)
            | Q(person__last_name__icontains=word)
            | Q(person__username__iexact=word)
        )
    return list(qs[:20])


def mandate_holders(*, assembly: Assembly, at: datetime | None = None) -> list[Mandate]:
    """Who facilitates and keeps the minutes now: organisation-wide mandates (a rotation
    roster grants these), mandates for this one assembly, or, for a federation, its own."""
    at = at or timezone.now()
    qs = Mandate.objects.filter(
        Q(revoked_at__isnull=True) | Q(revoked_at__gt=at),
        role__in=[Mandate.Role.FACILITATOR, Mandate.Role.MINUTE_TAKER],
        starts_at__lte=at,
        ends_at__gt=at,
        membership__status=Membership.Status.ACTIVE,
    )
    if assembly.organization_id is not None:
        qs = qs.filter(
            Q(scope_kind=Mandate.ScopeKind.ORGANIZATION)
            | Q(scope_kind=Mandate.ScopeKind.OBJECT, object_uuid=assembly.uuid),
            membership__organization_id=assembly.organization_id,  # type: ignore[misc]
        )
    else:
        qs = qs.filter(
            Q(scope_kind=Mandate.ScopeKind.FEDERATION, federation_id=assembly.federation_id)
            | Q(
                scope_kind=Mandate.ScopeKind.OBJECT,
                object_uuid=assembly.uuid,
                source_decision__federation_id=assembly.federation_id,
            )
        )
    return list(qs.select_related("membership__person").order_by("role", "ends_at"))


# --- Rules and quorum -----------------------------------------------------------------------


def rules_of(assembly: Assembly) -> RuleSet:
    """The snapshot as an unsaved RuleSet, so its methods (quorum) apply unchanged."""
    values = dict(assembly.rules or {})
    values.pop("version", None)
    known = {f.name for f in RuleSet._meta.concrete_fields}
    return RuleSet(**{k: v for k, v in values.items() if k in known})


@dataclass(frozen=True)
class AttendanceSummary:
    present: int
    members: int
    quorum: int

    @property
    def quorum_met(self) -> bool:
        return self.present >= self.quorum

    def as_dict(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "members": self.members,
            "quorum": self.quorum,
            "quorum_met": self.quorum_met,
        }


def present_attendances(*, assembly: Assembly) -> QuerySet[Attendance]:
    return (
        Attendance.objects.filter(assembly=assembly, checked_out_at__isnull=True)
        .select_related("membership__person", "membership__organization")
        .order_by("checked_in_at", "id")
    )


def attendance_summary(*, assembly: Assembly) -> AttendanceSummary:
    present = Attendance.objects.filter(assembly=assembly, checked_out_at__isnull=True).count()
    members = (
        eligible_memberships(assembly=assembly).filter(status=Membership.Status.ACTIVE).count()
    )
    return AttendanceSummary(
        present=present, members=members, quorum=rules_of(assembly).quorum_for(members)
    )


def attendance_snapshot(*, assembly: Assembly, at: datetime | None = None) -> dict[str, Any]:
    """Frozen with a decision: who was present, how many were needed."""
    summary = attendance_summary(assembly=assembly)
    people = [
        {
            "membership": str(a.membership.uuid),
            "name": a.membership.display_name,
            "member_number": a.membership.member_number,
            "organization": a.membership.organization.name,
        }
        for a in present_attendances(assembly=assembly)
    ]
    return {
        **summary.as_dict(),
        "people": people,
        "assembly": str(assembly.uuid),
        "rules_version": (assembly.rules or {}).get("version"),
        "at": (at or timezone.now()).isoformat(),
    }


def is_present(*, assembly: Assembly, membership: Membership) -> bool:
    return Attendance.objects.filter(
        assembly=assembly, membership=membership, checked_out_at__isnull=True
    ).exists()


# --- Speaking queue -------------------------------------------------------------------------


@dataclass
class SpeakerHistory:
    on_item: int = 0
    contributions: int = 0
    seconds: int = 0


@dataclass
class QueueEntry:
    request: SpeakingRequest
    place: int
    reason: str


def _histories(assembly: Assembly, item: AgendaItem) -> dict[int, SpeakerHistory]:
    histories: dict[int, SpeakerHistory] = defaultdict(SpeakerHistory)
    spoken = SpeakingRequest.objects.filter(
        assembly=assembly, state__in=[SpeakingRequest.State.DONE, SpeakingRequest.State.SPEAKING]
    ).only("membership_id", "item_id", "started_at", "ended_at", "state")
    for r in spoken:
        h = histories[r.membership_id]
        h.contributions += 1
        h.seconds += r.seconds
        if r.item_id == item.pk:
            h.on_item += 1
    return histories


_JUMP_ORDER = {SpeakingRequest.Kind.PROCESS: 0, SpeakingRequest.Kind.CLARIFICATION: 1}


def queue(*, assembly: Assembly, item: AgendaItem | None = None) -> list[QueueEntry]:
    """The waiting list in speaking order, with each person's reason for their place."""
    item = item or assembly.current_item
    if item is None:
        return []
    waiting = list(
        SpeakingRequest.objects.filter(item=item, state=SpeakingRequest.State.WAITING)
        .select_related("membership__person")
        .order_by("requested_at", "id")
    )
    if not waiting:
        return []
    progressive = assembly.progressive_stack
    histories = _histories(assembly, item) if progressive else {}

    def key(r: SpeakingRequest) -> tuple[Any, ...]:
        jump = _JUMP_ORDER.get(r.kind, 2)  # type: ignore[call-overload]
        if jump < 2 or not progressive:
            return (jump, 0, 0, 0, r.requested_at, r.pk)
        h = histories.get(r.membership_id, SpeakerHistory())
        return (jump, min(h.on_item, 1), h.contributions, h.seconds, r.requested_at, r.pk)

    waiting.sort(key=key)
    entries = []
    for place, r in enumerate(waiting, start=1):
        if r.kind == SpeakingRequest.Kind.PROCESS:
            reason = _("Point of process: goes first")
        elif r.kind == SpeakingRequest.Kind.CLARIFICATION:
            reason = _("Clarification: goes before other speakers")
        elif not progressive:
            reason = _("In the order hands were raised")
        else:
            h = histories.get(r.membership_id, SpeakerHistory())
            if h.on_item == 0 and h.contributions == 0:
                reason = _("Has not spoken yet in this assembly")
            elif h.on_item == 0:
                reason = _("Has not spoken on this item yet")
            else:
                reason = ngettext(
                    "Has spoken %(n)d time (%(min)d min)",
                    "Has spoken %(n)d times (%(min)d min)",
                    h.contributions,
                ) % {"n": h.contributions, "min": h.seconds // 60}
        entries.append(QueueEntry(request=r, place=place, reason=reason))
    return entries


def queue_place(*, assembly: Assembly, membership: Membership) -> QueueEntry | None:
    for entry in queue(assembly=assembly):
        if entry.request.membership_id == membership.pk:
            return entry
    return None


def current_speaker(*, assembly: Assembly) -> SpeakingRequest | None:
    if assembly.current_item_id is None:
        return None
    return (
        SpeakingRequest.objects.filter(
            item_id=assembly.current_item_id, state=SpeakingRequest.State.SPEAKING
        )
        .select_related("membership__person")
        .first()
    )


@dataclass
class SpeakingStats:
    people: list[dict[str, Any]] = field(default_factory=list)
    by_attribute: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    total_count: int = 0
    total_seconds: int = 0


def speaking_stats(*, assembly: Assembly, item: AgendaItem | None = None) -> SpeakingStats:
    """Counts and time per person, and per self-declared attribute with small groups hidden."""
    qs = SpeakingRequest.objects.filter(
        assembly=assembly, state__in=[SpeakingRequest.State.DONE, SpeakingRequest.State.SPEAKING]
    ).select_related("membership__person")
    if item is not None:
        qs = qs.filter(item=item)
    per: dict[int, dict[str, Any]] = {}
    for r in qs:
        row = per.setdefault(
            r.membership_id,
            {"membership": r.membership, "count": 0, "seconds": 0},
        )
        row["count"] += 1
        row["seconds"] += r.seconds
    stats = SpeakingStats()
    stats.people = sorted(per.values(), key=lambda row: (-row["seconds"], -row["count"]))
    stats.total_count = sum(row["count"] for row in per.values())
    stats.total_seconds = sum(row["seconds"] for row in per.values())
    # Attribute groups count present participants too, so silence is visible as well.
    participants = {
        a.membership_id: a.membership
        for a in Attendance.objects.filter(assembly=assembly).select_related("membership")
    }
    for row in per.values():
        participants.setdefault(row["membership"].pk, row["membership"])
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for mid, m in participants.items():
        for attr, value in (m.attributes or {}).items():
            if not value:
                continue
            g = groups.setdefault(
                (str(attr), str(value)),
                {"value": str(value), "people": set(), "count": 0, "seconds": 0},
            )
            g["people"].add(mid)
            if mid in per:
                g["count"] += per[mid]["count"]
                g["seconds"] += per[mid]["seconds"]
    by_attr: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (attr, _value), g in sorted(groups.items()):
        size = len(g["people"])
        if size < SMALL_GROUP:
            by_attr[attr].append(
                {
                    "value": g["value"],
                    "suppressed": True,
                    "people": None,
                    "count": None,
                    "seconds": None,
                }
            )
        else:
            by_attr[attr].append(
                {
                    "value": g["value"],
                    "suppressed": False,
                    "people": size,
                    "count": g["count"],
                    "seconds": g["seconds"],
                }
            )
    stats.by_attribute = dict(by_attr)
    return stats


# --- Proposals, rounds and votes ------------------------------------------------------------


def proposals_for_item(*, item: AgendaItem | None) -> list[Proposal]:
    if item is None:
        return []
    return list(
        Proposal.objects.filter(item=item)
        .select_related("proposed_by__person", "decision")
        .prefetch_related(
            Prefetch("versions", queryset=ProposalVersion.objects.order_by("number")),
            Prefetch("rounds", queryset=ConsensusRound.objects.order_by("number")),
            Prefetch("votes", queryset=Vote.objects.order_by("number")),
        )
        .order_by("created_at", "id")
    )


def open_round(*, assembly: Assembly) -> ConsensusRound | None:
    return (
        ConsensusRound.objects.filter(proposal__assembly=assembly, closed_at__isnull=True)
        .select_related("proposal", "version")
        .order_by("-opened_at")
        .first()
    )


def open_vote(*, assembly: Assembly) -> Vote | None:
    return (
        Vote.objects.filter(proposal__assembly=assembly, closed_at__isnull=True)
        .select_related("proposal", "version")
        .order_by("-opened_at")
        .first()
    )


def current_positions(*, round: ConsensusRound) -> list[Position]:
    return list(
        Position.objects.filter(round=round, superseded_at__isnull=True)
        .select_related("membership__person")
        .order_by("stated_at", "id")
    )


def round_tally(
    *, round: ConsensusRound, positions: list[Position] | None = None
) -> dict[str, int]:
    counts: dict[str, int]
    if positions is None:
        # One grouped count: the tally is rendered on every position, in rooms of 1,300.
        rows = (
            Position.objects.filter(round=round, superseded_at__isnull=True)
            .values("stance")
            .annotate(n=Count("id"))
            .order_by()
        )
        counts = {row["stance"]: row["n"] for row in rows}
    else:
        counts = dict(Counter(p.stance for p in positions))
    return {s: counts.get(s, 0) for s in Position.Stance.values}


def positions_with_reasons(*, round: ConsensusRound) -> list[Position]:
    """Current concerns, stand-asides and blocks: shown with names and reasons (agreements
    are only counted, so the shared region stays small however many agree)."""
    return list(
        Position.objects.filter(round=round, superseded_at__isnull=True)
        .exclude(stance=Position.Stance.AGREE)
        .select_related("membership__person")
        .order_by("stated_at", "id")
    )


def my_position(*, round: ConsensusRound, membership: Membership) -> Position | None:
    return only_row(
        Position.objects.filter(round=round, membership=membership, superseded_at__isnull=True)
    )


def position_history(*, round: ConsensusRound) -> list[Position]:
    return list(
        Position.objects.filter(round=round)
        .select_related("membership__person")
        .order_by("membership_id", "stated_at", "id")
    )


def vote_tally(*, vote: Vote) -> dict[str, Any]:
    """Phone ballots plus counts entered by the facilitator. `hidden` is true while a secret
    vote is open: its running tally is not shown, or the moment a tally moves would tell
    the room (and the event log) how the person who just voted chose."""
    if vote.secret:
        yes, no, abstain = Vote.objects.values_list(
            "secret_yes", "secret_no", "secret_abstain"
        ).get(pk=vote.pk)
        phone = {"yes": yes, "no": no, "abstain": abstain}
    else:
        phone = {
            row["choice"]: row["n"]
            for row in Ballot.objects.filter(vote=vote)
            .values("choice")
            .annotate(n=Count("id"))
            .order_by()
        }
    room = {"yes": 0, "no": 0, "abstain": 0}
    for c in VoteCount.objects.filter(vote=vote):
        room["yes"] += c.yes
        room["no"] += c.no
        room["abstain"] += c.abstain
    total = {k: phone.get(k, 0) + room[k] for k in ("yes", "no", "abstain")}
    return {
        "phone": {k: phone.get(k, 0) for k in ("yes", "no", "abstain")},
        "room": room,
        "total": total,
        "voters": vote.participations.count(),
        "hidden": vote.secret and vote.closed_at is None,
    }


def vote_result(*, vote: Vote, tally: dict[str, Any]) -> bool:
    """Adopted? Abstentions do not count; a majority needs more than half of yes + no, a
    supermajority at least its percentage."""
    yes, no = tally["total"]["yes"], tally["total"]["no"]
    if yes + no == 0:
        return False
    if vote.rule == Vote.Rule.MAJORITY:
        return yes * 100 > vote.threshold_percent * (yes + no)
    return yes * 100 >= vote.threshold_percent * (yes + no)


def has_voted(*, vote: Vote, membership: Membership) -> bool:
    return vote.participations.filter(membership=membership).exists()


def my_ballot(*, vote: Vote, membership: Membership) -> Ballot | None:
    """Only for open votes: a secret ballot is not linked to anyone."""
    if vote.secret:
        return None
    return Ballot.objects.filter(vote=vote, membership=membership).first()
