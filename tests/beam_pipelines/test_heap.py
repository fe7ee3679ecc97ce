"""beam_pipelines.heap: the long-lived objects are left out of the cyclic collector for
the duration of a stage only."""

from __future__ import annotations

import gc

from beam_pipelines import heap


def test_frozen_only_within_the_block():
    assert gc.get_freeze_count() == 0
    with heap.long_lived_frozen():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        made_later = [[] for _ in range(1000)]
        heap.freeze_now()
        assert gc.get_freeze_count() >= frozen + len(made_later)
        with heap.long_lived_frozen():  # nested (a stage called from a stage): still frozen after it
            pass
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0


def test_freeze_now_outside_a_block_does_nothing():
    heap.freeze_now()
    assert gc.get_freeze_count() == 0


def test_a_failing_stage_unfreezes():
    try:
        with heap.long_lived_frozen():
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.get_freeze_count() == 0


def test_garbage_cycles_made_in_the_block_are_collected():
    with heap.long_lived_frozen():
        cycle: list = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1
