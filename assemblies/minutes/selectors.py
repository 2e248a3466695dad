"""Reads of minutes, with access rules (404 for what a person may not see), and the draft
built from the assembly's record."""

from __future__ import annotations

import json
import logging
import re
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from assemblies import selectors as live
from assemblies.minutes import canonical
from assemblies.models import (
    AgendaItem,
    Assembly,
    Attendance,
    ConsensusRound,
    Minutes,
    MinutesPublication,
    MinutesQuestion,
    MinutesRenderJob,
    MinutesVersion,
    Position,
    Proposal,
    SpeakingRequest,
    Vote,
)
from governance import attachments
from governance.models import (
    AuditEntry,
    Decision,
    Federation,
    FederationMembership,
    Mandate,
    Membership,
    Organization,
    RuleSet,
)
from governance.permissions import may, memberships_for
from governance.selectors import federations_of, memberships_of

logger = logging.getLogger(__name__)

# --- Access ---------------------------------------------------------------------------------


def minutes_visible_to(user: Any) -> QuerySet[Minutes]:
    """Members see every minutes record of their own organisations (drafts included), and
    of the federations their organisations belong to now (whose assemblies are open to
    them). A reviewer mandate adds nothing here: reviewers read publications."""
    return Minutes.objects.filter(
        Q(organization_id__in=memberships_of(user).values("organization_id"))
        | Q(organization__isnull=True, federation__in=federations_of(user))
    ).select_related("assembly", "organization", "federation")


def minutes_get_for_member(*, user: Any, uuid: Any) -> Minutes:
    minutes = minutes_visible_to(user).filter(uuid=uuid).first()
    if minutes is None:
        raise Http404(_("No such minutes."))
    return minutes


def minutes_list(
    *, organization: Organization | None = None, federation: Federation | None = None
) -> QuerySet[Minutes]:
    qs = (
        Minutes.objects.filter(organization=organization)
        if organization is not None
        else Minutes.objects.filter(organization__isnull=True, federation=federation)
    )
    return qs.select_related("assembly").order_by("-assembly__starts_at")


def assembly_for_minutes(*, user: Any, uuid: Any) -> Assembly:
    assembly = live.assembly_get_for_member(user=user, uuid=uuid)
    if assembly.organization_id is not None:
        if not memberships_of(user).filter(organization_id=assembly.organization_id):
            raise Http404(_("No such assembly."))
    elif not federations_of(user).filter(Q(pk=assembly.federation_id)).exists():
        raise Http404(_("No such assembly."))
    return assembly


def body_memberships(*, user: Any, minutes: Minutes) -> list[Membership]:
    """The person's memberships that make them a member of the minutes' body: one for an
    organisation, possibly several (one per organisation) for a federation."""
    return memberships_for(user, minutes.governance_scope())


def is_body_member(*, user: Any, minutes: Minutes) -> bool:
    return bool(body_memberships(user=user, minutes=minutes))


def body_language(minutes: Minutes) -> str:
    org = minutes.organization
    return org.language if org is not None else settings.LANGUAGE_CODE


def approval_rules(*, minutes: Minutes) -> RuleSet:
    """The rule the minutes are approved under: the organisation's rules in force; for a
    federation, which keeps no rule set of its own, the rules its assembly recorded when it
    opened (the defaults, recorded with the assembly)."""
    if minutes.organization is not None:
        from governance.services import rules_in_force

        return rules_in_force(organization=minutes.organization)
    rules = live.rules_of(minutes.assembly)
    rules.version = (minutes.assembly.rules or {}).get("version")  # type: ignore[assignment]
    return rules


def reviewable_federations(user: Any) -> list[Federation]:
    """Federations in which this person holds a current reviewer mandate."""
    return [f for f in federations_of(user) if may(user, "federation.review", f)]


def publications_visible_to(user: Any) -> QuerySet[MinutesPublication]:
    """Reviewers see what was published to the federations they review, and only that; an
    organisation's members also see their own organisation's publications, and the members
    of a federation's organisations the publications of the federation's own minutes."""
    fed_ids = [f.pk for f in reviewable_federations(user)]
    own_orgs = memberships_of(user).values("organization_id")
    return MinutesPublication.objects.filter(
        Q(federation_id__in=fed_ids)
        | Q(organization_id__in=own_orgs)
        | Q(organization__isnull=True, federation__in=federations_of(user))
    ).select_related("version__minutes__assembly", "organization", "federation")


def publication_get(*, user: Any, uuid: Any) -> MinutesPublication:
    pub = publications_visible_to(user).filter(uuid=uuid).first()
    if pub is None:
        raise Http404(_("No such minutes."))
    return pub


def publications_search(
    *,
    user: Any,
    federation: Federation | None = None,
    organization: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
    text: str = "",
) -> QuerySet[MinutesPublication]:
    qs = publications_visible_to(user)
    if federation is not None:
        qs = qs.filter(federation=federation)
    if organization:
        qs = qs.filter(
            Q(organization__slug=organization) | Q(organization__uuid__iexact=organization)
        )
    if date_from is not None:
        qs = qs.filter(version__minutes__assembly__starts_at__date__gte=date_from)
    if date_to is not None:
        qs = qs.filter(version__minutes__assembly__starts_at__date__lte=date_to)
    if text:
        # Decision text lives in the approved content; search it and the decision register.
        qs = qs.filter(
            Q(version__content__icontains=text)
            | Q(version__minutes__assembly__proposals__decision__text__icontains=text)
            | Q(version__minutes__assembly__proposals__decision__title__icontains=text)
        ).distinct()
    return qs.order_by("-version__minutes__assembly__starts_at", "-id")


def version_get_for_user(*, user: Any, uuid: Any) -> MinutesVersion:
    """A version is visible to its organisation's members, or to a reviewer once published
    to a federation they review. Everyone else: 404, whether it exists or not."""
    version = (
        MinutesVersion.objects.filter(uuid=uuid)
        .select_related("minutes__assembly", "organization", "federation")
        .first()
    )
    if version is None or not can_see_version(user=user, version=version):
        raise Http404(_("No such minutes."))
    return version


def can_see_version(*, user: Any, version: MinutesVersion) -> bool:
    if version.organization_id is not None:
        if memberships_of(user).filter(organization_id=version.organization_id).exists():
            return True
    elif federations_of(user).filter(Q(pk=version.federation_id)).exists():
        return True
    return publications_visible_to(user).filter(version=version).exists()


def version_by_hash(*, user: Any, hash: str) -> MinutesVersion:
    version = MinutesVersion.objects.filter(hash=hash.lower()).first()
    if version is None or not can_see_version(user=user, version=version):
        raise Http404(_("No such minutes."))
    return version


def latest_version(*, minutes: Minutes) -> MinutesVersion | None:
    return minutes.versions.order_by("-number").first()


def questions_for(*, publication: MinutesPublication) -> QuerySet[MinutesQuestion]:
    return publication.questions.select_related(
        "asked_by__person", "asked_by__organization", "answered_by__person"
    )


def job_get_for_user(*, user: Any, uuid: Any) -> MinutesRenderJob:
    job = MinutesRenderJob.objects.filter(uuid=uuid).select_related("version").first()
    if job is None:
        raise Http404(_("No such file."))
    if job.kind == MinutesRenderJob.Kind.PDF:
        assert job.version is not None
        if not can_see_version(user=user, version=job.version):
            raise Http404(_("No such file."))
    elif (
        job.requested_by_id != getattr(user, "pk", None)
        or job.federation is None
        or not may(user, "federation.review", job.federation)
    ):
        raise Http404(_("No such file."))
    return job


# --- Who may write ---------------------------------------------------------------------------


def may_keep_minutes(*, user: Any, minutes: Minutes) -> bool:
    """Minute-takers write the minutes; facilitators may too (a small assembly often has
    one person doing both)."""
    assembly = minutes.assembly
    return may(user, "assembly.take_minutes", assembly) or may(
        user, "assembly.facilitate", assembly
    )


def attended(*, assembly: Assembly, membership: Membership) -> bool:
    return Attendance.objects.filter(assembly=assembly, membership=membership).exists()


# --- The draft ------------------------------------------------------------------------------


def _name(m: Membership | None) -> str:
    return m.display_name if m is not None else ""


def _mandate_holders(assembly: Assembly, role: str, present_ids: set[int]) -> list[str]:
    """Who held the role for this assembly while it ran: mandates limited to this assembly,
    and organisation-wide mandates of people who were there."""
    start = assembly.opened_at or assembly.starts_at
    end = assembly.closed_at or timezone.now()
    if assembly.organization_id is not None:
        held = Q(scope_kind=Mandate.ScopeKind.OBJECT, object_uuid=assembly.uuid) | Q(
            scope_kind=Mandate.ScopeKind.ORGANIZATION, membership_id__in=present_ids
        )
        body = Q(membership__organization_id=assembly.organization_id)
    else:
        # A federation's assembly is run under federation mandates, or under a mandate for
        # this assembly that the federation's decision (taken at the opening) granted.
        held = Q(
            scope_kind=Mandate.ScopeKind.FEDERATION,
            federation_id=assembly.federation_id,
            membership_id__in=present_ids,
        ) | Q(
            scope_kind=Mandate.ScopeKind.OBJECT,
            object_uuid=assembly.uuid,
            source_decision__federation_id=assembly.federation_id,
        )
        body = Q()
    mandates = (
        Mandate.objects.filter(
            held,
            body,
            role=role,
            starts_at__lte=end,
            ends_at__gt=start,
        )
        .filter(Q(revoked_at__isnull=True) | Q(revoked_at__gt=start))
        .select_related("membership__person")
        .order_by("starts_at", "id")
    )
    names: list[str] = []
    for mandate in mandates:
        name = mandate.membership.display_name
        if name not in names:
            names.append(name)
    return names


def _rounds(proposal: Proposal) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    rounds = list(ConsensusRound.objects.filter(proposal=proposal).order_by("number"))
    positions: dict[int, list[Position]] = defaultdict(list)
    for p in (
        Position.objects.filter(round__in=rounds, superseded_at__isnull=True)
        .select_related("membership__person")
        .order_by("stated_at", "id")
    ):
        positions[p.round_id].append(p)
    for r in rounds:
        ps = positions[r.pk]
        out.append(
            {
                "kind": "consensus",
                "number": r.number,
                "version": r.version.number,
                "opened_at": r.opened_at,
                "closed_at": r.closed_at,
                "outcome": r.outcome,
                "agree": sum(1 for p in ps if p.stance == Position.Stance.AGREE),
                "concerns": [
                    {"name": _name(p.membership), "text": p.text, "addressed": p.addressed_note}
                    for p in ps
                    if p.stance == Position.Stance.CONCERN
                ],
                "stand_asides": [
                    {"name": _name(p.membership), "reason": p.text}
                    for p in ps
                    if p.stance == Position.Stance.STAND_ASIDE
                ],
                "blocks": [
                    {"name": _name(p.membership), "reason": p.text}
                    for p in ps
                    if p.stance == Position.Stance.BLOCK
                ],
                "vote": None,
            }
        )
    for v in Vote.objects.filter(proposal=proposal).order_by("number"):
        total = (v.tally or {}).get("total") or live.vote_tally(vote=v)["total"]
        out.append(
            {
                "kind": "vote",
                "number": v.number,
                "version": v.version.number,
                "opened_at": v.opened_at,
                "closed_at": v.closed_at,
                "outcome": v.outcome,
                "agree": 0,
                "concerns": [],
                "stand_asides": [],
                "blocks": [],
                # Secret ballots are tallies only: nothing here names a voter.
                "vote": {
                    "secret": v.secret,
                    "rule": v.rule,
                    "threshold_percent": v.threshold_percent,
                    "fallback": v.fallback_for_id is not None,
                    "yes": int(total.get("yes", 0)),
                    "no": int(total.get("no", 0)),
                    "abstain": int(total.get("abstain", 0)),
                },
            }
        )
    out.sort(key=lambda r: r["opened_at"] or timezone.now())
    return out


def _proposal(proposal: Proposal) -> dict[str, Any]:
    versions = list(proposal.versions.select_related("author__person").order_by("number"))
    final = versions[-1] if versions else None
    decision = proposal.decision
    return {
        "uuid": proposal.uuid,
        "title": proposal.title,
        "author": _name(proposal.proposed_by),
        "text": final.text if final else "",
        "status": proposal.status,
        "outcome": proposal.status,
        "versions": [
            {
                "number": v.number,
                "text": v.text,
                "reason": v.note,
                "author": _name(v.author),
                "created_at": v.created_at,
            }
            for v in versions
        ],
        "rounds": _rounds(proposal),
        "decision": (
            {"uuid": decision.uuid, "number": decision.number, "title": decision.title}
            if decision is not None
            else None
        ),
    }


def _task(t: Any) -> dict[str, Any]:
    return {
        "uuid": t.uuid,
        "text": t.text,
        "responsible": t.responsible.display_name,
        "member_number": t.responsible.member_number,
        "due": t.due_on,
    }


# --- Quorum, as it was ----------------------------------------------------------------------
#
# The minutes must not move when membership changes afterwards: a member joining or leaving
# next month would otherwise change the draft's hash and void the signatures collected. So
# the quorum comes from what was frozen while the assembly ran (rounds, votes and decisions
# keep the attendance of their moment), never from today's member count.


def _frozen_time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _quorum_checks(assembly: Assembly) -> list[dict[str, Any]]:
    """The quorum at each moment the assembly decided, as recorded then."""
    sources: list[tuple[str, int, str, dict[str, Any]]] = []
    for r in (
        ConsensusRound.objects.filter(proposal__assembly=assembly, closed_at__isnull=False)
        .select_related("proposal")
        .order_by("closed_at", "id")
    ):
        sources.append(("consensus", r.number, r.proposal.title, r.attendance or {}))
    for v in (
        Vote.objects.filter(proposal__assembly=assembly, closed_at__isnull=False)
        .select_related("proposal")
        .order_by("closed_at", "id")
    ):
        sources.append(("vote", v.number, v.proposal.title, v.attendance or {}))
    # Decisions taken outside a round (a mandate agreed, earlier minutes approved) froze this
    # assembly's attendance too; those adopted by a round repeat its record and are skipped.
    register = (
        Q(organization_id=assembly.organization_id)
        if assembly.organization_id is not None
        else Q(federation_id=assembly.federation_id)
    )
    for d in Decision.objects.filter(register, attendance__assembly=str(assembly.uuid)).order_by(
        "decided_at", "id"
    ):
        sources.append(("decision", d.number, d.title, d.attendance or {}))
    checks: list[dict[str, Any]] = []
    seen: set[str] = set()
    for kind, number, title, snapshot in sources:
        at = _frozen_time(snapshot.get("at"))
        if at is None or "present" not in snapshot or "quorum" not in snapshot:
            continue
        key = str(snapshot.get("at"))
        if key in seen:
            continue
        seen.add(key)
        present, required = int(snapshot["present"]), int(snapshot["quorum"])
        checks.append(
            {
                "kind": kind,
                "number": number,
                "title": title,
                "recorded_at": at,
                "present": present,
                "active_members": int(snapshot.get("members", 0)),
                "required": required,
                "reached": bool(snapshot.get("quorum_met", present >= required)),
            }
        )
    checks.sort(key=lambda c: c["recorded_at"])
    return checks


def _active_members_on(*, assembly: Assembly, day: date) -> int:
    """Active members on the day of an assembly that decided nothing (so nothing froze the
    count). Membership dates say who belonged then; a status is known only since its
    `status_since`, so a change after the day is read as coming from the usual earlier state
    (on leave now: active then; active now: on leave then). Joining, leaving or taking leave
    afterwards therefore leaves the count as it was."""
    if assembly.organization_id is not None:
        body = Q(organization_id=assembly.organization_id)
    else:
        # The members of the organisations that belonged to the federation that day.
        body = Q(
            organization_id__in=FederationMembership.objects.filter(
                Q(end__isnull=True) | Q(end__gte=day),
                Q(federation_id=assembly.federation_id),
                start__lte=day,
            ).values("organization_id")
        )
    return (
        Membership.objects.filter(body, joined_on__lte=day)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=day))
        .exclude(
            Q(status=Membership.Status.ON_LEAVE, status_since__lte=day)
            | Q(status=Membership.Status.ACTIVE, status_since__gt=day)
        )
        .count()
    )


def _peak_presence(attendances: Iterable[Attendance], *, end: datetime) -> int:
    """The most people in the room at once, from the check-in and check-out times (not
    everyone who came at some point)."""
    edges: list[tuple[datetime, int]] = []
    for a in attendances:
        edges.append((a.checked_in_at, 1))
        edges.append((a.checked_out_at or end, -1))
    # At the same instant a departure counts before an arrival: a hand-over is not two people.
    edges.sort()
    peak = current = 0
    for _at, delta in edges:
        current += delta
        peak = max(peak, current)
    return peak


def _quorum(assembly: Assembly, attendances: list[Attendance]) -> dict[str, Any]:
    checks = _quorum_checks(assembly)
    if checks:
        # The best-attended moment stands for the assembly; every moment is listed.
        best = max(checks, key=lambda c: c["present"])
        return {
            "source": "decisions",
            "required": best["required"],
            "present": best["present"],
            "active_members": best["active_members"],
            "reached": best["reached"],
            "recorded_at": best["recorded_at"],
            "checks": checks,
        }
    end = assembly.closed_at or timezone.now()
    members = _active_members_on(
        assembly=assembly, day=timezone.localtime(end, _zone(assembly)).date()
    )
    present = _peak_presence(attendances, end=end)
    # The rules snapshot taken when the assembly opened, not the rules in force today.
    required = live.rules_of(assembly).quorum_for(members)
    return {
        "source": "attendance",
        "required": required,
        "present": present,
        "active_members": members,
        "reached": present >= required,
        "recorded_at": None,
        "checks": [],
    }


def _zone(assembly: Assembly) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(assembly.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


# --- Attachments (a production report...) ---------------------------------------------------

# pygal gives every chart a random id (`chart-<uuid4>`): replaced by its position, so the same
# report renders to the same text and the draft's hash stays put between two readings.
_CHART_ID = re.compile(r"chart-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _stable_ids(html: str, prefix: str) -> str:
    names: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        return names.setdefault(match.group(0), f"chart-{prefix}-{len(names) + 1}")

    return _CHART_ID.sub(rename, html)


def _attachment(
    item: AgendaItem, org: Organization | None, assembly: Assembly
) -> dict[str, Any] | None:
    """What another app attached to the item, as it is rendered into the minutes: its kind
    and parameters, and its HTML in the organisation's language (the same for every reader,
    since the hash covers it). Approval freezes it with the rest, so later corrections to
    the production log do not move approved minutes."""
    params = dict(item.attachment or {})
    kind = str(params.pop("kind", ""))
    if not kind or org is None:  # attachments belong to an organisation's assemblies
        return None
    spec = attachments.get(kind)
    html = ""
    if spec is not None:
        try:
            with translation.override(org.language), timezone.override(_zone(assembly)):
                html = _stable_ids(str(spec.render(org, dict(params))), str(item.uuid)[:8])
        except Exception:  # noqa: BLE001 - a broken report must not take the minutes down
            logger.exception("Attachment %r of item %s failed to render", kind, item.uuid)
    return {"kind": kind, "params": params, "html": html}


def draft_content(*, minutes: Minutes, reason: str = "", version: int = 0) -> dict[str, Any]:
    """The minutes as canonical data, from the assembly's record: what the PDF shows, what
    attendees sign and what the chain hashes once approved."""
    assembly = minutes.assembly
    org = minutes.organization
    federation = minutes.federation if org is None else None
    attendances = list(
        Attendance.objects.filter(assembly=assembly)
        .select_related("membership__person", "membership__organization")
        .order_by("checked_in_at", "id")
    )
    first_in: dict[int, Attendance] = {}
    for a in attendances:
        first_in.setdefault(a.membership_id, a)
    present = [
        {
            "name": a.membership.display_name,
            "member_number": a.membership.member_number,
            "checked_in_at": a.checked_in_at,
        }
        # At a federation's assembly people come from several organisations, whose member
        # numbers overlap: each is named with their organisation.
        | ({"organization": a.membership.organization.name} if federation else {})
        for a in first_in.values()
    ]
    apologies = [
        {"name": a.membership.display_name, "reason": a.reason}
        for a in minutes.apologies.select_related("membership__person")
    ]
    notes = {n.item_id: n.text for n in minutes.item_notes.all()}
    tasks_by_item: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for t in minutes.tasks.select_related("responsible__person").order_by("due_on", "id"):
        tasks_by_item[t.item_id].append(_task(t))
    speakers: dict[int, dict[int, dict[str, Any]]] = defaultdict(dict)
    for s in (
        SpeakingRequest.objects.filter(assembly=assembly, started_at__isnull=False)
        .select_related("membership__person")
        .order_by("started_at", "id")
    ):
        entry = speakers[s.item_id].setdefault(
            s.membership_id, {"name": s.membership.display_name, "turns": 0, "seconds": 0}
        )
        entry["turns"] += 1
        entry["seconds"] += s.seconds
    proposals: dict[int, list[Proposal]] = defaultdict(list)
    for p in (
        Proposal.objects.filter(assembly=assembly)
        .select_related("proposed_by__person", "decision")
        .order_by("created_at", "id")
    ):
        proposals[p.item_id].append(p)
    items = []
    for n, item in enumerate(
        AgendaItem.objects.filter(assembly=assembly).order_by("order", "id"), start=1
    ):
        props = [_proposal(p) for p in proposals[item.pk]]
        items.append(
            {
                "uuid": item.uuid,
                "number": n,
                "title": item.title,
                "kind": item.kind,
                "notes": notes.get(item.pk, ""),
                "speakers": list(speakers[item.pk].values()),
                "proposals": props,
                "decisions": [p["decision"] for p in props if p["decision"]],
                "tasks": tasks_by_item.get(item.pk, []),
                "attachment": _attachment(item, org, assembly),
            }
        )
    corrections = [
        {"name": c.proposed_by.display_name, "text": c.text, "response": c.response}
        for c in minutes.corrections.filter(status="accepted").select_related("proposed_by__person")
    ]
    present_ids = set(first_in)
    # An organisation's minutes keep exactly the keys they always had (a new key would
    # move the hash of every draft and void the signatures collected on it).
    if org is not None:
        body: dict[str, Any] = {
            "organization": {"uuid": org.uuid, "name": org.name},
            "language": org.language,
            "time_zone": org.time_zone,
            "page_size": org.page_size,
        }
    else:
        assert federation is not None
        body = {
            "organization": None,
            "federation": {"uuid": federation.uuid, "name": federation.name},
            "language": settings.LANGUAGE_CODE,
            "time_zone": assembly.time_zone,
            "page_size": Organization.PageSize.A4.value,
        }
    return canonical.normalize(
        body
        | {
            "minutes": {"uuid": minutes.uuid, "version": version, "reason": reason},
            "assembly": {
                "uuid": assembly.uuid,
                "title": assembly.title,
                "place": assembly.place,
                "starts_at": assembly.starts_at,
                "opened_at": assembly.opened_at,
                "closed_at": assembly.closed_at,
                "log_seq": assembly.last_seq,
                "rules_version": (assembly.rules or {}).get("version"),
            },
            "quorum": _quorum(assembly, attendances),
            "attendance": {
                "present_count": len(present),
                "present": present,
                "apologies_count": len(apologies),
                "apologies": apologies,
            },
            "facilitators": _mandate_holders(assembly, Mandate.Role.FACILITATOR, present_ids),
            "minute_takers": _mandate_holders(assembly, Mandate.Role.MINUTE_TAKER, present_ids),
            "notes": minutes.notes,
            "items": items,
            "tasks": tasks_by_item.get(None, []),
            "corrections": corrections,
        }
    )


def draft_hash(*, minutes: Minutes) -> str:
    return canonical.digest(draft_content(minutes=minutes))


def document_for(version: MinutesVersion) -> dict[str, Any]:
    """What the PDF shows and the PDF/A embeds: the hashed envelope plus its hash."""
    return {
        "format": canonical.FORMAT,
        "content": json.loads(version.content),
        "approval": json.loads(version.approval),
        "previous_hash": version.previous_hash,
        "hash": version.hash,
    }


# --- Verification ---------------------------------------------------------------------------


def _label(*, assembly: Assembly | None, number: Any, uuid: Any) -> str:
    if assembly is None:
        return _("approved minutes, version %(n)s (%(uuid)s)") % {"n": number, "uuid": uuid}
    when = timezone.localtime(assembly.starts_at).date().isoformat()
    return _("“%(title)s” of %(date)s, version %(n)s (%(uuid)s)") % {
        "title": assembly.title,
        "date": when,
        "n": number,
        "uuid": uuid,
    }


def version_label(version: MinutesVersion) -> str:
    return _label(assembly=version.minutes.assembly, number=version.number, uuid=version.uuid)


def _reason(reason: str) -> str:
    """The verifier speaks English (it also runs offline); people read their language."""
    known = {
        "content or approvals were altered": _("its content or approvals were altered"),
        "does not point at the previous approved minutes": _(
            "it does not point at the previous approved minutes"
        ),
        "stored data is not valid JSON": _("its stored data is damaged"),
        canonical.ANCHOR_MISMATCH: _(
            "it was altered after approval: it no longer matches the hash recorded in the "
            "audit log when it was approved"
        ),
        canonical.ANCHOR_MISSING: _("the audit log holds no record of its approval"),
    }
    if reason.startswith("stored data is not canonical"):
        return _("its stored data is not in canonical form")
    return str(known.get(reason, reason))


@dataclass
class Anchors:
    """Hashes of approved minutes as the audit log recorded them when they were approved
    (and published): an independent copy, append-only, the first entry for each record."""

    hashes: dict[str, str] = field(default_factory=dict)
    # Records for which a later entry gives another hash (an entry added to cover a rewrite).
    conflicts: set[str] = field(default_factory=set)
    # What the approval entry says about the record, to name it if the record is gone.
    approved: dict[str, dict[str, Any]] = field(default_factory=dict)


def _chain_filter(
    organization: Organization | None, federation: Federation | None, prefix: str = ""
) -> Q:
    """One chain: an organisation's, or a federation's own (its entries and versions carry
    no organisation: an organisation's minutes published to the federation are not in it)."""
    if organization is not None:
        return Q(**{f"{prefix}organization": organization})
    if federation is None:
        raise ValueError("a chain belongs to an organisation or a federation")
    return Q(**{f"{prefix}organization__isnull": True, f"{prefix}federation": federation})


def approval_anchors(
    *, organization: Organization | None = None, federation: Federation | None = None
) -> Anchors:
    anchors = Anchors()
    entries = AuditEntry.objects.filter(
        _chain_filter(organization, federation),
        action__in=["minutes.approve", "minutes.publish"],
    ).order_by("id")
    for entry in entries.only("action", "object_kind", "object_uuid", "data"):
        data = entry.data if isinstance(entry.data, dict) else {}
        if entry.action == "minutes.approve":
            if entry.object_kind != "MinutesVersion":
                continue
            key = entry.object_uuid
            anchors.approved.setdefault(key, data)
        else:
            key = str(data.get("version", ""))
        recorded = str(data.get("hash", ""))
        if not key or not recorded:
            continue
        first = anchors.hashes.setdefault(key, recorded)
        if first != recorded:
            anchors.conflicts.add(key)
    return anchors


def anchored_hash(*, version: MinutesVersion) -> str | None:
    """The hash recorded in the audit log when this version was approved."""
    return approval_anchors(
        organization=version.organization, federation=version.federation
    ).hashes.get(str(version.uuid))


def _missing_label(uuid: str, data: dict[str, Any]) -> str:
    try:
        minutes = (
            Minutes.objects.filter(uuid=str(data.get("minutes", "")))
            .select_related("assembly")
            .first()
        )
    except (ValueError, ValidationError):  # not a uuid: name the record by its own uuid
        minutes = None
    return _label(
        assembly=minutes.assembly if minutes is not None else None,
        number=data.get("number", "?"),
        uuid=uuid,
    )


def chain_problems(
    *, organization: Organization | None = None, federation: Federation | None = None
) -> list[canonical.Problem]:
    """Recompute the chain of an organisation (or of a federation's own minutes) and
    compare each record with the hash the audit log kept when it was approved; each
    problem names the altered record itself, the newest one included (nothing after it
    would break)."""
    versions = list(
        MinutesVersion.objects.filter(_chain_filter(organization, federation))
        .select_related("minutes__assembly")
        .order_by("chain_index")
    )
    anchors = approval_anchors(organization=organization, federation=federation)
    labels = {v.pk: version_label(v) for v in versions}
    links = [
        canonical.Link(
            label=labels[v.pk],
            content=v.content,
            approval=v.approval,
            previous_hash=v.previous_hash,
            stored_hash=v.hash,
            anchored_hash=anchors.hashes.get(str(v.uuid)),
        )
        for v in versions
    ]
    problems = [
        canonical.Problem(p.label, _reason(p.reason))
        for p in canonical.verify_links(links, anchored=True)
    ]
    for v in versions:
        if str(v.uuid) in anchors.conflicts:
            problems.append(
                canonical.Problem(
                    labels[v.pk], _("the audit log records more than one hash for it")
                )
            )
    stored = {str(v.uuid) for v in versions}
    for uuid, data in anchors.approved.items():
        if uuid not in stored:
            problems.append(
                canonical.Problem(
                    _missing_label(uuid, data),
                    _("the audit log records its approval, but the record is missing"),
                )
            )
    for expected, v in enumerate(versions, start=1):
        if v.chain_index != expected:
            problems.append(
                canonical.Problem(labels[v.pk], _("a record before this one is missing"))
            )
            break
    return problems


def chain_length(
    *, organization: Organization | None = None, federation: Federation | None = None
) -> int:
    return MinutesVersion.objects.filter(_chain_filter(organization, federation)).count()


def chain_problems_for(version: MinutesVersion) -> list[canonical.Problem]:
    return chain_problems(organization=version.organization, federation=version.federation)


def chain_length_for(version: MinutesVersion) -> int:
    return chain_length(organization=version.organization, federation=version.federation)
