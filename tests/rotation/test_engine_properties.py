"""Property-based: whatever the members, posts and rules, no roster the engine produces
breaks a hard rule, and every slot is either filled or reported with a reason."""

from __future__ import annotations

from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rotation import engine
from rotation.checker import violations

TZ = ZoneInfo("America/Caracas")
FIRST = date(2027, 3, 1)
DAY = 86400
T0 = int(engine._local(FIRST, time(0, 0), TZ).timestamp())

cadences = st.sampled_from(["shift", "day", "week", "month"])


@st.composite
def problems(draw: st.DrawFn) -> engine.Problem:
    n = draw(st.integers(min_value=0, max_value=14))
    members: dict[int, engine.MemberSpec] = {}
    for i in range(1, n + 1):
        m = engine.MemberSpec(id=i, on_leave=draw(st.booleans()) and draw(st.booleans()))
        for q in (1, 2):
            if draw(st.booleans()):
                since = T0 + draw(st.integers(-5, 20)) * DAY
                until = draw(st.one_of(st.none(), st.integers(1, 40)))
                m.quals[q] = (since, None if until is None else since + until * DAY)
        for _ in range(draw(st.integers(0, 2))):
            start = T0 + draw(st.integers(-3, 40)) * DAY + draw(st.integers(0, 23)) * 3600
            m.unavailable.append((start, start + draw(st.integers(1, 240)) * 3600))
        if draw(st.booleans()):
            # History before the roster: terms of post 1 held recently, and a booking.
            m.held_terms[1] = set(draw(st.lists(st.integers(-4, -1), max_size=2)))
            b = T0 - draw(st.integers(1, 20)) * 3600
            m.bookings.append(engine.Booking(b, b + 8 * 3600, engine.TIME_LANE, 11 * 3600))
        members[i] = m
    ids = tuple(members)
    posts: dict[int, engine.PostSpec] = {}
    slots: list[engine.SlotSpec] = []
    days = draw(st.integers(1, 35))
    for pid in range(1, draw(st.integers(1, 5)) + 1):
        cadence = draw(cadences)
        lane = (
            engine.TIME_LANE
            if cadence in ("shift", "day")
            else draw(st.sampled_from(["post", "task"]))
        )
        headcount = draw(st.integers(1, 3))
        scope = tuple(sorted(draw(st.sets(st.sampled_from(ids), max_size=n)))) if ids else ()
        everyone = draw(st.booleans())
        if ids and everyone:
            scope = ids
        posts[pid] = engine.PostSpec(
            id=pid,
            scope=scope,
            headcount=headcount,
            lane=lane,
            burden=draw(st.sampled_from([0.5, 1.0, 2.0])),
            unpleasant=draw(st.booleans()),
            coordination=draw(st.booleans()),
            shadowing=draw(st.booleans()),
            rest_seconds=draw(st.sampled_from([0, 8, 11])) * 3600
            if lane == engine.TIME_LANE
            else 0,
            quals=frozenset(draw(st.sets(st.sampled_from([1, 2]), max_size=2))),
            max_consecutive=draw(st.integers(1, 3)),
            cooldown=draw(st.integers(0, 3)),
            max_share_percent=draw(st.one_of(st.none(), st.integers(1, 100))),
            group=draw(st.sampled_from(["", "g"])),
        )
        cad = engine.Cadence(
            cadence=cadence,
            shift_start=time(draw(st.integers(0, 23)), 0),
            shift_hours=draw(st.integers(4, 12)),
            term_length=1 if cadence == "shift" else draw(st.integers(1, 2)),
        )
        for t_start, t_end, term in engine.expand(cad, FIRST, FIRST + timedelta(days=days), TZ):
            for pos in range(1, headcount + 1):
                slots.append(
                    engine.SlotSpec(
                        (pid, term, pos),
                        pid,
                        int(t_start.timestamp()),
                        int(t_end.timestamp()),
                        term,
                        pos,
                    )
                )
    takeover: dict[tuple[int, int], int] = {}
    with_heir = draw(st.booleans())
    if ids and with_heir:
        takeover[(1, 1)] = draw(st.sampled_from(ids))
    return engine.Problem(
        posts=posts,
        members=members,
        slots=slots,
        takeover=takeover,
        seed=draw(st.integers(0, 5)),
        coordination_share_percent=draw(st.one_of(st.none(), st.integers(1, 100))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_no_generated_roster_breaks_a_hard_rule(problem: engine.Problem) -> None:
    result = engine.solve(problem)
    assert violations(problem, result) == []
    # Re-checking before publication finds nothing to report in what the engine just made.
    assert engine.recheck(problem, result.picks) == []
    filled = {p.slot_id for p in result.picks if p.role == "holder"}
    reported = {u.slot_id for u in result.unfilled}
    assert filled | reported == {s.id for s in problem.slots}
    assert not filled & reported
    for u in result.unfilled:
        assert u.reasons and all(r["code"] for r in u.reasons)
    for p in result.picks:
        assert p.explanation, "every assignment carries its explanation"


@settings(max_examples=60, deadline=None)
@given(problems())
def test_checker_catches_a_double_booking_the_engine_would_never_make(
    problem: engine.Problem,
) -> None:
    """The checker is not always-true: put one person on two overlapping slots."""
    slots = sorted(problem.slots, key=lambda s: s.start)
    pairs = [
        (a, b)
        for a in slots
        for b in slots
        if a.id != b.id
        and a.start < b.end
        and b.start < a.end
        and problem.posts[a.post_id].lane == problem.posts[b.post_id].lane
    ]
    if not pairs or not problem.members:
        return
    a, b = pairs[0]
    member = next(iter(problem.members))
    forced = engine.Result(
        picks=[engine.Pick(a.id, member, "holder", ()), engine.Pick(b.id, member, "holder", ())],
        unfilled=[],
    )
    assert violations(problem, forced)
    assert engine.recheck(problem, forced.picks)
