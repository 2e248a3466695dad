from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, time
from typing import Any
from zoneinfo import ZoneInfo

from rotation import engine
from rotation.checker import violations

TZ = ZoneInfo("America/Caracas")
WEEK = 7 * 86400


def weekly(post_id: int, weeks: int, headcount: int = 1) -> list[engine.SlotSpec]:
    return [
        engine.SlotSpec((post_id, t, p), post_id, t * WEEK, (t + 1) * WEEK, t, p)
        for t in range(weeks)
        for p in range(1, headcount + 1)
    ]


def test_shift_starts_at_local_time_across_the_year():
    cad = engine.Cadence("shift", shift_start=time(22, 0), shift_hours=8)
    terms = engine.expand(cad, date(2027, 1, 1), date(2027, 12, 31), ZoneInfo("Europe/Madrid"))
    assert len(terms) == 365
    assert all(s.hour == 22 for s, _e, _t in terms)
    # Across the spring DST change the shift is still 22:00 local, 8 hours long in wall time.
    assert {(e - s).total_seconds() for s, e, _t in terms} == {8 * 3600}


def test_week_and_month_terms_start_inside_the_period():
    weeks = engine.expand(engine.Cadence("week"), date(2027, 3, 3), date(2027, 3, 31), TZ)
    assert [s.date().isoformat() for s, _e, _t in weeks] == [
        "2027-03-08",
        "2027-03-15",
        "2027-03-22",
        "2027-03-29",
    ]
    quarters = engine.expand(
        engine.Cadence("month", term_length=3), date(2027, 1, 1), date(2027, 12, 31), TZ
    )
    assert [s.month for s, _e, _t in quarters] == [1, 4, 7, 10]
    assert quarters[0][1].date() == date(2027, 4, 1)


def test_unfillable_post_is_reported_with_reasons_not_left_silently_empty():
    members = {i: engine.MemberSpec(id=i) for i in range(1, 5)}
    members[4].on_leave = True
    post = engine.PostSpec(id=1, scope=(1, 2, 3, 4), quals=frozenset({9}), lane="post")
    problem = engine.Problem(posts={1: post}, members=members, slots=weekly(1, 2))
    result = engine.solve(problem)
    assert result.picks == []
    assert len(result.unfilled) == 2
    codes = {r["code"]: r["n"] for r in result.unfilled[0].reasons}
    assert codes == {engine.NOT_QUALIFIED: 4}
    assert violations(problem, result) == []


def test_too_few_people_fill_what_they_can_and_report_the_rest():
    members = {i: engine.MemberSpec(id=i) for i in (1, 2)}
    post = engine.PostSpec(id=1, scope=(1, 2), headcount=3, lane="post")
    result = engine.solve(engine.Problem(posts={1: post}, members=members, slots=weekly(1, 1, 3)))
    assert len(result.picks) == 2
    assert [r["code"] for r in result.unfilled[0].reasons] == [engine.DOUBLE_BOOKED]


def test_cooldown_carries_over_from_the_previous_roster():
    members = {i: engine.MemberSpec(id=i) for i in (1, 2, 3)}
    members[1].held_terms = {1: {-1}}  # held the post last term
    post = engine.PostSpec(id=1, scope=(1, 2, 3), lane="post", cooldown=2)
    problem = engine.Problem(posts={1: post}, members=members, slots=weekly(1, 3))
    result = engine.solve(problem)
    holders = [p.member_id for p in sorted(result.picks, key=lambda p: p.slot_id)]
    assert holders[0] != 1 and holders[1] != 1  # cooling down for terms 0 and 1
    assert violations(problem, result) == []


def test_long_run_fairness_prefers_who_coordinated_least_in_twelve_months():
    members = {i: engine.MemberSpec(id=i) for i in (1, 2, 3)}
    members[1].coordination = 4
    members[2].coordination = 1
    post = engine.PostSpec(id=1, scope=(1, 2, 3), lane="post", coordination=True)
    result = engine.solve(engine.Problem(posts={1: post}, members=members, slots=weekly(1, 1)))
    (pick,) = result.picks
    assert pick.member_id == 3
    codes = [e["code"] for e in pick.explanation]
    assert codes == ["fewest_turns", "fewest_coordination", "load", "available"]


def test_turns_are_spread_evenly_when_everyone_is_eligible():
    members = {i: engine.MemberSpec(id=i) for i in range(1, 11)}
    post = engine.PostSpec(id=1, scope=tuple(members), lane="post", headcount=2)
    problem = engine.Problem(posts={1: post}, members=members, slots=weekly(1, 52, 2))
    result = engine.solve(problem)
    counts = Counter(p.member_id for p in result.picks)
    assert max(counts.values()) - min(counts.values()) <= 1
    assert violations(problem, result) == []


def test_trainee_shadows_then_takes_over_next_term():
    members = {i: engine.MemberSpec(id=i) for i in range(1, 7)}
    post = engine.PostSpec(id=1, scope=tuple(members), lane="post", shadowing=True, cooldown=1)
    problem = engine.Problem(posts={1: post}, members=members, slots=weekly(1, 4))
    result = engine.solve(problem)
    by_term: dict[int, dict[str, int]] = {}
    for p in result.picks:
        by_term.setdefault(p.slot_id[1], {})[p.role] = p.member_id
    for t in range(3):
        assert by_term[t]["trainee"] == by_term[t + 1]["holder"]
        assert by_term[t]["trainee"] != by_term[t]["holder"]
    took_over = [p for p in result.picks if p.slot_id[1] == 1 and p.role == "holder"][0]
    assert took_over.explanation[0]["code"] == "took_over_after_shadowing"
    assert violations(problem, result) == []


def test_previous_rosters_trainee_takes_over_unless_no_longer_eligible():
    members = {i: engine.MemberSpec(id=i) for i in (1, 2, 3)}
    post = engine.PostSpec(id=1, scope=(1, 2, 3), lane="post")
    takes = engine.solve(
        engine.Problem(posts={1: post}, members=members, slots=weekly(1, 1), takeover={(1, 1): 3})
    )
    assert takes.picks[0].member_id == 3
    members[3].on_leave = True
    falls_back = engine.solve(
        engine.Problem(posts={1: post}, members=members, slots=weekly(1, 1), takeover={(1, 1): 3})
    )
    assert falls_back.picks[0].member_id != 3
    assert falls_back.picks[0].explanation[0]["code"] == "trainee_could_not_take_over"


def test_rest_between_shifts_is_respected():
    # Eight-hour shifts every twelve hours leave four hours between one shift and the next,
    # less than the eleven hours of rest: nobody may work two in a row.
    h = 3600
    post = engine.PostSpec(id=1, scope=(1,), rest_seconds=11 * h, max_consecutive=100)
    slots = [engine.SlotSpec(("s", i), 1, i * 12 * h, i * 12 * h + 8 * h, i) for i in range(6)]
    alone = engine.Problem(posts={1: post}, members={1: engine.MemberSpec(id=1)}, slots=slots)
    result = engine.solve(alone)
    assert violations(alone, result) == []
    # Alone, the one worker takes every other shift (16 h off in between) and the rest are
    # reported as lacking rest rather than filled.
    assert sorted(p.slot_id for p in result.picks) == [("s", 0), ("s", 2), ("s", 4)]
    assert {r["code"] for u in result.unfilled for r in u.reasons} == {engine.NO_REST}
    # Two workers alternate and every shift is covered.
    both = engine.Problem(
        posts={1: replace(post, scope=(1, 2))},
        members={1: engine.MemberSpec(id=1), 2: engine.MemberSpec(id=2)},
        slots=slots,
    )
    result = engine.solve(both)
    assert violations(both, result) == []
    by_slot = {p.slot_id[1]: p.member_id for p in result.picks}
    assert len(by_slot) == 6
    assert all(by_slot[i] != by_slot[i + 1] for i in range(5))
    # The checker would catch two shifts in a row too.
    forced = engine.Result(
        picks=[engine.Pick(("s", i), 1, "holder", ()) for i in (0, 1)], unfilled=[]
    )
    assert any("no rest" in v for v in violations(alone, forced))


def test_recheck_finds_nothing_in_a_fresh_roster_and_names_what_changed_since():
    members = {i: engine.MemberSpec(id=i) for i in range(1, 5)}
    post = engine.PostSpec(id=1, scope=tuple(members), lane="post", shadowing=True)
    problem = engine.Problem(posts={1: post}, members=members, slots=weekly(1, 4))
    picks = engine.solve(problem).picks
    assert engine.recheck(problem, picks) == []
    holder = next(p for p in picks if p.slot_id == (1, 2, 1) and p.role == "holder")
    trainee = next(p for p in picks if p.slot_id == (1, 0, 1) and p.role == "trainee")
    members[holder.member_id].unavailable.append((2 * WEEK + 3600, 2 * WEEK + 7200))
    members[trainee.member_id].on_leave = True
    found = {(p.slot_id, p.member_id): code for p, code in engine.recheck(problem, picks)}
    assert found[(holder.slot_id, holder.member_id)] == engine.UNAVAILABLE
    assert found[(trainee.slot_id, trainee.member_id)] == engine.ON_LEAVE
    # Someone who left the post's scope, and the same person twice in one week.
    gone = replace(post, scope=tuple(m for m in members if m != holder.member_id))
    assert engine.recheck(replace(problem, posts={1: gone}), [holder]) == [
        (holder, engine.NOT_IN_SCOPE)
    ]
    twice = [engine.Pick((1, 1, 1), 1, "holder", ()), engine.Pick((1, 1, 1), 1, "trainee", ())]
    assert [code for _p, code in engine.recheck(problem, twice)] == [engine.DOUBLE_BOOKED]


def test_share_cap_limits_any_one_persons_share_of_a_post():
    members = {1: engine.MemberSpec(id=1), 2: engine.MemberSpec(id=2)}
    members[2].on_leave = True
    post = engine.PostSpec(
        id=1, scope=(1, 2), lane="post", max_consecutive=10, max_share_percent=50, coordination=True
    )
    result = engine.solve(engine.Problem(posts={1: post}, members=members, slots=weekly(1, 4)))
    assert len(result.picks) == 2
    assert {r["code"] for u in result.unfilled for r in u.reasons} >= {engine.SHARE_CAP}


def _two_coordination_posts(share: int | None) -> engine.Problem:
    """Member 1 is the only one available for two coordination posts of four weeks each.
    Each post alone allows half of its turns to one person; the organisation allows a
    quarter of all coordination turns (2 of 8)."""
    members = {i: engine.MemberSpec(id=i) for i in (1, 2, 3)}
    members[2].on_leave = True
    members[3].on_leave = True
    kw: dict[str, Any] = {
        "scope": (1, 2, 3),
        "max_consecutive": 10,
        "max_share_percent": 50,
        "coordination": True,
    }
    posts = {
        1: engine.PostSpec(id=1, lane="post", **kw),
        2: engine.PostSpec(id=2, lane="task", **kw),
    }
    slots = weekly(1, 4) + weekly(2, 4)
    return engine.Problem(
        posts=posts, members=members, slots=slots, coordination_share_percent=share
    )


def test_overall_coordination_share_caps_a_person_across_all_coordination_posts():
    # Without the organisation's cap, each post's own cap lets member 1 hold 2 + 2 turns.
    uncapped = _two_coordination_posts(None)
    assert len(engine.solve(uncapped).picks) == 4
    problem = _two_coordination_posts(25)
    result = engine.solve(problem)
    assert [p.member_id for p in result.picks] == [1, 1]
    assert len(result.unfilled) == 6
    codes = {r["code"] for u in result.unfilled for r in u.reasons}
    assert engine.COORDINATION_CAP in codes
    assert violations(problem, result) == []
    assert engine.recheck(problem, result.picks) == []


def test_checker_and_recheck_catch_a_third_coordination_turn_the_post_caps_allow():
    problem = _two_coordination_posts(25)
    # Two turns of post 1 and one of post 2: within each post's cap (2 of 4), above the
    # overall cap (2 of 8).
    picks = [
        engine.Pick((1, 0, 1), 1, "holder", ()),
        engine.Pick((1, 2, 1), 1, "holder", ()),
        engine.Pick((2, 1, 1), 1, "holder", ()),
    ]
    forced = engine.Result(
        picks=picks,
        unfilled=[
            engine.Unfilled(s.id, s.post_id, ({"code": "x", "n": 1},))
            for s in problem.slots
            if s.id not in {p.slot_id for p in picks}
        ],
    )
    found = violations(problem, forced)
    assert len(found) == 1 and "coordination turns" in found[0]
    # Replayed in time order, the turn of week 2 is the one too many.
    assert [(p.slot_id, code) for p, code in engine.recheck(problem, picks)] == [
        ((1, 2, 1), engine.COORDINATION_CAP)
    ]
    assert violations(replace(problem, coordination_share_percent=40), forced) == []


def test_overall_coordination_cap_leaves_other_work_alone():
    members = {1: engine.MemberSpec(id=1)}
    coord = engine.PostSpec(id=1, scope=(1,), lane="post", coordination=True, max_consecutive=9)
    task = engine.PostSpec(id=2, scope=(1,), lane="task", max_consecutive=9)
    problem = engine.Problem(
        posts={1: coord, 2: task},
        members=members,
        slots=weekly(1, 4) + weekly(2, 4),
        coordination_share_percent=25,
    )
    result = engine.solve(problem)
    post_of = {s.id: s.post_id for s in problem.slots}
    assert Counter(post_of[p.slot_id] for p in result.picks) == {1: 1, 2: 4}
    assert violations(problem, result) == []
