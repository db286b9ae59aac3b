"""Was the CPU otherwise idle while a part was timed? A timed part on a busy machine is reported, never judged.

Before and after each timed part the bench reads, from ``/proc``:

- ``/proc/stat``'s ``cpu`` line: jiffies all CPUs spent busy (user, nice, system, irq, softirq, steal — steal is a
  hypervisor's other guests) and in total;
- its own CPU time and that of its reaped children (``/proc/self/stat``: utime, stime, cutime, cstime; all threads,
  so the loopback issuer's thread is ours too) and of any live child it watches (the Node contender's
  ``/proc/<pid>/stat``: utime, stime);
- ``/proc/pressure/cpu``'s ``some`` total and the load average, reported beside (not judged).

The busy jiffies that are not ours are other processes' work. Expressed as a share of one core over the part's
wall time, that share must stay at or below ``OTHER_CPU_LIMIT`` (10 % of one core) for the part to be judged;
``SLACK_JIFFIES`` absorbs the rounding of the few clock ticks read (each counter is sampled on ticks, so a
reading is off by up to one). On a two-core machine one other busy process already takes half of what is left to
the contenders' caches and memory bandwidth, and the kernel may run it on our core: that is why the limit is low.

    before = sample(watch=[node.pid])
    ... timed part ...
    verdict = judge(before, sample(watch=[node.pid]))   # {"quiet": False, "other_cpu_share": 0.93, ...}

``judge`` is a pure function of two samples, so the decision is tested on recorded samples; only the noisy case
(a CPU-burning process beside the measurement) is tested live.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

OTHER_CPU_LIMIT = 0.10  # of one core, averaged over the timed part
SLACK_JIFFIES = 3
NOISY = "noisy, not judged"
_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)  # user nice system [idle iowait] irq softirq steal; guest is inside user


@dataclass(frozen=True)
class CpuSample:
    """One reading of the machine's and our own CPU counters (jiffies, ``os.sysconf('SC_CLK_TCK')`` per second)."""

    busy: int  # all CPUs, not idle
    total: int  # all CPUs, idle included
    ours: int  # this process (and reaped children) + the watched live children
    cpus: int
    wall: float  # time.monotonic()
    pressure_some_us: int | None = None  # /proc/pressure/cpu "some" total: time some task waited for a CPU
    load_1m: float | None = None


def _stat_times(path: str, children: bool) -> int:
    """utime + stime (+ cutime + cstime) of one ``/proc/<pid>/stat``; fields follow the parenthesized name."""
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): utime, stime, cutime, cstime are fields 14-17
    times = [int(value) for value in fields[11:15]]
    return sum(times) if children else times[0] + times[1]


def _pressure_some_us() -> int | None:
    try:
        with open("/proc/pressure/cpu") as pressure:
            for line in pressure:
                if line.startswith("some "):
                    return int(line.rsplit("total=", 1)[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def sample(watch: Iterable[int | None] = ()) -> CpuSample | None:
    """Read the counters now; None where ``/proc`` is not there to read (the part is then not judged)."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
        ours = _stat_times("/proc/self/stat", children=True)
        for pid in watch:
            if pid is not None:
                try:
                    ours += _stat_times(f"/proc/{pid}/stat", children=False)
                except OSError:  # it exited: its time is in our cutime once reaped
                    pass
    except (OSError, ValueError, IndexError):
        return None
    busy = sum(values[i] for i in _BUSY_FIELDS if i < len(values))
    return CpuSample(busy=busy, total=sum(values[:8]), ours=ours, cpus=os.cpu_count() or 1, wall=time.monotonic(),
                     pressure_some_us=_pressure_some_us(), load_1m=round(os.getloadavg()[0], 2))


def judge(before: CpuSample | None, after: CpuSample | None, *, limit: float = OTHER_CPU_LIMIT,
          slack: int = SLACK_JIFFIES) -> dict[str, Any]:
    """The verdict on one timed part: ``quiet`` True (judged), or False with how busy the rest of the machine was."""
    if before is None or after is None:
        return {"quiet": False, "verdict": NOISY, "why": "no /proc to read: the CPU's other load is unknown"}
    elapsed_total = after.total - before.total
    per_core = elapsed_total / max(after.cpus, 1)
    busy = after.busy - before.busy
    ours = after.ours - before.ours
    other = max(busy - ours, 0)
    share = other / per_core if per_core > 0 else 0.0
    allowed = limit * per_core + slack
    verdict: dict[str, Any] = {
        "quiet": other <= allowed,
        "other_cpu_share": round(share, 3),  # of one core
        "limit": limit,
        "seconds": round(after.wall - before.wall, 2),
        "jiffies": {"busy": busy, "ours": ours, "other": other, "per_core": round(per_core, 1)},
        "load_1m": [before.load_1m, after.load_1m],
    }
    if before.pressure_some_us is not None and after.pressure_some_us is not None and after.wall > before.wall:
        waited = (after.pressure_some_us - before.pressure_some_us) / 1e6
        verdict["cpu_pressure_some"] = round(waited / (after.wall - before.wall), 3)
    verdict["verdict"] = "quiet" if verdict["quiet"] else NOISY
    return verdict


class IdleWatch:
    """``with IdleWatch(watch=[pid]) as idle: ...`` then ``idle.verdict``: the ``judge`` of the block's samples."""

    def __init__(self, watch: Iterable[int | None] = ()) -> None:
        self.watch = list(watch)
        self.before: CpuSample | None = None
        self.verdict: dict[str, Any] = {}

    def __enter__(self) -> IdleWatch:
        self.before = sample(self.watch)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.verdict = judge(self.before, sample(self.watch))

