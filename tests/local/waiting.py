"""Waiting for another thread or process to reach a state, by polling it: never a sleep standing in for the event.

``GUARD_S`` only ends a hung test, far beyond what any machine needs; no test asserts on time with it."""

from __future__ import annotations

import os
import time
from collections.abc import Callable

GUARD_S = 60


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + GUARD_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.005)


def alive(pid: int) -> bool:
    """Whether a process of this id exists (signal 0 checks without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
