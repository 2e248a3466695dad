"""The fair-rotation engine: pure Python, no ORM, times as epoch seconds.

Slots are filled in time order. For each slot the candidates of its post wait in a heap
ordered by (turns of this post group so far, turns of the same kind of load (coordination or
unpleasant), total burden, a fixed tie-break). Keys only ever grow as people are assigned, so
the heap is updated lazily: an entry whose stored key is stale is re-keyed when it reaches the
top, and a fresh top is truly the least-loaded candidate. The first feasible candidate wins;
hard rules are checked against per-person sorted bookings with `bisect`.

Fairness is long-run: the caller passes each person's load over the fairness window (12
months by default), and the engine continues from there.

Hard rules (also checked independently by `rotation.checker`):
  scope (member of the post's organisation or workgroup), qualifications valid for the whole
  slot, not on leave, no unavailability overlapping, no double booking within a lane (shifts
  and days share the "time" lane; longer posts and longer tasks have their own lanes), rest
  after a time-lane slot, term limit (consecutive terms) and cooldown, share cap per post,
  and each person's overall share of the roster's coordination (all posts marked
  coordination together: holding 1 of 4 facilitation turns and 1 of 4 minute-taking turns
  is 2 of 8 coordination turns).
"""

from __future__ import annotations

import calendar
import gc
import heapq
import zlib
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

TIME_LANE = "time"
# How many feasible candidates of the lowest tier compete on total burden.
CHOICES = 4
DAY = 86400

# Codes of the reasons a person cannot take a slot, in the order they are tested.
NOT_IN_SCOPE = "not_in_scope"
NOT_QUALIFIED = "not_qualified"
ON_LEAVE = "on_leave"
UNAVAILABLE = "unavailable"
DOUBLE_BOOKED = "double_booked"
NO_REST = "no_rest"
TERM_LIMIT = "term_limit"
SHARE_CAP = "share_cap"
COORDINATION_CAP = "coordination_cap"
NO_MEMBERS = "no_members"


@dataclass(frozen=True)
class PostSpec:
    id: int
    scope: tuple[int, ...]  # member ids of the post's organisation or workgroup
    headcount: int = 1
    group: str = ""
    lane: str = TIME_LANE
    burden: float = 1.0
    unpleasant: bool = False
    coordination: bool = False
    shadowing: bool = False
    rest_seconds: int = 0
    quals: frozenset[int] = frozenset()
    max_consecutive: int = 1
    cooldown: int = 0
    max_share_percent: int | None = None

    @cached_property
    def group_key(self) -> str:
        return self.group or f"post:{self.id}"


@dataclass(frozen=True)
class SlotSpec:
    id: Any
    post_id: int
    start: int
    end: int
    term: int
    position: int = 1


@dataclass(frozen=True)
class Booking:
    """Something already occupying a person's lane (e.g. another published roster)."""

    start: int
    end: int
    lane: str
    rest_seconds: int = 0


@dataclass
class MemberSpec:
    id: int
    on_leave: bool = False
    unavailable: list[tuple[int, int]] = field(default_factory=list)
    # qualification id -> (valid from, valid until or None)
    quals: dict[int, tuple[int, int | None]] = field(default_factory=dict)
    # Load carried over from the fairness window.
    burden: float = 0.0
    unpleasant: int = 0
    coordination: int = 0
    learning: int = 0
    group_counts: dict[str, int] = field(default_factory=dict)
    # post id -> term indices held before this roster (for term limits and cooldowns)
    held_terms: dict[int, set[int]] = field(default_factory=dict)
    bookings: list[Booking] = field(default_factory=list)


@dataclass
class Problem:
    posts: dict[int, PostSpec]
    members: dict[int, MemberSpec]
    slots: list[SlotSpec]
    # (post id, position) -> member who shadowed the last term before this roster
    takeover: dict[tuple[int, int], int] = field(default_factory=dict)
    window_months: int = 12
    seed: int = 0
    # The most any one person may hold of all coordination turns of this problem, in per
    # cent (the organisation's rules); None: no overall cap.
    coordination_share_percent: int | None = None


# Slots: a year's roster makes tens of thousands of picks, and a __dict__ each doubled
# what the result keeps in memory.
@dataclass(frozen=True, slots=True)
class Pick:
    slot_id: Any
    member_id: int
    role: str  # "holder" or "trainee"
    explanation: tuple[dict[str, Any], ...]


@dataclass(frozen=True, slots=True)
class Unfilled:
    slot_id: Any
    post_id: int
    reasons: tuple[dict[str, Any], ...]


@dataclass
class Result:
    picks: list[Pick]
    unfilled: list[Unfilled]


# --- Slot expansion -------------------------------------------------------------------------

ANCHOR = date(2000, 1, 3)  # a Monday: term numbering is stable across rosters


@dataclass(frozen=True)
class Cadence:
    cadence: str  # shift, day, week, month, term
    term_length: int = 1
    shift_start: time | None = None
    shift_hours: int = 8
    term_days: int = 180  # the length of one "term" unit (organisation rules)


def _local(d: date, t: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, t, tzinfo=tz)


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def expand(
    cad: Cadence, first: date, last: date, tz: ZoneInfo
) -> list[tuple[datetime, datetime, int]]:
    """The terms of a post that start between `first` and `last` (inclusive), as aware
    datetimes in the organisation's zone (so a shift at 22:00 stays at 22:00 across DST)."""
    out: list[tuple[datetime, datetime, int]] = []
    length = max(1, cad.term_length)
    midnight = time(0, 0)
    if cad.cadence == "shift":
        start_t = cad.shift_start or time(8, 0)
        d = first
        while d <= last:
            start = _local(d, start_t, tz)
            out.append((start, start + timedelta(hours=cad.shift_hours), d.toordinal()))
            d += timedelta(days=1)
        return out
    if cad.cadence == "day":
        unit_first = (first - ANCHOR).days
        unit_last = (last - ANCHOR).days
        step_days = 1
    elif cad.cadence == "week":
        unit_first = -(-(first - ANCHOR).days // 7)
        unit_last = (last - ANCHOR).days // 7
        step_days = 7
    elif cad.cadence == "term":
        step_days = max(1, cad.term_days)
        unit_first = -(-(first - ANCHOR).days // step_days)
        unit_last = (last - ANCHOR).days // step_days
    elif cad.cadence == "month":
        index_first = first.year * 12 + first.month - 1 + (0 if first.day == 1 else 1)
        index_last = last.year * 12 + last.month - 1
        term = -(-index_first // length)
        while term * length <= index_last:
            m0 = term * length
            start_d = date(m0 // 12, m0 % 12 + 1, 1)
            end_d = _add_months(start_d, length)
            out.append((_local(start_d, midnight, tz), _local(end_d, midnight, tz), term))
            term += 1
        return out
    else:
        raise ValueError(f"unknown cadence {cad.cadence!r}")
    term = -(-unit_first // length)
    while term * length <= unit_last:
        start_d = ANCHOR + timedelta(days=term * length * step_days)
        end_d = start_d + timedelta(days=length * step_days)
        out.append((_local(start_d, midnight, tz), _local(end_d, midnight, tz), term))
        term += 1
    return out


def month_days(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


# --- Rules shared by the engine and the services that re-check changes ----------------------


def terms_ok(held: set[int], term: int, max_consecutive: int, cooldown: int) -> bool:
    """Would holding `term` keep every run of consecutive terms within the limit and every
    gap between runs at least `cooldown` terms long?"""
    if term in held:
        return False
    lo = term
    while lo - 1 in held:
        lo -= 1
    hi = term
    while hi + 1 in held:
        hi += 1
    if hi - lo + 1 > max_consecutive:
        return False
    return all(not (lo - 1 - i in held or hi + 1 + i in held) for i in range(1, cooldown + 1))


def qualified(member: MemberSpec, quals: Iterable[int], start: int, end: int) -> bool:
    for q in quals:
        valid = member.quals.get(q)
        if valid is None:
            return False
        since, until = valid
        if since > start or (until is not None and until < end):
            return False
    return True


def merge_intervals(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


class Lane:
    """One person's non-overlapping bookings in one lane, sorted by start."""

    __slots__ = ("starts", "ends")

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[tuple[int, int]] = []  # (end, rest seconds after it)

    def conflict(self, start: int, end: int, rest: int) -> str | None:
        i = bisect_left(self.starts, start)
        if i > 0:
            prev_end, prev_rest = self.ends[i - 1]
            if prev_end > start:
                return DOUBLE_BOOKED
            if prev_end + prev_rest > start:
                return NO_REST
        if i < len(self.starts):
            nxt = self.starts[i]
            if nxt < end:
                return DOUBLE_BOOKED
            if end + rest > nxt:
                return NO_REST
        return None

    def add(self, start: int, end: int, rest: int) -> None:
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, (end, rest))


class _State:
    """Per-person mutable state during one run."""

    __slots__ = (
        "spec",
        "unavail_starts",
        "unavail",
        "lanes",
        "held",
        "share",
        "coord_share",
        "burden100",
        "unpleasant",
        "coordination",
        "learning",
        "groups",
        "tie",
    )

    def __init__(self, spec: MemberSpec, seed: int) -> None:
        self.spec = spec
        self.unavail = merge_intervals(spec.unavailable)
        self.unavail_starts = [s for s, _ in self.unavail]
        self.lanes: dict[str, Lane] = {}
        for b in sorted(spec.bookings, key=lambda b: b.start):
            lane = self.lanes.setdefault(b.lane, Lane())
            lane.add(b.start, b.end, b.rest_seconds)
        self.held: dict[int, set[int]] = {p: set(t) for p, t in spec.held_terms.items()}
        self.share: dict[int, int] = {}
        # Coordination turns held in this problem only (the cap is a share of its turns);
        # `coordination` below also carries the fairness window and only orders the heap.
        self.coord_share = 0
        self.burden100 = round(spec.burden * 100)
        self.unpleasant = spec.unpleasant
        self.coordination = spec.coordination
        self.learning = spec.learning
        self.groups: dict[str, int] = dict(spec.group_counts)
        # A fixed pseudo-random tie-break, so ties do not always favour the same names.
        self.tie = zlib.crc32(f"{seed}:{spec.id}".encode())

    def unavailable(self, start: int, end: int) -> bool:
        i = bisect_left(self.unavail_starts, end)
        return i > 0 and self.unavail[i - 1][1] > start


def _static_reason(st: _State, post: PostSpec, slot: SlotSpec) -> str | None:
    if not qualified(st.spec, post.quals, slot.start, slot.end):
        return NOT_QUALIFIED
    if st.spec.on_leave:
        return ON_LEAVE
    if st.unavailable(slot.start, slot.end):
        return UNAVAILABLE
    return None


def _reason(
    st: _State, post: PostSpec, slot: SlotSpec, cap: int | None, coord_cap: int | None = None
) -> str | None:
    """Why this person cannot take this slot now, or None if they can. `cap` is the post's
    own share cap, `coord_cap` the overall cap on coordination turns (both in turns)."""
    reason = _static_reason(st, post, slot)
    if reason is not None:
        return reason
    lane = st.lanes.get(post.lane)
    if lane is not None:
        reason = lane.conflict(slot.start, slot.end, post.rest_seconds)
        if reason is not None:
            return reason
    if not terms_ok(st.held.get(post.id, set()), slot.term, post.max_consecutive, post.cooldown):
        return TERM_LIMIT
    if cap is not None and st.share.get(post.id, 0) >= cap:
        return SHARE_CAP
    if post.coordination and coord_cap is not None and st.coord_share >= coord_cap:
        return COORDINATION_CAP
    return None


def percent_cap(percent: int | None, seats: int) -> int | None:
    """How many of `seats` turns one person may hold: at least one, or nobody could ever
    take a post with fewer seats than 100 / percent."""
    if percent is None:
        return None
    return max(1, seats * percent // 100)


def share_cap(post: PostSpec, seats: int) -> int | None:
    return percent_cap(post.max_share_percent, seats)


def coordination_cap(problem: Problem) -> int | None:
    """The overall cap in turns: a share of every coordination seat of the problem."""
    if problem.coordination_share_percent is None:
        return None
    seats = sum(1 for s in problem.slots if problem.posts[s.post_id].coordination)
    return percent_cap(problem.coordination_share_percent, seats)


class Engine:
    def __init__(self, problem: Problem) -> None:
        self.p = problem
        self.states = {mid: _State(m, problem.seed) for mid, m in problem.members.items()}
        seats: dict[int, int] = {}
        for s in problem.slots:
            seats[s.post_id] = seats.get(s.post_id, 0) + 1
        self.caps = {pid: share_cap(post, seats.get(pid, 0)) for pid, post in problem.posts.items()}
        self.coord_cap = coordination_cap(problem)
        self._items: dict[tuple[str, float | None, int | None], dict[str, Any]] = {}
        self.heaps: dict[tuple[int, str], list[tuple[tuple[int, ...], int]]] = {}
        self.takeover: dict[tuple[int, int], int] = dict(problem.takeover)
        self.scopes: dict[int, frozenset[int]] = {}
        # Which posts' candidates could ever qualify during this roster: the others never
        # enter the heap, so a post only three people can do costs three entries, not 1,300.
        self.window = (
            min((s.start for s in problem.slots), default=0),
            max((s.end for s in problem.slots), default=0),
        )

    # Keys: smaller is chosen first. Every component only grows during a run. Total burden
    # is left out of the heap key on purpose: it changes with every assignment anywhere, and
    # would make every organisation-wide heap stale all the time. It decides among the first
    # few feasible candidates of the lowest tier instead (the "power of d choices").
    def _key(self, st: _State, post: PostSpec, role: str) -> tuple[int, ...]:
        kind = st.coordination if post.coordination else st.unpleasant if post.unpleasant else 0
        g = st.groups.get(post.group_key, 0)
        if role == "trainee":
            # Turns of the post first: the trainee will hold it next term.
            return (g, st.learning, kind, st.tie)
        return (g, kind, st.tie)

    def _scope(self, post: PostSpec) -> frozenset[int]:
        scope = self.scopes.get(post.id)
        if scope is None:
            scope = self.scopes[post.id] = frozenset(post.scope)
        return scope

    def _could_qualify(self, st: _State, post: PostSpec) -> bool:
        lo, hi = self.window
        for q in post.quals:
            valid = st.spec.quals.get(q)
            if valid is None or valid[0] >= hi or (valid[1] is not None and valid[1] <= lo):
                return False
        return True

    def _heap(self, post: PostSpec, role: str) -> list[tuple[tuple[int, ...], int]]:
        heap = self.heaps.get((post.id, role))
        if heap is None:
            heap = []
            for mid in post.scope:
                st = self.states.get(mid)
                if st is not None and self._could_qualify(st, post):
                    heap.append((self._key(st, post, role), mid))
            heapq.heapify(heap)
            self.heaps[(post.id, role)] = heap
        return heap

    def _choose(
        self, post: PostSpec, role: str, feasible: Any
    ) -> tuple[int, tuple[int, ...]] | None:
        """The least-loaded feasible candidate: lowest tier of the heap key, then lowest
        total burden among up to CHOICES feasible candidates of that tier."""
        heap = self._heap(post, role)
        skipped: list[tuple[tuple[int, ...], int]] = []
        found: list[tuple[int, int, tuple[int, ...]]] = []
        tier: tuple[int, ...] | None = None
        while heap:
            key, mid = heap[0]
            st = self.states[mid]
            current = self._key(st, post, role)
            if current != key:
                heapq.heapreplace(heap, (current, mid))
                continue
            if tier is not None and key[:-1] != tier:
                break
            heapq.heappop(heap)
            skipped.append((key, mid))
            if feasible(st):
                tier = key[:-1]
                found.append((st.burden100, st.tie, key))
                if len(found) >= CHOICES:
                    break
        for item in skipped:
            heapq.heappush(heap, item)
        if not found:
            return None
        burden100, tie, key = min(found)
        mid = next(m for k, m in skipped if k == key)
        return mid, key

    def _book(self, mid: int, post: PostSpec, slot: SlotSpec, role: str) -> None:
        st = self.states[mid]
        st.lanes.setdefault(post.lane, Lane()).add(slot.start, slot.end, post.rest_seconds)
        if role == "trainee":
            st.learning += 1
            return
        st.held.setdefault(post.id, set()).add(slot.term)
        st.share[post.id] = st.share.get(post.id, 0) + 1
        st.groups[post.group_key] = st.groups.get(post.group_key, 0) + 1
        st.burden100 += round(post.burden * 100)
        if post.coordination:
            st.coordination += 1
            st.coord_share += 1
        if post.unpleasant:
            st.unpleasant += 1

    def _item(self, code: str, n: float | None = None, months: int | None = None) -> dict[str, Any]:
        """One part of an explanation, shared by every pick that says the same: a year's
        roster has tens of thousands of picks but only a few hundred distinct parts. Fresh
        dicts for each kept 53 MB alive in the doubled benchmark (12 MB shared), and that
        memory traffic showed in its time. Read-only: they are only ever saved as JSON."""
        found = self._items.get((code, n, months))
        if found is not None:
            return found
        item: dict[str, Any] = {"code": code}
        if n is not None:
            item["n"] = n
        if months is not None:
            item["months"] = months
        self._items[(code, n, months)] = item
        return item

    def _explain(self, st: _State, post: PostSpec, key: tuple[int, ...]) -> list[dict[str, Any]]:
        months = self.p.window_months
        why = [self._item("fewest_turns", key[0], months)]
        if post.coordination:
            why.append(self._item("fewest_coordination", st.coordination, months))
        elif post.unpleasant:
            why.append(self._item("fewest_unpleasant", st.unpleasant, months))
        why.append(self._item("load", round(st.burden100 / 100, 2)))
        return why

    def _tail(self, post: PostSpec) -> list[dict[str, Any]]:
        tail: list[dict[str, Any]] = []
        if post.quals:
            tail.append(self._item("qualified"))
        tail.append(self._item("available"))
        return tail

    def unfilled_reasons(self, post: PostSpec, slot: SlotSpec) -> list[dict[str, Any]]:
        if not post.scope:
            return [{"code": NO_MEMBERS, "n": 0}]
        counts: dict[str, int] = {}
        cap = self.caps.get(post.id)
        for mid in post.scope:
            st = self.states.get(mid)
            if st is None:
                continue
            reason = _reason(st, post, slot, cap, self.coord_cap) or DOUBLE_BOOKED
            counts[reason] = counts.get(reason, 0) + 1
        return [{"code": code, "n": n} for code, n in sorted(counts.items(), key=lambda c: -c[1])]

    def run(self) -> Result:
        picks: list[Pick] = []
        unfilled: list[Unfilled] = []
        posts = self.p.posts
        # The next term of each shadowing post seat, so a trainee can be checked against it.
        next_slot: dict[tuple[int, int, int], SlotSpec] = {}
        for s in self.p.slots:
            if posts[s.post_id].shadowing:
                next_slot[(s.post_id, s.position, s.term)] = s
        for slot in sorted(self.p.slots, key=lambda s: (s.start, s.post_id, s.position)):
            post = posts[slot.post_id]
            seat = (post.id, slot.position)
            chosen: tuple[int, tuple[int, ...]] | None = None
            why: list[dict[str, Any]] = []
            heir = self.takeover.pop(seat, None)
            if heir is not None and heir in self.states and heir in self._scope(post):
                st = self.states[heir]
                if _reason(st, post, slot, self.caps.get(post.id), self.coord_cap) is None:
                    chosen = (heir, self._key(st, post, "holder"))
                    why = [self._item("took_over_after_shadowing")]
                else:
                    why = [self._item("trainee_could_not_take_over")]
            if chosen is None:
                cap, coord_cap = self.caps.get(post.id), self.coord_cap
                chosen = self._choose(
                    post,
                    "holder",
                    lambda st: _reason(st, post, slot, cap, coord_cap) is None,  # noqa: B023
                )
                if chosen is not None:
                    why = why + self._explain(self.states[chosen[0]], post, chosen[1])
            if chosen is None:
                unfilled.append(
                    Unfilled(slot.id, post.id, tuple(self.unfilled_reasons(post, slot)))
                )
                continue
            holder = chosen[0]
            picks.append(Pick(slot.id, holder, "holder", tuple(why + self._tail(post))))
            self._book(holder, post, slot, "holder")
            if post.shadowing:
                nxt = next_slot.get((post.id, slot.position, slot.term + 1))
                self._pick_trainee(post, slot, holder, picks, nxt)
        return Result(picks=picks, unfilled=unfilled)

    def _pick_trainee(
        self,
        post: PostSpec,
        slot: SlotSpec,
        holder: int,
        picks: list[Pick],
        nxt: SlotSpec | None,
    ) -> None:
        """A trainee shadows this term and is reserved to hold the next one: they must be
        free now and allowed (qualified, out of cooldown) for the next term."""
        if nxt is None:
            # The next term falls in the next roster: estimate it to check the trainee.
            length = slot.end - slot.start
            step = DAY if post.lane == TIME_LANE and length < DAY else length
            nxt = SlotSpec(
                None, post.id, slot.start + step, slot.end + step, slot.term + 1, slot.position
            )
        cap = self.caps.get(post.id)
        after: SlotSpec = nxt

        def feasible(st: _State) -> bool:
            if st.spec.id == holder or _static_reason(st, post, slot) is not None:
                return False
            lane = st.lanes.get(post.lane)
            if lane is not None and lane.conflict(slot.start, slot.end, post.rest_seconds):
                return False
            return _reason(st, post, after, cap, self.coord_cap) is None

        chosen = self._choose(post, "trainee", feasible)
        if chosen is None:
            return
        mid, key = chosen
        picks.append(
            Pick(
                slot.id,
                mid,
                "trainee",
                (
                    self._item("fewest_turns", key[0], self.p.window_months),
                    self._item("fewest_learning", key[1], self.p.window_months),
                    self._item("shadows_before_takeover"),
                    self._item("available"),
                ),
            )
        )
        self._book(mid, post, slot, "trainee")
        self.takeover[(post.id, slot.position)] = mid


def solve(problem: Problem) -> Result:
    # The run allocates hundreds of thousands of small tuples and no reference cycles; the
    # cyclic collector would rescan the whole (growing) heap again and again, which made a
    # twice-as-large roster cost three times as much.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return Engine(problem).run()
    finally:
        if enabled:
            gc.enable()


def recheck(problem: Problem, picks: Iterable[Pick]) -> list[tuple[Pick, str]]:
    """Replay stored picks in the engine's own order against today's data and return those
    that now break a hard rule, each with its reason code. A proposal waits for its
    publication while people go on leave, declare unavailability, lose a qualification or
    get booked by another roster; what the engine checked when it ran may no longer hold.
    Every pick is booked as it is replayed, so a person's own turns in the roster count."""
    eng = Engine(problem)
    slots = {s.id: s for s in problem.slots}

    def order(p: Pick) -> tuple[int, int, int, bool]:
        s = slots[p.slot_id]
        return (s.start, s.post_id, s.position, p.role != "holder")

    out: list[tuple[Pick, str]] = []
    for pick in sorted(picks, key=order):
        slot = slots[pick.slot_id]
        post = problem.posts[slot.post_id]
        st = eng.states.get(pick.member_id)
        if st is None or pick.member_id not in eng._scope(post):
            out.append((pick, NOT_IN_SCOPE))
            continue
        if pick.role == "holder":
            reason = _reason(st, post, slot, eng.caps.get(post.id), eng.coord_cap)
        else:
            # A trainee shadows: free and allowed now, but holds no term and no share.
            reason = _static_reason(st, post, slot)
            lane = st.lanes.get(post.lane)
            if reason is None and lane is not None:
                reason = lane.conflict(slot.start, slot.end, post.rest_seconds)
        if reason is not None:
            out.append((pick, reason))
        eng._book(pick.member_id, post, slot, pick.role)
    return out


def candidate_reason(
    member: MemberSpec,
    post: PostSpec,
    slot: SlotSpec,
    *,
    cap: int | None = None,
    share_count: int = 0,
    coord_cap: int | None = None,
    coord_count: int = 0,
    in_scope: bool = True,
) -> str | None:
    """The same rules the engine applies, for one person and one slot (used to re-check
    offers taken, swaps and reassignments). `member.bookings` and `member.held_terms` must
    not include the assignment being handed over; `share_count` and `coord_count` are the
    person's turns of this post and of all coordination in the roster, without it."""
    if not in_scope:
        return NOT_IN_SCOPE
    st = _State(member, 0)
    st.share[post.id] = share_count
    st.coord_share = coord_count
    return _reason(st, post, slot, cap, coord_cap)
