"""Every write in rotation: keyword-only, transactional, permission-checked, audited."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from governance import services as gov
from governance.audit import audit
from governance.models import Decision, Mandate, Membership, Organization, Workgroup
from governance.permissions import may, require
from rotation import adapter, engine
from rotation.models import (
    Assignment,
    Attestation,
    CalendarToken,
    Post,
    Qualification,
    QualificationGrant,
    Roster,
    Slot,
    SwapRequest,
    Unavailability,
)
from rotation.texts import reason_text

MAX_ROSTER_DAYS = 400
# A publication refused for broken rules lists this many slots; the rest are counted.
REPORT_LINES = 30


def _membership(user: Any, organization: Organization) -> Membership:
    m = (
        Membership.objects.filter(person=user, organization=organization)
        .exclude(status=Membership.Status.LEFT)
        .first()
    )
    if m is None:
        raise PermissionDenied(_("Only members can do this."))
    return m


def _rules(organization: Organization) -> Any:
    try:
        return gov.rules_in_force(organization=organization)
    except Exception:  # noqa: BLE001 - an organisation without rules uses the defaults
        return None


# --- Qualifications -------------------------------------------------------------------------


@transaction.atomic
def qualification_create(
    *,
    actor: Any,
    organization: Organization,
    name: str,
    description: str = "",
    attestations_required: int = 2,
    valid_days: int | None = None,
) -> Qualification:
    require(actor, "rotation.coordinate", organization)
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the qualification a name.")})
    if Qualification.objects.filter(organization=organization, name=name).exists():
        raise ValidationError({"name": _("A qualification with this name already exists.")})
    if attestations_required < 1:
        raise ValidationError({"attestations_required": _("At least one attestation.")})
    q = Qualification.objects.create(
        organization=organization,
        name=name,
        description=description,
        attestations_required=attestations_required,
        valid_days=valid_days,
    )
    audit(
        actor=actor,
        action="rotation.qualification_create",
        organization=organization,
        obj=q,
        name=name,
    )
    return q


def _valid_holders(qualification: Qualification, at: datetime) -> Any:
    return (
        QualificationGrant.objects.filter(qualification=qualification, granted_at__lte=at)
        .exclude(expires_at__lte=at)
        .exclude(membership__status=Membership.Status.LEFT)
    )


@transaction.atomic
def qualification_attest(
    *,
    actor: Any,
    qualification: Qualification,
    candidate: Membership,
    note: str = "",
) -> QualificationGrant | None:
    """A qualified peer vouches for a candidate; with enough attestations the candidate is
    qualified (or renewed). While nobody holds it yet, a roster coordinator's word counts."""
    org = qualification.organization
    attester = _membership(actor, org)
    if candidate.organization_id != org.pk or candidate.status == Membership.Status.LEFT:
        raise ValidationError(_("The candidate must be a member of the organisation."))
    if attester.pk == candidate.pk:
        raise ValidationError(_("You cannot attest your own qualification."))
    now = timezone.now()
    holders = _valid_holders(qualification, now)
    bootstrap = not holders.exists()
    if bootstrap:
        require(actor, "rotation.coordinate", org)
    elif not holders.filter(membership=attester).exists():
        raise PermissionDenied(_("Only members who hold this qualification can attest it."))
    try:
        with transaction.atomic():
            Attestation.objects.create(
                qualification=qualification, candidate=candidate, attester=attester, note=note
            )
    except IntegrityError as exc:
        raise ValidationError(_("You already attested this person.")) from exc
    audit(
        actor=actor,
        action="rotation.qualification_attest",
        organization=org,
        obj=qualification,
        candidate=candidate.member_number,
    )
    open_ = Attestation.objects.filter(
        qualification=qualification, candidate=candidate, grant__isnull=True
    )
    needed = 1 if bootstrap else min(qualification.attestations_required, holders.count())
    if open_.count() < needed:
        return None
    expires = now + timedelta(days=qualification.valid_days) if qualification.valid_days else None
    grant, _created = QualificationGrant.objects.update_or_create(
        qualification=qualification,
        membership=candidate,
        defaults={"granted_at": now, "expires_at": expires},
    )
    open_.update(grant=grant)
    audit(
        actor=actor,
        action="rotation.qualification_grant",
        organization=org,
        obj=grant,
        qualification=qualification.name,
        member=candidate.member_number,
        expires=expires,
    )
    return grant


# --- Posts and availability -----------------------------------------------------------------


@dataclass
class PostData:
    name: str
    kind: str = Post.Kind.TASK
    role: str = ""
    workgroup: Workgroup | None = None
    headcount: int = 1
    cadence: str = Post.Cadence.WEEK
    term_length: int = 1
    shift_start: time | None = None
    shift_hours: int = 8
    rest_hours: int = 11
    burden: Decimal = Decimal("1")
    unpleasant: bool = False
    coordination: bool = False
    shadowing: bool = False
    max_consecutive_terms: int = 1
    cooldown_terms: int | None = None
    max_share_percent: int | None = None
    qualifications: tuple[Qualification, ...] = ()


@transaction.atomic
def post_create(*, actor: Any, organization: Organization, data: PostData) -> Post:
    require(actor, "rotation.coordinate", organization)
    if data.workgroup is not None and data.workgroup.organization_id != organization.pk:
        raise ValidationError({"workgroup": _("The workgroup must be of this organisation.")})
    if Post.objects.filter(organization=organization, name=data.name.strip()).exists():
        raise ValidationError({"name": _("A post or task with this name already exists.")})
    if data.kind == Post.Kind.TASK and data.role:
        raise ValidationError({"role": _("Only posts carry a mandate.")})
    if data.cadence == Post.Cadence.SHIFT and data.shift_start is None:
        raise ValidationError({"shift_start": _("Say when the shift starts.")})
    if data.cadence == Post.Cadence.SHIFT and data.term_length != 1:
        raise ValidationError({"term_length": _("A shift lasts one shift.")})
    for q in data.qualifications:
        if q.organization_id != organization.pk:
            raise ValidationError({"qualifications": _("Unknown qualification.")})
    fields = {k: v for k, v in vars(data).items() if k != "qualifications"}
    fields["name"] = data.name.strip()
    post = Post(organization=organization, **fields)
    if post.role:
        post.coordination = True
    post.full_clean()
    post.save()
    post.qualifications.set(data.qualifications)
    audit(
        actor=actor,
        action="rotation.post_create",
        organization=organization,
        obj=post,
        name=post.name,
        kind=post.kind,
        role=post.role,
    )
    return post


@transaction.atomic
def post_set_active(*, actor: Any, post: Post, active: bool) -> Post:
    require(actor, "rotation.coordinate", post)
    post.active = active
    post.save(update_fields=["active"])
    audit(
        actor=actor,
        action="rotation.post_set_active",
        organization=post.organization,
        obj=post,
        active=active,
    )
    return post


@transaction.atomic
def unavailability_add(
    *,
    actor: Any,
    membership: Membership,
    starts_at: datetime,
    ends_at: datetime,
    reason: str = "",
) -> Unavailability:
    """Members declare their own unavailability; a coordinator may record it for others."""
    if membership.person_id != getattr(actor, "pk", None):
        require(actor, "rotation.coordinate", membership.organization)
    if ends_at <= starts_at:
        raise ValidationError({"ends_at": _("The end must be after the start.")})
    u = Unavailability.objects.create(
        membership=membership, starts_at=starts_at, ends_at=ends_at, reason=reason
    )
    audit(
        actor=actor,
        action="rotation.unavailability_add",
        organization=membership.organization,
        obj=u,
        member=membership.member_number,
    )
    return u


@transaction.atomic
def unavailability_remove(*, actor: Any, unavailability: Unavailability) -> None:
    membership = unavailability.membership
    if membership.person_id != getattr(actor, "pk", None):
        require(actor, "rotation.coordinate", membership.organization)
    audit(
        actor=actor,
        action="rotation.unavailability_remove",
        organization=membership.organization,
        obj=unavailability,
    )
    unavailability.delete()


# --- Rosters --------------------------------------------------------------------------------


@transaction.atomic
def roster_generate(
    *,
    actor: Any,
    organization: Organization,
    name: str,
    period_start: date,
    period_end: date,
    posts: list[Post] | None = None,
) -> Roster:
    """Run the engine and store its proposal, with a report of every slot it could not fill."""
    require(actor, "rotation.coordinate", organization)
    if period_end < period_start:
        raise ValidationError({"period_end": _("The last day must not be before the first.")})
    if (period_end - period_start).days > MAX_ROSTER_DAYS:
        raise ValidationError({"period_end": _("A roster covers at most about a year.")})
    if posts is None:
        posts = list(Post.objects.filter(organization=organization, active=True))
    if any(p.organization_id != organization.pk for p in posts):
        raise ValidationError({"posts": _("Unknown post or task.")})
    if not posts:
        raise ValidationError({"posts": _("There are no posts or tasks to roster yet.")})
    posts = list(
        Post.objects.filter(pk__in=[p.pk for p in posts]).prefetch_related("qualifications")
    )
    problem, times = adapter.build_problem(
        organization=organization,
        posts=posts,
        first=period_start,
        last=period_end,
        ruleset=_rules(organization),
    )
    # A proposal over a published roster's terms could never be published; say so now.
    # Overlapping proposals are allowed: they are alternatives, and only one gets published.
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for (post_id, _term, _position), span in times.items():
        spans[post_id].append(span)
    clashes = _published_clashes(organization=organization, spans=spans)
    if clashes:
        raise ValidationError(clashes)
    result = engine.solve(problem)

    roster = Roster.objects.create(
        organization=organization,
        name=name.strip() or _("Roster"),
        period_start=period_start,
        period_end=period_end,
    )
    roster.posts.set(posts)
    adapter.store_result(roster=roster, times=times, result=result)
    audit(
        actor=actor,
        action="rotation.roster_generate",
        organization=organization,
        obj=roster,
        period=[period_start, period_end],
        **roster.report,
    )
    return roster


def _mandate_for(
    assignment: Assignment, *, actor: Any, starts_at: datetime | None = None
) -> Mandate | None:
    post = assignment.slot.post
    if not post.role or assignment.role != Assignment.Role.HOLDER:
        return None
    start = max(starts_at or assignment.slot.starts_at, assignment.slot.starts_at)
    if start >= assignment.slot.ends_at:
        return None
    return gov.mandate_grant(
        actor=actor,
        membership=assignment.membership,
        role=post.role,
        starts_at=start,
        ends_at=assignment.slot.ends_at,
        rotation_assignment=assignment.uuid,
        workgroup=post.workgroup,
        check_permission=False,
    )


def decision_names_roster(*, decision: Decision, roster: Roster) -> bool:
    """Is the decision about this roster? Its links name what it is about: the roster's
    page (`/rotation/rosters/<uuid>/`, as in rotation/urls.py) or its API address, written
    in full or as a path. The uuid cannot be guessed, so only a decision recorded with this
    roster in hand can name it."""
    suffix = f"rotation/rosters/{roster.uuid}"
    for link in decision.links or []:
        path = urlsplit(str(link).strip()).path.rstrip("/")
        if path == suffix or path.endswith("/" + suffix):
            return True
    return False


def _day(dt: datetime, organization: Organization) -> str:
    return date_format(timezone.localtime(dt, adapter.org_zone(organization)), "DATE_FORMAT")


def _published_clashes(
    *,
    organization: Organization,
    spans: dict[int, list[tuple[datetime, datetime]]],
    exclude: Roster | None = None,
) -> list[str]:
    """One message per post and published roster that already covers part of the same time
    (`spans`: post id -> its slots' start and end). One term must never have two sets of
    holders, nor the same people booked twice for it."""
    if not spans:
        return []
    lo = min(start for slots in spans.values() for start, _end in slots)
    hi = max(end for slots in spans.values() for _start, end in slots)
    others = Slot.objects.filter(
        roster__organization=organization,
        roster__status=Roster.Status.PUBLISHED,
        post_id__in=list(spans),
        starts_at__lt=hi,
        ends_at__gt=lo,
    )
    if exclude is not None:
        others = others.exclude(roster=exclude)
    merged = {
        pid: engine.merge_intervals((adapter.ts(s), adapter.ts(e)) for s, e in slots)
        for pid, slots in spans.items()
    }
    starts = {pid: [s for s, _e in m] for pid, m in merged.items()}
    found: dict[tuple[int, int], list[Any]] = {}
    rows = others.order_by("starts_at").values_list(
        "post_id", "roster_id", "starts_at", "ends_at", "post__name", "roster__name"
    )
    for pid, rid, s, e, post_name, roster_name in rows:
        # Merged intervals are disjoint and sorted: the last one starting before this slot
        # ends is the only one that can overlap it.
        i = bisect_left(starts[pid], adapter.ts(e))
        if i == 0 or merged[pid][i - 1][1] <= adapter.ts(s):
            continue
        hit = found.setdefault((pid, rid), [post_name, roster_name, s, e])
        hit[3] = max(hit[3], e)
    return [
        _(
            "“%(post)s” is already covered by the published roster “%(roster)s” from "
            "%(first)s to %(last)s. Leave it out or choose other days."
        )
        % {
            "post": post_name,
            "roster": roster_name,
            "first": _day(first, organization),
            "last": _day(last - timedelta(seconds=1), organization),
        }
        for post_name, roster_name, first, last in found.values()
    ]


def _broken_rules(roster: Roster) -> list[str]:
    """Per slot, the assignments of a proposal that no longer meet the hard rules."""
    problem, picks = adapter.stored_problem(roster=roster, ruleset=_rules(roster.organization))
    lines = []
    for pick, code in engine.recheck(problem, list(picks)):
        a = picks[pick]
        params = {
            "post": a.slot.post.name,
            "start": date_format(
                timezone.localtime(a.slot.starts_at, adapter.org_zone(roster.organization)),
                "SHORT_DATETIME_FORMAT",
            ),
            "who": a.membership.display_name,
            "why": reason_text(code),
        }
        if a.role == Assignment.Role.HOLDER:
            lines.append(
                _("%(post)s, %(start)s: %(who)s can no longer take it (%(why)s).") % params
            )
        else:
            lines.append(
                _("%(post)s, %(start)s: %(who)s can no longer shadow it (%(why)s).") % params
            )
    return lines


@transaction.atomic
def roster_publish(*, actor: Any, roster: Roster, decision: Decision | None = None) -> Roster:
    """Published by a roster coordinator (by mandate) or by the assembly: a recorded
    decision in force that names this roster in its links, whose effect any member may
    then record. Posts become mandates that end with their term. Refused, with a report,
    when a published roster already covers the same posts at the same time, or when an
    assignment no longer meets the rules (leave, unavailability, qualifications, scope,
    bookings) since the proposal was made."""
    org = roster.organization
    if decision is not None:
        _membership(actor, org)
        if decision.organization_id != org.pk or decision.status != Decision.Status.IN_FORCE:
            raise ValidationError(
                {"decision": _("The decision must be one of this organisation, in force.")}
            )
        # Any decision in force would otherwise let any member publish any roster.
        if not decision_names_roster(decision=decision, roster=roster):
            raise ValidationError(
                {
                    "decision": _(
                        "This decision is not about this roster. The assembly's decision "
                        "must link to the roster's page (%(path)s)."
                    )
                    % {"path": reverse("rotation:roster", args=[roster.uuid])}
                }
            )
    else:
        require(actor, "rotation.publish", roster)
    # Publications of one organisation take turns: two overlapping rosters checked at the
    # same moment would each miss the other.
    Organization.objects.select_for_update().filter(pk=org.pk).first()
    locked = Roster.objects.select_for_update().get(pk=roster.pk)
    if locked.status != Roster.Status.PROPOSAL:
        raise ValidationError(_("Only a proposal can be published."))
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for post_id, starts_at, ends_at in Slot.objects.filter(roster=locked).values_list(
        "post_id", "starts_at", "ends_at"
    ):
        spans[post_id].append((starts_at, ends_at))
    clashes = _published_clashes(organization=org, spans=spans, exclude=locked)
    if clashes:
        raise ValidationError(clashes)
    broken = _broken_rules(locked)
    if broken:
        shown = broken[:REPORT_LINES]
        more = len(broken) - len(shown)
        head = ngettext(
            "Nothing was published: %(n)d assignment no longer meets the rules. Reassign it "
            "or generate the roster again.",
            "Nothing was published: %(n)d assignments no longer meet the rules. Reassign "
            "them or generate the roster again.",
            len(broken),
        ) % {"n": len(broken)}
        tail = [ngettext("…and %(n)d more.", "…and %(n)d more.", more) % {"n": more}]
        raise ValidationError([head, *shown, *(tail if more else [])])
    locked.status = Roster.Status.PUBLISHED
    locked.published_at = timezone.now()
    locked.published_by_decision = decision
    locked.save(update_fields=["status", "published_at", "published_by_decision"])
    holders = (
        Assignment.objects.filter(slot__roster=locked, role=Assignment.Role.HOLDER)
        .exclude(state=Assignment.State.REPLACED)
        .exclude(slot__post__role="")
        .select_related("slot__post__workgroup", "membership__organization")
    )
    count = 0
    for a in holders:
        if _mandate_for(a, actor=actor) is not None:
            count += 1
    audit(
        actor=actor,
        action="rotation.roster_publish",
        organization=org,
        obj=locked,
        decision=getattr(decision, "uuid", None),
        mandates=count,
    )
    roster.refresh_from_db()
    return roster


@transaction.atomic
def roster_withdraw(*, actor: Any, roster: Roster, reason: str) -> Roster:
    """Withdraw a proposal (published rosters are changed slot by slot, never wholesale)."""
    require(actor, "rotation.coordinate", roster)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why.")})
    if roster.status != Roster.Status.PROPOSAL:
        raise ValidationError(_("Only a proposal can be withdrawn."))
    roster.status = Roster.Status.WITHDRAWN
    roster.save(update_fields=["status"])
    audit(
        actor=actor,
        action="rotation.roster_withdraw",
        organization=roster.organization,
        obj=roster,
        reason=reason,
    )
    return roster


# --- Changes: re-checking the rules ---------------------------------------------------------


def rule_problem(*, membership: Membership, slot: Slot, giving_up: set[int]) -> str | None:
    """Would `membership` break a hard rule by taking `slot`? `giving_up` are assignments
    the person hands over in the same change (their own slot in a swap)."""
    post = slot.post
    roster = slot.roster
    scope = adapter.scope_ids(post)
    if membership.pk not in scope:
        return engine.NOT_IN_SCOPE
    rules = _rules(roster.organization)
    spec = adapter.post_spec(post, rules, scope)
    members = adapter.member_specs(
        organization=roster.organization,
        member_ids={membership.pk},
        # Far enough ahead that later terms count for the cooldown.
        start=slot.starts_at - timedelta(days=2),
        end=slot.ends_at + timedelta(days=400),
        include_roster=roster,
        exclude_assignments=giving_up,
    )
    share_count = (
        adapter.current_assignments()
        .filter(
            slot__roster=roster, slot__post=post, membership=membership, role=Assignment.Role.HOLDER
        )
        .exclude(pk__in=giving_up)
        .count()
    )
    cap = engine.share_cap(spec, Slot.objects.filter(roster=roster, post=post).count())
    coord_cap: int | None = None
    coord_count = 0
    percent = adapter.coordination_percent(rules)
    if post.coordination and percent is not None:
        # The same share of the roster's coordination turns the engine held it to.
        coord_cap = engine.percent_cap(
            percent, Slot.objects.filter(roster=roster, post__coordination=True).count()
        )
        coord_count = (
            adapter.current_assignments()
            .filter(
                slot__roster=roster,
                slot__post__coordination=True,
                membership=membership,
                role=Assignment.Role.HOLDER,
            )
            .exclude(pk__in=giving_up)
            .count()
        )
    return engine.candidate_reason(
        members[membership.pk],
        spec,
        adapter.slot_spec(slot),
        cap=cap,
        share_count=share_count,
        coord_cap=coord_cap,
        coord_count=coord_count,
    )


def _refuse(reason: str | None, who: str) -> None:
    if reason is not None:
        raise ValidationError(
            _("%(who)s cannot take this slot: %(why)s.") % {"who": who, "why": reason_text(reason)}
        )


def _hand_over(
    *,
    actor: Any,
    old: Assignment,
    to: Membership,
    source: str,
    reason: str,
    explanation: list[dict[str, Any]],
    from_states: tuple[str, ...],
) -> Assignment:
    """Replace `old` by a new assignment of `to`. The conditional UPDATE is what makes two
    people taking the same offered slot at once safe: only one of them changes the row."""
    now = timezone.now()
    changed = Assignment.objects.filter(pk=old.pk, state__in=from_states).update(
        state=Assignment.State.REPLACED, ended_at=now
    )
    if changed != 1:
        raise ValidationError(
            _("Someone else changed this slot a moment ago. It is no longer available.")
        )
    try:
        with transaction.atomic():
            new = Assignment.objects.create(
                slot=old.slot,
                membership=to,
                role=old.role,
                source=source,
                reason=reason,
                explanation=explanation,
                created_at=now,
            )
    except IntegrityError as exc:
        raise ValidationError(
            _("Someone else changed this slot a moment ago. It is no longer available.")
        ) from exc
    Assignment.objects.filter(pk=old.pk).update(replaced_by=new)
    if old.slot.roster.status == Roster.Status.PUBLISHED:
        for mandate in Mandate.objects.filter(source_rotation=old.uuid, revoked_at__isnull=True):
            gov.mandate_revoke(actor=actor, mandate=mandate, reason=reason, check_permission=False)
        _mandate_for(new, actor=actor, starts_at=now)
    return new


def _changeable(assignment: Assignment) -> None:
    if assignment.slot.roster.status == Roster.Status.WITHDRAWN:
        raise ValidationError(_("This roster was withdrawn."))
    if assignment.slot.ends_at <= timezone.now():
        raise ValidationError(_("This slot is over; it can no longer change hands."))


def _lock(assignment: Assignment) -> Assignment:
    return (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("slot__roster__organization", "slot__post__workgroup", "membership__person")
        .get(pk=assignment.pk)
    )


@transaction.atomic
def slot_offer(*, actor: Any, assignment: Assignment, note: str = "") -> Assignment:
    a = _lock(assignment)
    if a.membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person assigned can offer this slot."))
    _changeable(a)
    if a.state != Assignment.State.ACTIVE:
        raise ValidationError(_("This slot is already offered."))
    a.state = Assignment.State.OFFERED
    a.save(update_fields=["state"])
    audit(
        actor=actor,
        action="rotation.slot_offer",
        organization=a.slot.roster.organization,
        obj=a,
        note=note,
    )
    return a


@transaction.atomic
def slot_offer_withdraw(*, actor: Any, assignment: Assignment) -> Assignment:
    a = _lock(assignment)
    if a.membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person assigned can withdraw the offer."))
    changed = Assignment.objects.filter(pk=a.pk, state=Assignment.State.OFFERED).update(
        state=Assignment.State.ACTIVE
    )
    if changed != 1:
        raise ValidationError(_("This slot is no longer on offer."))
    audit(
        actor=actor,
        action="rotation.slot_offer_withdraw",
        organization=a.slot.roster.organization,
        obj=a,
    )
    a.refresh_from_db()
    return a


@transaction.atomic
def slot_take(*, actor: Any, assignment: Assignment) -> Assignment:
    """Take a slot another member offered. Rules are checked again for the taker."""
    org = assignment.slot.roster.organization
    taker = _membership(actor, org)
    require(actor, "rotation.swap", assignment)
    a = _lock(assignment)
    if a.state != Assignment.State.OFFERED:
        raise ValidationError(
            _("Someone else took this slot a moment ago. It is no longer available.")
        )
    if a.membership_id == taker.pk:
        raise ValidationError(_("This is your own offer; withdraw it instead."))
    _changeable(a)
    _refuse(rule_problem(membership=taker, slot=a.slot, giving_up=set()), _("You"))
    new = _hand_over(
        actor=actor,
        old=a,
        to=taker,
        source=Assignment.Source.TAKEN,
        reason=_("Taken from %(name)s's offer") % {"name": a.membership.display_name},
        explanation=[{"code": "offer_taken"}],
        from_states=(Assignment.State.OFFERED,),
    )
    audit(
        actor=actor,
        action="rotation.slot_take",
        organization=org,
        obj=new,
        previous=a.uuid,
        member=taker.member_number,
    )
    return new


@transaction.atomic
def swap_propose(
    *, actor: Any, mine: Assignment, theirs: Assignment, note: str = ""
) -> SwapRequest:
    if mine.membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("You can only offer your own slot in a swap."))
    if mine.slot.roster.organization_id != theirs.slot.roster.organization_id:
        raise ValidationError(_("Both slots must be of the same organisation."))
    if mine.membership_id == theirs.membership_id:
        raise ValidationError(_("Choose a slot held by someone else."))
    for a in (mine, theirs):
        _changeable(a)
        if not a.is_current:
            raise ValidationError(_("That slot has already changed hands."))
    if SwapRequest.objects.filter(
        offered=mine, wanted=theirs, state=SwapRequest.State.OPEN
    ).exists():
        raise ValidationError(_("You already proposed this swap."))
    swap = SwapRequest.objects.create(offered=mine, wanted=theirs, note=note)
    audit(
        actor=actor,
        action="rotation.swap_propose",
        organization=mine.slot.roster.organization,
        obj=swap,
        offered=mine.uuid,
        wanted=theirs.uuid,
    )
    return swap


@transaction.atomic
def swap_answer(*, actor: Any, swap: SwapRequest, accept: bool) -> SwapRequest:
    """The other member accepts (both people re-checked against every rule) or declines."""
    swap = (
        SwapRequest.objects.select_for_update(of=("self",))
        .select_related(
            "offered__membership", "wanted__membership", "offered__slot__roster__organization"
        )
        .get(pk=swap.pk)
    )
    if swap.state != SwapRequest.State.OPEN:
        raise ValidationError(_("This swap was already answered."))
    if swap.wanted.membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person asked can answer this swap."))
    org = swap.offered.slot.roster.organization
    swap.decided_at = timezone.now()
    if not accept:
        swap.state = SwapRequest.State.DECLINED
        swap.save(update_fields=["state", "decided_at"])
        audit(actor=actor, action="rotation.swap_decline", organization=org, obj=swap)
        return swap
    mine, theirs = _lock(swap.offered), _lock(swap.wanted)
    for a in (mine, theirs):
        if not a.is_current:
            raise ValidationError(_("That slot has already changed hands."))
        _changeable(a)
    giving = {mine.pk, theirs.pk}
    _refuse(
        rule_problem(membership=theirs.membership, slot=mine.slot, giving_up=giving),
        theirs.membership.display_name,
    )
    _refuse(
        rule_problem(membership=mine.membership, slot=theirs.slot, giving_up=giving),
        mine.membership.display_name,
    )
    live = (Assignment.State.ACTIVE, Assignment.State.OFFERED)
    reason = _("Swap between %(a)s and %(b)s") % {
        "a": mine.membership.display_name,
        "b": theirs.membership.display_name,
    }
    # Retire both first: each person may not hold their old slot and the new one at once.
    now = timezone.now()
    for a in (mine, theirs):
        if (
            Assignment.objects.filter(pk=a.pk, state__in=live).update(
                state=Assignment.State.REPLACED, ended_at=now
            )
            != 1
        ):
            raise ValidationError(
                _("Someone else changed this slot a moment ago. It is no longer available.")
            )
    for old, to in ((mine, theirs.membership), (theirs, mine.membership)):
        new = Assignment.objects.create(
            slot=old.slot,
            membership=to,
            role=old.role,
            source=Assignment.Source.SWAP,
            reason=reason,
            explanation=[{"code": "swap"}],
            created_at=now,
        )
        Assignment.objects.filter(pk=old.pk).update(replaced_by=new)
        if old.slot.roster.status == Roster.Status.PUBLISHED:
            for mandate in Mandate.objects.filter(
                source_rotation=old.uuid, revoked_at__isnull=True
            ):
                gov.mandate_revoke(
                    actor=actor, mandate=mandate, reason=reason, check_permission=False
                )
            _mandate_for(new, actor=actor, starts_at=now)
    swap.state = SwapRequest.State.ACCEPTED
    swap.save(update_fields=["state", "decided_at"])
    audit(actor=actor, action="rotation.swap_accept", organization=org, obj=swap)
    return swap


@transaction.atomic
def swap_cancel(*, actor: Any, swap: SwapRequest) -> SwapRequest:
    if swap.offered.membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only the person who proposed the swap can cancel it."))
    if (
        SwapRequest.objects.filter(pk=swap.pk, state=SwapRequest.State.OPEN).update(
            state=SwapRequest.State.CANCELLED, decided_at=timezone.now()
        )
        != 1
    ):
        raise ValidationError(_("This swap was already answered."))
    audit(
        actor=actor,
        action="rotation.swap_cancel",
        organization=swap.offered.slot.roster.organization,
        obj=swap,
    )
    swap.refresh_from_db()
    return swap


@transaction.atomic
def assignment_reassign(
    *, actor: Any, assignment: Assignment, membership: Membership, reason: str
) -> Assignment:
    """A coordinator gives a slot to someone else, with a reason; the rules still apply."""
    require(actor, "rotation.coordinate", assignment)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the slot is reassigned.")})
    a = _lock(assignment)
    if not a.is_current:
        raise ValidationError(_("That slot has already changed hands."))
    if membership.organization_id != a.slot.roster.organization_id:
        raise ValidationError({"membership": _("Choose a member of the organisation.")})
    if membership.pk == a.membership_id:
        raise ValidationError({"membership": _("This person already holds the slot.")})
    _changeable(a)
    _refuse(
        rule_problem(membership=membership, slot=a.slot, giving_up=set()), membership.display_name
    )
    new = _hand_over(
        actor=actor,
        old=a,
        to=membership,
        source=Assignment.Source.REASSIGNED,
        reason=reason,
        explanation=[{"code": "reassigned"}],
        from_states=(Assignment.State.ACTIVE, Assignment.State.OFFERED),
    )
    audit(
        actor=actor,
        action="rotation.assignment_reassign",
        organization=a.slot.roster.organization,
        obj=new,
        previous=a.uuid,
        reason=reason,
    )
    return new


@transaction.atomic
def slot_fill(*, actor: Any, slot: Slot, membership: Membership, reason: str) -> Assignment:
    """A coordinator fills a slot the engine could not fill (the rules still apply), e.g.
    once someone has qualified or come back from leave. The roster's report follows."""
    require(actor, "rotation.coordinate", slot)
    if not reason.strip():
        raise ValidationError({"reason": _("Say why the slot is filled by hand.")})
    # Fills of one roster take turns, so its report counts each of them once.
    roster = Roster.objects.select_for_update().get(pk=slot.roster_id)
    slot = Slot.objects.select_related("post__workgroup", "roster__organization").get(pk=slot.pk)
    if membership.organization_id != roster.organization_id:
        raise ValidationError({"membership": _("Choose a member of the organisation.")})
    if roster.status == Roster.Status.WITHDRAWN:
        raise ValidationError(_("This roster was withdrawn."))
    if slot.ends_at <= timezone.now():
        raise ValidationError(_("This slot is over; it can no longer change hands."))
    if adapter.current_assignments().filter(slot=slot, role=Assignment.Role.HOLDER).exists():
        raise ValidationError(_("This slot is already filled."))
    _refuse(
        rule_problem(membership=membership, slot=slot, giving_up=set()), membership.display_name
    )
    try:
        with transaction.atomic():
            a = Assignment.objects.create(
                slot=slot,
                membership=membership,
                source=Assignment.Source.REASSIGNED,
                reason=reason,
                explanation=[{"code": "reassigned"}],
            )
    except IntegrityError as exc:
        raise ValidationError(_("This slot is already filled.")) from exc
    if roster.status == Roster.Status.PUBLISHED:
        _mandate_for(a, actor=actor, starts_at=timezone.now())
    filled = (
        adapter.current_assignments()
        .filter(slot__roster=roster, role=Assignment.Role.HOLDER)
        .count()
    )
    slots = roster.report.get("slots") or Slot.objects.filter(roster=roster).count()
    roster.report = {**roster.report, "slots": slots, "filled": filled, "unfilled": slots - filled}
    roster.save(update_fields=["report"])
    audit(
        actor=actor,
        action="rotation.slot_fill",
        organization=roster.organization,
        obj=a,
        reason=reason,
        member=membership.member_number,
    )
    return a


@transaction.atomic
def attendance_record(*, actor: Any, assignment: Assignment, attendance: str) -> Assignment:
    """The person marks their own turn done; coordinators record any outcome."""
    if attendance not in Assignment.Attendance.values:
        raise ValidationError({"attendance": _("Unknown attendance value.")})
    own = assignment.membership.person_id == getattr(actor, "pk", None)
    if not (own and attendance == Assignment.Attendance.DONE):
        require(actor, "rotation.coordinate", assignment)
    if not assignment.is_current:
        raise ValidationError(_("That slot has already changed hands."))
    if assignment.slot.starts_at > timezone.now():
        raise ValidationError(_("Attendance is recorded once the slot has started."))
    assignment.attendance = attendance
    assignment.save(update_fields=["attendance"])
    audit(
        actor=actor,
        action="rotation.attendance_record",
        organization=assignment.slot.roster.organization,
        obj=assignment,
        attendance=attendance,
    )
    return assignment


@transaction.atomic
def calendar_token_reset(*, actor: Any, membership: Membership) -> CalendarToken:
    """A new private calendar link; the old one stops working."""
    if membership.person_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("Only you can reset your calendar link."))
    CalendarToken.objects.filter(membership=membership).delete()
    token = CalendarToken.objects.create(membership=membership)
    audit(
        actor=actor,
        action="rotation.calendar_token_reset",
        organization=membership.organization,
        obj=membership,
    )
    return token


def calendar_token_for(*, membership: Membership) -> CalendarToken:
    token, _created = CalendarToken.objects.get_or_create(membership=membership)
    return token


def may_coordinate(user: Any, target: Any) -> bool:
    return may(user, "rotation.coordinate", target)
