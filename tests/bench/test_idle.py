"""The idle check: a part timed while other processes use the CPU is "noisy, not judged"; the decision is tested on
recorded samples (a live "quiet" test would flake on a shared machine), and only the noisy case live."""

from __future__ import annotations

import subprocess
import sys
import time

from bench.idle import NOISY, CpuSample, IdleWatch, judge, sample

BURN = ("import time\nprint('burning', flush=True)\nwhile time.process_time() < {seconds}: pass\n"
        "print('burnt', flush=True)\ntime.sleep(30)\n")


def _samples(busy: int, ours: int, seconds: float = 2.0, cpus: int = 2) -> tuple[CpuSample, CpuSample]:
    """Two readings ``seconds`` apart on a ``cpus``-core machine at 100 ticks per second."""
    before = CpuSample(busy=1_000_000, total=5_000_000, ours=40_000, cpus=cpus, wall=100.0, pressure_some_us=0)
    after = CpuSample(busy=before.busy + busy, total=before.total + int(seconds * 100 * cpus), ours=before.ours + ours,
                      cpus=cpus, wall=before.wall + seconds, pressure_some_us=20_000)
    return before, after


def test_a_part_where_only_we_used_the_cpu_is_judged():
    # Recorded on an idle 2-core machine: the bench used one core for 2 s, the kernel and daemons a few ticks.
    verdict = judge(*_samples(busy=204, ours=199))
    assert verdict["quiet"] and verdict["verdict"] == "quiet"
    assert verdict["other_cpu_share"] == 0.025 and verdict["jiffies"]["other"] == 5
    assert verdict["cpu_pressure_some"] == 0.01


def test_another_process_using_a_fifth_of_a_core_makes_the_part_noisy():
    verdict = judge(*_samples(busy=240, ours=200))
    assert not verdict["quiet"] and verdict["verdict"] == NOISY and verdict["other_cpu_share"] == 0.2


def test_the_limit_is_a_tenth_of_one_core_plus_tick_rounding():
    assert judge(*_samples(busy=200 + 23, ours=200))["quiet"]  # 20 jiffies = 10 % of one core over 2 s, + 3 slack
    assert not judge(*_samples(busy=200 + 24, ours=200))["quiet"]
    assert judge(*_samples(busy=200 + 40, ours=200, cpus=4, seconds=4.0))["quiet"]  # 10 % of one core over 4 s


def test_without_proc_the_part_is_not_judged():
    before, _ = _samples(busy=0, ours=0)
    assert judge(before, None) == {"quiet": False, "verdict": NOISY,
                                   "why": "no /proc to read: the CPU's other load is unknown"}


def test_our_reaped_children_and_watched_live_children_count_as_ours():
    before = sample()
    subprocess.run([sys.executable, "-c", "import time\nwhile time.process_time() < 0.3: pass"], check=True)
    after = sample()
    assert before is not None and after is not None and after.ours - before.ours >= 20  # 0.3 s of CPU, reaped
    child = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=0.3)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline() == "burning\n"
        assert child.stdout.readline() == "burnt\n"
        unwatched, watched = sample(), sample(watch=[child.pid])
        assert unwatched is not None and watched is not None and watched.ours - unwatched.ours >= 20
    finally:
        child.kill()
        child.wait()


def test_a_cpu_burning_process_beside_the_measurement_makes_it_noisy():
    burner = subprocess.Popen([sys.executable, "-c", BURN.format(seconds=30)], stdout=subprocess.PIPE, text=True)
    try:
        assert burner.stdout is not None and burner.stdout.readline() == "burning\n"  # its loop starts now
        with IdleWatch() as idle:
            time.sleep(1.0)  # the measurement: whatever it is, a process burning a core sits beside it
    finally:
        burner.kill()
        burner.wait()
    assert idle.verdict["verdict"] == NOISY and idle.verdict["other_cpu_share"] > 0.2, idle.verdict
