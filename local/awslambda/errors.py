"""Every way a local Lambda invocation can end without a result, in one place.

Each error carries Lambda's own ``error_type`` and ``error_message`` (``Runtime.ExitError``, ``Sandbox.Timedout``,
``TooManyRequestsException``, ...), so the caller (the local API Gateway) decides its answer from the class alone:

    FunctionRaised       the handler raised or returned what is not JSON   (the environment stays warm)
    FunctionInitError    the module did not import, or init timed out       (the next call starts again)
    FunctionTimedOut     the function ran past its Timeout                  (the environment is killed)
    FunctionCrashed      the process exited mid-invocation                  (replaced: the next call is cold)
    CallerTimedOut       the caller stopped waiting first                   (the environment is killed)
    FunctionThrottled    Lambda refused the invocation: the function's concurrency limit was reached; the
                         function never ran (Lambda's 429 ``TooManyRequestsException``, ``Rate Exceeded.``)
"""

from __future__ import annotations


class FunctionError(Exception):
    """An invocation that returned no result; ``error_type`` and ``error_message`` are Lambda's."""

    def __init__(self, function_name: str, error_type: str, error_message: str) -> None:
        super().__init__(f"{function_name}: {error_type}: {error_message}")
        self.function_name = function_name
        self.error_type = error_type
        self.error_message = error_message


class FunctionRaised(FunctionError):
    """The handler raised (or returned something that is not JSON); the environment stays warm."""


class FunctionInitError(FunctionError):
    """The handler's module could not be imported, or the code directory is unusable."""


class FunctionTimedOut(FunctionError):
    """The function ran past its Timeout; its environment was killed."""


class FunctionCrashed(FunctionError):
    """The worker process exited during the invocation (Runtime.ExitError)."""


class CallerTimedOut(FunctionError):
    """The caller's own time limit passed before the function answered; the environment was killed."""


class FunctionThrottled(FunctionError):
    """Lambda's Invoke API refused the call (HTTP 429): as many invocations as the function's concurrency limit
    were already running. Nothing ran; no environment was used."""

    status = 429

    def __init__(self, function_name: str, reason: str) -> None:
        super().__init__(function_name, "TooManyRequestsException", "Rate Exceeded.")
        self.reason = reason  # Lambda's Reason field, e.g. ReservedFunctionConcurrentInvocationLimitExceeded
