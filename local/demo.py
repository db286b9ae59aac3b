"""``make demo``: the cases a user cares about, against the local stack, in both authorizer modes.

Each request and its answer is printed (tokens are described, never printed); a summary table ends the run, and
the exit status is 0 only if every answer was the expected one. The two modes differ where API Gateway does:
the native JWT authorizer answers 401 to an invalid token (the Lambda authorizer's Deny is a 403), accepts one
issuer only and RSA only.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import requests

from infra.config import DEFAULT_ROUTES
from local.issuer import DEV_ORDERS_AUDIENCE
from local.stack import PROJECT_ROOT, LocalStack

LOG_DIR = PROJECT_ROOT / ".local" / "logs"
#: The cases expect the sample backend's routes and IAM responses, whatever cdk.json holds now.
DEMO_CONTEXT = {"routes": list(DEFAULT_ROUTES), "lambdaResponse": "iam", "cacheTtlSeconds": 300}


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    token: str  # which token to send: a key of tokens_for()
    expected: dict[str, int]  # mode → status


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
    Case("Descope-shaped token", "GET", "/orders", "descope", {"lambda": 200, "jwt": 401}),
    Case("WSO2-shaped token (typ at+jwt)", "GET", "/orders", "wso2", {"lambda": 200, "jwt": 401}),
)


def tokens_for(stack: LocalStack) -> dict[str, tuple[str | None, str]]:
    """Token kind → (token, how to describe it). Real tokens from the token endpoint where a client would get one."""
    issuer = stack.issuer
    return {
        "none": (None, "no Authorization header"),
        "garbage": ("not-a-jwt", "Bearer not-a-jwt"),
        "expired": (issuer.mint("oidc", scopes=["orders:read"], expires_in=-600), "a token that expired 10 min ago"),
        "wrong_audience": (issuer.mint("oidc", audience="someone-else"), "a token for audience someone-else"),
        "reader": (stack.client_token("orders-oidc-reader"), "orders-oidc-reader's token (scope orders:read)"),
        "writer_only": (stack.client_token("orders-oidc", scope="orders:write"),
                        "orders-oidc's token, scope orders:write only"),
        "es256": (stack.client_token("orders-oidc-es256"), "orders-oidc-es256's token (ES256)"),
        "descope": (stack.client_token("orders-descope"), "orders-descope's token (Descope issuer)"),
        "wso2": (stack.client_token("orders-wso2"), "orders-wso2's token (WSO2 issuer)"),
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
        picked = {k: claims[k] for k in ("iss", "sub", "aud", "scope", "roles") if k in claims}
        return json.dumps({"principal": body.get("principal"), "route": body.get("route"), "claims": picked})
    return json.dumps(body)[:160]


def run_mode(mode: str, out: TextIO, log_dir: Path = LOG_DIR) -> list[tuple]:
    rows = []
    print(f"\n=== {mode} authorizer: synthesizing the stack and starting it locally ===", file=out, flush=True)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_file = log_dir / f"demo-{mode}.log"
    with LocalStack(mode, log_sink=str(log_file), context=DEMO_CONTEXT) as stack:
        print(f"issuer {stack.issuer.root}   API {stack.url}   audience {DEV_ORDERS_AUDIENCE}", file=out)
        print(f"(function and gateway logs: {log_file})", file=out)
        tokens = tokens_for(stack)
        for case in CASES:
            token, described = tokens[case.token]
            status, answer = call(stack, case, token)
            expected = case.expected[mode]
            mark = "ok" if status == expected else "UNEXPECTED"
            print(f"{case.method:4} {case.path:8} {described}\n     → {status} (expected {expected}, {mark}) {answer}",
                  file=out, flush=True)
            rows.append((mode, case.name, expected, status))
    return rows


def print_summary(rows: list[tuple], out: TextIO) -> bool:
    print(f"\n{'mode':7} {'case':34} {'expected':>8} {'got':>4}  result", file=out)
    for mode, name, expected, status in rows:
        print(f"{mode:7} {name:34} {expected:>8} {status:>4}  {'ok' if status == expected else 'FAIL'}", file=out)
    failures = sum(1 for *_, expected, status in rows if status != expected)
    print(f"\n{len(rows) - failures} passed, {failures} failed", file=out)
    return failures == 0


def main(out: TextIO = sys.stdout) -> int:
    rows = []
    for mode in ("lambda", "jwt"):
        rows += run_mode(mode, out)
    return 0 if print_summary(rows, out) else 1


if __name__ == "__main__":
    sys.exit(main())
