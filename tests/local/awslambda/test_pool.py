"""A function's execution environments: more workers on demand, each cold once; throttling at the concurrency limit.

Concurrency is made observable, never timed: a ``hold`` invocation writes a marker when it has started and keeps its
environment until the test creates ``release`` (a stalled peer), so "busy" is a fact the test waits for.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.awslambda.errors import CallerTimedOut, FunctionCrashed, FunctionThrottled
from local.awslambda.pool import LAMBDA_DEFAULT_CONCURRENCY, WORKERS_VARIABLE, FunctionPool, default_workers
from tests.local.waiting import GUARD_S, alive, wait_until


class Holds:
    """Invocations that hold their environment until released; their results (or errors) in call order."""

    def __init__(self, pool: FunctionPool, directory: Path) -> None:
        self.pool, self.directory = pool, directory
        self.results: list[Any] = []
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self, count: int = 1, **extra: Any) -> None:
        for _ in range(count):
            thread = threading.Thread(target=self._call, kwargs=extra)
            thread.start()
            self.threads.append(thread)

    def _call(self, **extra: Any) -> None:
        try:
            outcome: Any = self.pool.invoke({"action": "hold", "dir": str(self.directory), **extra})
        except Exception as error:  # recorded for the test to assert on, whatever it is
            outcome = error
        with self._lock:
            self.results.append(outcome)

    def started(self) -> int:
        return sum(1 for name in os.listdir(self.directory) if name.endswith(".started"))

    def wait_started(self, count: int) -> None:
        wait_until(lambda: self.started() >= count, f"{count} held invocations to start")

    def release(self) -> list[Any]:
        (self.directory / "release").touch()
        for thread in self.threads:
            thread.join(GUARD_S)
        assert not any(thread.is_alive() for thread in self.threads)
        return self.results


@pytest.fixture
def holds(tmp_path: Path) -> Iterator[Callable[[FunctionPool], Holds]]:
    made: list[Holds] = []

    def make(pool: FunctionPool) -> Holds:
        directory = tmp_path / f"holds-{len(made)}"
        directory.mkdir()
        made.append(Holds(pool, directory))
        return made[-1]

    yield make
    for held in made:  # a failing test must not leave its invocations holding workers
        (held.directory / "release").touch()
        for thread in held.threads:
            thread.join(GUARD_S)


def test_a_busy_function_starts_another_worker_with_its_own_cold_start_and_state(make_pool: Any, holds: Any) -> None:
    pool = make_pool(size=3, timeout_s=30)
    held = holds(pool)
    held.start()
    held.wait_started(1)
    second = pool.invoke({"n": 2})  # the only worker is busy: Lambda's scale-out, a new environment
    assert second.cold_start and second.init_duration_ms is not None
    assert second.payload["calls"] == 1  # its own module state: the first environment's count is not its
    (first,) = held.release()
    assert first.pid != second.pid and first.payload["calls"] == 1
    assert pool.stats() | {"peak_concurrency": 2} == {
        "invocations": 2, "cold_starts": 2, "throttles": 0, "workers": 2, "peak_concurrency": 2,
        "max_workers": 3, "limit": LAMBDA_DEFAULT_CONCURRENCY}


def test_an_idle_worker_is_reused_before_another_is_started(make_pool: Any) -> None:
    pool = make_pool(size=4)
    pids = {pool.invoke({"n": n}).pid for n in range(5)}
    assert len(pids) == 1 and pool.cold_starts == 1  # sequential calls never need a second environment


def test_a_call_beyond_the_reserved_concurrency_is_throttled_at_once_and_nothing_runs(make_pool: Any,
                                                                                    holds: Any) -> None:
    pool = make_pool(size=4, limit=1, timeout_s=30)
    held = holds(pool)
    held.start()
    held.wait_started(1)
    with pytest.raises(FunctionThrottled) as throttled:
        pool.invoke({"n": 2})
    error = throttled.value
    assert (error.status, error.error_type, error.error_message) == (429, "TooManyRequestsException", "Rate Exceeded.")
    assert error.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    (first,) = held.release()
    after = pool.invoke({"n": 3})  # the limit frees with the call: the same warm environment answers
    assert not after.cold_start and after.pid == first.pid
    assert pool.stats()["throttles"] == 1 and pool.stats()["workers"] == 1 and pool.max_workers == 1


def test_a_reserved_concurrency_of_zero_throttles_every_call(make_pool: Any) -> None:
    pool = make_pool(limit=0)
    for _ in range(2):
        with pytest.raises(FunctionThrottled):
            pool.invoke({})
    assert pool.stats()["cold_starts"] == 0 and pool.stats()["throttles"] == 2


def test_beyond_the_workers_but_within_the_limit_a_call_waits_for_the_next_free_worker(make_pool: Any,
                                                                                      holds: Any) -> None:
    pool = make_pool(size=1, limit=5, timeout_s=30)
    held = holds(pool)
    held.start()
    held.wait_started(1)
    waiting: list[Any] = []
    thread = threading.Thread(target=lambda: waiting.append(pool.invoke({"n": 2})))
    thread.start()
    wait_until(lambda: pool.stats()["peak_concurrency"] == 2, "the second call to be admitted")
    assert waiting == [] and pool.stats()["throttles"] == 0  # admitted, not refused: it waits for the worker
    (first,) = held.release()
    thread.join(GUARD_S)
    assert waiting and waiting[0].pid == first.pid and not waiting[0].cold_start


def test_a_call_waiting_for_a_worker_ends_at_its_callers_deadline(make_pool: Any, holds: Any) -> None:
    """The wait for a free worker is within the caller's own deadline (API Gateway's): past it, the call ends
    without having run, and is not counted as throttled."""
    pool = make_pool(size=1, limit=5, timeout_s=30)
    held = holds(pool)
    held.start()
    held.wait_started(1)
    started = time.monotonic()
    with pytest.raises(CallerTimedOut):
        pool.invoke({"n": 2}, caller_timeout_s=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 0.3 + 0.5, f"the caller waited {elapsed:.2f} s"
    assert pool.stats()["throttles"] == 0 and pool.stats()["invocations"] == 1  # the held one only
    held.release()


def test_a_flood_beyond_the_limit_is_throttled_never_queued_or_hung(make_pool: Any, holds: Any) -> None:
    pool = make_pool(size=2, limit=2, timeout_s=30)
    held = holds(pool)
    held.start(2)
    held.wait_started(2)
    flood = holds(pool)
    flood.start(40)
    for thread in flood.threads:  # every one returns while the two held calls still hold the limit
        thread.join(GUARD_S)
    assert len(flood.results) == 40 and all(isinstance(r, FunctionThrottled) for r in flood.results)
    assert all(not isinstance(r, Exception) for r in held.release())
    assert pool.stats()["throttles"] == 40 and pool.stats()["workers"] == 2


def test_a_worker_that_dies_mid_call_is_replaced_while_the_others_keep_serving(make_pool: Any, holds: Any) -> None:
    pool = make_pool(size=2, timeout_s=30)
    held = holds(pool)
    held.start(then="crash")
    held.start()
    held.wait_started(2)
    outcomes = held.release()
    crashed = [o for o in outcomes if isinstance(o, FunctionCrashed)]
    served = [o for o in outcomes if not isinstance(o, Exception)]
    assert len(crashed) == 1 and len(served) == 1
    assert crashed[0].error_type == "Runtime.ExitError" and "exit status 9" in crashed[0].error_message
    (dead_pid,) = {int(name.split(".")[0]) for name in os.listdir(held.directory) if name.endswith(".started")} - {
        served[0].pid}
    # The survivor stays warm; the dead environment is replaced by a new process, cold, when next needed.
    survivor = holds(pool)
    survivor.start()
    survivor.wait_started(1)
    replacement = pool.invoke({})
    assert replacement.cold_start and replacement.pid not in {served[0].pid, dead_pid}
    (held_again,) = survivor.release()
    assert held_again.pid == served[0].pid and held_again.payload["calls"] == 2


def test_stop_ends_every_worker_process_even_one_busy_at_the_time(make_pool: Any, holds: Any) -> None:
    pool = make_pool(size=2, timeout_s=30)
    held = holds(pool)
    held.start()
    held.wait_started(1)
    idle_pid = pool.invoke({}).pid  # the second environment, idle from here on
    pool.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(idle_pid, 0)
    (busy,) = held.release()
    wait_until(lambda: not alive(busy.pid), "the busy worker to end once released")
    assert pool.invoke({}).cold_start  # a stopped pool starts fresh environments


@pytest.mark.parametrize(("environ", "cores", "expected"), [
    ({}, 1, 2), ({}, 2, 2), ({}, 6, 6), ({}, 64, 8), ({WORKERS_VARIABLE: "12"}, 2, 12), ({WORKERS_VARIABLE: " 3 "}, 64, 3),
])
def test_the_default_worker_count_is_sized_for_the_machine_or_configured(environ: dict[str, str], cores: int,
                                                                        expected: int) -> None:
    assert default_workers(environ, cpu_count=cores) == expected


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_worker_count_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(ValueError, match=WORKERS_VARIABLE):
        default_workers({WORKERS_VARIABLE: value}, cpu_count=2)
