"""What runs inside a local Lambda worker process: the Python runtime's side of one execution environment.

The parent (``local/awslambda/worker.py``) starts ``python -u <this file>`` with the function's environment, its code
directory as the working directory, and two extra pipe descriptors named in the environment: one carries invoke
requests in, the other results out, one JSON object per line. Standard output and standard error are the function's
logs and never carry protocol messages. Lambda's sequence is kept:

- init: put the code directory first on ``sys.path``, import the handler's module (``module.sub.func``), then report
  ``ready``; an import failure is reported as an init error (``Runtime.ImportModuleError`` and friends, as the
  Lambda Python runtime names them) and the process exits;
- invoke, once per request: call the handler with the event and a context object, report the result (its JSON
  text) or the error (``errorType``, ``errorMessage``, ``stackTrace``). A handler exception leaves the environment
  warm; anything that ends the process (``os._exit``, a signal, ``sys.exit``) is a crash the parent sees as EOF.

This file imports only the standard library, so a function's own imports decide what else gets loaded.
"""

from __future__ import annotations

import decimal
import importlib
import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

REQUEST_FD_VARIABLE = "_LOCAL_LAMBDA_REQUEST_FD"
RESPONSE_FD_VARIABLE = "_LOCAL_LAMBDA_RESPONSE_FD"

_current_request_id = ""


class LambdaContext:
    """The context object a Python handler receives, with the attributes the Lambda runtime sets.

    ``memory_limit_in_mb`` is a string, as in the Lambda runtime (it is read from the environment there too).
    """

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.identity = None
        self.client_context = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return (
            f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r}, "
            f"invoked_function_arn={self.invoked_function_arn!r})"
        )


class _HandlerFault(Exception):
    """A failure to find or import the handler, named the way the Lambda Python runtime names it."""

    def __init__(self, error_type: str, message: str, stack_trace: list[str] | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.stack_trace = stack_trace or []


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """Import ``module.sub.func`` (``dir/module.func`` also works) and return ``func``."""
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError:
        raise _HandlerFault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack") from None
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise _HandlerFault(
            "Runtime.BuiltInModuleConflict",
            f"Cannot use built-in module {module_name} as a handler module",
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise _HandlerFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from None
    except SyntaxError as error:
        trace = [f'  File "{error.filename}" Line {error.lineno}\n    {error.text}']
        raise _HandlerFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}", trace) from None
    function = getattr(module, function_name, None)
    if function is None:
        raise _HandlerFault("Runtime.HandlerNotFound", f"Handler '{function_name}' missing on module '{module_name}'")
    return function


def _error_from_exception(error: BaseException) -> dict[str, Any]:
    if isinstance(error, _HandlerFault):
        return {"errorType": error.error_type, "errorMessage": error.message, "stackTrace": error.stack_trace}
    trace = error.__traceback__
    # The first frame is this runtime's call into the handler: Lambda shows only the function's own frames.
    if trace is not None and trace.tb_frame.f_code.co_filename == __file__:
        trace = trace.tb_next
    return {"errorType": type(error).__name__, "errorMessage": str(error), "stackTrace": traceback.format_tb(trace)}


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = _current_request_id
        return True


def _set_up_logging() -> None:
    """Give the root logger the Lambda runtime's handler and line format (its level stays the default)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(
        logging.Formatter("[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.formatter.converter = time.gmtime  # type: ignore[union-attr]
    logging.getLogger().addHandler(handler)


def _invoke(function: Callable[[Any, Any], Any], message: dict[str, Any]) -> dict[str, Any]:
    global _current_request_id
    request_id = message["requestId"]
    _current_request_id = request_id
    context = LambdaContext(request_id, int(message["deadlineMs"]), message["invokedFunctionArn"])
    try:
        result = function(message["event"], context)
    except Exception as error:  # a handler's exception is a function error; the environment stays warm
        failure = _error_from_exception(error)
        sys.stderr.write(f"[ERROR] {failure['errorType']}: {failure['errorMessage']}\n")
        sys.stderr.write("".join(failure["stackTrace"]))
        return {"type": "error", "requestId": request_id, **failure}
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    try:
        payload = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as error:
        return {
            "type": "error",
            "requestId": request_id,
            "errorType": "Runtime.MarshalError",
            "errorMessage": f"Unable to marshal response: {error}",
            "stackTrace": [],
        }
    return {"type": "result", "requestId": request_id, "payload": payload}


def main() -> None:
    request_fd = int(os.environ.pop(REQUEST_FD_VARIABLE))
    response_fd = int(os.environ.pop(RESPONSE_FD_VARIABLE))
    # Anything the function starts must not hold the protocol pipes open: the parent detects a crash by EOF.
    os.set_inheritable(request_fd, False)
    os.set_inheritable(response_fd, False)
    requests = os.fdopen(request_fd, "rb", buffering=0)
    responses = os.fdopen(response_fd, "wb", buffering=0)

    def send(message: dict[str, Any]) -> None:
        responses.write(json.dumps(message).encode() + b"\n")

    # Run as a script, sys.path[0] is this file's directory; the function sees its own code first instead,
    # like /var/task, then the interpreter's standard library and site-packages (the layers' stand-in).
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    task_root = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
    sys.path.insert(0, task_root)
    _set_up_logging()

    handler_name = os.environ.get("_HANDLER", "")
    function: Callable[[Any, Any], Any]
    try:
        function = load_handler(handler_name)
    except _HandlerFault as fault:
        if fault.error_type != "Runtime.HandlerNotFound":
            sys.stderr.write(f"[ERROR] {fault.error_type}: {fault.message}\n")
            send({"type": "init_error", "errorType": fault.error_type, "errorMessage": fault.message,
                  "stackTrace": fault.stack_trace})
            sys.exit(1)
        # As in Lambda, a missing handler attribute is not an init failure: every invoke reports it.
        missing = fault

        def function(event: Any, context: Any) -> Any:
            raise _HandlerFault(missing.error_type, missing.message)
    except Exception as error:  # the module raised while being imported
        failure = _error_from_exception(error)
        sys.stderr.write(f"[ERROR] {failure['errorType']}: {failure['errorMessage']}\n")
        send({"type": "init_error", **failure})
        sys.exit(1)
    sys.stdout.flush()
    sys.stderr.flush()
    send({"type": "ready"})

    with requests:
        for line in requests:
            message = json.loads(line)
            if message.get("type") != "invoke":
                continue
            send(_invoke(function, message))


if __name__ == "__main__":
    main()
