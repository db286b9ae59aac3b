"""One warm local Lambda execution environment: a worker process, started on first use, one invocation at a time.

A :class:`LambdaWorker` is a ``python -u local/awslambda/runtime.py`` process with the function's code directory,
handler and environment variables. The pool of a function's environments (how many, which one a call takes, when a
call is throttled) is ``local/awslambda/pool.py``; every way a call can fail is ``local/awslambda/errors.py``.

Lambda's lifecycle, kept here:

- cold start on first use (init up to 10 s, not counted in the function's timeout), warm reuse afterwards;
- the function's ``Timeout`` ends the invocation and the environment: the process is killed and the next
  invocation is a cold start (:class:`FunctionTimedOut`);
- a handler exception is a function error and the environment stays warm (:class:`FunctionRaised`);
- a process that exits mid-invocation is ``Runtime.ExitError`` (:class:`FunctionCrashed`), an import failure is an
  init error (:class:`FunctionInitError`); both start a fresh process next time;
- the caller (API Gateway) may give up sooner than the function's timeout (:class:`CallerTimedOut`); the
  environment is then killed too, a simplification: Lambda would let the function run on to its own timeout.

Function logs (the process's stdout and stderr) go to a :class:`LogSink`, one line at a time prefixed with the
function name, together with Lambda's ``START``/``END``/``REPORT`` lines; the protocol uses two other pipes.

    worker = LambdaWorker(FunctionSpec(name="echo", handler="app.handler", code_dir=Path("fn")), LogSink())
    worker.invoke({"hello": "world"}).payload
    worker.stop()
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TextIO

from local.awslambda import runtime as lambda_runtime
from local.awslambda.errors import (
    CallerTimedOut,
    FunctionCrashed,
    FunctionInitError,
    FunctionRaised,
    FunctionTimedOut,
)
from local.cloudformation.intrinsics import ACCOUNT_ID, REGION  # the one local account and region

INIT_TIMEOUT_SECONDS = 10.0
DEFAULT_TIMEOUT_SECONDS = 3.0
DEFAULT_MEMORY_MB = 128

# What a worker inherits from this process: enough to run Python and reach AWS with the developer's credentials
# (as `sam local` does); nothing else, so a function sees an environment close to Lambda's.
PASSED_THROUGH_VARIABLES = (
    "PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
    "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SSM",
    "NO_PROXY", "no_proxy", "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy",
)


@dataclass(frozen=True)
class FunctionSpec:
    """One Lambda function as a worker runs it."""

    name: str
    handler: str
    code_dir: Path
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = DEFAULT_TIMEOUT_SECONDS
    memory_mb: int = DEFAULT_MEMORY_MB
    runtime: str = "python3.12"

    @property
    def arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.name}"


@dataclass(frozen=True)
class Invocation:
    """A successful invocation: the handler's return value and how it ran."""

    payload: Any
    payload_text: str
    request_id: str
    pid: int
    cold_start: bool
    duration_ms: float
    init_duration_ms: float | None


# --- logs --------------------------------------------------------------------------------------------------------


class LogSink:
    """Where function logs go: a text stream (default: this process's stderr) or a file path (appended to)."""

    def __init__(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        self._lock = threading.Lock()
        self._owned: IO[str] | None = None
        if target is None:
            self._stream: TextIO | None = None  # sys.stderr looked up at write time (pytest swaps it)
        elif isinstance(target, (str, os.PathLike)):
            self._owned = open(target, "a", encoding="utf-8")
            self._stream = self._owned
        else:
            self._stream = target

    def write_line(self, source: str, line: str) -> None:
        stream = self._stream or sys.stderr
        with self._lock:
            try:
                stream.write(f"[{source}] {line.rstrip()}\n")
                stream.flush()
            except (ValueError, OSError):  # a closed stream must not take the relay thread down with it
                pass

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()


def _relay_logs(stream: IO[bytes], sink: LogSink, source: str) -> None:
    with stream:
        for raw in iter(stream.readline, b""):
            sink.write_line(source, raw.decode("utf-8", "replace"))


# --- one execution environment -----------------------------------------------------------------------------------

_TIMEOUT = object()
_EOF = object()


def worker_environment(spec: FunctionSpec, parent: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment variables of the worker process: passed-through basics, the function's, Lambda's own."""
    parent = os.environ if parent is None else parent
    environment = {name: parent[name] for name in PASSED_THROUGH_VARIABLES if name in parent}
    environment.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    environment.update({
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        # X-Ray has no daemon here; a function that wants tracing can still set this to false.
        "POWERTOOLS_TRACE_DISABLED": "true",
    })
    environment.update(spec.environment)
    environment.update({
        "_HANDLER": spec.handler,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "LAMBDA_RUNTIME_DIR": str(Path(lambda_runtime.__file__).parent),
        "PYTHONUNBUFFERED": "1",
    })
    return environment


class LambdaWorker:
    """One execution environment: a worker process, started lazily, one invocation at a time."""

    def __init__(self, spec: FunctionSpec, sink: LogSink, *, init_timeout_s: float = INIT_TIMEOUT_SECONDS) -> None:
        self.spec = spec
        self._sink = sink
        self._init_timeout_s = init_timeout_s
        self._process: subprocess.Popen[bytes] | None = None
        self._requests: IO[bytes] | None = None
        self._responses_fd: int | None = None
        self._buffer = bytearray()
        self._relay: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def warm(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def invoke(self, event: Any, *, caller_deadline: float | None = None) -> Invocation:
        """Run the handler once; ``caller_deadline`` is a ``time.monotonic()`` instant the caller waits until."""
        with self._lock:
            cold_start = not self.warm
            init_duration_ms = None
            if cold_start:
                self._discard()
                init_duration_ms = self._start(caller_deadline)
            return self._invoke_started(event, caller_deadline, cold_start, init_duration_ms)

    def stop(self) -> None:
        with self._lock:
            self._discard()

    # -- internals

    def _start(self, caller_deadline: float | None) -> float:
        spec = self.spec
        if not spec.code_dir.is_dir():
            raise FunctionInitError(spec.name, "Runtime.InvalidEntrypoint", f"code directory {spec.code_dir} not found")
        request_read, request_write = os.pipe()
        response_read, response_write = os.pipe()
        environment = worker_environment(spec)
        environment[lambda_runtime.REQUEST_FD_VARIABLE] = str(request_read)
        environment[lambda_runtime.RESPONSE_FD_VARIABLE] = str(response_write)
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                [sys.executable, "-u", lambda_runtime.__file__],
                cwd=spec.code_dir,
                env=environment,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, response_write),
                start_new_session=True,  # so a kill takes whatever the function started along with it
            )
        finally:
            os.close(request_read)
            os.close(response_write)
        self._process = process
        self._requests = os.fdopen(request_write, "wb", buffering=0)
        self._responses_fd = response_read
        assert process.stdout is not None
        self._relay = threading.Thread(
            target=_relay_logs, args=(process.stdout, self._sink, spec.name), name=f"logs-{spec.name}", daemon=True
        )
        self._relay.start()

        init_deadline = started + self._init_timeout_s
        deadline = min(init_deadline, caller_deadline) if caller_deadline is not None else init_deadline
        message = self._receive(deadline)
        init_duration_ms = (time.monotonic() - started) * 1000
        if message is _TIMEOUT:
            self._discard()
            if caller_deadline is not None and caller_deadline < init_deadline:
                raise CallerTimedOut(spec.name, "Gateway.Timeout", "the caller stopped waiting during init")
            raise FunctionInitError(
                spec.name, "Runtime.InitTimeout", f"init did not finish within {self._init_timeout_s:.0f} seconds"
            )
        if message is _EOF:
            status = self._exit_status()
            self._discard()
            raise FunctionInitError(spec.name, "Runtime.ExitError", f"Runtime exited during init: {status}")
        assert isinstance(message, dict)
        if message.get("type") == "init_error":
            self._discard()
            raise FunctionInitError(spec.name, message.get("errorType", "Runtime.Unknown"), message.get("errorMessage", ""))
        if message.get("type") != "ready":
            self._discard()
            raise FunctionInitError(spec.name, "Runtime.Unknown", f"unexpected message from the runtime: {message!r}")
        return init_duration_ms

    def _invoke_started(
        self, event: Any, caller_deadline: float | None, cold_start: bool, init_duration_ms: float | None
    ) -> Invocation:
        spec = self.spec
        assert self._process is not None and self._requests is not None
        request_id = str(uuid.uuid4())
        started = time.monotonic()
        function_deadline = started + spec.timeout_s
        deadline = min(function_deadline, caller_deadline) if caller_deadline is not None else function_deadline
        message_out = {
            "type": "invoke",
            "requestId": request_id,
            "event": event,
            "deadlineMs": int((time.time() + spec.timeout_s) * 1000),
            "invokedFunctionArn": spec.arn,
        }
        self._sink.write_line(spec.name, f"START RequestId: {request_id} Version: $LATEST")
        try:
            self._requests.write(json.dumps(message_out).encode() + b"\n")
            message = self._receive(deadline)
        except (BrokenPipeError, ConnectionResetError):
            message = _EOF
        duration_ms = (time.monotonic() - started) * 1000
        self._report(request_id, duration_ms, init_duration_ms)

        if message is _TIMEOUT:
            self._discard()
            if caller_deadline is not None and caller_deadline < function_deadline:
                raise CallerTimedOut(spec.name, "Gateway.Timeout", f"the caller stopped waiting after {duration_ms:.0f} ms")
            error = f"{request_id} Task timed out after {spec.timeout_s:.2f} seconds"
            self._sink.write_line(spec.name, error)
            raise FunctionTimedOut(spec.name, "Sandbox.Timedout", error)
        if message is _EOF:
            status = self._exit_status()
            self._discard()
            error = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
            self._sink.write_line(spec.name, error)
            raise FunctionCrashed(spec.name, "Runtime.ExitError", error)
        assert isinstance(message, dict)
        if message.get("type") == "error":
            raise FunctionRaised(spec.name, message.get("errorType", "Error"), message.get("errorMessage", ""))
        payload_text = message["payload"]
        return Invocation(
            payload=json.loads(payload_text),
            payload_text=payload_text,
            request_id=request_id,
            pid=self._process.pid,
            cold_start=cold_start,
            duration_ms=duration_ms,
            init_duration_ms=init_duration_ms,
        )

    def _report(self, request_id: str, duration_ms: float, init_duration_ms: float | None) -> None:
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, int(duration_ms + 0.999))} ms\tMemory Size: {self.spec.memory_mb} MB"
        )
        if init_duration_ms is not None:
            report += f"\tInit Duration: {init_duration_ms:.2f} ms"
        self._sink.write_line(self.spec.name, f"END RequestId: {request_id}")
        self._sink.write_line(self.spec.name, report)

    def _receive(self, deadline: float) -> object:
        """The next protocol message (a dict), or _TIMEOUT at the deadline, or _EOF if the process went away."""
        assert self._responses_fd is not None
        scanned = 0
        while True:
            newline = self._buffer.find(b"\n", scanned)
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                return json.loads(line)
            scanned = len(self._buffer)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return _TIMEOUT
            ready, _, _ = select.select([self._responses_fd], [], [], remaining)
            if not ready:
                return _TIMEOUT
            chunk = os.read(self._responses_fd, 1 << 16)
            if not chunk:
                return _EOF
            self._buffer.extend(chunk)

    def _exit_status(self) -> str:
        assert self._process is not None
        try:
            code = self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "exit status unknown"
        if code < 0:
            try:
                return f"signal: {signal.Signals(-code).name.removeprefix('SIG').lower()}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"

    def _discard(self) -> None:
        """Kill the process (and anything it started) and close the pipes; the next invoke cold-starts."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    process.kill()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL does not get ignored
                pass
        if self._requests is not None:
            try:
                self._requests.close()
            except OSError:
                pass
            self._requests = None
        if self._responses_fd is not None:
            os.close(self._responses_fd)
            self._responses_fd = None
        self._buffer.clear()
        if self._relay is not None:
            self._relay.join(timeout=2)
            self._relay = None
