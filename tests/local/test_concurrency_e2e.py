"""The synthesized stack under 50 concurrent clients for 8 s, result cache on and off: no wrong answer, no 5xx, and
a busy function served by more than one worker process (each with its own cold start and its own JWKS fetch).

Speed is not asserted here (``make bench`` measures it, 15 s a run); the 8 s is how long the load lasts, not a bound:
thousands of requests, and a second worker of each busy function within the first second.
"""

from __future__ import annotations

import io

import pytest

from bench.local_api import Call, drive_concurrent, function_usage
from local.stack import LocalStack, synthesize_in_process
from tests.local.test_stack_e2e import SAMPLE
from tests.local.waiting import alive

pytestmark = pytest.mark.slow

CLIENTS = 50
SECONDS = 8.0


@pytest.mark.parametrize("ttl", [300, 0], ids=["cache-on", "cache-off"])
def test_fifty_clients_get_only_right_answers_and_busy_functions_scale_out(ttl: int) -> None:
    with LocalStack("lambda", synthesizer=synthesize_in_process, context={**SAMPLE, "cacheTtlSeconds": ttl}, log_sink=io.StringIO()) as stack:
        issuer = stack.dev_issuer
        calls = [Call("/orders", stack.client_token("orders-oidc-reader"), 200),
                 Call("/orders", stack.client_token("orders-descope-reader"), 200),
                 Call("/orders", stack.client_token("orders-oidc", scope="orders:write"), 403),
                 Call("/hello", issuer.mint("oidc", expires_in=-600), 403),
                 Call("/hello", "garbage", 403),
                 Call("/hello", None, 401),
                 Call("/health", None, 200)]
        fetches_before = issuer.jwks_fetch_count("oidc")  # one issuer's keys: each instance fetches them once
        load = drive_concurrent(stack.url, calls, clients=CLIENTS, seconds=SECONDS)
        assert stack.api is not None
        usage = function_usage(stack.api, issuer.jwks_fetch_count("oidc") - fetches_before)
        workers = {pid for pool in stack.api.functions.values() for pid in pool.processes}

    assert workers and not any(alive(pid) for pid in workers)  # every worker ended with the stack
    assert load["requests"] > CLIENTS, load
    assert (load["wrong_answers"], load["5xx"]) == (0, 0), load
    backend = next(used for name, used in usage.items() if "Backend" in name)
    authorizer = next(used for name, used in usage.items() if "Authorizer" in name)
    assert backend["workers"] > 1, usage  # every request reaches the backend: it is the busy one
    assert backend["cold_starts"] == backend["workers"] and backend["throttles"] == 0
    if ttl == 0:  # every request runs the authorizer too
        assert authorizer["workers"] > 1, usage
        # Each authorizer worker is a new instance with its own key cache: it fetched the issuer's JWKS itself
        # (one shared cache would have fetched it once).
        assert authorizer["jwks_fetches"] >= authorizer["workers"], usage


