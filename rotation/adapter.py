"""From the database to the engine's plain data and back: the only place that knows both."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Q

from governance.models import Membership, Organization, RuleSet, WorkgroupMember
from rotation import engine
from rotation.models import Assignment, Post, QualificationGrant, Roster, Slot, Unavailability

FAIRNESS_WINDOW_DAYS = 365
FAIRNESS_WINDOW_MONTHS = 12


def ts(dt: datetime) -> int:
    return int(dt.timestamp())


def org_zone(organization: Organization) -> ZoneInfo:
    try:
        return ZoneInfo(organization.time_zone)
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


def lane_of(post: Post) -> str:
    if post.cadence in (Post.Cadence.SHIFT, Post.Cadence.DAY):
        return engine.TIME_LANE
    return "post" if post.kind == Post.Kind.POST else "task"


def cadence_of(post: Post, ruleset: RuleSet | None) -> engine.Cadence:
    return engine.Cadence(
        cadence=post.cadence,
        term_length=post.term_length,
        shift_start=post.shift_start,
        shift_hours=post.shift_hours,
        term_days=ruleset.default_term_days if ruleset else 180,
    )


def scope_ids(post: Post) -> tuple[int, ...]:
    if post.workgroup_id is not None:
        in_group = WorkgroupMember.objects.filter(workgroup_id=post.workgroup_id).exclude(
            membership__status=Membership.Status.LEFT
        )
        return tuple(sorted(in_group.values_list("membership_id", flat=True)))
    qs = Membership.objects.filter(organization_id=post.organization_id).exclude(
        status=Membership.Status.LEFT
    )
    return tuple(sorted(qs.values_list("pk", flat=True)))


def coordination_percent(ruleset: RuleSet | None) -> int | None:
    """The organisation's cap on one person's share of all coordination (its rules are
    changed only by an assembly decision); without rules, no overall cap."""
    return ruleset.max_coordination_share if ruleset is not None else None


def post_spec(post: Post, ruleset: RuleSet | None, scope: tuple[int, ...]) -> engine.PostSpec:
    if post.cooldown_terms is not None:
        cooldown = post.cooldown_terms
    else:
        cooldown = ruleset.cooldown_terms if ruleset and post.kind == Post.Kind.POST else 0
    share = post.max_share_percent
    if share is None and post.coordination and ruleset is not None:
        share = ruleset.max_coordination_share
    lane = lane_of(post)
    return engine.PostSpec(
        id=post.pk,
        scope=scope,
        headcount=post.headcount,
        lane=lane,
        burden=float(post.burden),
        unpleasant=post.unpleasant,
        coordination=post.coordination,
        shadowing=post.shadowing,
        rest_seconds=post.rest_hours * 3600 if lane == engine.TIME_LANE else 0,
        quals=frozenset(q.pk for q in post.qualifications.all()),
        max_consecutive=post.max_consecutive_terms,
        cooldown=cooldown,
        max_share_percent=share,
    )


def current_assignments() -> Any:
    """Assignments that count: not replaced, in a roster that was not withdrawn."""
    return Assignment.objects.exclude(state=Assignment.State.REPLACED).exclude(
        slot__roster__status=Roster.Status.WITHDRAWN
    )


def member_specs(
    *,
    organization: Organization,
    member_ids: set[int],
    start: datetime,
    end: datetime,
    exclude_roster: Roster | None = None,
    exclude_assignments: set[int] = frozenset(),  # type: ignore[assignment]
    include_roster: Roster | None = None,
) -> dict[int, engine.MemberSpec]:
    """Each person's qualifications, leave, unavailability, bookings and carried-over load."""
    members: dict[int, engine.MemberSpec] = {}
    for mid, status in Membership.objects.filter(pk__in=member_ids).values_list("pk", "status"):
        members[mid] = engine.MemberSpec(id=mid, on_leave=status == Membership.Status.ON_LEAVE)
    for mid, since, until, qid in QualificationGrant.objects.filter(
        membership_id__in=member_ids
    ).values_list("membership_id", "granted_at", "expires_at", "qualification_id"):
        members[mid].quals[qid] = (ts(since), ts(until) if until else None)
    for mid, s, e in Unavailability.objects.filter(
        membership_id__in=member_ids, ends_at__gt=start, starts_at__lt=end
    ).values_list("membership_id", "starts_at", "ends_at"):
        members[mid].unavailable.append((ts(s), ts(e)))

    window_start = start - timedelta(days=FAIRNESS_WINDOW_DAYS)
    assignments = current_assignments().filter(
        membership_id__in=member_ids, slot__roster__organization=organization
    )
    counted = Q(slot__roster__status=Roster.Status.PUBLISHED)
    if include_roster is not None:
        counted |= Q(slot__roster=include_roster)
    assignments = assignments.filter(counted)
    if exclude_roster is not None:
        assignments = assignments.exclude(slot__roster=exclude_roster)
    if exclude_assignments:
        assignments = assignments.exclude(pk__in=exclude_assignments)
    rows = assignments.filter(
        slot__ends_at__gt=window_start, slot__starts_at__lt=end + timedelta(days=2)
    ).values_list(
        "membership_id",
        "role",
        "attendance",
        "slot__starts_at",
        "slot__ends_at",
        "slot__term_index",
        "slot__post_id",
        "slot__post__cadence",
        "slot__post__kind",
        "slot__post__rest_hours",
        "slot__post__burden",
        "slot__post__unpleasant",
        "slot__post__coordination",
    )
    for (
        mid,
        role,
        attendance,
        s,
        e,
        term,
        pid,
        cadence,
        kind,
        rest,
        burden,
        unpleasant,
        coordination,
    ) in rows:
        m = members[mid]
        lane = (
            engine.TIME_LANE
            if cadence in ("shift", "day")
            else ("post" if kind == "post" else "task")
        )
        if e > start - timedelta(days=2):
            rest_s = rest * 3600 if lane == engine.TIME_LANE else 0
            m.bookings.append(engine.Booking(ts(s), ts(e), lane, rest_s))
        if role == Assignment.Role.TRAINEE:
            m.learning += 1
            continue
        m.held_terms.setdefault(pid, set()).add(term)
        if s >= start or attendance == Assignment.Attendance.MISSED:
            continue
        m.group_counts[f"post:{pid}"] = m.group_counts.get(f"post:{pid}", 0) + 1
        m.burden += float(burden)
        m.unpleasant += int(unpleasant)
        m.coordination += int(coordination)
    return members


def takeovers(posts: list[Post], first_terms: dict[int, int]) -> dict[tuple[int, int], int]:
    """Trainees who shadowed the term just before this roster take the post over."""
    out: dict[tuple[int, int], int] = {}
    q = Q()
    for post in posts:
        if post.shadowing and post.pk in first_terms:
            q |= Q(slot__post_id=post.pk, slot__term_index=first_terms[post.pk] - 1)
    if not q:
        return out
    rows = (
        current_assignments()
        .filter(q, role=Assignment.Role.TRAINEE, slot__roster__status=Roster.Status.PUBLISHED)
        .values_list("slot__post_id", "slot__position", "membership_id")
    )
    for pid, position, mid in rows:
        out[(pid, position)] = mid
    return out


def build_problem(
    *,
    organization: Organization,
    posts: list[Post],
    first: date,
    last: date,
    ruleset: RuleSet | None,
    exclude_roster: Roster | None = None,
) -> tuple[engine.Problem, dict[tuple[int, int, int], tuple[datetime, datetime]]]:
    tz = org_zone(organization)
    specs: dict[int, engine.PostSpec] = {}
    slots: list[engine.SlotSpec] = []
    times: dict[tuple[int, int, int], tuple[datetime, datetime]] = {}
    first_terms: dict[int, int] = {}
    all_ids: set[int] = set()
    for post in posts:
        scope = scope_ids(post)
        all_ids.update(scope)
        specs[post.pk] = post_spec(post, ruleset, scope)
        for start, end, term in engine.expand(cadence_of(post, ruleset), first, last, tz):
            first_terms.setdefault(post.pk, term)
            for position in range(1, post.headcount + 1):
                key = (post.pk, term, position)
                times[key] = (start, end)
                slots.append(engine.SlotSpec(key, post.pk, ts(start), ts(end), term, position))
    start_dt = datetime.combine(first, datetime.min.time(), tzinfo=tz)
    end_dt = datetime.combine(last + timedelta(days=1), datetime.min.time(), tzinfo=tz)
    if times:
        end_dt = max(end_dt, max(e for _, e in times.values()))
    members = member_specs(
        organization=organization,
        member_ids=all_ids,
        start=start_dt,
        end=end_dt,
        exclude_roster=exclude_roster,
    )
    problem = engine.Problem(
        posts=specs,
        members=members,
        slots=slots,
        takeover=takeovers(posts, first_terms),
        window_months=FAIRNESS_WINDOW_MONTHS,
        seed=organization.pk,
        coordination_share_percent=coordination_percent(ruleset),
    )
    return problem, times


def store_result(
    *,
    roster: Roster,
    times: dict[tuple[int, int, int], tuple[datetime, datetime]],
    result: engine.Result,
) -> None:
    """Save the engine's result as the roster's slots and assignments, and its report.
    Slots are keyed (post id, term, position) as `build_problem` made them. The caller
    holds the transaction (`roster_generate`, and `bench.rotation`, which times this)."""
    unfilled = {u.slot_id: u for u in result.unfilled}
    Slot.objects.bulk_create(
        [
            Slot(
                roster=roster,
                post_id=key[0],
                term_index=key[1],
                position=key[2],
                starts_at=start,
                ends_at=end,
                unfilled_reasons=list(unfilled[key].reasons) if key in unfilled else [],
            )
            for key, (start, end) in times.items()
        ],
        batch_size=2000,
    )
    # Read back rather than rely on bulk_create setting primary keys, which not every
    # database backend does.
    by_key = {
        (post_id, term, position): pk
        for pk, post_id, term, position in Slot.objects.filter(roster=roster).values_list(
            "pk", "post_id", "term_index", "position"
        )
    }
    Assignment.objects.bulk_create(
        [
            Assignment(
                slot_id=by_key[p.slot_id],
                membership_id=p.member_id,
                role=p.role,
                explanation=list(p.explanation),
            )
            for p in result.picks
        ],
        batch_size=2000,
    )
    roster.report = {
        "slots": len(times),
        "filled": sum(1 for p in result.picks if p.role == "holder"),
        "unfilled": len(result.unfilled),
    }
    roster.save(update_fields=["report"])


def slot_spec(slot: Slot) -> engine.SlotSpec:
    return engine.SlotSpec(
        slot.pk, slot.post_id, ts(slot.starts_at), ts(slot.ends_at), slot.term_index, slot.position
    )


# How far past a stored roster's end later published terms still count (cooldowns), the
# same horizon the services use when they re-check a single change.
RECHECK_AHEAD_DAYS = 400


def stored_problem(
    *, roster: Roster, ruleset: RuleSet | None
) -> tuple[engine.Problem, dict[engine.Pick, Assignment]]:
    """A stored roster as the engine sees it today: its slots, its current assignments as
    picks, and each person's leave, unavailability, qualifications, scope and bookings in
    published rosters as they are now (this roster's own turns are replayed, not loaded)."""
    slot_rows = list(
        Slot.objects.filter(roster=roster).values_list(
            "pk", "post_id", "starts_at", "ends_at", "term_index", "position"
        )
    )
    slots = [
        engine.SlotSpec(pk, post_id, ts(s), ts(e), term, position)
        for pk, post_id, s, e, term, position in slot_rows
    ]
    posts = Post.objects.filter(pk__in={row[1] for row in slot_rows}).prefetch_related(
        "qualifications"
    )
    specs = {p.pk: post_spec(p, ruleset, scope_ids(p)) for p in posts}
    assignments = {
        a.pk: a
        for a in current_assignments()
        .filter(slot__roster=roster)
        .select_related("slot__post", "membership__person")
    }
    picks = {engine.Pick(a.slot_id, a.membership_id, a.role, ()): a for a in assignments.values()}
    members: dict[int, engine.MemberSpec] = {}
    if slot_rows and assignments:
        members = member_specs(
            organization=roster.organization,
            member_ids={a.membership_id for a in assignments.values()},
            start=min(row[2] for row in slot_rows),
            end=max(row[3] for row in slot_rows) + timedelta(days=RECHECK_AHEAD_DAYS),
        )
    problem = engine.Problem(
        posts=specs,
        members=members,
        slots=slots,
        window_months=FAIRNESS_WINDOW_MONTHS,
        coordination_share_percent=coordination_percent(ruleset),
    )
    return problem, picks
