"""benchmarks/machine_state.py: the rates it prints are the right arithmetic on the fastest repeat."""

import pytest

from benchmarks import machine_state, timing  # benchmarks/ is on sys.path: tests/benchmarks/conftest.py


def test_best_seconds_keeps_the_fastest_timed_repeat_and_skips_the_warm_up(monkeypatch):
    # clock readings: warm-up takes none; then repeats of 3, 1 and 2 seconds
    readings = iter([0.0, 3.0, 10.0, 11.0, 20.0, 22.0])
    monkeypatch.setattr(timing.time, "perf_counter", lambda: next(readings))
    calls = []
    assert machine_state._best_seconds(lambda: calls.append(1), repeats=3) == 1.0
    assert len(calls) == 4  # one warm-up and three timed


def test_rates_are_work_over_the_best_time(monkeypatch):
    monkeypatch.setattr(machine_state, "_best_seconds", lambda run, repeats: (run(), 0.5)[1])
    assert machine_state.gemm_gflops(size=64) == pytest.approx(2 * 64**3 / 0.5 / 1e9)
    # 1 MB read and 1 MB written in 0.5 s
    assert machine_state.copy_gbps(megabytes=1) == pytest.approx(2 * 2**20 / 0.5 / 1e9)
    # 1 MB written into a new buffer in 0.5 s
    assert machine_state.fresh_fill_gbps(megabytes=1) == pytest.approx(2**20 / 0.5 / 1e9)


def test_machine_state_line_names_load_rates_and_threads():
    line = machine_state.machine_state()
    assert line.startswith("loadavg ")
    assert (
        "GFLOP/s" in line and "copy 64 MB" in line and "fresh 64 MB fill" in line and line.endswith("threads")
    )
