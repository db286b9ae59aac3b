"""What the authorizer tells operators: one CloudWatch EMF document per invocation, X-Ray traces when enabled.

Metrics go through Powertools ``Metrics`` (namespace ``POWERTOOLS_METRICS_NAMESPACE``, default ``JwtAuthorizer``;
service ``POWERTOOLS_SERVICE_NAME``, default ``jwt-authorizer``). Each invocation flushes exactly one document:

| metric                | unit         | emitted                                                              |
|-----------------------|--------------|----------------------------------------------------------------------|
| ``Allowed``/``Denied``| Count        | once per decision                                                    |
| ``VerificationLatency``| Milliseconds| once per invocation: event in → response out                         |
| ``JwksFetchOk``       | Count        | JWKS (or discovery + JWKS) refreshes that succeeded since last flush |
| ``JwksFetchFailed``   | Count        | refreshes that failed (network, timeout, status, size, not a JWKS)   |
| ``JwksStaleServed``   | Count        | failed refreshes after which the held keys kept serving              |
| ``JwksEmpty``         | Count        | refreshes that succeeded with no usable key (reason ``jwks_empty``): |
|                       |              | the issuer's set replaced the held keys, so its tokens are denied    |

Keys held past ``AUTH_JWKS_MAX_STALE_SECONDS`` beyond their max age while every refresh failed are dropped (a
``stale_expired`` warning); each request then counts as ``Denied`` with reason ``jwks_unavailable``, and each retry
as ``JwksFetchFailed``, until a fetch succeeds.
| ``ConfigRefreshFailed``| Count       | the SSM configuration could not be read or was invalid               |

Dimension sets: ``[service]`` (totals to alarm on) and ``[service, Outcome, Reason]``, where ``Outcome`` is
``allow``/``deny`` and ``Reason`` is a stable code from ``errors.py`` (``ok`` when allowed) — a few dozen values
at most. Nothing per-request (issuer, sub, route) is ever a dimension.

Tracing is off unless the function runs in Lambda with ``POWERTOOLS_TRACE_DISABLED`` not true; only then is
the X-Ray SDK imported (it costs ~0.4 s of cold start), and JWKS/discovery fetches get a subsegment each.

    metrics = DecisionMetrics(Metrics(namespace="JwtAuthorizer", service="jwt-authorizer"))
    verifier = TokenVerifier(config.issuers, on_fetch=metrics.on_fetch)
    authorizer = Authorizer(config, verifier=verifier, observe=metrics.observe)
    ...
    metrics.flush(latency_ms=0.2)
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from .fetch import JsonFetcher
from .jwks import FetchResult

DEFAULT_NAMESPACE = "JwtAuthorizer"
DEFAULT_SERVICE = "jwt-authorizer"
_REASON = re.compile(r"[a-z][a-z0-9_]{0,63}")
_TRUE = ("1", "true", "yes", "on")
_MAX_TEMPLATES = 512  # reasons are a fixed set of codes; this only bounds memory against a bug
_UNITS = {"VerificationLatency": "Milliseconds"}  # every other metric is a Count
_MARKER = re.compile(r'"\\u0000(\d+)\\u0000"')  # how json.dumps writes _marker(n): no claim or name can hold it


def _marker(slot: int) -> str:
    return f"\0{slot}\0"


def service_name(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def metrics_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' own switches: ``POWERTOOLS_METRICS_DISABLED``, or ``POWERTOOLS_DEV`` without it."""
    disabled = environ.get("POWERTOOLS_METRICS_DISABLED")
    if disabled is not None:
        return disabled.strip().lower() not in _TRUE
    return environ.get("POWERTOOLS_DEV", "").strip().lower() not in _TRUE


def tracing_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Powertools' rule: in Lambda (not SAM local), unless ``POWERTOOLS_TRACE_DISABLED`` is true."""
    if environ.get("POWERTOOLS_TRACE_DISABLED", "").strip().lower() in _TRUE:
        return False
    return bool(environ.get("LAMBDA_TASK_ROOT")) and not environ.get("AWS_SAM_LOCAL")


class DecisionMetrics:
    """Collects one invocation's metrics in plain attributes, then writes them as one EMF document.

    ``metrics`` is a Powertools ``Metrics``; ``None`` turns every method into a no-op (metrics disabled).
    """

    def __init__(self, metrics: Any | None) -> None:
        self.metrics = metrics
        self.service = getattr(getattr(metrics, "provider", None), "service", None) or DEFAULT_SERVICE
        self._outcome: str | None = None
        self._reason = "ok"
        self._fetch_failed = 0
        self._stale_served = 0
        self._fetch_attempts = 0
        self._fetch_empty = 0
        self._config_failed = 0
        self._templates: dict[tuple[Any, ...], str] = {}
        self._decisions: dict[tuple[str, str], str] = {}  # (outcome, reason) → the usual document's template

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> DecisionMetrics:
        if not metrics_enabled(environ):
            return cls(None)
        from aws_lambda_powertools.metrics import Metrics

        return cls(Metrics(namespace=environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_NAMESPACE,
                           service=service_name(environ)))

    # --- the Authorizer's observe seam: (outcome, reason, shape) --------------------------------------------
    def observe(self, outcome: str, reason: str | None, shape: str) -> None:
        self._outcome = "allow" if outcome == "allow" else "deny"
        self._reason = reason if reason and _REASON.fullmatch(reason) else ("ok" if outcome == "allow" else "other")

    # --- JWKS: the caches' on_fetch hook -----------------------------------------------------------------
    def on_fetch(self, result: FetchResult) -> None:
        """A ``JwksCache`` ``on_fetch`` callback: counts refresh attempts, failures, and stale keys kept serving."""
        if not result.attempted:  # held keys expired: no fetch was made (the retries that follow are counted)
            return
        self._fetch_attempts += 1
        self._fetch_empty += result.empty
        if not result.ok:
            self._fetch_failed += 1
            self._stale_served += result.stale_served

    def config_refresh_failed(self) -> None:
        self._config_failed += 1

    # --- one document per invocation ----------------------------------------------------------------------
    def flush(self, latency_ms: float | None) -> None:
        """Write this invocation's document to stdout and reset. Never raises: metrics must not fail a request."""
        if self.metrics is None:
            return
        try:
            outcome = self._outcome
            if outcome is not None and latency_ms is not None and not (
                    self._fetch_attempts or self._config_failed):
                # Nearly every invocation: a decision and its latency, nothing else. One lookup, one format.
                key = (outcome, self._reason)
                template = self._decisions.get(key)
                if template is None:
                    names = ["Allowed" if outcome == "allow" else "Denied", "VerificationLatency"]
                    template = self._template((*key, *names), names) + "\n"
                    if len(self._decisions) < _MAX_TEMPLATES:
                        self._decisions[key] = template
                sys.stdout.write(template % (time.time_ns() // 1_000_000, "1.0", repr(float(latency_ms))))
                self._outcome, self._reason = None, "ok"
                return
            self._write(latency_ms)
        except Exception:  # a metrics bug must never turn an authorization into a 500
            self.metrics.clear_metrics()
        finally:
            if self._outcome is not None or self._fetch_attempts or self._config_failed:
                self._reset()

    def _write(self, latency_ms: float | None) -> None:
        names: list[str] = []
        values: list[str] = []  # JSON numbers, as json.dumps spells them (repr of a float)
        if self._outcome is not None:
            names.append("Allowed" if self._outcome == "allow" else "Denied")
            values.append("1.0")
        if latency_ms is not None:
            names.append("VerificationLatency")
            values.append(repr(float(latency_ms)))
        if self._fetch_attempts:  # every failed fetch is an attempt too
            names += ("JwksFetchOk", "JwksFetchFailed", "JwksStaleServed")
            values += (repr(float(max(self._fetch_attempts - self._fetch_failed, 0))),
                       repr(float(self._fetch_failed)), repr(float(self._stale_served)))
        if self._fetch_empty:
            names.append("JwksEmpty")
            values.append(repr(float(self._fetch_empty)))
        if self._config_failed:
            names.append("ConfigRefreshFailed")
            values.append(repr(float(self._config_failed)))
        if not names:
            return
        key = (self._outcome, self._reason, *names)
        template = self._templates.get(key) or self._template(key, names)
        sys.stdout.write(template % (time.time_ns() // 1_000_000, *values) + "\n")

    def _template(self, key: tuple[Any, ...], names: list[str]) -> str:
        """Powertools builds and validates the document once per (outcome, reason, metric names).

        Its per-call path (unit and name validation, dimension checks, debug formatting) costs ~20 µs, and even
        ``json.dumps`` of the finished document ~5 µs — a fifth of a warm RS256 check. Documents of one key differ
        only in timestamp and values, so the document is serialized once with markers in their places, turned into
        a %-format string, and each invocation fills in its own numbers.
        """
        metrics = self.metrics
        assert metrics is not None  # flush() returns early without one
        metrics.clear_metrics()
        try:
            for name in names:
                metrics.add_metric(name=name, unit=_UNITS.get(name, "Count"), value=0)
            if self._outcome is not None:
                metrics.add_dimensions(service=self.service, Outcome=self._outcome, Reason=self._reason)
            document = metrics.serialize_metric_set()
        finally:
            metrics.clear_metrics()
        # Rebuilt in a fixed order — timestamp, dimensions, then the metrics as named — so the markers' order is
        # the order of the format's arguments.
        ordered: dict[str, Any] = {"_aws": {**document["_aws"], "Timestamp": _marker(0)}}
        ordered.update((k, v) for k, v in document.items() if k != "_aws" and k not in names)
        ordered.update((name, [_marker(index)]) for index, name in enumerate(names, start=1))
        template = _MARKER.sub("%s", json.dumps(ordered, separators=(",", ":")).replace("%", "%%"))
        if len(self._templates) < _MAX_TEMPLATES:
            self._templates[key] = template
        return template

    def _reset(self) -> None:
        self._outcome = None
        self._reason = "ok"
        self._fetch_failed = self._stale_served = self._fetch_attempts = self._fetch_empty = self._config_failed = 0


# --- tracing -------------------------------------------------------------------------------------------------
def start_tracer(environ: Mapping[str, str] = os.environ, logger: Any = None) -> Any | None:
    """A Powertools ``Tracer`` when tracing is enabled and the X-Ray SDK is bundled; otherwise ``None``."""
    if not tracing_enabled(environ):
        return None
    try:
        from aws_lambda_powertools.tracing import Tracer

        # auto_patch=False: patching every supported library costs cold start; we trace the fetches ourselves.
        return Tracer(service=service_name(environ), auto_patch=False)
    except ImportError as problem:  # aws-xray-sdk is not in the bundle: run untraced rather than fail
        if logger is not None:
            logger.warning("tracing is enabled but the X-Ray SDK is not installed; running without traces",
                           problem=str(problem))
        return None


class TracedFetcher(JsonFetcher):
    """A ``JsonFetcher`` that records every discovery or JWKS GET as an X-Ray subsegment."""

    def __init__(self, tracer: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tracer = tracer

    def get_json(self, url: str, ca_bundle: str | None = None) -> dict[str, Any]:
        with self.tracer.provider.in_subsegment("## jwks fetch") as subsegment:
            if subsegment is not None:
                subsegment.put_annotation("jwks_host", urlsplit(url).hostname or "")
                subsegment.put_metadata("url", url)
            return super().get_json(url, ca_bundle)


def make_fetcher(timeout: float, tracer: Any | None) -> JsonFetcher:
    return TracedFetcher(tracer, timeout=timeout) if tracer is not None else JsonFetcher(timeout=timeout)
