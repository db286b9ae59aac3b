"""What operators see: one EMF document per invocation, asserted from the captured stdout, and tracing kept off
the cold start unless it is enabled."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest
from aws_lambda_powertools.metrics import Metrics

from authorizer.observability import DecisionMetrics, TracedFetcher, tracing_enabled

from .support import ARN, Document, claims_for, http_v2_event, rest_token_event

ROOT = Path(__file__).resolve().parents[2]
CONTEXT = SimpleNamespace(aws_request_id="req-1")


@pytest.fixture
def load_handler(idp, import_handler):
    """A cold start of ``authorizer.handler`` with the given environment."""
    def cold_start(**env: str):
        return import_handler(**{"AUTH_ISSUERS": json.dumps([{"issuer": idp, "audience": "api"}]),
                                 "AUTH_ROUTES": json.dumps({"GET /admin": ["admin"]}),
                                 "POWERTOOLS_METRICS_DISABLED": None, "POWERTOOLS_DEV": None, **env})
    return cold_start


def emf_documents(text: str) -> list[dict]:
    return [doc for doc in (json.loads(line) for line in text.splitlines() if line.startswith("{"))
            if "_aws" in doc]


def directive(document: dict) -> dict:
    [cloudwatch] = document["_aws"]["CloudWatchMetrics"]
    return cloudwatch


def metric_names(document: dict) -> list[str]:
    return [m["Name"] for m in directive(document)["Metrics"]]


def test_an_allowed_request_writes_one_document_with_outcome_reason_and_latency(load_handler, idp, keys, capsys):
    module = load_handler()
    capsys.readouterr()
    module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    [document] = emf_documents(capsys.readouterr().out)
    cloudwatch = directive(document)
    assert cloudwatch["Namespace"] == "TestAuthorizer"
    assert cloudwatch["Dimensions"] == [["service"], ["service", "Outcome", "Reason"]]
    assert document["service"] == os.environ["POWERTOOLS_SERVICE_NAME"]
    assert (document["Outcome"], document["Reason"], document["Allowed"]) == ("allow", "ok", [1.0])
    assert "Denied" not in document
    units = {m["Name"]: m["Unit"] for m in cloudwatch["Metrics"]}
    assert units["Allowed"] == "Count" and units["VerificationLatency"] == "Milliseconds"
    [latency] = document["VerificationLatency"]
    assert 0 < latency < 1000
    assert abs(document["_aws"]["Timestamp"] / 1000 - time.time()) < 60


@pytest.mark.parametrize("make_event, reason", [
    (lambda idp, keys: http_v2_event(keys["RS256"].sign(claims_for(idp, exp=int(time.time()) - 3600))), "expired"),
    (lambda idp, keys: http_v2_event(None), "missing_token"),
    (lambda idp, keys: http_v2_event(keys["RS256"].sign(claims_for("https://evil.example.com"))), "unknown_issuer"),
    (lambda idp, keys: http_v2_event(keys["ES256"].sign(claims_for(idp)), route_key="GET /admin",
                                     arn=ARN.replace("/GET/hello", "/GET/admin")), "insufficient_scope"),
    (lambda idp, keys: rest_token_event(keys["RS256"].sign(claims_for(idp, aud="other"))), "audience_mismatch"),
])
def test_each_denial_is_counted_under_its_reason_code(load_handler, idp, keys, capsys, make_event, reason):
    module = load_handler()
    capsys.readouterr()
    event = make_event(idp, keys)
    if event.get("type") == "TOKEN":  # REST shapes answer 401 by raising
        with pytest.raises(Exception, match="^Unauthorized$"):
            module.handler(event, CONTEXT)
    else:
        module.handler(event, CONTEXT)
    [document] = emf_documents(capsys.readouterr().out)
    assert (document["Outcome"], document["Reason"], document["Denied"]) == ("deny", reason, [1.0])
    assert "Allowed" not in document


def test_dimensions_stay_low_cardinality_whatever_the_token_says(load_handler, idp, keys, capsys):
    module = load_handler()
    capsys.readouterr()
    for index in range(5):
        claims = claims_for(idp, sub=f"user-{uuid.uuid4()}", jti=str(index))
        module.handler(http_v2_event(keys["RS256"].sign(claims), route_key=f"GET /items/{index}"), CONTEXT)
    documents = emf_documents(capsys.readouterr().out)
    assert len(documents) == 5
    dimension_values = {(d["service"], d["Outcome"], d["Reason"]) for d in documents}
    assert len(dimension_values) == 1  # five users, five routes: one time series
    for document in documents:
        names = {name for dimension_set in directive(document)["Dimensions"] for name in dimension_set}
        assert names == {"service", "Outcome", "Reason"}
        assert "user-" not in json.dumps(document) and idp not in json.dumps(document)


def test_reused_documents_match_what_powertools_serializes():
    """The per-(outcome, reason) template must stay byte-for-byte what Powertools itself would write."""
    ours = DecisionMetrics(Metrics(namespace="Compare", service="svc"))
    written = []
    for latency in (0.5, 0.25):
        ours.observe("deny", "expired", "http-2.0")
        document = _flushed(ours, latency)
        written.append(document)
    reference = Metrics(namespace="Compare", service="svc")
    reference.add_metric(name="Denied", unit="Count", value=1)
    reference.add_metric(name="VerificationLatency", unit="Milliseconds", value=0.25)
    reference.add_dimensions(service="svc", Outcome="deny", Reason="expired")
    expected = reference.serialize_metric_set()
    reference.clear_metrics()
    for document in (written[1], expected):
        document["_aws"].pop("Timestamp")
    assert written[1] == expected
    assert written[0]["VerificationLatency"] == [0.5]


def _flushed(metrics: DecisionMetrics, latency: float) -> dict:
    lines = []
    original = sys.stdout
    sys.stdout = SimpleNamespace(write=lines.append, flush=lambda: None)
    try:
        metrics.flush(latency)
    finally:
        sys.stdout = original
    [document] = emf_documents("".join(lines))
    return document


def later(module, seconds: float) -> None:
    """Move the JWKS caches' clock forward: max age and cooldowns pass without waiting for them."""
    for cache in module.current_authorizer().verifier.caches.values():
        cache.clock = lambda base=cache.clock: base() + seconds


def test_jwks_fetches_are_counted_ok_failed_and_stale_served(load_handler, idp, keys, server, capsys, monkeypatch):
    module = load_handler(AUTH_JWKS_MAX_AGE_SECONDS="60")
    capsys.readouterr()
    token = keys["RS256"].sign(claims_for(idp))
    module.handler(http_v2_event(token), CONTEXT)  # the cold start's prefetch is reported by the first invocation
    [first] = emf_documents(capsys.readouterr().out)
    assert (first["JwksFetchOk"], first["JwksFetchFailed"], first["JwksStaleServed"]) == ([1.0], [0.0], [0.0])

    module.handler(http_v2_event(token), CONTEXT)  # warm: no fetch, no JWKS metrics at all
    [warm] = emf_documents(capsys.readouterr().out)
    assert not {"JwksFetchOk", "JwksFetchFailed", "JwksStaleServed"} & set(metric_names(warm))

    server.put("/idp/jwks", Document(status=503, body=b"down"))
    later(module, 61)  # the keys are now past AUTH_JWKS_MAX_AGE_SECONDS: the next request refreshes and fails
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp, jti="new"))), CONTEXT)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"  # the held keys kept serving
    [stale] = emf_documents(capsys.readouterr().out)
    assert (stale["JwksFetchOk"], stale["JwksFetchFailed"], stale["JwksStaleServed"]) == ([0.0], [1.0], [1.0])


def test_keys_past_max_stale_fail_closed_logged_and_counted(load_handler, idp, keys, server, capsys):
    module = load_handler(AUTH_JWKS_MAX_AGE_SECONDS="60", AUTH_JWKS_MAX_STALE_SECONDS="120")
    capsys.readouterr()
    server.put("/idp/jwks", Document(status=503, body=b"down"))
    later(module, 60 + 120)  # every refresh failed for max stale past max age
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    out = capsys.readouterr().out
    [document] = emf_documents(out)
    assert (document["Denied"], document["Reason"]) == ([1.0], "jwks_unavailable")
    assert document["JwksFetchFailed"] == [1.0] and document["JwksStaleServed"] == [0.0]
    logged = [json.loads(line) for line in out.splitlines() if line.startswith("{") and "_aws" not in line]
    assert any(record.get("stale_expired") is True for record in logged)


def test_a_first_fetch_that_fails_is_not_counted_as_stale(load_handler, idp, keys, server, capsys):
    server.put("/idp/jwks", Document(status=500, body=b"oops"))
    module = load_handler()
    capsys.readouterr()
    later(module, 2)  # past the one-second retry while no keys are held
    module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    [document] = emf_documents(capsys.readouterr().out)
    assert document["Reason"] == "jwks_unavailable"
    # the prefetch and this request's retry both failed, with nothing held to serve
    assert (document["JwksFetchOk"], document["JwksFetchFailed"], document["JwksStaleServed"]) == ([0.0], [2.0], [0.0])


def test_metrics_disabled_write_nothing(load_handler, idp, keys, capsys):
    module = load_handler(POWERTOOLS_METRICS_DISABLED="true")
    module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    assert emf_documents(capsys.readouterr().out) == []


def test_a_failing_metrics_writer_never_fails_the_request(load_handler, idp, keys, capsys):
    module = load_handler()

    class Broken:
        provider = SimpleNamespace(service="svc")

        def clear_metrics(self):
            pass

        def add_metric(self, **kwargs):
            raise RuntimeError("metrics backend broke")

    module.METRICS.metrics = Broken()
    module.METRICS._templates.clear()
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    assert response["policyDocument"]["Statement"][0]["Effect"] == "Allow"


def test_an_unexpected_error_denies_and_is_counted_as_internal_error(load_handler, idp, keys, capsys, monkeypatch):
    # A bug anywhere below the handler must deny, not surface as a 500 (or an Allow), and be counted.
    module = load_handler()
    capsys.readouterr()
    def broken(token):
        raise RuntimeError("a bug")
    monkeypatch.setattr(module.current_authorizer().verifier, "verify_token", broken)
    response = module.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), CONTEXT)
    assert [s["Effect"] for s in response["policyDocument"]["Statement"]] == ["Deny"]
    [document] = emf_documents(capsys.readouterr().out)
    assert (document["Outcome"], document["Reason"]) == ("deny", "internal_error")


# --- tracing ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("env, enabled", [
    ({}, False),  # outside Lambda, as Powertools decides
    ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
    ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "false"}, True),
    ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
])
def test_tracing_is_enabled_only_in_lambda_and_not_disabled(env, enabled):
    assert tracing_enabled(env) is enabled


def test_a_cold_start_without_tracing_or_parameter_imports_neither_xray_nor_boto3(idp):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AUTH_", "POWERTOOLS_"))}
    environ.update(AUTH_ISSUERS=json.dumps([{"issuer": idp, "audience": "api"}]), LAMBDA_TASK_ROOT=str(ROOT),
                   POWERTOOLS_TRACE_DISABLED="true", AUTH_JWKS_TIMEOUT_SECONDS="0.5")
    code = ("import sys, authorizer.handler; "
            "print(sorted(m for m in ('aws_xray_sdk', 'boto3') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


class RecordingProvider:
    """Stands in for the X-Ray recorder behind ``Tracer.provider``: records the subsegments opened."""

    def __init__(self) -> None:
        self.subsegments: list[SimpleNamespace] = []

    @contextmanager
    def in_subsegment(self, name):
        subsegment = SimpleNamespace(name=name, annotations={}, metadata={})
        subsegment.put_annotation = subsegment.annotations.__setitem__
        subsegment.put_metadata = subsegment.metadata.__setitem__
        self.subsegments.append(subsegment)
        yield subsegment


def test_each_jwks_fetch_is_a_subsegment_when_tracing(server, keys):
    url = server.put_jwks("/traced/jwks", [keys["RS256"]])
    provider = RecordingProvider()
    fetcher = TracedFetcher(SimpleNamespace(provider=provider), timeout=1.0)
    assert fetcher.get_json(url)["keys"][0]["kid"] == keys["RS256"].kid
    [subsegment] = provider.subsegments
    assert subsegment.name == "## jwks fetch"
    assert subsegment.annotations == {"jwks_host": "127.0.0.1"} and subsegment.metadata == {"url": url}


@pytest.mark.parametrize("tenants, reason", [
    ({"B": {"roles": ["admin"]}}, "tenant_mismatch"),
    ({"A": {"roles": ["viewer"]}}, "tenant_role_missing"),
    (None, "tenant_missing"),
])
def test_tenant_denials_are_counted_under_their_own_reasons(load_handler, idp, keys, capsys, tenants, reason):
    route = "GET /tenants/{tenantId}/orders"
    module = load_handler(AUTH_ROUTES=json.dumps({route: {"tenant": {"param": "tenantId", "roles": ["admin"]}}}))
    capsys.readouterr()
    event = http_v2_event(keys["RS256"].sign(claims_for(idp, tenants=tenants)), route_key=route,
                          arn=ARN.replace("/GET/hello", "/GET/tenants/A/orders"))
    event["pathParameters"] = {"tenantId": "A"}
    module.handler(event, CONTEXT)
    [document] = emf_documents(capsys.readouterr().out)
    assert (document["Outcome"], document["Reason"], document["Denied"]) == ("deny", reason, [1.0])


def test_mcp_refusals_are_counted_under_their_reason_codes_never_under_a_tool_name(load_handler, idp, keys, capsys):
    """Operators alarm on the MCP stage's reasons; the method and tool a client named stay out of the dimensions
    (a client chooses them), in the denied log line instead."""
    from .test_mcp import RESOURCE, ROUTES, mcp_event

    module = load_handler(AUTH_ROUTES=json.dumps(ROUTES))
    capsys.readouterr()
    reader = keys["ES256"].sign(claims_for(idp, audience=RESOURCE, scope="orders:read", azp="client-1"))
    other = keys["ES256"].sign(claims_for(idp, audience="https://other.example.com/mcp", scope="orders:read"))
    calls = [
        (mcp_event(reader, name="create_order"), "mcp_name_denied"),
        (mcp_event(reader, name=f"tool-{uuid.uuid4().hex}"), "ok"),  # no rule of its own: the endpoint's apply
        (mcp_event(reader, name="orders/*?"), "mcp_header_invalid"),
        (mcp_event(reader, method=None, name=None), "mcp_header_missing"),
        (mcp_event(reader, method="tools/destroy", name=None), "mcp_method_unknown"),
        (mcp_event(reader, version=None, method=None, name=None), "mcp_older_client_denied"),
        (mcp_event(other), "resource_mismatch"),
        (mcp_event(reader), "ok"),
    ]
    for event, _ in calls:
        module.handler(event, CONTEXT)
    documents = emf_documents(capsys.readouterr().out)
    assert [d["Reason"] for d in documents] == [reason for _, reason in calls]
    for document in documents:
        assert directive(document)["Dimensions"] == [["service"], ["service", "Outcome", "Reason"]]
        assert not [v for v in document.values() if isinstance(v, str) and ("order" in v or "tool-" in v)]
