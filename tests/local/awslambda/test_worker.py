"""Local Lambda workers: one warm process per execution environment, with Lambda's lifecycle."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from local.awslambda.errors import CallerTimedOut, FunctionCrashed, FunctionInitError, FunctionRaised, FunctionTimedOut


def test_first_invocation_is_a_cold_start_then_the_same_process_stays_warm(make_pool: Any) -> None:
    pool = make_pool()
    first = pool.invoke({"n": 1})
    second = pool.invoke({"n": 2})
    assert first.cold_start and first.init_duration_ms is not None
    assert not second.cold_start and second.init_duration_ms is None
    assert first.pid == second.pid == first.payload["pid"]
    assert second.payload["event"] == {"n": 2}
    assert (pool.invocations, pool.cold_starts) == (2, 1)


def test_the_function_sees_its_environment_code_directory_and_context(make_pool: Any, code_dir: Path) -> None:
    payload = make_pool(timeout_s=30).invoke({}).payload
    assert payload["env"] == {
        "GREETING": "hi", "_HANDLER": "app.handler", "AWS_LAMBDA_FUNCTION_NAME": "test-fn",
        "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "LAMBDA_TASK_ROOT": str(code_dir), "_LOCAL_LAMBDA_REQUEST_FD": None,
    }
    assert payload["path0"] == str(code_dir) and payload["cwd"] == str(code_dir)
    assert payload["local_package_importable"] is False  # the runtime's own directory is not on sys.path
    context = payload["context"]
    assert context["function_name"] == "test-fn"
    assert context["memory_limit_in_mb"] == "512"
    assert context["invoked_function_arn"] == "arn:aws:lambda:us-east-1:123456789012:function:test-fn"
    assert len(context["aws_request_id"]) == 36
    assert 20_000 < context["remaining_ms"] <= 30_000  # counts down from the timeout (10 s of slack)


def test_a_handler_exception_is_a_function_error_and_the_environment_stays_warm(make_pool: Any) -> None:
    pool = make_pool()
    pid = pool.invoke({}).pid
    with pytest.raises(FunctionRaised) as raised:
        pool.invoke({"action": "raise"})
    assert (raised.value.error_type, raised.value.error_message) == ("ValueError", "bad input")
    assert pool.invoke({}).pid == pid


def test_a_crash_is_runtime_exit_error_and_the_next_invocation_starts_a_new_process(make_pool: Any) -> None:
    pool = make_pool()
    pid = pool.invoke({}).pid
    with pytest.raises(FunctionCrashed) as crashed:
        pool.invoke({"action": "crash"})
    assert crashed.value.error_type == "Runtime.ExitError"
    assert "exit status 3" in crashed.value.error_message
    after = pool.invoke({})
    assert after.cold_start and after.pid != pid


def test_a_timeout_kills_the_environment_and_the_next_invocation_is_cold(make_pool: Any) -> None:
    pool = make_pool(timeout_s=0.5)
    pid = pool.invoke({}).pid
    with pytest.raises(FunctionTimedOut) as timed_out:
        pool.invoke({"action": "sleep", "seconds": 5})
    assert "Task timed out after 0.50 seconds" in timed_out.value.error_message
    after = pool.invoke({})
    assert after.cold_start and after.pid != pid


def test_a_caller_that_stops_waiting_first_is_told_apart_from_the_function_timeout(make_pool: Any) -> None:
    pool = make_pool(timeout_s=3)
    pool.invoke({})
    with pytest.raises(CallerTimedOut):
        pool.invoke({"action": "sleep", "seconds": 5}, caller_timeout_s=0.3)
    assert pool.invoke({}).cold_start


@pytest.mark.parametrize(("handler", "error_type", "message"), [
    ("missing_import.handler", "Runtime.ImportModuleError", "Unable to import module 'missing_import'"),
    ("raises_at_import.handler", "KeyError", "CONFIG"),
    ("no_such_module.handler", "Runtime.ImportModuleError", "No module named 'no_such_module'"),
    ("handler_without_a_dot", "Runtime.MalformedHandlerName", "Bad handler"),
])
def test_an_init_failure_is_reported_as_a_function_error(make_pool: Any, handler: str, error_type: str, message: str) -> None:
    pool = make_pool(handler)
    with pytest.raises(FunctionInitError) as failed:
        pool.invoke({})
    assert failed.value.error_type == error_type
    assert message in failed.value.error_message
    with pytest.raises(FunctionInitError):  # and again: every invocation retries the init
        pool.invoke({})
    assert pool.cold_starts == 2


def test_a_missing_handler_function_fails_each_invocation_like_lambda(make_pool: Any) -> None:
    pool = make_pool("app.no_such_function")
    with pytest.raises(FunctionRaised) as raised:
        pool.invoke({})
    assert raised.value.error_type == "Runtime.HandlerNotFound"


def test_a_result_that_is_not_json_is_a_marshal_error(make_pool: Any) -> None:
    with pytest.raises(FunctionRaised) as raised:
        make_pool().invoke({"action": "unserializable"})
    assert raised.value.error_type == "Runtime.MarshalError"


def test_function_output_goes_to_the_log_sink_not_the_protocol(make_pool: Any, log_file: Path) -> None:
    pool = make_pool()
    result = pool.invoke({"n": 1})
    assert result.payload["event"] == {"n": 1}  # the printed protocol look-alike did not become the result
    pool.stop()  # joins the log relay
    lines = log_file.read_text().splitlines()
    assert "[test-fn] init: loading app" in lines
    assert '[test-fn] {"type": "result", "payload": "a log line that looks like the protocol"}' in lines
    assert any(line.startswith(f"[test-fn] START RequestId: {result.request_id}") for line in lines)
    assert any(line.startswith(f"[test-fn] REPORT RequestId: {result.request_id}") and "Init Duration" in line
               for line in lines)


def test_a_pool_runs_concurrent_invocations_in_separate_environments(make_pool: Any, tmp_path: Path) -> None:
    pool = make_pool(size=2, timeout_s=5)
    rendezvous = tmp_path / "rendezvous"
    rendezvous.mkdir()
    results: list[Any] = []
    threads = [
        threading.Thread(target=lambda: results.append(pool.invoke({"action": "rendezvous", "dir": str(rendezvous)})))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(results) == 2
    assert results[0].pid != results[1].pid


def test_one_environment_serializes_invocations(make_pool: Any) -> None:
    pool = make_pool(size=1, timeout_s=5)
    pids: list[int] = []
    threads = [threading.Thread(target=lambda: pids.append(pool.invoke({}).pid)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(pids) == 4 and len(set(pids)) == 1
    assert pool.cold_starts == 1


def test_a_stopped_pool_starts_fresh_environments_when_used_again(make_pool: Any) -> None:
    pool = make_pool()
    pid = pool.invoke({}).pid
    pool.stop()
    again = pool.invoke({})
    assert again.cold_start and again.pid != pid
