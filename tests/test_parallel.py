import os

from distillguard.parallel import ordered_map, usable_cores

_offset = 0


def _set_offset(value: int) -> None:
    global _offset
    _offset = value


def _shifted(item: int) -> tuple[int, int]:
    return item + _offset, os.getpid()


def test_results_come_in_input_order_from_initialised_worker_processes():
    got = list(ordered_map(_shifted, range(40), 2, _set_offset, (100,)))
    assert [item for item, _ in got] == list(range(40))
    assert [value for _, (value, _) in got] == [i + 100 for i in range(40)]
    assert os.getpid() not in {pid for _, (_, pid) in got}


def test_one_worker_runs_in_this_process():
    got = list(ordered_map(_shifted, [1, 2], 1, _set_offset, (5,)))
    assert got == [(1, (6, os.getpid())), (2, (7, os.getpid()))]


def test_usable_cores_is_at_least_one():
    assert usable_cores() >= 1


def test_usable_cores_can_be_capped():
    assert usable_cores(1) == 1 and usable_cores(10_000) == usable_cores()
