"""The daemon's memory settings (`monitor.daemon.memory`): collector thresholds and pace."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from monitor.daemon import memory


@pytest.fixture(autouse=True)
def _restored() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()


def test_tune_process_raises_the_collector_thresholds() -> None:
    gc.set_threshold(700, 10, 10)
    memory.tune_process()
    assert gc.get_threshold() == memory.THRESHOLDS
    memory.tune_process()  # again: the same
    assert gc.get_threshold() == memory.THRESHOLDS


def test_the_collector_freezes_after_the_first_cycle_and_again_now_and_then() -> None:
    gc.unfreeze()
    collector = memory.Collector(refreeze=3)
    collector.cycled()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    garbage = [[] for _ in range(1000)]
    for item in garbage:
        item.append(item)  # cycles: only a collection frees them
    del garbage, item
    collector.cycled()
    assert gc.get_freeze_count() == frozen  # the second cycle leaves things as they are
    collector.cycled()  # the third: unfrozen, collected (the garbage freed), frozen again
    # frozen again (not 0), without the 1,000 cyclic lists; what else the collection freed
    # depends on what ran before in this process, so only the upper bound is tight
    assert 0 < gc.get_freeze_count() < frozen + 500


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only a collection frees it


def test_young_cycles_go_each_cycle_old_ones_every_few() -> None:
    gc.unfreeze()
    collector = memory.Collector(refreeze=100, collect=3)
    collector.cycled()  # the first cycle: frozen
    gc.disable()  # nothing but the collector collects from here
    try:
        old = _Node()
        gone_old = weakref.ref(old)
        gc.collect(1)  # `old` survives a young collection: it is in the oldest generation now
        young = _Node()
        gone_young = weakref.ref(young)
        del young, old
        collector.cycled()  # the second cycle: the young generations collected
        assert gone_young() is None
        assert gone_old() is not None
        collector.cycled()  # the third: everything not frozen
        assert gone_old() is None
    finally:
        gc.enable()
