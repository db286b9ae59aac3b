"""End to end over real HTTP: the synthesized stack, served locally, in both modes, with client-credentials tokens."""

from __future__ import annotations

import io
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
import requests

from infra.config import DEFAULT_ROUTES
from local import demo
from local.idp.clients import DEV_ORDERS_AUDIENCE, default_clients
from local.idp.issuer import DevIssuer
from local.stack import LocalStack, dev_issuers, jwt_routes, synthesize_in_process
from tests.test_docs_commands import commands, plain_shell

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


SAMPLE = {"routes": list(DEFAULT_ROUTES), "cacheTtlSeconds": 300}  # independent of edits to cdk.json
#: jwt mode: the sample routes but the tenant route (the native authorizer refuses tenant rules).
JWT_SAMPLE = {**SAMPLE, "routes": jwt_routes(DEFAULT_ROUTES)[0]}


@pytest.fixture(scope="module")
def lambda_stack():
    with LocalStack("lambda", synthesizer=synthesize_in_process, log_sink=io.StringIO(), context=SAMPLE) as stack:
        yield stack


@pytest.fixture(scope="module")
def jwt_stack():
    with LocalStack("jwt", synthesizer=synthesize_in_process, log_sink=io.StringIO(), context=JWT_SAMPLE) as stack:
        yield stack


def get(stack: LocalStack, path: str, token: str | None = None, method: str = "GET") -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.request(method, stack.url + path, headers=headers, timeout=30)


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_a_client_credentials_token_reaches_the_backend_with_its_claims(mode, lambda_stack, jwt_stack):
    stack = lambda_stack if mode == "lambda" else jwt_stack
    token = stack.client_token("orders-oidc-reader")
    response = get(stack, "/orders", token)
    assert response.status_code == 200
    body = response.json()
    assert (body["authorizer"], body["principal"], body["route"]) == (mode, "orders-oidc-reader", "GET /orders")
    assert body["claims"]["scope"] == "orders:read"
    assert body["claims"]["iss"] == stack.issuer.issuer_url("oidc")


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_scopes_are_enforced_per_route(mode, lambda_stack, jwt_stack):
    stack = lambda_stack if mode == "lambda" else jwt_stack
    writer = stack.client_token("orders-oidc", scope="orders:write")
    reader = stack.client_token("orders-oidc-reader")
    assert get(stack, "/orders", writer).status_code == 403
    assert get(stack, "/orders", writer, method="POST").status_code == 200
    assert get(stack, "/orders", reader, method="POST").status_code == 403
    assert get(stack, "/orders", reader).status_code == 200


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_public_route_needs_no_token_and_protected_routes_do(mode, lambda_stack, jwt_stack):
    stack = lambda_stack if mode == "lambda" else jwt_stack
    assert get(stack, "/health").status_code == 200
    missing = get(stack, "/hello")
    assert (missing.status_code, missing.json()) == (401, {"message": "Unauthorized"})
    assert get(stack, "/nowhere", stack.client_token("orders-oidc-reader")).status_code == 404


def test_lambda_mode_denies_bad_tokens_with_403(lambda_stack):
    issuer = lambda_stack.issuer
    for token in ("garbage", issuer.mint("oidc", expires_in=-600), issuer.mint("oidc", audience="someone-else"),
                  issuer.mint("oidc", kid="not-a-published-kid")):
        response = get(lambda_stack, "/hello", token)
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_jwt_mode_answers_401_with_www_authenticate(jwt_stack):
    response = get(jwt_stack, "/hello", jwt_stack.issuer.mint("oidc", audience="someone-else"))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_lambda_mode_trusts_every_provider_shape_and_hands_structured_claims_to_the_backend(lambda_stack):
    for client in ("orders-descope", "orders-passage", "orders-wso2", "orders-oidc-es256"):
        response = get(lambda_stack, "/orders", lambda_stack.client_token(client))
        assert response.status_code == 200, client
    body = get(lambda_stack, "/hello", lambda_stack.client_token("orders-descope")).json()
    assert body["claims"]["tenants"]["T2devtenant"]["roles"] == ["orders-admin"]  # decoded back from JSON


def test_the_local_stack_can_trust_any_issuer_url_instead_of_the_dev_one(tmp_path):
    with DevIssuer(clients=default_clients()) as elsewhere:  # stands in for a private IdP
        with LocalStack("lambda", synthesizer=synthesize_in_process, issuer_url=elsewhere.issuer_url("oidc"), audience=DEV_ORDERS_AUDIENCE,
                        log_sink=io.StringIO(), context=SAMPLE) as stack:
            assert stack.issuer is None
            assert get(stack, "/hello", elsewhere.mint("oidc")).status_code == 200
            assert get(stack, "/hello", elsewhere.mint("descope")).status_code == 403  # not configured


def test_jwt_mode_accepts_only_its_one_rsa_issuer(jwt_stack):
    assert get(jwt_stack, "/hello", jwt_stack.client_token("orders-oidc-es256")).status_code == 401
    assert get(jwt_stack, "/hello", jwt_stack.client_token("orders-descope")).status_code == 401


def test_a_cached_policy_still_enforces_other_routes(lambda_stack):
    """The stack caches by the Authorization header (TTL 300): the reader's cached policy must deny POST."""
    reader = lambda_stack.client_token("orders-oidc-reader")
    assert get(lambda_stack, "/hello", reader).status_code == 200
    assert get(lambda_stack, "/orders", reader, method="POST").status_code == 403
    assert get(lambda_stack, "/orders", reader).status_code == 200


def test_the_sample_tenant_route_names_each_requests_tenant_with_caching_on(lambda_stack):
    """cdk.json's tenant route is on the uncached authorizer: the same token on two tenants' paths gets each its own
    answer (a cached one, keyed by token and route, would hand the second request the first one's tenant)."""
    token = lambda_stack.issuer.mint("oidc", claims={"tenants": {
        "acme": {"roles": ["admin"]}, "globex": {"roles": ["admin", "billing"]}, "initech": {"roles": ["viewer"]}}})
    for tenant, roles in (("acme", ["admin"]), ("globex", ["admin", "billing"]), ("acme", ["admin"])):
        response = get(lambda_stack, f"/tenants/{tenant}/orders", token)
        assert response.status_code == 200, tenant
        claims = response.json()["claims"]
        assert (claims["authorized_tenant"], claims["authorized_tenant_roles"]) == (tenant, roles)
    assert get(lambda_stack, "/tenants/initech/orders", token).status_code == 403  # a viewer there, not an admin
    assert get(lambda_stack, "/tenants/umbrella/orders", token).status_code == 403  # not one of the token's


def test_demo_walks_through_every_case_as_expected(monkeypatch, tmp_path):
    out = io.StringIO()
    rows = demo.run_mode("lambda", out, log_dir=tmp_path, synthesizer=synthesize_in_process)
    http, mcp = rows[:len(demo.CASES)], rows[len(demo.CASES):]
    assert [status for *_, status in http] == [case.expected["lambda"] for case in demo.CASES]
    # Then the MCP endpoint with the official clients, its per-tool rules in place (a reader is refused create_order
    # by the authorizer, a TypeScript 1.x reader at initialize).
    assert len(mcp) >= 6 and all(name.startswith("MCP ") and status == expected for _, name, expected, status in mcp)
    assert "authorizer: mcp_name_denied" in out.getvalue() and "authorizer: mcp_older_client_denied" in out.getvalue()
    assert demo.print_summary(rows, out)
    assert "not-a-jwt" in out.getvalue() and "eyJ" not in out.getvalue()  # tokens are described, never printed


def test_demos_jwt_run_gives_api_gateways_own_answers_and_the_mcp_clients_recover_as_documented(tmp_path):
    """make demo's second run: the native JWT authorizer's 401s where the Lambda authorizer answers 403, and the MCP
    endpoint with the server's insufficient_scope challenge (each SDK's step-up) and refresh on the 401."""
    out = io.StringIO()
    rows = demo.run_mode("jwt", out, log_dir=tmp_path, synthesizer=synthesize_in_process)
    names = {case.name for case in demo.CASES}
    http, mcp = [r for r in rows if r[1] in names], [r for r in rows if r[1] not in names]
    assert [status for *_, status in http] == [case.expected["jwt"] for case in demo.CASES if "jwt" in case.expected]
    assert len(mcp) >= 5 and all(name.startswith("MCP ") and status == expected for _, name, expected, status in mcp)
    assert "insufficient_scope" in out.getvalue() and "refreshed on the 401" in out.getvalue()
    assert demo.print_summary(rows, out)
    assert "eyJ" not in out.getvalue()


def test_demo_native_authorizer_trusting_descope_needs_aud(tmp_path):
    """API Gateway's JWT authorizer needs aud: Descope's default session token (none) is a 401, a token from a JWT
    template that sets aud passes, and a refresh token (no aud either) is a 401."""
    out = io.StringIO()
    rows = demo.run_mode("jwt+descope", out, log_dir=tmp_path, synthesizer=synthesize_in_process)
    got = {name: status for _, name, _, status in rows}
    assert got == {"Descope session token (no aud)": 401, "Descope token from an aud template": 200,
                   "Descope refresh token (drn DSR)": 401}
    assert "bad_audience" in (tmp_path / "demo-jwt+descope.log").read_text()


def test_dev_issuers_trust_every_profile_in_lambda_mode_and_one_in_jwt_mode():
    with DevIssuer(clients=[]) as issuer:
        every = dev_issuers(issuer, "lambda")
        assert [entry["provider"] for entry in every] == ["oidc", "descope", "passage", "wso2", "cognito", "entra"]
        assert dev_issuers(issuer, "jwt") == [every[0]]
        assert dev_issuers(issuer, "jwt", native="entra") == [every[5]]
        with pytest.raises(ValueError, match="native"):
            dev_issuers(issuer, "jwt", native="okta")


@pytest.mark.parametrize("mode", ["lambda", "jwt"])
def test_make_local_serves_until_interrupted(mode):
    """In jwt mode too: cdk.json's tenant route is left out (saying so), as the native authorizer cannot check it."""
    process = subprocess.Popen([sys.executable, "-m", "local", "serve", "--mode", mode, "--port", "0",
                                "--issuer-port", "0"],
                               cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        printed = []
        for line in process.stdout:  # until the banner is complete
            printed.append(line)
            if line.startswith("Serving until Ctrl-C"):
                break
        text = "".join(printed)
        url = next(line.split()[1] for line in printed if line.startswith("API "))
        assert "grant_type=client_credentials" in text
        assert requests.get(url + "/health", timeout=10).status_code == 200
        assert ("jwt mode: left out GET /tenants/{tenantId}/orders" in text) is (mode == "jwt")
        assert ("/tenants/{tenantId}/orders" in next(line for line in printed if line.startswith("API "))) is (
            mode == "lambda")
        the_printed_hints_run_as_written_from_a_plain_shell(printed)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()


def the_printed_hints_run_as_written_from_a_plain_shell(printed: list[str]) -> None:
    """``make local``'s hints (get a token, mint one, the curls) pasted into a shell at the repository root, as a
    reader would: every command works without the venv activated, and each answer is the one the hint implies."""
    start = next(i for i, line in enumerate(printed) if line.startswith("Get a token"))
    hints = list(commands([line[2:].rstrip("\n") for line in printed[start:] if line.startswith("  ")]))
    assert any(".venv/bin/python -m local issuer mint" in hint for hint in hints), hints
    result = plain_shell("set -euo pipefail\n" + "\n".join(hints))
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "No module named" not in output, output[-3000:]
    assert re.search(r"^eyJ[\w-]+\.[\w-]+\.[\w-]+$", result.stdout, re.MULTILINE), output[-3000:]  # the minted one
    statuses = [int(s) for s in re.findall(r"HTTP/1\.1 (\d{3}) ", result.stdout)]
    assert statuses == [200, 401, 200, 200, 403], output[-3000:]  # /health, /hello without and with, /orders, POST


# --- reliability: concurrent load while the IdP's JWKS endpoint fails ------------------------------------
def test_load_with_a_jwks_outage_halfway_gives_no_5xx_and_no_wrong_decision():
    # No result cache, and keys that go stale every 2 s: every request runs the authorizer, which keeps
    # refetching its JWKS — and finds the endpoint failing for the second half of the run.
    overrides = {"AUTH_JWKS_MAX_AGE_SECONDS": "2", "AUTH_JWKS_COOLDOWN_SECONDS": "1"}
    with LocalStack("lambda", synthesizer=synthesize_in_process, context={**SAMPLE, "cacheTtlSeconds": 0}, env_overrides=overrides, log_sink=io.StringIO(),
                    concurrency=2) as stack:
        issuer = stack.issuer
        cases = [("/orders", stack.client_token("orders-oidc-reader"), 200),
                 ("/orders", stack.client_token("orders-descope-reader"), 200),
                 ("/orders", stack.client_token("orders-oidc", scope="orders:write"), 403),
                 ("/hello", issuer.mint("oidc", expires_in=-600), 403),
                 ("/hello", issuer.mint("oidc", kid="forged-kid"), 403),
                 ("/hello", "garbage", 403),
                 ("/hello", None, 401),
                 ("/health", None, 200)]
        outcomes: Counter = Counter()
        wrong: list = []
        lock = threading.Lock()
        done = threading.Event()
        total = [0]
        fetches_before_outage = [0]
        # Not a speed requirement: only a guard that ends a hung run, far beyond what any machine needs.
        deadline = time.monotonic() + 600

        def client(seed: int) -> None:
            rng = random.Random(seed)
            session = requests.Session()
            while not done.is_set() and time.monotonic() < deadline:
                path, token, expected = rng.choice(cases)
                headers = {"Authorization": f"Bearer {token}"} if token else {}
                status = session.get(stack.url + path, headers=headers, timeout=30).status_code
                with lock:
                    outcomes[status] += 1
                    total[0] += 1
                    if status != expected:
                        wrong.append((path, expected, status))
                    if total[0] == 1500:
                        fetches_before_outage[0] = issuer.jwks_fetch_count()
                        issuer.set_jwks_fault("error")  # halfway: the IdP's JWKS starts failing
                    # The outage lasts until the authorizer has met it (a few failed refetches), however fast
                    # this machine serves the 1,500 requests of the second half.
                    outage_met = issuer.jwks_fetch_count() - fetches_before_outage[0] > 2
                    if total[0] >= 3000 and outage_met:
                        done.set()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        fetches_during_outage = issuer.jwks_fetch_count() - fetches_before_outage[0]
    assert total[0] >= 3000, f"only {total[0]} requests before the guard ended the run"
    assert not any(status >= 500 for status in outcomes), outcomes
    assert wrong == []
    assert fetches_during_outage > 2  # the authorizer really did refetch (and fail) during the outage
