"""LogWatch: a function's JSON log records, waited for without polling, while the sink still writes every line."""

from __future__ import annotations

import io
import threading

from local.awslambda.log_watch import LogWatch
from local.awslambda.worker import FunctionSpec, LambdaWorker


def test_a_record_the_function_logged_is_found_once_its_invocation_returned(code_dir):
    written = io.StringIO()
    logs = LogWatch(written)
    worker = LambdaWorker(FunctionSpec(name="watched-fn", handler="app.handler", code_dir=code_dir), logs)
    try:
        worker.invoke({"action": "echo"})
    finally:
        worker.stop()
    record = logs.wait_for(lambda r: r.get("type") == "result")
    assert record == {"type": "result", "payload": "a log line that looks like the protocol", "source": "watched-fn"}
    assert "[watched-fn] init: loading app" in written.getvalue()  # every line still reaches the sink's target


def test_a_waiter_is_woken_by_the_record_it_waits_for_and_gives_up_after_its_timeout():
    logs = LogWatch(io.StringIO())
    logs.write_line("authorizer", '{"message": "denied", "reason": "expired", "sub": "user-6"}')
    waiting = threading.Event()
    found: list = []

    def user_7(record: dict) -> bool:
        waiting.set()  # called under the watch's lock, which the waiter releases only as it starts to wait
        return record.get("sub") == "user-7"

    waiter = threading.Thread(target=lambda: found.append(logs.wait_for(user_7, timeout=30)))
    waiter.start()
    waiting.wait()  # the waiter has seen user-6 and not found what it waits for: it is waiting now, or about to
    assert found == []
    logs.write_line("authorizer", "not json")
    logs.write_line("authorizer", '{"message": "denied", "reason": "mcp_name_denied", "sub": "user-7"}')
    waiter.join()
    assert found[0]["reason"] == "mcp_name_denied"
    assert logs.denial("user-6")["reason"] == "expired" and logs.denials("user-7") == ["mcp_name_denied"]
    assert logs.wait_for(lambda r: r.get("sub") == "nobody", timeout=0.01) is None
