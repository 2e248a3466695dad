"""An independent check of a roster against the hard rules.

Deliberately written differently from the engine (brute force over sorted lists, no heaps,
no incremental state) so a bug in one is unlikely to hide in the other. Used by the
property-based tests and the benchmark.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rotation.engine import Problem, Result


def violations(problem: Problem, result: Result) -> list[str]:
    out: list[str] = []
    slots = {s.id: s for s in problem.slots}
    holders: dict[Any, list[int]] = defaultdict(list)
    trainees: dict[Any, list[int]] = defaultdict(list)
    # member -> lane -> [(start, end, rest, label)]
    lanes: dict[int, dict[str, list[tuple[int, int, int, str]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    terms: dict[tuple[int, int], list[int]] = defaultdict(list)
    new_terms: dict[tuple[int, int], set[int]] = defaultdict(set)
    share: dict[tuple[int, int], int] = defaultdict(int)
    coordination: dict[int, int] = defaultdict(int)

    for mid, m in problem.members.items():
        for b in m.bookings:
            lanes[mid][b.lane].append((b.start, b.end, b.rest_seconds, "existing booking"))
        for pid, held in m.held_terms.items():
            terms[(mid, pid)].extend(held)

    for pick in result.picks:
        slot = slots.get(pick.slot_id)
        if slot is None:
            out.append(f"pick for unknown slot {pick.slot_id!r}")
            continue
        post = problem.posts[slot.post_id]
        member = problem.members.get(pick.member_id)
        label = f"member {pick.member_id} in slot {slot.id!r}"
        if member is None or pick.member_id not in post.scope:
            out.append(f"{label}: not a member of the post's scope")
            continue
        (holders if pick.role == "holder" else trainees)[slot.id].append(pick.member_id)
        if member.on_leave:
            out.append(f"{label}: on leave")
        for s, e in member.unavailable:
            if s < slot.end and slot.start < e:
                out.append(f"{label}: unavailable")
                break
        lanes[pick.member_id][post.lane].append(
            (slot.start, slot.end, post.rest_seconds, str(slot.id))
        )
        if pick.role != "holder":
            continue
        for q in post.quals:
            valid = member.quals.get(q)
            if (
                valid is None
                or valid[0] > slot.start
                or (valid[1] is not None and valid[1] < slot.end)
            ):
                out.append(f"{label}: lacks qualification {q}")
        terms[(pick.member_id, post.id)].append(slot.term)
        new_terms[(pick.member_id, post.id)].add(slot.term)
        share[(pick.member_id, post.id)] += 1
        if post.coordination:
            coordination[pick.member_id] += 1

    for sid, hs in holders.items():
        if len(hs) > 1:
            out.append(f"slot {sid!r}: {len(hs)} holders")
    for sid, ts in trainees.items():
        if len(ts) > 1:
            out.append(f"slot {sid!r}: {len(ts)} trainees")
        if set(ts) & set(holders.get(sid, [])):
            out.append(f"slot {sid!r}: holder is also the trainee")

    seats: dict[tuple[int, int], set[int]] = defaultdict(set)
    for sl in problem.slots:
        seats[(sl.post_id, sl.term)].add(sl.position)
    for (pid, term), positions in seats.items():
        if len(positions) > problem.posts[pid].headcount:
            out.append(f"post {pid} term {term}: more seats than the headcount")

    for mid, by_lane in lanes.items():
        for lane, items in by_lane.items():
            items.sort()
            for (_s1, e1, r1, l1), (s2, _e2, _r2, l2) in zip(items, items[1:], strict=False):
                if s2 < e1:
                    out.append(f"member {mid}: {l1} and {l2} overlap in lane {lane}")
                elif s2 < e1 + r1:
                    out.append(f"member {mid}: no rest between {l1} and {l2}")

    for (mid, pid), held_list in terms.items():
        spec = problem.posts.get(pid)
        if spec is None:
            continue
        ordered = sorted(held_list)
        if len(ordered) != len(set(ordered)):
            out.append(f"member {mid}: holds a term of post {pid} twice")
            continue
        runs: list[list[int]] = []
        for t in ordered:
            if runs and t == runs[-1][-1] + 1:
                runs[-1].append(t)
            else:
                runs.append([t])
        # History is what it is: only runs and gaps touching a term of this roster count.
        new = new_terms.get((mid, pid), set())
        for run in runs:
            if len(run) > spec.max_consecutive and new & set(run):
                out.append(f"member {mid}: {len(run)} consecutive terms of post {pid}")
        for run_a, run_b in zip(runs, runs[1:], strict=False):
            if not new & (set(run_a) | set(run_b)):
                continue
            if run_b[0] - run_a[-1] - 1 < spec.cooldown:
                out.append(f"member {mid}: cooldown of post {pid} not respected")

    seat_count: dict[int, int] = defaultdict(int)
    for sl in problem.slots:
        seat_count[sl.post_id] += 1
    for (mid, pid), n in share.items():
        pct = problem.posts[pid].max_share_percent
        if pct is not None and n > max(1, seat_count[pid] * pct // 100):
            out.append(f"member {mid}: {n} slots of post {pid} is above the share cap")

    # One person's share of all coordination of the roster, whatever the posts: counted
    # here from the slots themselves, not from the engine's running totals.
    pct = problem.coordination_share_percent
    if pct is not None:
        coord_seats = sum(1 for sl in problem.slots if problem.posts[sl.post_id].coordination)
        allowed = max(1, coord_seats * pct // 100)
        for mid, n in sorted(coordination.items()):
            if n > allowed:
                out.append(
                    f"member {mid}: {n} of {coord_seats} coordination turns is above the "
                    f"{pct} % cap ({allowed})"
                )

    filled = set(holders)
    reported = {u.slot_id for u in result.unfilled}
    for sl in problem.slots:
        if sl.id not in filled and sl.id not in reported:
            out.append(f"slot {sl.id!r}: left empty without a report")
        if sl.id in filled and sl.id in reported:
            out.append(f"slot {sl.id!r}: filled and reported unfilled")
    for u in result.unfilled:
        if not u.reasons:
            out.append(f"slot {u.slot_id!r}: unfilled without a reason")
    return out
