from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone, translation

from governance import services as gov
from governance.models import AuditEntry, Mandate, Membership
from governance.permissions import may
from rotation import engine, selectors, services
from rotation.models import Assignment, QualificationGrant, Roster, Slot, SwapRequest
from tests import factories
from tests.rotation.conftest import NIGHT


@pytest.fixture(autouse=True)
def english() -> Any:
    """Messages are matched in English here (the default language is Spanish)."""
    with translation.override("en"):
        yield


def roster(b: Any, weeks: int = 4, **kw: Any) -> Roster:
    return services.roster_generate(
        actor=b.world.alice,
        organization=b.world.org,
        name="Roster",
        period_start=b.monday,
        period_end=b.monday + timedelta(days=7 * weeks - 1),
        **kw,
    )


def holders(r: Roster) -> list[Assignment]:
    return list(
        Assignment.objects.filter(slot__roster=r, role="holder")
        .exclude(state="replaced")
        .select_related("slot__post", "membership")
        .order_by("slot__starts_at", "slot__position")
    )


def test_generated_roster_is_a_proposal_with_explanations(bakery):
    bakery.post("Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week")
    bakery.post("Night cleaning", cadence="shift", shift_start=NIGHT, headcount=2, unpleasant=True)
    r = roster(bakery)
    assert r.status == Roster.Status.PROPOSAL
    assert r.report == {"slots": 4 + 56, "filled": 60, "unfilled": 0}
    for a in holders(r):
        assert a.explanation and a.explanation[-1] == {"code": "available"}
    night = Slot.objects.filter(roster=r, post__name="Night cleaning").first()
    # 22:00 in the organisation's zone (Caracas, UTC-4) is 02:00 UTC.
    assert timezone.localtime(night.starts_at, timezone.get_fixed_timezone(-240)).time() == NIGHT
    assert AuditEntry.objects.filter(action="rotation.roster_generate").count() == 1


def test_bob_without_mandate_cannot_coordinate(bakery):
    w = bakery.world
    with pytest.raises(PermissionDenied):
        services.post_create(actor=w.bob, organization=w.org, data=services.PostData(name="X"))
    bakery.post("Facilitation", kind="post", role=Mandate.Role.FACILITATOR)
    with pytest.raises(PermissionDenied):
        services.roster_generate(
            actor=w.bob,
            organization=w.org,
            name="R",
            period_start=bakery.monday,
            period_end=bakery.monday,
        )
    r = roster(bakery)
    with pytest.raises(PermissionDenied):
        services.roster_publish(actor=w.bob, roster=r)
    a = holders(r)[0]
    with pytest.raises(PermissionDenied):
        services.assignment_reassign(actor=w.bob, assignment=a, membership=w.bob_m, reason="x")


def test_unfillable_post_gives_a_report_of_slots_and_reasons(bakery):
    q = services.qualification_create(
        actor=bakery.world.alice, organization=bakery.world.org, name="Forklift"
    )
    bakery.post("Forklift", cadence="week", qualifications=(q,))
    r = roster(bakery, weeks=2)
    assert r.report["unfilled"] == 2
    slot = Slot.objects.filter(roster=r).first()
    assert slot.unfilled_reasons == [{"code": engine.NOT_QUALIFIED, "n": 8}]


def test_publishing_creates_mandates_that_expire_with_the_term(bakery):
    w = bakery.world
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    r = roster(bakery, weeks=2)
    assert not Mandate.objects.filter(source_rotation__isnull=False).exists()
    services.roster_publish(actor=w.alice, roster=r)
    r.refresh_from_db()
    assert r.status == Roster.Status.PUBLISHED
    first, second = holders(r)
    assert first.membership != second.membership  # cooldown from the organisation's rules
    m = Mandate.objects.get(source_rotation=first.uuid)
    assert m.role == Mandate.Role.MINUTE_TAKER
    assert (m.starts_at, m.ends_at) == (first.slot.starts_at, first.slot.ends_at)
    person = first.membership.person
    assert not may(person, "assembly.take_minutes", w.org)  # not yet
    assert may(person, "assembly.take_minutes", w.org, at=first.slot.starts_at)
    assert may(person, "assembly.take_minutes", w.org, at=first.slot.ends_at - timedelta(seconds=1))
    assert not may(person, "assembly.take_minutes", w.org, at=first.slot.ends_at)
    assert may(second.membership.person, "assembly.take_minutes", w.org, at=second.slot.starts_at)
    with pytest.raises(ValidationError):
        services.roster_publish(actor=w.alice, roster=r)


def _decision(w: Any, *links: str) -> Any:
    return gov.decision_record(
        actor=w.alice,
        organization=w.org,
        title="Roster",
        text="The assembly adopts the roster.",
        body="Assembly",
        links=list(links),
    )


def test_assembly_decision_about_the_roster_publishes_without_a_coordinator_mandate(bakery):
    w = bakery.world
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    r = roster(bakery, weeks=1)
    # The register names the roster by its page, as the decision form records links.
    page = "https://coop.example" + reverse("rotation:roster", args=[r.uuid])
    decision = _decision(w, page)
    assert not may(w.bob, "rotation.publish", r)
    services.roster_publish(actor=w.bob, roster=r, decision=decision)
    r.refresh_from_db()
    assert r.status == Roster.Status.PUBLISHED
    assert r.published_by_decision == decision
    assert (
        Mandate.objects.filter(
            role=Mandate.Role.MINUTE_TAKER, source_rotation__isnull=False
        ).count()
        == 1
    )


def test_bob_citing_a_decision_that_is_not_about_the_roster_is_refused(bakery):
    w = bakery.world
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    r = roster(bakery, weeks=1)
    other = roster(bakery, weeks=1)
    unrelated = [
        factories.founding_decision(w.org),
        _decision(w, "https://coop.example" + reverse("rotation:roster", args=[other.uuid])),
        # Naming the roster in a path that is not the roster's own does not count either.
        _decision(w, f"https://coop.example/rotation/rosters/{r.uuid}/publish/"),
    ]
    for decision in unrelated:
        with pytest.raises(ValidationError, match="not about this roster") as refused:
            services.roster_publish(actor=w.bob, roster=r, decision=decision)
        assert "decision" in refused.value.message_dict
    # Not even a coordinator may pass an unrelated decision off as the assembly's word.
    with pytest.raises(ValidationError, match="not about this roster"):
        services.roster_publish(actor=w.alice, roster=r, decision=unrelated[0])
    r.refresh_from_db()
    assert r.status == Roster.Status.PROPOSAL and r.published_by_decision is None
    assert not Mandate.objects.filter(source_rotation__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="rotation.roster_publish").exists()


def test_roster_coordinator_mandate_from_rotation_lets_the_next_coordinator_publish(bakery):
    w = bakery.world
    bakery.post(
        "Roster coordination", kind="post", role=Mandate.Role.ROSTER_COORDINATOR, cadence="week"
    )
    r = roster(bakery, weeks=1)
    services.roster_publish(actor=w.alice, roster=r)
    holder = holders(r)[0]
    at = holder.slot.starts_at + timedelta(hours=1)
    assert may(holder.membership.person, "rotation.publish", r, at=at)


def _offer_take(bakery):
    bakery.post("Deliveries", cadence="week", headcount=1)
    r = roster(bakery, weeks=1)
    a = holders(r)[0]
    owner = a.membership.person
    services.slot_offer(actor=owner, assignment=a, note="dentist")
    taker = next(m for m in bakery.members if m.pk != a.membership_id)
    return a, owner, taker


def test_member_offers_a_slot_and_another_takes_it_with_history(bakery):
    a, owner, taker = _offer_take(bakery)
    new = services.slot_take(actor=taker.person, assignment=a)
    a.refresh_from_db()
    assert a.state == Assignment.State.REPLACED and a.replaced_by == new
    assert new.membership == taker and new.source == Assignment.Source.TAKEN
    assert list(Assignment.objects.filter(slot=a.slot).order_by("created_at")) == [a, new]
    with pytest.raises(ValidationError, match="no longer available"):
        services.slot_take(actor=bakery.members[-1].person, assignment=a)


def test_only_the_holder_offers_and_nobody_takes_an_unoffered_slot(bakery):
    bakery.post("Deliveries", cadence="week")
    a = holders(roster(bakery, weeks=1))[0]
    other = next(m for m in bakery.members if m.pk != a.membership_id)
    with pytest.raises(PermissionDenied):
        services.slot_offer(actor=other.person, assignment=a)
    with pytest.raises(ValidationError):
        services.slot_take(actor=other.person, assignment=a)


def test_taking_is_rechecked_against_leave_and_unavailability(bakery):
    a, owner, taker = _offer_take(bakery)
    gov.membership_set_status(
        actor=taker.person, membership=taker, status=Membership.Status.ON_LEAVE
    )
    with pytest.raises(ValidationError, match="on leave"):
        services.slot_take(actor=taker.person, assignment=a)
    other = next(m for m in bakery.members if m.pk not in (a.membership_id, taker.pk))
    services.unavailability_add(
        actor=other.person,
        membership=other,
        starts_at=a.slot.starts_at - timedelta(days=1),
        ends_at=a.slot.starts_at + timedelta(hours=1),
    )
    with pytest.raises(ValidationError, match="unavailable"):
        services.slot_take(actor=other.person, assignment=a)
    a.refresh_from_db()
    assert a.state == Assignment.State.OFFERED


def test_swap_is_rechecked_and_moves_the_mandates(bakery):
    w = bakery.world
    bakery.post(
        "Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week", cooldown_terms=0
    )
    r = roster(bakery, weeks=2)
    services.roster_publish(actor=w.alice, roster=r)
    first, second = holders(r)
    swap = services.swap_propose(actor=first.membership.person, mine=first, theirs=second)
    with pytest.raises(PermissionDenied):
        services.swap_answer(actor=first.membership.person, swap=swap, accept=True)
    services.swap_answer(actor=second.membership.person, swap=swap, accept=True)
    swap.refresh_from_db()
    assert swap.state == SwapRequest.State.ACCEPTED
    new_first, new_second = holders(r)
    assert new_first.membership == second.membership
    assert new_second.membership == first.membership
    old = Mandate.objects.get(source_rotation=first.uuid)
    assert old.revoked_at is not None and old.revoked_reason
    assert Mandate.objects.get(source_rotation=new_first.uuid).membership == second.membership


def test_reassignment_that_breaks_the_cooldown_is_refused(bakery):
    bakery.post(
        "Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week", cooldown_terms=2
    )
    r = roster(bakery, weeks=3)
    t0, t1, t2 = holders(r)
    swap = services.swap_propose(actor=t0.membership.person, mine=t0, theirs=t1)
    services.swap_cancel(actor=t0.membership.person, swap=swap)
    assert SwapRequest.objects.get(pk=swap.pk).state == SwapRequest.State.CANCELLED
    # Giving term 2 to the holder of term 1 would break the cooldown of two terms.
    other = next(
        m
        for m in bakery.members
        if m.pk not in (t0.membership_id, t1.membership_id, t2.membership_id)
    )
    services.roster_publish(actor=bakery.world.alice, roster=r)
    with pytest.raises(ValidationError, match="cooldown"):
        services.assignment_reassign(
            actor=bakery.world.alice, assignment=t2, membership=t1.membership, reason="cover"
        )
    new = services.assignment_reassign(
        actor=bakery.world.alice, assignment=t2, membership=other, reason="Covers while Eva is ill"
    )
    assert new.reason == "Covers while Eva is ill" and new.source == "reassigned"
    assert Mandate.objects.filter(source_rotation=new.uuid, membership=other).exists()


def test_reassign_needs_a_reason_and_a_qualified_member(bakery):
    w = bakery.world
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Oven")
    services.qualification_attest(actor=w.alice, qualification=q, candidate=w.bob_m)
    bakery.post("Oven", cadence="week", qualifications=(q,))
    a = holders(roster(bakery, weeks=1))[0]
    assert a.membership == w.bob_m
    with pytest.raises(ValidationError):
        services.assignment_reassign(actor=w.alice, assignment=a, membership=w.alice_m, reason=" ")
    with pytest.raises(ValidationError, match="not qualified"):
        services.assignment_reassign(
            actor=w.alice, assignment=a, membership=w.alice_m, reason="swap"
        )


def test_qualification_needs_n_qualified_peers_and_expires(bakery):
    w = bakery.world
    dina, eva, fabio = bakery.members[2:5]
    q = services.qualification_create(
        actor=w.alice, organization=w.org, name="First aid", attestations_required=2, valid_days=30
    )
    # Nobody holds it yet: a coordinator's word starts it.
    assert services.qualification_attest(actor=w.alice, qualification=q, candidate=dina)
    # With one holder, one attestation is all there can be.
    assert services.qualification_attest(actor=dina.person, qualification=q, candidate=eva)
    # Now only holders attest, and two of them are needed.
    with pytest.raises(PermissionDenied):
        services.qualification_attest(actor=w.alice, qualification=q, candidate=fabio)
    assert (
        services.qualification_attest(actor=dina.person, qualification=q, candidate=fabio) is None
    )
    grant = services.qualification_attest(actor=eva.person, qualification=q, candidate=fabio)
    assert grant is not None and grant.expires_at is not None
    assert grant.is_valid() and not grant.is_valid(at=timezone.now() + timedelta(days=31))
    with pytest.raises(ValidationError):
        services.qualification_attest(actor=fabio.person, qualification=q, candidate=fabio)


def test_attendance_by_the_holder_and_coordinator(bakery):
    w = bakery.world
    bakery.post("Deliveries", cadence="day")
    start = timezone.localdate() - timedelta(days=1)
    r = services.roster_generate(
        actor=w.alice, organization=w.org, name="R", period_start=start, period_end=start
    )
    a = holders(r)[0]
    services.attendance_record(actor=a.membership.person, assignment=a, attendance="done")
    assert a.attendance == "done"
    with pytest.raises(PermissionDenied):
        services.attendance_record(
            actor=w.bob if a.membership != w.bob_m else bakery.members[2].person,
            assignment=a,
            attendance="missed",
        )
    services.attendance_record(actor=w.alice, assignment=a, attendance="excused")
    with pytest.raises(ValidationError):
        services.attendance_record(actor=w.alice, assignment=a, attendance="nonsense")


def test_members_on_leave_and_away_are_left_out(bakery):
    w = bakery.world
    for m in bakery.members[2:]:
        gov.membership_set_status(actor=m.person, membership=m, status=Membership.Status.ON_LEAVE)
    tz = timezone.get_fixed_timezone(-240)
    services.unavailability_add(
        actor=w.bob,
        membership=w.bob_m,
        starts_at=datetime.combine(bakery.monday, time(0), tzinfo=tz),
        ends_at=datetime.combine(bakery.monday + timedelta(days=7), time(0), tzinfo=tz),
    )
    bakery.post("Deliveries", cadence="week")
    r = roster(bakery, weeks=2)
    week1, week2 = Slot.objects.filter(roster=r).order_by("starts_at")
    assert holders(r)[0].membership == w.alice_m  # bob is away the first week
    assert {a.membership for a in holders(r)} <= {w.alice_m, w.bob_m}
    assert week1.unfilled_reasons == [] and week2.unfilled_reasons == []


def test_fairness_carries_over_between_rosters(bakery):
    w = bakery.world
    bakery.post(
        "Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week", cooldown_terms=0
    )
    first = roster(bakery, weeks=4)
    services.roster_publish(actor=w.alice, roster=first)
    done = {a.membership_id for a in holders(first)}
    second = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="Next",
        period_start=bakery.monday + timedelta(days=28),
        period_end=bakery.monday + timedelta(days=28 + 27),
    )
    # Eight members, four weeks each time: the second roster goes to the other four.
    assert {a.membership_id for a in holders(second)}.isdisjoint(done)


def test_calendar_token_reset_is_only_for_oneself(bakery):
    w = bakery.world
    old = services.calendar_token_for(membership=w.bob_m).token
    with pytest.raises(PermissionDenied):
        services.calendar_token_reset(actor=w.alice, membership=w.bob_m)
    assert services.calendar_token_reset(actor=w.bob, membership=w.bob_m).token != old


def test_charlie_cannot_take_alices_slots(bakery):
    a, owner, _taker = _offer_take(bakery)
    charlie = bakery.world.charlie
    with pytest.raises(Http404):
        selectors.assignment_get_for_member(user=charlie, uuid=a.uuid)
    with pytest.raises(PermissionDenied):
        services.slot_take(actor=charlie, assignment=a)
    a.refresh_from_db()
    assert a.state == Assignment.State.OFFERED and a.membership.person == owner
    assert list(Assignment.objects.filter(slot=a.slot)) == [a]
    assert not AuditEntry.objects.filter(action="rotation.slot_take").exists()


def test_swap_is_refused_when_the_other_person_can_no_longer_take_it(bakery):
    bakery.post("Deliveries", cadence="week", cooldown_terms=0)
    r = roster(bakery, weeks=2)
    first, second = holders(r)
    swap = services.swap_propose(actor=first.membership.person, mine=first, theirs=second)
    other = second.membership
    services.unavailability_add(
        actor=other.person,
        membership=other,
        starts_at=first.slot.starts_at,
        ends_at=first.slot.ends_at,
    )
    with pytest.raises(ValidationError, match="unavailable"):
        services.swap_answer(actor=other.person, swap=swap, accept=True)
    assert [a.membership for a in holders(r)] == [first.membership, second.membership]
    services.swap_answer(actor=other.person, swap=swap, accept=False)
    assert SwapRequest.objects.get(pk=swap.pk).state == SwapRequest.State.DECLINED


def test_a_roster_overlapping_a_published_one_for_the_same_post_is_refused(bakery):
    w = bakery.world
    deliveries = bakery.post("Deliveries", cadence="week")
    cleaning = bakery.post("Cleaning", cadence="week")
    first = roster(bakery, weeks=3, posts=[deliveries])
    # Two proposals over the same weeks are alternatives: both may exist, one is published.
    rival = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="Rival",
        period_start=bakery.monday + timedelta(days=7),
        period_end=bakery.monday + timedelta(days=34),
        posts=[deliveries, cleaning],
    )
    services.roster_publish(actor=w.alice, roster=first)
    with pytest.raises(ValidationError) as refused:
        services.roster_publish(actor=w.alice, roster=rival)
    [message] = refused.value.messages
    assert "“Deliveries” is already covered by the published roster “Roster”" in message
    assert "Cleaning" not in message
    rival.refresh_from_db()
    assert rival.status == Roster.Status.PROPOSAL
    # Weeks two and three still have exactly one holder each.
    for slot in Slot.objects.filter(roster=first):
        assert (
            Assignment.objects.filter(
                slot__post=deliveries,
                slot__starts_at=slot.starts_at,
                slot__roster__status=Roster.Status.PUBLISHED,
                role="holder",
            )
            .exclude(state="replaced")
            .count()
            == 1
        )
    # A new proposal over published terms is refused at once; other posts and later weeks
    # are fine.
    with pytest.raises(ValidationError, match="already covered"):
        roster(bakery, weeks=1)
    other_post = roster(bakery, weeks=3, posts=[cleaning])
    services.roster_publish(actor=w.alice, roster=other_post)
    after = services.roster_generate(
        actor=w.alice,
        organization=w.org,
        name="After",
        period_start=bakery.monday + timedelta(days=21),
        period_end=bakery.monday + timedelta(days=27),
        posts=[deliveries],
    )
    services.roster_publish(actor=w.alice, roster=after)
    assert after.status == Roster.Status.PUBLISHED


def test_publishing_rechecks_every_assignment_and_reports_each_broken_slot(bakery):
    w = bakery.world
    bakery.post("Deliveries", cadence="week")
    r = roster(bakery, weeks=3)
    t0, t1, t2 = holders(r)
    assert len({t0.membership_id, t1.membership_id, t2.membership_id}) == 3
    # Since the proposal was made: one went on leave, another cannot come that week.
    gov.membership_set_status(
        actor=t0.membership.person, membership=t0.membership, status=Membership.Status.ON_LEAVE
    )
    services.unavailability_add(
        actor=t1.membership.person,
        membership=t1.membership,
        starts_at=t1.slot.starts_at + timedelta(days=2),
        ends_at=t1.slot.starts_at + timedelta(days=3),
        reason="wedding",
    )
    with pytest.raises(ValidationError) as refused:
        services.roster_publish(actor=w.alice, roster=r)
    head, *lines = refused.value.messages
    assert head.startswith("Nothing was published: 2 assignments no longer meet the rules")
    assert len(lines) == 2
    assert lines[0].startswith("Deliveries, ")
    assert f"{t0.membership.display_name} can no longer take it (on leave)." in lines[0]
    assert f"{t1.membership.display_name} can no longer take it (unavailable)." in lines[1]
    assert t2.membership.display_name not in " ".join(lines)
    r.refresh_from_db()
    assert r.status == Roster.Status.PROPOSAL
    assert not AuditEntry.objects.filter(action="rotation.roster_publish").exists()
    # Reassigning the two slots (the rules are checked for the newcomers) unblocks it.
    busy = {a.membership_id for a in holders(r)}
    free = [m for m in bakery.members if m.pk not in busy and m.pk != t0.membership_id]
    services.assignment_reassign(actor=w.alice, assignment=t0, membership=free[0], reason="leave")
    services.assignment_reassign(actor=w.alice, assignment=t1, membership=free[1], reason="away")
    services.roster_publish(actor=w.alice, roster=r)
    r.refresh_from_db()
    assert r.status == Roster.Status.PUBLISHED


def test_publishing_refuses_a_holder_whose_qualification_lapsed(bakery):
    w = bakery.world
    dina, eva = bakery.members[2:4]
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Oven")
    services.qualification_attest(actor=w.alice, qualification=q, candidate=dina)
    services.qualification_attest(actor=dina.person, qualification=q, candidate=eva)
    bakery.post("Oven", cadence="week", qualifications=(q,))
    r = roster(bakery, weeks=1)
    [holder] = holders(r)
    # The grant now ends before the slot does (as a short validity period would make it).
    QualificationGrant.objects.filter(qualification=q, membership=holder.membership).update(
        expires_at=holder.slot.starts_at + timedelta(days=1)
    )
    with pytest.raises(ValidationError, match=r"can no longer take it \(not qualified\)"):
        services.roster_publish(actor=w.alice, roster=r)
    assert Roster.objects.get(pk=r.pk).status == Roster.Status.PROPOSAL


def test_overall_share_of_coordination_holds_across_posts_and_is_rechecked(bakery):
    w = bakery.world
    assert gov.rules_in_force(organization=w.org).max_coordination_share == 25
    bakery.post("Facilitation", kind="post", role=Mandate.Role.FACILITATOR, cadence="week")
    bakery.post("Minutes", kind="post", role=Mandate.Role.MINUTE_TAKER, cadence="week")
    r = roster(bakery, weeks=2)
    turns = holders(r)
    assert len(turns) == 4  # a quarter of 4 coordination turns: one each
    assert len({a.membership_id for a in turns}) == 4
    facilitation = next(a for a in turns if a.slot.post.name == "Facilitation")
    minutes = next(
        a
        for a in turns
        if a.slot.post.name == "Minutes" and a.slot.starts_at > facilitation.slot.starts_at
    )
    # Each post's own cap (a quarter of its 2 turns, at least one) would allow it; the
    # share of all coordination in the roster does not.
    with pytest.raises(ValidationError, match="maximum share of all coordination"):
        services.assignment_reassign(
            actor=w.alice, assignment=minutes, membership=facilitation.membership, reason="cover"
        )
    free = next(m for m in bakery.members if m.pk not in {a.membership_id for a in turns})
    new = services.assignment_reassign(
        actor=w.alice, assignment=minutes, membership=free, reason="cover"
    )
    assert new.membership == free
    # Handing one's own coordination turn over in a swap frees the share again.
    swap = services.swap_propose(actor=free.person, mine=new, theirs=facilitation)
    services.swap_answer(actor=facilitation.membership.person, swap=swap, accept=True)
    assert SwapRequest.objects.get(pk=swap.pk).state == SwapRequest.State.ACCEPTED


def test_coordinator_fills_a_slot_nobody_could_take_once_someone_qualifies(bakery):
    w = bakery.world
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Forklift")
    bakery.post(
        "Forklift lead",
        kind="post",
        role=Mandate.Role.FACILITATOR,
        cadence="week",
        qualifications=(q,),
    )
    r = roster(bakery, weeks=2)
    services.roster_publish(actor=w.alice, roster=r)
    assert r.report == {"slots": 2, "filled": 0, "unfilled": 2}
    first = Slot.objects.filter(roster=r).order_by("starts_at").first()
    services.qualification_attest(actor=w.alice, qualification=q, candidate=w.bob_m)
    with pytest.raises(PermissionDenied):
        services.slot_fill(actor=w.bob, slot=first, membership=w.bob_m, reason="qualified now")
    with pytest.raises(ValidationError, match="not qualified"):
        services.slot_fill(actor=w.alice, slot=first, membership=w.alice_m, reason="x")
    with pytest.raises(ValidationError):
        services.slot_fill(actor=w.alice, slot=first, membership=w.bob_m, reason=" ")
    with pytest.raises(ValidationError):
        services.slot_fill(actor=w.alice, slot=first, membership=w.charlie_m, reason="x")
    a = services.slot_fill(actor=w.alice, slot=first, membership=w.bob_m, reason="qualified now")
    assert (a.membership, a.role, a.source) == (w.bob_m, "holder", "reassigned")
    r.refresh_from_db()
    assert r.report == {"slots": 2, "filled": 1, "unfilled": 1}
    assert list(selectors.unfilled_slots(roster=r)) == [
        Slot.objects.filter(roster=r).order_by("starts_at").last()
    ]
    # The roster is published, so the post's mandate comes with the slot.
    m = Mandate.objects.get(source_rotation=a.uuid)
    assert (m.membership, m.ends_at) == (w.bob_m, first.ends_at)
    assert AuditEntry.objects.filter(action="rotation.slot_fill").count() == 1
    with pytest.raises(ValidationError, match="already filled"):
        services.slot_fill(actor=w.alice, slot=first, membership=w.bob_m, reason="again")


def test_slots_of_a_withdrawn_roster_are_not_filled(bakery):
    w = bakery.world
    q = services.qualification_create(actor=w.alice, organization=w.org, name="Forklift")
    bakery.post("Forklift", cadence="week", qualifications=(q,))
    r = roster(bakery, weeks=1)
    services.roster_withdraw(actor=w.alice, roster=r, reason="wrong dates")
    services.qualification_attest(actor=w.alice, qualification=q, candidate=w.bob_m)
    with pytest.raises(ValidationError, match="withdrawn"):
        services.slot_fill(
            actor=w.alice, slot=Slot.objects.get(roster=r), membership=w.bob_m, reason="x"
        )
