"""Function logs a caller can wait for: a ``LogSink`` that also keeps each structured (JSON) log record.

A function's lines reach the sink through a relay thread reading the worker's output, so a line may arrive just
after the HTTP answer it explains. ``wait_for`` waits on a condition the relay notifies, for at most ``timeout``
seconds; nothing polls or sleeps.

    logs = LogWatch("functions.log")
    with LocalStack("lambda", log_sink=logs) as stack:
        ...  # a request the authorizer denies for the token of user-7
        logs.wait_for(lambda record: record.get("message") == "denied" and record.get("sub") == "user-7")["reason"]
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, TextIO

from local.awslambda.worker import LogSink

Record = dict[str, Any]


class LogWatch(LogSink):
    """A ``LogSink`` (writing where ``target`` says, as usual) that keeps the last ``keep`` JSON records, each with
    ``source``: the function's name."""

    def __init__(self, target: str | os.PathLike[str] | TextIO | None = None, *, keep: int = 10_000) -> None:
        super().__init__(target)
        self._keep = keep
        self._records: list[Record] = []
        self._arrived = threading.Condition()

    def write_line(self, source: str, line: str) -> None:
        super().write_line(source, line)
        text = line.strip()
        if not text.startswith("{"):
            return
        try:
            record = json.loads(text)
        except ValueError:
            return
        if isinstance(record, dict):
            with self._arrived:
                self._records.append({**record, "source": source})
                del self._records[:-self._keep]
                self._arrived.notify_all()

    def wait_for(self, matches: Callable[[Record], bool], timeout: float = 10.0) -> Record | None:
        """The first kept record ``matches`` accepts, waiting up to ``timeout`` seconds for it; None if none came."""
        found: list[Record] = []

        def seen() -> bool:
            found[:] = [record for record in self._records if matches(record)][:1]
            return bool(found)

        with self._arrived:
            self._arrived.wait_for(seen, timeout)
        return found[0] if found else None

    def denial(self, sub: str, timeout: float = 10.0, reason: str | None = None) -> Record | None:
        """The authorizer's ``denied`` record for a token of subject ``sub`` (its ``reason`` says why); with
        ``reason``, the first one of that reason."""
        return self.wait_for(lambda record: record.get("message") == "denied" and record.get("sub") == sub
                             and (reason is None or record.get("reason") == reason), timeout)

    def denials(self, sub: str) -> list[str]:
        """The reasons of every ``denied`` record kept so far for ``sub``, oldest first (no waiting)."""
        with self._arrived:
            return [str(record.get("reason")) for record in self._records
                    if record.get("message") == "denied" and record.get("sub") == sub]
