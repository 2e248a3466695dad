"""Tally events of a burst of answers: paced, and never left stale (assemblies.bursts)."""

from __future__ import annotations

import time

import pytest

from assemblies import bursts


class Recorder:
    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self) -> None:
        self.calls.append(time.monotonic())


def test_a_lone_answer_emits_its_tally() -> None:
    gate, owed = bursts.Gate(window=0.2), Recorder()
    with gate.answering("r", owed) as burst:
        assert burst.emit_now() is True
    assert owed.calls == []


def test_answers_within_the_interval_skip_and_the_last_settles_after_it() -> None:
    gate, owed = bursts.Gate(window=0.2), Recorder()
    start = time.monotonic()
    with gate.answering("r", owed) as first:
        assert first.emit_now() is True
    with gate.answering("r", owed) as second:
        assert second.emit_now() is False  # 0.2 s have not passed
    # The second was the last of its burst: it waited out the interval, then emitted.
    assert len(owed.calls) == 1
    assert owed.calls[0] - start >= 0.2


def test_an_answer_still_on_its_way_settles_instead() -> None:
    gate, owed = bursts.Gate(window=0.2), Recorder()
    with gate.answering("r", owed) as first:
        assert first.emit_now() is True
    second_cm = gate.answering("r", owed)
    second = second_cm.__enter__()
    third_cm = gate.answering("r", owed)
    third = third_cm.__enter__()  # arrived, not yet decided
    assert second.emit_now() is False
    second_cm.__exit__(None, None, None)
    assert owed.calls == []  # the third is still on its way: it settles
    with pytest.raises(ValueError):
        # The third fails before deciding (say, not checked in): the skipped tally still goes.
        try:
            raise ValueError("refused")
        except ValueError as exc:
            third_cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
    assert len(owed.calls) == 1
    del third


def test_a_later_tally_covers_the_skipped_ones() -> None:
    gate, owed = bursts.Gate(window=0.1), Recorder()
    with gate.answering("r", owed) as a:
        assert a.emit_now() is True
    b_cm = gate.answering("r", owed)
    b = b_cm.__enter__()
    c_cm = gate.answering("r", owed)
    c = c_cm.__enter__()
    assert b.emit_now() is False
    b_cm.__exit__(None, None, None)
    time.sleep(0.12)
    assert c.emit_now() is True  # the interval passed: this one's tally counts b too
    c_cm.__exit__(None, None, None)
    assert owed.calls == []  # nothing owed any more


def test_rounds_are_paced_apart() -> None:
    gate, owed = bursts.Gate(window=0.5), Recorder()
    with gate.answering(("round", 1), owed) as a:
        assert a.emit_now() is True
    with gate.answering(("round", 2), owed) as b:
        assert b.emit_now() is True


def test_a_failing_catch_up_does_not_fail_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    gate = bursts.Gate(window=0.05)

    def broken() -> None:
        raise RuntimeError("database went away")

    with gate.answering("r", broken) as a:
        a.emit_now()
    with gate.answering("r", broken) as b:
        assert b.emit_now() is False
    assert "owed by a burst failed" in caplog.text
