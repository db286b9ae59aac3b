"""Timing calls: ``perf_counter_ns`` around each one, warm-up first, the garbage collector off while timing.

Contenders are timed in interleaved blocks (A's block, B's block, ..., then the next block in a rotated order), so
a frequency change or a noisy neighbour spreads over all of them instead of landing on whichever ran last. Each
input is used once per contender: a list of distinct tokens stays distinct.

    samples = time_interleaved({"floor": (floor, tokens), "ours": (ours, events)}, block=250)
    summary(samples["ours"])   # {"p50_us": 41.2, "p99_us": 88.0, "mean_us": 45.1, "samples": 3000}
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

Call = Callable[[Any], Any]


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


def time_interleaved(contenders: dict[str, tuple[Call, Sequence[Any]]], *, block: int = 250,
                     warmup: int = 200) -> dict[str, list[int]]:
    """Time ``call(x)`` for every input of every contender; returns nanosecond samples per contender.

    The first ``warmup`` inputs of each contender are called untimed (caches, lazy imports, branch predictors) and
    are not reused; the rest are timed in blocks of ``block`` calls. All contenders must have equally many inputs.
    """
    sizes = {len(inputs) for _, inputs in contenders.values()}
    if len(sizes) != 1:
        raise ValueError(f"contenders have different numbers of inputs: {sizes}")
    size = sizes.pop()
    if size <= warmup:
        raise ValueError(f"{size} inputs leave nothing to time after {warmup} warm-up calls")
    for call, inputs in contenders.values():
        for item in inputs[:warmup]:
            call(item)
    samples: dict[str, list[int]] = {name: [] for name in contenders}
    names = list(contenders)
    perf = time.perf_counter_ns
    gc_was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()  # a collection inside one timed call would be charged to whichever contender it hit
    try:
        for index, start in enumerate(range(warmup, size, block)):
            rotation = index % len(names)
            for name in names[rotation:] + names[:rotation]:
                call, inputs = contenders[name]
                timed = samples[name]
                for item in inputs[start:start + block]:
                    began = perf()
                    call(item)
                    timed.append(perf() - began)
            gc.collect()  # between blocks, untimed
    finally:
        if gc_was_enabled:
            gc.enable()
    return samples
