"""Fair-rotation engine at Cecosesola's size, and saving its roster: python -m bench.rotation

Base: 1,300 members in 13 workgroups of 100, 60 posts and tasks (5 organisation-wide
coordination posts, 3 organisation-wide tasks, 4 per workgroup: night cleaning, morning line,
quality check (needs a qualification 30 % hold), line coordinator), 52 weeks. Then twice the
members (26 workgroups) and twice the posts. 2 % of members are on leave and 5 % take a
two-week holiday; about 30 % hold each quality qualification. The organisation's cap on one
person's share of all coordination is 25 %, as in the default rules.

What `roster_generate` does is three steps: load (`adapter.build_problem`: a handful of
queries over posts, memberships, qualifications, leave and the fairness window, whose size
follows the members and the window, not the roster), solve (`engine.solve`) and save
(`adapter.store_result`: one row per slot and one per assignment, about 31,000 and 32,000
here, in batches). The scaling target is about the engine, so the headline figures
(`seconds`, `seconds_doubled`, `scaling_ratio`) are the engine alone, on plain data, in CPU
seconds of this process, best of REPEATS interleaved runs (the machine is shared, so
wall-clock time is also printed but the ratio uses CPU time). Saving is measured apart,
on the same rosters: `store_result` in one transaction, commit included, on a SQLite file
of its own with the embedded default's settings (WAL, synchronous=NORMAL), whose
organisation, memberships and posts carry the engine's ids. Its figures are printed on the
line before the last (`persist_*`); the last line keeps the keys the issue asks for.
Loading is not timed: its cost depends on the database's history, not on the roster.

Checked: every hard rule, by `rotation.checker`, an independent brute-force implementation.
Spread: for each post without qualification requirements, among the members of its scope
with uniform eligibility (never on leave or away, and holding no qualification: qualified
people also carry the quality checks, so the engine rightly gives them fewer other turns),
most minus fewest turns over the year.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from rotation import engine
from rotation.checker import violations

TZ = ZoneInfo("America/Caracas")
FIRST = date(2027, 1, 4)  # a Monday
WEEKS = 52
LAST = FIRST + timedelta(weeks=WEEKS) - timedelta(days=1)
GROUP_SIZE = 100
# Five, not three: on a loaded two-core machine the best of three still drifted by ±0.1 in
# the ratio, which is the margin the target leaves.
REPEATS = 5
# Saving takes longer than solving (tens of thousands of ORM rows); two rounds bound the
# run's length while still dropping one disturbed measurement.
PERSIST_REPEATS = 2


def _slots(post_id: int, cad: engine.Cadence, headcount: int) -> list[engine.SlotSpec]:
    out = []
    for start, end, term in engine.expand(cad, FIRST, LAST, TZ):
        for pos in range(1, headcount + 1):
            out.append(
                engine.SlotSpec(
                    (post_id, term, pos),
                    post_id,
                    int(start.timestamp()),
                    int(end.timestamp()),
                    term,
                    pos,
                )
            )
    return out


def build(members_n: int, copies: int, seed: int = 7) -> tuple[engine.Problem, set[int], set[int]]:
    """`copies` sets of organisation-wide posts; one set of workgroup posts per 100 members."""
    rnd = random.Random(seed)
    ids = list(range(1, members_n + 1))
    members = {i: engine.MemberSpec(id=i) for i in ids}
    irregular: set[int] = set()
    for i in rnd.sample(ids, members_n * 2 // 100):
        members[i].on_leave = True
        irregular.add(i)
    year_start = int(engine._local(FIRST, dtime(0, 0), TZ).timestamp())
    for i in rnd.sample(ids, members_n * 5 // 100):
        day = rnd.randrange(0, 350)
        start = year_start + day * 86400
        members[i].unavailable.append((start, start + 14 * 86400))
        irregular.add(i)

    posts: dict[int, engine.PostSpec] = {}
    slots: list[engine.SlotSpec] = []
    with_quals: set[int] = set()
    everyone = tuple(ids)
    pid = 0

    def add(spec_kw: dict, cad: engine.Cadence, headcount: int) -> None:
        nonlocal pid
        pid += 1
        posts[pid] = engine.PostSpec(id=pid, headcount=headcount, **spec_kw)
        if spec_kw.get("quals"):
            with_quals.add(pid)
        slots.extend(_slots(pid, cad, headcount))

    week = engine.Cadence("week")
    month = engine.Cadence("month")
    for _ in range(copies):
        coord = {
            "scope": everyone,
            "lane": "post",
            "coordination": True,
            "cooldown": 2,
            "max_share_percent": 25,
            "burden": 2.0,
        }
        add({**coord, "shadowing": True}, week, 1)  # facilitator
        add(coord, week, 1)  # minute-taker
        add({**coord, "cooldown": 1}, engine.Cadence("month", term_length=3), 1)  # treasurer
        add(coord, month, 1)  # federation delegate
        add({**coord, "shadowing": True}, month, 1)  # roster coordinator
        add(
            {"scope": everyone, "lane": "time", "rest_seconds": 11 * 3600}, engine.Cadence("day"), 2
        )  # sales desk
        add({"scope": everyone, "lane": "task", "burden": 1.5}, week, 3)  # deliveries
        add(
            {"scope": everyone, "lane": "time", "rest_seconds": 11 * 3600},
            engine.Cadence("shift", shift_start=dtime(14, 0), shift_hours=6),
            2,
        )  # kiosk

    for g in range(members_n // GROUP_SIZE):
        qual_id = g + 1
        group = tuple(ids[g * GROUP_SIZE : (g + 1) * GROUP_SIZE])
        for i in rnd.sample(group, GROUP_SIZE * 30 // 100):
            members[i].quals[qual_id] = (0, None)
        rest = {"lane": "time", "rest_seconds": 11 * 3600}
        add(
            {"scope": group, **rest, "unpleasant": True, "burden": 1.5},
            engine.Cadence("shift", shift_start=dtime(22, 0), shift_hours=8),
            2,
        )  # night cleaning
        add(
            {"scope": group, **rest, "max_consecutive": 3},
            engine.Cadence("shift", shift_start=dtime(6, 0), shift_hours=8),
            3,
        )  # morning line
        add(
            {"scope": group, **rest, "quals": frozenset({qual_id})}, engine.Cadence("day"), 1
        )  # quality check
        add(
            {
                "scope": group,
                "lane": "post",
                "coordination": True,
                "shadowing": True,
                "cooldown": 2,
                "max_share_percent": 25,
            },
            week,
            1,
        )  # line coordinator
    problem = engine.Problem(
        posts=posts, members=members, slots=slots, seed=seed, coordination_share_percent=25
    )
    return problem, with_quals, irregular


def spread(
    problem: engine.Problem, result: engine.Result, with_quals: set[int], irregular: set[int]
) -> int:
    post_of = {s.id: s.post_id for s in problem.slots}
    counts: Counter[tuple[int, int]] = Counter(
        (post_of[p.slot_id], p.member_id) for p in result.picks if p.role == "holder"
    )
    worst = 0
    for pid, post in problem.posts.items():
        if pid in with_quals:
            continue
        # Uniform eligibility: same scope, same (no) qualifications, never away.
        loads = [
            counts[(pid, m)]
            for m in post.scope
            if m not in irregular and not problem.members[m].quals
        ]
        if loads:
            worst = max(worst, max(loads) - min(loads))
    return worst


def timed(problem: engine.Problem) -> tuple[engine.Result, float, float]:
    t0, c0 = time.perf_counter(), time.process_time()
    result = engine.solve(problem)
    return result, time.process_time() - c0, time.perf_counter() - t0


# --- Saving the roster -----------------------------------------------------------------------


class Store:
    """Django on a SQLite file of its own, never the project's database nor a shared test
    server: one organisation whose memberships and posts have the engine's ids, so
    `adapter.store_result` writes real rows with real foreign keys."""

    def __init__(self, members_n: int, posts_n: int) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-rotation-"))
        os.environ.pop("DATABASE_URL", None)
        os.environ["SQLITE_PATH"] = str(self.workdir / "bench.sqlite3")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        from governance.models import Membership, Organization
        from rotation.models import Post

        call_command("migrate", verbosity=0)
        user_model = get_user_model()
        user_model.objects.bulk_create(
            user_model(username=f"m{i}", password="!") for i in range(1, members_n + 1)
        )
        users = dict(user_model.objects.values_list("username", "pk"))
        self.org = Organization.objects.create(name="Bench", slug="bench", time_zone=TZ.key)
        Membership.objects.bulk_create(
            Membership(pk=i, person_id=users[f"m{i}"], organization=self.org, member_number=str(i))
            for i in range(1, members_n + 1)
        )
        Post.objects.bulk_create(
            Post(pk=i, organization=self.org, name=f"post {i}") for i in range(1, posts_n + 1)
        )

    def save(self, problem: engine.Problem, result: engine.Result) -> tuple[float, float]:
        """CPU and wall seconds of saving one roster (SQLite runs in this process, so its
        work is in the CPU time); the roster is deleted again afterwards, untimed."""
        from django.db import connection, transaction

        from rotation import adapter
        from rotation.models import Assignment, Roster, Slot

        times = {
            s.id: (datetime.fromtimestamp(s.start, TZ), datetime.fromtimestamp(s.end, TZ))
            for s in problem.slots
        }
        t0, c0 = time.perf_counter(), time.process_time()
        with transaction.atomic():
            roster = Roster.objects.create(
                organization=self.org, name="Bench", period_start=FIRST, period_end=LAST
            )
            adapter.store_result(roster=roster, times=times, result=result)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        assert Assignment.objects.filter(slot__roster=roster).count() == len(result.picks)
        # Raw deletes: the ORM's cascade would load 60,000 rows to delete them.
        with transaction.atomic(), connection.cursor() as c:
            slots, assignments = Slot._meta.db_table, Assignment._meta.db_table
            c.execute(
                f"DELETE FROM {assignments} WHERE slot_id IN "
                f"(SELECT id FROM {slots} WHERE roster_id = %s)",
                [roster.pk],
            )
            c.execute(f"DELETE FROM {slots} WHERE roster_id = %s", [roster.pk])
            c.execute(f"DELETE FROM {Roster._meta.db_table} WHERE id = %s", [roster.pk])
        return cpu, wall

    def close(self) -> None:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(self.workdir, ignore_errors=True)


def report(
    name: str,
    problem: engine.Problem,
    result: engine.Result,
    cpu: float,
    wall: float,
    with_quals: set[int],
    irregular: set[int],
) -> dict[str, Any]:
    t1 = time.perf_counter()
    bad = violations(problem, result)
    check_seconds = time.perf_counter() - t1
    for v in bad[:5]:
        print("VIOLATION", v, file=sys.stderr)
    out = {
        "run": name,
        "members": len(problem.members),
        "posts": len(problem.posts),
        "slots": len(problem.slots),
        "seconds": round(cpu, 3),
        "wall_seconds": round(wall, 3),
        "check_seconds": round(check_seconds, 3),
        "violations": len(bad),
        "unfilled": len(result.unfilled),
        "spread": spread(problem, result, with_quals, irregular),
    }
    print(json.dumps(out))
    return out


def main() -> None:
    timed(build(200, 1)[0])  # warm-up (imports, allocator)
    sizes = {"base": build(1300, 1), "doubled": build(2600, 2)}
    best: dict[str, tuple[engine.Result, float, float]] = {}
    # Interleaved and best of REPEATS: the machine is shared, load drifts, and noise only
    # ever adds time.
    for _ in range(REPEATS):
        for name, (problem, _q, _i) in sizes.items():
            result, cpu, wall = timed(problem)
            if name not in best or cpu < best[name][1]:
                best[name] = (result, cpu, min(wall, best.get(name, (None, 0, wall))[2]))
    outs = {
        name: report(name, sizes[name][0], *best[name], sizes[name][1], sizes[name][2])
        for name in sizes
    }
    base, doubled = outs["base"], outs["doubled"]
    ratio = doubled["seconds"] / base["seconds"] if base["seconds"] else 0.0
    print(
        f"base: {base['slots']} slots in {base['seconds']} s; doubled: {doubled['slots']} "
        f"slots in {doubled['seconds']} s; ratio {ratio:.2f} (target <= 2.3)"
    )

    doubled_problem = sizes["doubled"][0]
    store = Store(len(doubled_problem.members), len(doubled_problem.posts))
    try:
        saved: dict[str, tuple[float, float]] = {}
        for _ in range(PERSIST_REPEATS):
            for name, (problem, _q, _i) in sizes.items():
                cpu, wall = store.save(problem, best[name][0])
                if name not in saved or cpu < saved[name][0]:
                    saved[name] = (cpu, min(wall, saved.get(name, (0, wall))[1]))
    finally:
        store.close()
    p_base, p_doubled = saved["base"][0], saved["doubled"][0]
    print(
        json.dumps(
            {
                "persist_rows": len(sizes["base"][0].slots) + len(best["base"][0].picks),
                "persist_rows_doubled": len(doubled_problem.slots) + len(best["doubled"][0].picks),
                "persist_seconds": round(p_base, 3),
                "persist_wall_seconds": round(saved["base"][1], 3),
                "persist_seconds_doubled": round(p_doubled, 3),
                "persist_wall_seconds_doubled": round(saved["doubled"][1], 3),
                "persist_scaling_ratio": round(p_doubled / p_base, 3) if p_base else 0.0,
            }
        )
    )
    print(
        json.dumps(
            {
                "seconds": base["seconds"],
                "seconds_doubled": doubled["seconds"],
                "scaling_ratio": round(ratio, 3),
                "max_spread": max(base["spread"], doubled["spread"]),
                "violations": base["violations"] + doubled["violations"],
                "unfilled": base["unfilled"] + doubled["unfilled"],
            }
        )
    )


if __name__ == "__main__":
    main()
