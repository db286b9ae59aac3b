"""Requests per second through the local stack with the Lambda authorizer, result cache on and off (informational).

The stack is synthesized twice as the local stack does it (``local.stack.synthesize``: ``python app.py``, bundling
skipped; ``cacheTtlSeconds`` 300 and 0), so the
template's ``AuthorizerResultTtlInSeconds`` is the only difference, and served by ``local.apigateway.service.LocalHttpApi``
with each Lambda in warm worker processes (up to ``LOCAL_LAMBDA_CONCURRENCY`` or one per core per function, started
on demand). ``AUTH_ISSUERS`` is overridden to trust the benchmark issuer. Two loads for each:

- sequential: one client sends the same valid token to ``GET /orders``, a new connection per request (as API
  Gateway's clients mostly arrive; ``keepalive_p50_ms`` records one kept-alive connection too); with the cache on,
  the authorizer runs once per TTL, so the numbers show what the cache saves, not Lambda's speed;
- concurrent (:func:`drive_concurrent`): 50 clients for 15 s, each a kept-alive connection sending a random mix of
  requests whose answers are known (valid, expired and garbage tokens, none, a public route): requests, wrong
  answers, 5xx, p50/p99, and for each function the worker processes that served it (each with its own cold start)
  and the JWKS fetches they made (each worker fetches its own keys: the per-instance effects users meet on AWS).

Printed in the report beside the sequential throughput (``render_concurrent``), and kept in ``results.json``.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .bundle import Skipped
from .scenario import BenchIssuer
from .timing import percentile

ROUTE = "/orders"


def synthesize_unbundled(outdir: Path, cache_ttl_seconds: int) -> str:
    """The app synthesized as the local stack does it (bundling skipped); returns the stack name."""
    from local.stack import STACK_NAME, SynthError, synthesize

    try:
        synthesize({"cacheTtlSeconds": cache_ttl_seconds}, outdir)
    except SynthError as problem:
        raise Skipped(f"synth failed: {str(problem).splitlines()[-1][:400]}") from None
    except subprocess.TimeoutExpired:
        raise Skipped("synth took too long") from None
    return STACK_NAME


def _get(url: str, headers: dict[str, str]) -> int:
    """One GET on a new connection (``http.client``: a pooled client could reuse a socket the server is closing)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        connection.request("GET", ROUTE, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def drive(url: str, token: str, requests_count: int, warmup: int = 0) -> dict[str, Any]:
    """Sequential requests, a new connection each: requests/s, latency and status codes."""
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(warmup):
        _get(url, headers)
    statuses: dict[int, int] = {}
    latencies: list[int] = []  # ns
    started = time.perf_counter()
    for _ in range(requests_count):
        began = time.perf_counter_ns()
        status = _get(url, headers)
        latencies.append(time.perf_counter_ns() - began)
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": requests_count, "requests_per_s": round(requests_count / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) / 1e6, 2),
            "p99_ms": round(percentile(latencies, 99) / 1000, 2),
            "statuses": {str(code): count for code, count in sorted(statuses.items())}}


def keepalive_p50_ms(url: str, token: str, requests_count: int = 10) -> float:
    """The same request on one kept-alive connection (see the module docstring)."""
    session = requests.Session()
    latencies = []
    for _ in range(requests_count + 1):
        began = time.perf_counter()
        session.get(url + ROUTE, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        latencies.append(time.perf_counter() - began)
    return round(statistics.median(latencies[1:]) * 1000, 2)


@dataclass(frozen=True)
class Call:
    """One request of a concurrent load and the status API Gateway answers it with."""

    path: str
    token: str | None
    expected: int


def drive_concurrent(url: str, calls: list[Call], *, clients: int = 50, seconds: float = 15.0,
                     seed: int = 21) -> dict[str, Any]:
    """``clients`` threads, each on its own kept-alive connection, send random ``calls`` for ``seconds``: the
    requests, wrong answers (status not the call's), 5xx, p50/p99 in ms, and every status seen."""
    parts = urlsplit(url)
    statuses: Counter[int] = Counter()
    latencies: list[int] = []  # ns
    wrong: list[tuple[str, int, int]] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=60)
        try:
            while time.monotonic() < stop_at:
                call = rng.choice(calls)
                headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
                began = time.perf_counter_ns()
                try:
                    connection.request("GET", call.path, headers=headers)
                    response = connection.getresponse()
                    response.read()
                    status = response.status
                except (OSError, http.client.HTTPException):
                    connection.close()  # a dropped connection counts as a wrong answer, then reconnect
                    status = 0
                elapsed = time.perf_counter_ns() - began
                with lock:
                    statuses[status] += 1
                    latencies.append(elapsed)
                    if status != call.expected:
                        wrong.append((call.path, call.expected, status))
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), name=f"bench-client-{n}") for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    total = sum(statuses.values())
    return {"clients": clients, "seconds": seconds, "requests": total,
            "requests_per_s": round(total / elapsed, 1) if elapsed else 0.0,
            "wrong_answers": len(wrong), "5xx": sum(n for code, n in statuses.items() if code >= 500),
            "p50_ms": round(percentile(latencies, 50) / 1000, 1),
            "p99_ms": round(percentile(latencies, 99) / 1000, 1),
            "statuses": {str(code): n for code, n in sorted(statuses.items())}, "wrong_examples": wrong[:5]}


def function_usage(api: Any, jwks_fetches: int) -> dict[str, dict[str, int]]:
    """Per function: invocations, cold starts (one per worker process started), worker processes that answered,
    throttled calls, and the JWKS fetches it made: the issuer's count goes to the authorizer functions (the
    template's authorizers name them; a backend verifies no token and fetches no keys)."""
    authorizer_functions = {authorizer.function for authorizer in api.api.authorizers.values()}
    usage = {}
    for logical_id, pool in api.functions.items():
        stats = pool.stats()
        usage[pool.spec.name] = {
            "invocations": stats["invocations"], "workers": stats["workers"], "cold_starts": stats["cold_starts"],
            "throttles": stats["throttles"],
            "jwks_fetches": jwks_fetches if logical_id in authorizer_functions else 0}
    return usage


def render_concurrent(results: dict[str, Any]) -> str:
    """The concurrent load as a table: one row per cache setting, then one per function."""
    lines = ["Local API under concurrent clients (informational; 0 wrong answers and 0 5xx expected)", "",
             "| authorizer result cache | clients | s | requests | wrong answers | 5xx | p50 ms | p99 ms |",
             "|---|---|---|---|---|---|---|---|"]
    functions = ["", "| cache | function | invocations | workers | cold starts | throttled | JWKS fetches |",
                 "|---|---|---|---|---|---|---|"]
    for name in ("cache_on", "cache_off"):
        load = (results.get(name) or {}).get("concurrent")
        if not load:
            continue
        setting = "on" if name == "cache_on" else "off"
        lines.append(f"| {setting} | {load['clients']} | {load['seconds']} | {load['requests']} | "
                     f"{load['wrong_answers']} | {load['5xx']} | {load['p50_ms']} | {load['p99_ms']} |")
        for function, used in load["functions"].items():
            functions.append(f"| {setting} | {function} | {used['invocations']} | {used['workers']} | "
                             f"{used['cold_starts']} | {used['throttles']} | {used['jwks_fetches']} |")
    return "\n".join(lines + functions)


def concurrent_calls(issuer: BenchIssuer) -> list[Call]:
    """Requests whose answers are known: valid tokens (several, so the cache holds several keys), an expired one,
    garbage, none, the public route."""
    valid = [Call(ROUTE, issuer.mint("RS256"), 200) for _ in range(4)] + [Call(ROUTE, issuer.mint("ES256"), 200)]
    return [*valid, Call(ROUTE, issuer.dev.mint(issuer.profile, audience=issuer.audience, expires_in=-600,
                                                 claims={"iss": issuer.issuer}), 403),
            Call("/hello", "garbage", 403), Call("/hello", None, 401), Call("/health", None, 200)]


def measure_local_api(issuer: BenchIssuer, *, requests_count: int = 500) -> dict[str, Any]:
    """``{"cache_on": {...}, "cache_off": {...}}``, or ``{"skipped": reason}`` when the local stack cannot run."""
    try:
        from local.apigateway.service import LocalHttpApi
    except Exception as problem:  # the local gateway is not there (yet), or does not import
        return {"skipped": f"local.apigateway is not usable: {type(problem).__name__}: {problem}"}
    token = issuer.mint("RS256")
    results: dict[str, Any] = {"route": f"GET {ROUTE}", "client": "sequential, a new connection per request"}
    try:
        with tempfile.TemporaryDirectory(prefix="bench-local-api-") as workdir:
            for name, ttl in (("cache_on", 300), ("cache_off", 0)):
                outdir = Path(workdir) / name
                stack = synthesize_unbundled(outdir, ttl)
                api = LocalHttpApi.from_assembly(outdir, stack, log_sink=os.devnull,
                                                 env_overrides={"AUTH_ISSUERS": json.dumps(issuer.issuers_config())})
                authorizers = [pool for pool in api.functions.values()
                               if pool.spec.handler == "authorizer.handler.handler"]
                with api:
                    drive(api.url, token, 20)  # cold starts of the authorizer and backend workers, JWKS prefetch
                    kept_alive = keepalive_p50_ms(api.url, token)
                    before = sum(pool.invocations for pool in authorizers)
                    measured = drive(api.url, token, requests_count)
                    measured["authorizer_invocations"] = sum(pool.invocations for pool in authorizers) - before
                    concurrent = _concurrent_run(issuer, api, outdir, stack)
                results[name] = {"result_ttl_s": ttl, **measured, "keepalive_p50_ms": kept_alive,
                                 "concurrent": concurrent}
    except Skipped as reason:
        return {"skipped": str(reason)}
    except Exception as problem:  # a local stack that is still being built must not fail the benchmark
        return {"skipped": f"the local stack failed: {type(problem).__name__}: {str(problem)[:300]}"}
    for name in ("cache_on", "cache_off"):
        if results[name]["statuses"] != {"200": requests_count}:
            results[name]["note"] = "not every request was answered 200: see statuses"
    return results


def _concurrent_run(issuer: BenchIssuer, warm_api: Any, outdir: Path, stack: str) -> dict[str, Any]:
    """50 clients for 15 s on a fresh API (fresh workers: every cold start and JWKS fetch of the run is counted)."""
    from local.apigateway.service import LocalHttpApi

    warm_api.stop()  # its workers would compete for the cores
    api = LocalHttpApi.from_assembly(outdir, stack, log_sink=os.devnull,
                                     env_overrides={"AUTH_ISSUERS": json.dumps(issuer.issuers_config())})
    calls = concurrent_calls(issuer)
    fetches_before = issuer.dev.jwks_fetch_count()
    with api:
        load = drive_concurrent(api.url, calls)
        load["functions"] = function_usage(api, issuer.dev.jwks_fetch_count() - fetches_before)
    return load
