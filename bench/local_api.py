"""Requests per second through the local stack with the Lambda authorizer, result cache on and off (informational).

The stack is synthesized twice with bundling skipped (``python app.py``, ``cacheTtlSeconds`` 300 and 0), so the
template's ``AuthorizerResultTtlInSeconds`` is the only difference, and served by ``local.gateway.LocalHttpApi``
with each Lambda in a warm worker process. ``AUTH_ISSUERS`` is overridden to trust the benchmark issuer. One client
sends the same valid token to ``GET /orders``, a new connection per request; with the cache on, API Gateway (here,
the local one) invokes the authorizer once per TTL, so the numbers show what the cache saves, not Lambda's speed.

A new connection per request because the local server answers on a kept-alive connection only after ~40 ms
(``keepalive_p50_ms`` records it): the Nagle / delayed-ACK stall of a response written in several small sends,
which would hide every other difference.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from .bundle import Skipped
from .coldstart import PROJECT_ROOT
from .scenario import BenchIssuer

ROUTE = "/orders"
SYNTH_TIMEOUT_SECONDS = 300


def synthesize_unbundled(outdir: Path, cache_ttl_seconds: int) -> str:
    """``python app.py`` with bundling skipped; returns the stack name."""
    if not (PROJECT_ROOT / "app.py").is_file():
        raise Skipped("the CDK app (app.py) is not in this checkout")
    environment = dict(os.environ)
    environment.update({"CDK_OUTDIR": str(outdir), "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
                        "CDK_CONTEXT_JSON": json.dumps({"aws:cdk:bundling-stacks": [],
                                                        "cacheTtlSeconds": cache_ttl_seconds})})
    try:
        result = subprocess.run([sys.executable, "app.py"], cwd=PROJECT_ROOT, env=environment,
                                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                timeout=SYNTH_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise Skipped(f"synth took longer than {SYNTH_TIMEOUT_SECONDS} s") from None
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise Skipped(f"synth failed: {' | '.join(last)[:400]}")
    templates = sorted(outdir.glob("*.template.json"))
    if not templates:
        raise Skipped("synth wrote no template")
    return templates[0].name.removesuffix(".template.json")


def _get(url: str, headers: dict[str, str]) -> int:
    """One GET on a new connection (``http.client``: a pooled client could reuse a socket the server is closing)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
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
        from local.gateway import LocalHttpApi
    except Exception as problem:  # the local gateway is not there (yet), or does not import
        return {"skipped": f"local.gateway is not usable: {type(problem).__name__}: {problem}"}
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
