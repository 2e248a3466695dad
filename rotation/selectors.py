"""Reads with access rules: anything outside the caller's organisations is a 404."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import Membership, Organization
from governance.selectors import members_list, memberships_of
from rotation.adapter import current_assignments, org_zone
from rotation.models import (
    Assignment,
    CalendarToken,
    Post,
    Qualification,
    QualificationGrant,
    Roster,
    Slot,
    SwapRequest,
    Unavailability,
)


def _org_ids(user: Any) -> Any:
    return memberships_of(user).values("organization_id")


def roster_get_for_member(*, user: Any, uuid: Any) -> Roster:
    roster = (
        Roster.objects.filter(organization_id__in=_org_ids(user), uuid=uuid)
        .select_related("organization")
        .first()
    )
    if roster is None:
        raise Http404(_("No such roster."))
    return roster


def assignment_get_for_member(*, user: Any, uuid: Any) -> Assignment:
    a = (
        Assignment.objects.filter(slot__roster__organization_id__in=_org_ids(user), uuid=uuid)
        .select_related("slot__post__workgroup", "slot__roster__organization", "membership__person")
        .first()
    )
    if a is None:
        raise Http404(_("No such assignment."))
    return a


def slot_get_for_member(*, user: Any, uuid: Any) -> Slot:
    s = (
        Slot.objects.filter(roster__organization_id__in=_org_ids(user), uuid=uuid)
        .select_related("post", "roster__organization")
        .first()
    )
    if s is None:
        raise Http404(_("No such slot."))
    return s


def swap_get_for_member(*, user: Any, uuid: Any) -> SwapRequest:
    s = (
        SwapRequest.objects.filter(
            offered__slot__roster__organization_id__in=_org_ids(user), uuid=uuid
        )
        .select_related(
            "offered__slot__post",
            "wanted__slot__post",
            "offered__membership__person",
            "wanted__membership__person",
        )
        .first()
    )
    if s is None:
        raise Http404(_("No such swap."))
    return s


def post_get_for_member(*, user: Any, uuid: Any) -> Post:
    p = Post.objects.filter(organization_id__in=_org_ids(user), uuid=uuid).first()
    if p is None:
        raise Http404(_("No such post or task."))
    return p


def qualification_get_for_member(*, user: Any, uuid: Any) -> Qualification:
    q = Qualification.objects.filter(organization_id__in=_org_ids(user), uuid=uuid).first()
    if q is None:
        raise Http404(_("No such qualification."))
    return q


def membership_in(*, organization: Organization, uuid: Any) -> Membership:
    m = members_list(organization=organization).filter(uuid=uuid).first()
    if m is None:
        raise Http404(_("No such member."))
    return m


def unavailability_get_for_member(*, user: Any, uuid: Any) -> Unavailability:
    u = (
        Unavailability.objects.filter(membership__organization_id__in=_org_ids(user), uuid=uuid)
        .select_related("membership")
        .first()
    )
    if u is None:
        raise Http404(_("No such period."))
    return u


def posts_list(*, organization: Organization) -> QuerySet[Post]:
    return (
        Post.objects.filter(organization=organization)
        .select_related("workgroup")
        .prefetch_related("qualifications")
    )


def rosters_list(*, organization: Organization) -> QuerySet[Roster]:
    return Roster.objects.filter(organization=organization).order_by("-period_start", "-created_at")


def qualifications_list(*, organization: Organization) -> QuerySet[Qualification]:
    return Qualification.objects.filter(organization=organization).prefetch_related(
        "grants__membership__person"
    )


def qualifications_of(*, membership: Membership) -> QuerySet[QualificationGrant]:
    return QualificationGrant.objects.filter(membership=membership).select_related("qualification")


def unavailability_of(*, membership: Membership) -> QuerySet[Unavailability]:
    return Unavailability.objects.filter(membership=membership, ends_at__gt=timezone.now())


def _visible_current() -> Any:
    return current_assignments().select_related("slot__post", "slot__roster", "membership__person")


def my_upcoming(*, membership: Membership, limit: int = 50) -> QuerySet[Assignment]:
    return (
        _visible_current()
        .filter(membership=membership, slot__ends_at__gt=timezone.now())
        .order_by("slot__starts_at")[:limit]
    )


def my_recent(*, membership: Membership, limit: int = 20) -> QuerySet[Assignment]:
    return (
        _visible_current()
        .filter(membership=membership, slot__ends_at__lte=timezone.now())
        .order_by("-slot__starts_at")[:limit]
    )


def swappable(*, membership: Membership) -> QuerySet[Assignment]:
    """My own upcoming turns I could give in exchange."""
    return (
        current_assignments()
        .filter(
            membership=membership, role=Assignment.Role.HOLDER, slot__starts_at__gt=timezone.now()
        )
        .select_related("slot__post")
        .order_by("slot__starts_at")
    )


def offered_slots(*, organization: Organization) -> QuerySet[Assignment]:
    return (
        _visible_current()
        .filter(
            slot__roster__organization=organization,
            state=Assignment.State.OFFERED,
            slot__ends_at__gt=timezone.now(),
        )
        .order_by("slot__starts_at")
    )


def swaps_for(*, membership: Membership) -> QuerySet[SwapRequest]:
    return SwapRequest.objects.filter(
        Q(offered__membership=membership) | Q(wanted__membership=membership),
        state=SwapRequest.State.OPEN,
    ).select_related(
        "offered__slot__post",
        "wanted__slot__post",
        "offered__membership__person",
        "wanted__membership__person",
    )


def slot_current(*, slot: Slot) -> dict[str, Assignment]:
    """The slot's current holder and trainee, by role (either may be missing)."""
    return {
        a.role: a
        for a in current_assignments().filter(slot=slot).select_related("membership__person")
    }


def slot_history(*, slot: Slot) -> QuerySet[Assignment]:
    return slot.assignments.select_related("membership__person").order_by("created_at")


@dataclass
class WeekRow:
    slot: Slot
    holder: Assignment | None
    trainee: Assignment | None


def roster_week(*, roster: Roster, week_start: date) -> list[WeekRow]:
    """The slots that overlap one week (in the organisation's zone), with who holds them."""
    tz = org_zone(roster.organization)
    start = datetime.combine(week_start, datetime.min.time(), tzinfo=tz)
    end = datetime.combine(week_start + timedelta(days=7), datetime.min.time(), tzinfo=tz)
    slots = list(
        roster.slots.filter(starts_at__lt=end, ends_at__gt=start)
        .select_related("post")
        .order_by("starts_at", "post__name", "position")
    )
    by_pk = {s.pk: s for s in slots}
    for s in slots:
        s.roster = roster
    current = current_assignments().filter(slot__in=slots).select_related("membership__person")
    by_slot: dict[int, dict[str, Assignment]] = defaultdict(dict)
    for a in current:
        # The slot (with its post and roster) is already here: one query for the week,
        # not one per row, when the API serialises each assignment with its slot.
        a.slot = by_pk[a.slot_id]
        by_slot[a.slot_id][a.role] = a
    return [
        WeekRow(
            s, by_slot[s.pk].get(Assignment.Role.HOLDER), by_slot[s.pk].get(Assignment.Role.TRAINEE)
        )
        for s in slots
    ]


@dataclass
class RosterWeek:
    """One week of a roster as the roster page shows it, and the weeks around it."""

    week: date
    previous: date | None
    next: date | None
    rows: list[WeekRow]


def roster_week_start(*, roster: Roster, day: date | None) -> date:
    """The Monday of `day`'s week; without a day, this week while the roster runs, else
    its first week."""
    if day is None:
        today = timezone.localdate(timezone=org_zone(roster.organization))
        day = today if roster.period_start <= today <= roster.period_end else roster.period_start
    return day - timedelta(days=day.weekday())


def roster_week_view(*, roster: Roster, day: date | None) -> RosterWeek:
    """The week view shared by the roster page and the API: same slots, same bounds."""
    week = roster_week_start(roster=roster, day=day)
    first_week = roster.period_start - timedelta(days=roster.period_start.weekday())
    after = week + timedelta(days=7)
    return RosterWeek(
        week=week,
        previous=week - timedelta(days=7) if week > first_week else None,
        next=after if after <= roster.period_end else None,
        rows=roster_week(roster=roster, week_start=week),
    )


def unfilled_slots(*, roster: Roster) -> QuerySet[Slot]:
    filled = current_assignments().filter(slot__roster=roster, role=Assignment.Role.HOLDER)
    return (
        roster.slots.exclude(pk__in=filled.values("slot_id"))
        .select_related("post")
        .order_by("starts_at", "post__name")
    )


def gini(values: list[float]) -> float:
    """0 = everyone carries the same load, 1 = one person carries all of it."""
    xs = sorted(v for v in values if v >= 0)
    n = len(xs)
    total = sum(xs)
    if n == 0 or total == 0:
        return 0.0
    weighted = sum((i + 1) * x for i, x in enumerate(xs))
    return (2 * weighted) / (n * total) - (n + 1) / n


@dataclass
class MemberLoad:
    membership: Membership
    turns: int = 0
    burden: Decimal = Decimal(0)
    unpleasant: int = 0
    coordination: int = 0
    learning: int = 0
    missed: int = 0


@dataclass
class FairnessReport:
    start: date
    end: date
    rows: list[MemberLoad]
    gini_burden: float
    gini_coordination: float
    total_coordination: int
    max_coordination_share: float

    def share(self, row: MemberLoad) -> float:
        if not self.total_coordination:
            return 0.0
        return 100.0 * row.coordination / self.total_coordination


def fairness_report(*, organization: Organization, start: date, end: date) -> FairnessReport:
    """Load per member over published rosters (and the proposal, if given, is not counted)."""
    tz = timezone.get_current_timezone()
    start_dt = datetime.combine(start, datetime.min.time(), tzinfo=tz)
    end_dt = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    members = list(members_list(organization=organization))
    rows = {m.pk: MemberLoad(m) for m in members}
    qs = (
        current_assignments()
        .filter(
            slot__roster__organization=organization,
            slot__roster__status=Roster.Status.PUBLISHED,
            slot__starts_at__gte=start_dt,
            slot__starts_at__lt=end_dt,
        )
        .values_list(
            "membership_id",
            "role",
            "attendance",
            "slot__post__burden",
            "slot__post__unpleasant",
            "slot__post__coordination",
        )
    )
    for mid, role, attendance, burden, unpleasant, coordination in qs:
        row = rows.get(mid)
        if row is None:
            continue
        if role == Assignment.Role.TRAINEE:
            row.learning += 1
            continue
        row.turns += 1
        row.burden += burden
        row.unpleasant += int(unpleasant)
        row.coordination += int(coordination)
        row.missed += int(attendance == Assignment.Attendance.MISSED)
    ordered = sorted(rows.values(), key=lambda r: (-r.burden, r.membership.display_name))
    total_coord = sum(r.coordination for r in ordered)
    return FairnessReport(
        start=start,
        end=end,
        rows=ordered,
        gini_burden=gini([float(r.burden) for r in ordered]),
        gini_coordination=gini([float(r.coordination) for r in ordered]),
        total_coordination=total_coord,
        max_coordination_share=max(
            (100.0 * r.coordination / total_coord for r in ordered), default=0.0
        )
        if total_coord
        else 0.0,
    )


def membership_by_token(*, token: str) -> Membership:
    ct = (
        CalendarToken.objects.filter(token=token)
        .exclude(membership__status=Membership.Status.LEFT)
        .select_related("membership__organization", "membership__person")
        .first()
    )
    if ct is None:
        raise Http404(_("No such calendar."))
    return ct.membership


def calendar_assignments(*, membership: Membership) -> QuerySet[Assignment]:
    since = timezone.now() - timedelta(days=60)
    return (
        _visible_current()
        .filter(membership=membership, slot__ends_at__gt=since)
        .exclude(slot__roster__status=Roster.Status.WITHDRAWN)
        .order_by("slot__starts_at")
    )


def roster_assignments(*, roster: Roster) -> QuerySet[Assignment]:
    return _visible_current().filter(slot__roster=roster).order_by("slot__starts_at")
