"""``make demo``: the cases a user cares about, against the local stack, in both authorizer modes.

Each request and its answer is printed (tokens are described, never printed); a summary table ends the run, and
the exit status is 0 only if every answer was the expected one. The modes differ where API Gateway does: the
native JWT authorizer answers 401 to an invalid token (the Lambda authorizer's Deny is a 403), accepts one issuer
only (the generic OIDC one in ``jwt``; every other provider's token is then a 401) and RSA only. ``jwt+descope``
is the native authorizer trusting the Descope preset: it needs ``aud``, which Descope's default session tokens do
not carry. The tokens have the providers' own shapes (local/idp/shapes.py): Descope session and refresh tokens,
Cognito access and id tokens, Entra v2 and v1 tokens.

The ``lambda`` and ``jwt`` runs end with the MCP endpoint driven by the official MCP clients, the Python SDK and the
TypeScript SDK (``local/mcp_clients/demo.py``): their rows are in the summary too, named ``MCP ...``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import requests

from infra.config import DEFAULT_ROUTES
from local.awslambda.log_watch import LogWatch
from local.idp.clients import DEV_COGNITO_CLIENT, DEV_ENTRA_CLIENT, DEV_ENTRA_V1_CLIENT, DEV_ORDERS_AUDIENCE
from local.idp.shapes import DEV_ENTRA_API_ID_URI
from local.mcp_clients.demo import McpDemo
from local.stack import PROJECT_ROOT, LocalStack, jwt_routes, synthesize

LOG_DIR = PROJECT_ROOT / ".local" / "logs"
#: The cases expect the sample backend's routes and IAM responses, whatever cdk.json holds now.
DEMO_CONTEXT: dict[str, Any] = {"routes": list(DEFAULT_ROUTES), "lambdaResponse": "iam", "cacheTtlSeconds": 300}


def demo_context(mode: str) -> dict[str, Any]:
    """The sample routes as they are in lambda mode (the tenant route, the MCP endpoint's per-tool rules); jwt mode
    cannot check a tenant or read MCP headers (synthesis says so): there, ``jwt_routes`` leaves those out."""
    return {**DEMO_CONTEXT, "routes": list(DEFAULT_ROUTES) if mode == "lambda" else jwt_routes(DEFAULT_ROUTES)[0]}


#: The stacks the demo runs: name → (authorizer mode, the one issuer profile a jwt-mode stack trusts).
RUNS = {"lambda": ("lambda", "oidc"), "jwt": ("jwt", "oidc"), "jwt+descope": ("jwt", "descope")}
#: The runs whose MCP endpoint the official MCP clients are shown against.
MCP_RUNS = ("lambda", "jwt")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    token: str  # which token to send: a key of tokens_for()
    expected: dict[str, int]  # run (a key of RUNS) → status; runs not named skip the case


CASES = (
    Case("no token", "GET", "/hello", "none", {"lambda": 401, "jwt": 401}),
    Case("garbage token", "GET", "/hello", "garbage", {"lambda": 403, "jwt": 401}),
    Case("expired token", "GET", "/hello", "expired", {"lambda": 403, "jwt": 401}),
    Case("wrong audience", "GET", "/hello", "wrong_audience", {"lambda": 403, "jwt": 401}),
    Case("valid token", "GET", "/hello", "reader", {"lambda": 200, "jwt": 200}),
    Case("GET /orders without orders:read", "GET", "/orders", "writer_only", {"lambda": 403, "jwt": 403}),
    Case("GET /orders with orders:read", "GET", "/orders", "reader", {"lambda": 200, "jwt": 200}),
    Case("POST /orders with orders:write", "POST", "/orders", "writer_only", {"lambda": 200, "jwt": 200}),
    Case("/health without a token", "GET", "/health", "none", {"lambda": 200, "jwt": 200}),
    Case("ES256 token (EC key)", "GET", "/hello", "es256", {"lambda": 200, "jwt": 401}),
    Case("Descope session token (no aud)", "GET", "/orders", "descope",
         {"lambda": 200, "jwt": 401, "jwt+descope": 401}),
    Case("Descope token from an aud template", "GET", "/orders", "descope_template",
         {"lambda": 200, "jwt": 401, "jwt+descope": 200}),
    Case("Descope refresh token (drn DSR)", "GET", "/hello", "descope_refresh",
         {"lambda": 403, "jwt": 401, "jwt+descope": 401}),
    Case("Descope agentic (MCP server) token", "GET", "/hello", "descope_agentic", {"lambda": 200, "jwt": 401}),
    Case("WSO2-shaped token (typ at+jwt)", "GET", "/orders", "wso2", {"lambda": 200, "jwt": 401}),
    Case("Cognito access token (client_id, no aud)", "GET", "/hello", "cognito_access", {"lambda": 200, "jwt": 401}),
    Case("Cognito id token where access is expected", "GET", "/hello", "cognito_id", {"lambda": 403, "jwt": 401}),
    Case("Entra v2.0 app token (roles)", "GET", "/hello", "entra_v2", {"lambda": 200, "jwt": 401}),
    Case("Entra v1.0 token (aud api://...)", "GET", "/hello", "entra_v1", {"lambda": 200, "jwt": 401}),
    Case("admin of tenant A on A's orders", "GET", "/tenants/A/orders", "tenant_admin", {"lambda": 200}),
    Case("admin of tenant A on B's orders (viewer)", "GET", "/tenants/B/orders", "tenant_admin", {"lambda": 403}),
    Case("admin of tenant A on C's orders (no member)", "GET", "/tenants/C/orders", "tenant_admin", {"lambda": 403}),
    Case("admin of A on B's orders, path %42", "GET", "/tenants/%42/orders", "tenant_admin", {"lambda": 403}),
)


def tokens_for(stack: LocalStack) -> dict[str, tuple[str | None, str]]:
    """Token kind → (token, how to describe it). Real tokens from the token endpoint where a client would get one."""
    issuer = stack.dev_issuer
    return {
        "none": (None, "no Authorization header"),
        "garbage": ("not-a-jwt", "Bearer not-a-jwt"),
        "expired": (issuer.mint("oidc", scopes=["orders:read"], expires_in=-600), "a token that expired 10 min ago"),
        "wrong_audience": (issuer.mint("oidc", audience="someone-else"), "a token for audience someone-else"),
        "reader": (stack.client_token("orders-oidc-reader"), "orders-oidc-reader's token (scope orders:read)"),
        "writer_only": (stack.client_token("orders-oidc", scope="orders:write"),
                        "orders-oidc's token, scope orders:write only"),
        "es256": (stack.client_token("orders-oidc-es256"), "orders-oidc-es256's token (ES256)"),
        "descope": (stack.client_token("orders-descope"), "orders-descope's Descope session token, no aud"),
        "descope_template": (stack.client_token("orders-descope-template"),
                             "orders-descope-template's token (a JWT template sets aud)"),
        "descope_refresh": (issuer.mint("descope", token_use="refresh"), "a Descope refresh token (drn DSR)"),
        "descope_agentic": (issuer.mint("descope", issuer_form="agentic"),
                            "a Descope token from the agentic issuer <base>/v1/apps/agentic/<P>/orders-mcp"),
        "wso2": (stack.client_token("orders-wso2"), "orders-wso2's token (WSO2 issuer)"),
        "cognito_access": (stack.client_token(DEV_COGNITO_CLIENT), "a Cognito M2M access token (client credentials)"),
        "cognito_id": (issuer.mint("cognito", token_use="id", groups=["orders-admins"]),
                       "a Cognito id token (aud = the app client)"),
        "entra_v2": (stack.client_token(DEV_ENTRA_CLIENT, scope=f"{DEV_ENTRA_API_ID_URI}/.default"),
                     "an Entra v2.0 app-only token (client credentials)"),
        "entra_v1": (stack.client_token(DEV_ENTRA_V1_CLIENT, scope=f"{DEV_ENTRA_API_ID_URI}/.default"),
                     "an Entra v1.0 app-only token (iss sts.windows.net form)"),
        "tenant_admin": (issuer.mint("descope", claims={"tenants": {"A": {"roles": ["admin"]}, "B": {"roles": ["viewer"]}},
                                                        "dct": "A"}),
                         "a Descope session token: admin of tenant A, viewer of B"),
    }


def call(stack: LocalStack, case: Case, token: str | None) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(case.method, stack.url + case.path, headers=headers, timeout=30,
                                json={"item": "demo"} if case.method == "POST" else None)
    return response.status_code, summarize(response)


def summarize(response: requests.Response) -> str:
    """The backend's answer in a line: who called, with which scope, on which route; else the gateway's message."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:120]
    if isinstance(body, dict) and "claims" in body:
        claims = body["claims"] if isinstance(body["claims"], dict) else {}
        picked = {k: claims[k] for k in ("iss", "sub", "aud", "scope", "scp", "roles", "token_use", "ver",
                                         "authorized_tenant", "authorized_tenant_roles") if k in claims}
        return json.dumps({"principal": body.get("principal"), "route": body.get("route"), "claims": picked})
    return json.dumps(body)[:160]


def run_mode(run: str, out: TextIO, log_dir: Path = LOG_DIR,
             synthesizer: Callable[[dict[str, Any], Path], Path] = synthesize) -> list[tuple]:
    """One run of the demo's cases; ``synthesizer`` as ``LocalStack`` takes it (``python app.py`` by default)."""
    mode, native = RUNS[run]
    rows: list[tuple] = []
    trusting = f" trusting the {native} issuer" if mode == "jwt" else ""
    print(f"\n=== {run}: {mode} authorizer{trusting}; synthesizing the stack and starting it locally ===", file=out,
          flush=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"demo-{run}.log"
    logs = LogWatch(log_file)
    with LocalStack(mode, log_sink=logs, context=demo_context(mode), native=native, synthesizer=synthesizer) as stack:
        print(f"issuer {stack.dev_issuer.root}   API {stack.url}   audience {DEV_ORDERS_AUDIENCE}", file=out)
        print(f"(function and gateway logs: {log_file})", file=out)
        tokens = tokens_for(stack)
        for case in CASES:
            if run not in case.expected:
                continue
            token, described = tokens[case.token]
            status, answer = call(stack, case, token)
            expected = case.expected[run]
            mark = "ok" if status == expected else "UNEXPECTED"
            print(f"{case.method:4} {case.path:8} {described}\n     → {status} (expected {expected}, {mark}) {answer}",
                  file=out, flush=True)
            rows.append((run, case.name, expected, status))
        if run in MCP_RUNS:
            rows += [(run, *row) for row in McpDemo(stack, logs, out).run()]
    return rows


def print_summary(rows: list[tuple], out: TextIO) -> bool:
    width = max([42, *(len(name) for _, name, _, _ in rows)])
    print(f"\n{'run':11} {'case':{width}} {'expected':>8} {'got':>4}  result", file=out)
    for run, name, expected, status in rows:
        print(f"{run:11} {name:{width}} {expected:>8} {status!s:>4}  {'ok' if status == expected else 'FAIL'}",
              file=out)
    failures = sum(1 for *_, expected, status in rows if status != expected)
    print(f"\n{len(rows) - failures} passed, {failures} failed", file=out)
    return failures == 0


def main(out: TextIO = sys.stdout) -> int:
    rows = []
    for run in RUNS:
        rows += run_mode(run, out)
    return 0 if print_summary(rows, out) else 1


if __name__ == "__main__":
    sys.exit(main())
