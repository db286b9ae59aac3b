"""Requests per second through the local stack with the Lambda authorizer, result cache on and off (informational).

The stack is synthesized twice as the local stack does it (``local.stack.synthesize``: ``python app.py``, bundling
skipped; ``cacheTtlSeconds`` 300 and 0), so the
template's ``AuthorizerResultTtlInSeconds`` is the only difference, and served by ``local.apigateway.service.LocalHttpApi``
with each Lambda in a warm worker process. ``AUTH_ISSUERS`` is overridden to trust the benchmark issuer. One client
sends the same valid token to ``GET /orders``, a new connection per request; with the cache on, API Gateway (here,
the local one) invokes the authorizer once per TTL, so the numbers show what the cache saves, not Lambda's speed.

A new connection per request, as API Gateway's clients mostly arrive; ``keepalive_p50_ms`` records one kept-alive
connection too.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .bundle import Skipped
from .scenario import BenchIssuer

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
    latencies = []
    started = time.perf_counter()
    for _ in range(requests_count):
        began = time.perf_counter()
        status = _get(url, headers)
        latencies.append(time.perf_counter() - began)
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {"requests": requests_count, "requests_per_s": round(requests_count / elapsed, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[max(0, math.ceil(len(latencies) * 0.99) - 1)] * 1000, 2),
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
                results[name] = {"result_ttl_s": ttl, **measured, "keepalive_p50_ms": kept_alive}
    except Skipped as reason:
        return {"skipped": str(reason)}
    except Exception as problem:  # a local stack that is still being built must not fail the benchmark
        return {"skipped": f"the local stack failed: {type(problem).__name__}: {str(problem)[:300]}"}
    for name in ("cache_on", "cache_off"):
        if results[name]["statuses"] != {"200": requests_count}:
            results[name]["note"] = "not every request was answered 200: see statuses"
    return results
