"""The execution environments of one Lambda function: started on demand, reused when idle, throttled at the limit.

Lambda runs each concurrent invocation of a function in an execution environment of its own, starting a new one
(a cold start, with its own module state and caches) when every existing one is busy, and refuses an invocation
outright when the function already runs as many as its concurrency limit allows. A :class:`FunctionPool` does the
same with local worker processes (``local/awslambda/worker.py``), with two numbers:

- ``limit``, the function's concurrency limit: its ``ReservedConcurrentExecutions`` where the template sets it,
  else Lambda's default account limit (1,000). A call that would make more than ``limit`` invocations run at once
  is refused at once with :class:`~local.awslambda.errors.FunctionThrottled` (Lambda's 429
  ``TooManyRequestsException``): Lambda does not queue synchronous invocations, and neither does the pool.
- ``workers``, how many worker processes this machine runs for the function at most (default: the
  ``LOCAL_LAMBDA_CONCURRENCY`` environment variable, else :func:`default_workers`, sized for the machine). Up to it,
  a call that finds every worker busy starts one more (a cold start, as Lambda's scale-out). Beyond it, but within
  ``limit``, the call waits for the next worker to come free, within the caller's deadline: where Lambda would start
  yet another environment, this machine has no more cores to give it. That wait is the local stack's one departure
  from Lambda's scaling (docs/local-stack.md lists it), and it shows in latency, never as an error below the limit.

Idle workers are reused, the most recently released first (so sequential calls stay on one warm process, as in
Lambda); a worker whose process died (crash, timeout) is started afresh on its next call. Idle workers are not
reclaimed while the pool runs (Lambda reclaims them after some minutes; nothing here depends on it). ``stop()`` ends
every worker, busy ones as soon as their call returns.

    pool = FunctionPool(FunctionSpec(name="echo", handler="app.handler", code_dir=Path("fn")), workers=4, limit=10)
    pool.invoke({"hello": "world"}).payload
    pool.stats()      # {"invocations": 1, "cold_starts": 1, "throttles": 0, "workers": 1, ...}
    pool.stop()
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from local.awslambda.errors import CallerTimedOut, FunctionThrottled
from local.awslambda.worker import FunctionSpec, Invocation, LambdaWorker, LogSink

#: Lambda's default concurrency limit for a Region's unreserved functions.
LAMBDA_DEFAULT_CONCURRENCY = 1000
#: Overrides :func:`default_workers` (``make local``, ``.venv/bin/python -m local serve``, ``LocalStack`` all read it).
WORKERS_VARIABLE = "LOCAL_LAMBDA_CONCURRENCY"
MIN_DEFAULT_WORKERS = 2  # so a busy function always shows more than one environment
MAX_DEFAULT_WORKERS = 8  # each worker is a Python process holding the function's imports (tens of MB)


def default_workers(environ: Mapping[str, str] | None = None, cpu_count: int | None = None) -> int:
    """Worker processes per function when none are asked for: ``LOCAL_LAMBDA_CONCURRENCY``, else one per core,
    between 2 and 8. More processes than cores would only queue for the CPU instead of for a worker."""
    environ = os.environ if environ is None else environ
    configured = environ.get(WORKERS_VARIABLE, "").strip()
    if configured:
        if not configured.isdigit() or int(configured) < 1:
            raise ValueError(f"{WORKERS_VARIABLE} must be a whole number of worker processes (1 or more), "
                             f"got {configured!r}")
        return int(configured)
    cores = cpu_count if cpu_count is not None else (os.cpu_count() or 1)
    return max(MIN_DEFAULT_WORKERS, min(MAX_DEFAULT_WORKERS, cores))


class FunctionPool:
    """The execution environments of one function: up to ``workers`` processes, calls beyond ``limit`` throttled."""

    def __init__(self, spec: FunctionSpec, sink: LogSink | None = None, *, workers: int | None = None,
                 limit: int | None = None) -> None:
        workers = default_workers() if workers is None else workers
        if workers < 1:
            raise ValueError("a function pool needs at least one worker")
        if limit is not None and limit < 0:
            raise ValueError("a concurrency limit cannot be negative")
        self.spec = spec
        self.reserved = limit is not None  # the template's ReservedConcurrentExecutions, not Lambda's default
        self.limit = LAMBDA_DEFAULT_CONCURRENCY if limit is None else limit
        self.max_workers = min(workers, self.limit) or 1  # a limit of 0 throttles every call before any start
        self._sink = sink or LogSink()
        self._workers: list[LambdaWorker] = []  # every environment created, busy or idle
        self._idle: list[LambdaWorker] = []  # most recently released last
        self._condition = threading.Condition()
        self._generation = 0  # bumped by stop(): workers busy at that moment are stopped when released
        self._busy: dict[int, int] = {}  # id(worker) -> generation it was acquired in
        self._in_flight = 0  # calls admitted and not finished: running, or waiting for a worker
        self.invocations = 0
        self.cold_starts = 0
        self.throttles = 0
        self.peak_concurrency = 0
        self.processes: set[int] = set()  # every worker process that answered a call

    def invoke(self, event: Any, *, caller_timeout_s: float | None = None) -> Invocation:
        """Invoke the function with ``event``; raises a :class:`~local.awslambda.errors.FunctionError` when there is
        no result (:class:`FunctionThrottled` at once when ``limit`` invocations are already in flight)."""
        caller_deadline = time.monotonic() + caller_timeout_s if caller_timeout_s is not None else None
        with self._condition:
            if self._in_flight >= self.limit:
                self.throttles += 1
                reason = ("ReservedFunctionConcurrentInvocationLimitExceeded" if self.reserved
                          else "ConcurrentInvocationLimitExceeded")
                raise FunctionThrottled(self.spec.name, reason)
            self._in_flight += 1
            self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            worker = self._acquire(caller_deadline)
            try:
                with self._condition:
                    self.invocations += 1
                    if not worker.warm:
                        self.cold_starts += 1
                invocation = worker.invoke(event, caller_deadline=caller_deadline)
                with self._condition:
                    self.processes.add(invocation.pid)
                return invocation
            finally:
                self._release(worker)
        finally:
            with self._condition:
                self._in_flight -= 1

    def stats(self) -> dict[str, int]:
        """What the pool did so far: calls, cold starts, throttled calls, worker processes that answered, the most
        calls in flight at once, and the configured ``workers`` and ``limit``."""
        with self._condition:
            return {"invocations": self.invocations, "cold_starts": self.cold_starts, "throttles": self.throttles,
                    "workers": len(self.processes), "peak_concurrency": self.peak_concurrency,
                    "max_workers": self.max_workers, "limit": self.limit}

    def stop(self) -> None:
        """Stop every environment (busy ones once their invocation ends); later invocations cold-start."""
        with self._condition:
            self._generation += 1
            idle = list(self._idle)
        for worker in idle:
            worker.stop()

    def _acquire(self, caller_deadline: float | None) -> LambdaWorker:
        with self._condition:
            while not self._idle and len(self._workers) >= self.max_workers:
                remaining = None if caller_deadline is None else caller_deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise CallerTimedOut(self.spec.name, "Gateway.Timeout", "no execution environment became free")
                self._condition.wait(remaining)
            if self._idle:
                # The most recently released warm worker first: sequential calls stay on one process, as in Lambda.
                chosen = next((i for i in range(len(self._idle) - 1, -1, -1) if self._idle[i].warm),
                              len(self._idle) - 1)
                worker = self._idle.pop(chosen)
            else:  # every worker is busy and there is room for one more: Lambda's scale-out, a cold start
                worker = LambdaWorker(self.spec, self._sink)
                self._workers.append(worker)
            self._busy[id(worker)] = self._generation
            return worker

    def _release(self, worker: LambdaWorker) -> None:
        with self._condition:
            stale = self._busy.pop(id(worker)) != self._generation
        if stale:
            worker.stop()
        with self._condition:
            self._idle.append(worker)
            self._condition.notify()
