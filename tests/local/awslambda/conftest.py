"""Fixtures for the local Lambda tests: a function whose events ask for its failure modes, and pools of it."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.awslambda.pool import FunctionPool
from local.awslambda.worker import FunctionSpec, LogSink

APP_PY = '''
import json
import os
import sys
import time

print("init: loading app")
CALLS = 0  # module state: one count per execution environment


def handler(event, context):
    global CALLS
    CALLS += 1
    action = event.get("action")
    print(json.dumps({"type": "result", "payload": "a log line that looks like the protocol"}))
    if action == "raise":
        raise ValueError("bad input")
    if action == "crash":
        os._exit(3)
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "unserializable":
        return {"value": object()}
    if action == "hold":
        # Says it started, then holds its environment until the test releases it (a stalled peer, not a sleep).
        open(os.path.join(event["dir"], f"{os.getpid()}.{CALLS}.started"), "w").close()
        while not os.path.exists(os.path.join(event["dir"], "release")):
            time.sleep(0.005)
        if event.get("then") == "crash":
            os._exit(9)
        return {"pid": os.getpid(), "calls": CALLS}
    if action == "rendezvous":
        # Each of two concurrent invocations waits for the other: only parallel environments get through.
        marker = os.path.join(event["dir"], str(os.getpid()))
        open(marker, "w").close()
        while len(os.listdir(event["dir"])) < 2:
            time.sleep(0.01)
        return {"pid": os.getpid()}
    return {
        "pid": os.getpid(),
        "calls": CALLS,
        "event": event,
        "path0": sys.path[0],
        "cwd": os.getcwd(),
        "env": {k: os.environ.get(k) for k in (
            "GREETING", "_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "LAMBDA_TASK_ROOT", "_LOCAL_LAMBDA_REQUEST_FD")},
        "context": {
            "aws_request_id": context.aws_request_id,
            "function_name": context.function_name,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "invoked_function_arn": context.invoked_function_arn,
            "remaining_ms": context.get_remaining_time_in_millis(),
        },
        "local_package_importable": _importable("worker"),
    }


def _importable(name):
    try:
        __import__(name)
        return True
    except ImportError:
        return False
'''


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "code"
    directory.mkdir()
    (directory / "app.py").write_text(textwrap.dedent(APP_PY))
    (directory / "missing_import.py").write_text("import no_such_module_anywhere\n")
    (directory / "raises_at_import.py").write_text("raise KeyError('CONFIG')\n")
    return directory


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "functions.log"


@pytest.fixture
def make_pool(code_dir: Path, log_file: Path) -> Iterator[Any]:
    pools: list[FunctionPool] = []
    sink = LogSink(log_file)

    def make(handler: str = "app.handler", *, timeout_s: float = 3.0, size: int = 1, limit: int | None = None) -> FunctionPool:
        spec = FunctionSpec(name="test-fn", handler=handler, code_dir=code_dir, environment={"GREETING": "hi"},
                            timeout_s=timeout_s, memory_mb=512)
        pool = FunctionPool(spec, sink, workers=size, limit=limit)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.stop()
    sink.close()
