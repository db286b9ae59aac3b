"""Concurrency through the local API: a function's ReservedConcurrentExecutions (from the template) throttles calls
beyond it with API Gateway's answer to a throttled Lambda, at once, however many arrive; busy functions scale out.

A call holds its worker (``?mode=hold``) until the test creates ``release``: "busy" is a fact the test waits for,
never a sleep.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import requests

from tests.local.conftest import Served, new_nonce
from tests.local.waiting import GUARD_S, wait_until

pytestmark = pytest.mark.slow

INTERNAL_ERROR = (500, {"message": "Internal Server Error"})


def get(url: str, headers: dict[str, str] | None = None) -> requests.Response:
    """One request on its own connection (a shared session is not for concurrent use)."""
    with requests.Session() as session:
        session.trust_env = False
        return session.get(url, headers=headers, timeout=GUARD_S)


def test_calls_beyond_the_reserved_concurrency_get_api_gateways_500_at_once_and_the_api_keeps_serving(
        served: Served, tmp_path: Path) -> None:
    pool = next(p for p in served.api.functions.values() if p.reserved and p.limit == 1)
    throttled_before = pool.stats()["throttles"]
    hold = tmp_path / "hold"
    hold.mkdir()
    held: list[requests.Response] = []
    holder = threading.Thread(target=lambda: held.append(get(f"{served.url}/reserved-one?mode=hold&dir={hold}")))
    holder.start()
    wait_until(lambda: any(name.endswith(".started") for name in os.listdir(hold)), "the held call to start")

    flood: list[requests.Response] = []
    lock = threading.Lock()

    def one() -> None:
        response = get(f"{served.url}/reserved-one")
        with lock:
            flood.append(response)

    threads = [threading.Thread(target=one) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:  # each answered while the one allowed call still runs: refused, never queued
        thread.join(GUARD_S)
    assert [(r.status_code, r.json()) for r in flood] == [INTERNAL_ERROR] * 30
    assert pool.stats()["throttles"] - throttled_before == 30 and holder.is_alive()

    (hold / "release").touch()
    holder.join(GUARD_S)
    assert [r.status_code for r in held] == [200]
    assert get(f"{served.url}/reserved-one").status_code == 200  # the limit frees with the call
    log = served.log_file.read_text()
    assert "route GET /reserved-one: Lambda answered 429 TooManyRequestsException" in log
    assert "ReservedFunctionConcurrentInvocationLimitExceeded" in log


def test_an_authorizer_with_no_concurrency_is_500_and_never_runs(served: Served) -> None:
    token = f"allow:{new_nonce()}"
    response = get(f"{served.url}/authorizer-reserved-zero", {"Authorization": token})
    assert (response.status_code, response.json()) == INTERNAL_ERROR
    assert served.authorizer_calls(token) == []
    assert "authorizer ReservedZeroAuthorizer: Lambda answered 429 TooManyRequestsException" in served.log_file.read_text()


def test_the_templates_reserved_concurrency_caps_the_workers_and_the_rest_scale_out(served: Served) -> None:
    pools = {pool.spec.name: pool for pool in served.api.functions.values()}
    reserved = {name: (pool.limit, pool.max_workers) for name, pool in pools.items() if pool.reserved}
    assert sorted(reserved.values()) == [(0, 1), (1, 1)]  # ReservedOne and AuthzReservedZero
    assert all(pool.limit == 1000 and pool.max_workers >= 2 for pool in pools.values() if not pool.reserved)
