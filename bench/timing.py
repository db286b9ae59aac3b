"""Timing calls: a clock around each one, warm-up first, the garbage collector off while timing.

Contenders are timed in interleaved blocks (A's block, B's block, ..., then the next block in a rotated order), so
a frequency change or a noisy neighbour spreads over all of them instead of landing on whichever ran last. Each
input is used once per contender: a list of distinct tokens stays distinct.

A contender is a ``BlockRunner``: ``run(start, stop, timed)`` calls it on inputs ``[start, stop)`` and answers the
nanoseconds of each call (nothing when untimed). ``local_runner`` times a Python callable here with
``perf_counter_ns``; a runner may also be another process that times its own calls (``node_contender``).

    samples = time_interleaved({"floor": (floor, tokens), "ours": (ours, events)}, block=250)
    samples = time_blocks({"floor": local_runner(floor, tokens), "node": node.runner("node_floor", "set")},
                          len(tokens), block=250)
    summary(samples["ours"])   # {"p50_us": 41.2, "p99_us": 88.0, "mean_us": 45.1, "samples": 3000}
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

Call = Callable[[Any], Any]
#: ``run(start, stop, timed)``: call the contender on its inputs ``[start, stop)``; per-call ns when ``timed``.
BlockRunner = Callable[[int, int, bool], list[int]]


def percentile(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile of sorted nanosecond samples, in microseconds."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_ns)))
    return sorted_ns[rank - 1] / 1000.0


def summary(samples_ns: Sequence[int]) -> dict[str, Any]:
    ordered = sorted(samples_ns)
    mean = sum(ordered) / len(ordered) / 1000.0 if ordered else math.nan
    return {"p50_us": round(percentile(ordered, 50), 2), "p99_us": round(percentile(ordered, 99), 2),
            "mean_us": round(mean, 2), "samples": len(ordered)}


def local_runner(call: Call, inputs: Sequence[Any]) -> BlockRunner:
    """A Python callable timed in this process, ``perf_counter_ns`` around each call."""

    def run(start: int, stop: int, timed: bool) -> list[int]:
        if not timed:
            for item in inputs[start:stop]:
                call(item)
            return []
        perf = time.perf_counter_ns
        samples: list[int] = []
        for item in inputs[start:stop]:
            began = perf()
            call(item)
            samples.append(perf() - began)
        return samples

    return run


def time_blocks(runners: dict[str, BlockRunner], size: int, *, block: int = 250,
                warmup: int = 200) -> dict[str, list[int]]:
    """Run every contender over inputs ``[0, size)``; returns nanosecond samples per contender.

    Inputs ``[0, warmup)`` are run untimed first (caches, lazy imports, JIT, branch predictors) and are not reused;
    the rest are timed in blocks of ``block`` inputs, the contenders' order rotating from one round to the next.
    """
    if size <= warmup:
        raise ValueError(f"{size} inputs leave nothing to time after {warmup} warm-up calls")
    for run in runners.values():
        run(0, warmup, False)
    samples: dict[str, list[int]] = {name: [] for name in runners}
    names = list(runners)
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection inside one timed call would be charged to whichever contender it hit
    try:
        for index, start in enumerate(range(warmup, size, block)):
            rotation = index % len(names)
            for name in names[rotation:] + names[:rotation]:
                samples[name] += runners[name](start, min(start + block, size), True)
            gc.collect()  # between rounds, untimed
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples


def time_interleaved(contenders: dict[str, tuple[Call, Sequence[Any]]], *, block: int = 250,
                     warmup: int = 200) -> dict[str, list[int]]:
    """``time_blocks`` for Python callables, each with its own inputs; all must have equally many inputs."""
    sizes = {len(inputs) for _, inputs in contenders.values()}
    if len(sizes) != 1:
        raise ValueError(f"contenders have different numbers of inputs: {sizes}")
    runners = {name: local_runner(call, inputs) for name, (call, inputs) in contenders.items()}
    return time_blocks(runners, sizes.pop(), block=block, warmup=warmup)
