"""Explain whether and why a token would be accepted, by API Gateway's native JWT authorizer and by ours.

The configuration comes from the local cdk.json (--cdk-json, the default) or from a deployed HTTP API
(--api-id, --region: its routes and authorizers, and the Lambda authorizer's AUTH_* environment). With cdk.json
both modes are explained, the configured one first, so the report also says whether switching would help.

Every finding says what to change: the issuer (exact match; Descope's bare project ID; trailing slashes), the
audience or client_id, expiry (by how long), the kid against the issuer's JWKS, the signature, RSA-only and
kid-required in native mode, the scopes or claims each route asks for, and on tenant routes which tenant check
failed (tenant_missing, tenant_mismatch, tenant_role_missing) for the tenant the request names (--tenant, or
--path resolved against the routes as API Gateway matches them). The checks are the authorizer's own
(parse_token, check_header, claim_problems, the JWKS cache, the route rules, tenants_of/tenant_problem), and the
configuration is read by the stack's own loader (infra.config); this package adds the explanations and API
Gateway's native rules. The token is read from the argument, --token-env, or standard input ("-"), and is never
printed.

    .venv/bin/python -m tools doctor "$TOKEN"                          # against ./cdk.json, fetching the issuer's keys
    .venv/bin/python -m tools doctor - --api-id a1b2c3 --region eu-west-1 < token.txt
    .venv/bin/python -m tools doctor "$TOKEN" --route "GET /orders" --no-fetch
    .venv/bin/python -m tools doctor "$TOKEN" --path /tenants/B/orders  # tenant routes: is B one of the token's tenants?
    .venv/bin/python -m tools doctor "$TOKEN" --route "ANY /mcp" --mcp-method tools/call --mcp-name create_order
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from authorizer.errors import AuthorizationError
from authorizer.events import token_from_authorization

from .checks import claim_findings, diagnose, diagnose_lambda, diagnose_native, key_findings
from .explain import explain_issuer
from .mcp import McpCall
from .model import (
    LAMBDA,
    NATIVE,
    NATIVE_ALGORITHMS,
    DoctorError,
    Finding,
    KeySource,
    LambdaSetup,
    NativeSetup,
    Report,
    Route,
    RouteVerdict,
    Setup,
)
from .paths import DoctorRequest, request_for_path, request_for_tenant
from .render import as_json, render, terminal_text, token_summary
from .sources import load_for_doctor, setup_from_api, setup_from_cdk_json

__all__ = [
    "LAMBDA",
    "NATIVE",
    "NATIVE_ALGORITHMS",
    "DoctorError",
    "DoctorRequest",
    "Finding",
    "KeySource",
    "LambdaSetup",
    "NativeSetup",
    "Report",
    "Route",
    "RouteVerdict",
    "Setup",
    "accepted",
    "add_arguments",
    "claim_findings",
    "clean_token",
    "diagnose",
    "diagnose_lambda",
    "diagnose_native",
    "explain_issuer",
    "key_findings",
    "load_for_doctor",
    "render",
    "request_for_path",
    "request_for_tenant",
    "run",
    "setup_from_api",
    "setup_from_cdk_json",
    "terminal_text",
    "token_summary",
]


def clean_token(text: str) -> str:
    """Accept what people paste: the token, ``Bearer <t>``, or a whole ``Authorization: Bearer <t>`` line."""
    text = text.strip()
    if text.lower().startswith("authorization:"):
        text = text.split(":", 1)[1].strip()
    try:
        return token_from_authorization(text)
    except AuthorizationError as problem:
        raise DoctorError(f"cannot read a token from the input: {problem.detail}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("token", nargs="?", default="-",
                        help='the token, "Bearer <token>", or - to read it from standard input (the default)')
    parser.add_argument("--token-env", metavar="NAME", help="read the token from this environment variable")
    source = parser.add_argument_group("configuration (cdk.json by default)")
    source.add_argument("--cdk-json", default="cdk.json", help="the CDK app's cdk.json (default ./cdk.json)")
    source.add_argument("--api-id", help="a deployed HTTP API: explain against its routes and authorizers")
    source.add_argument("--region", help="the API's region (with --api-id; default: the AWS configuration's)")
    keys = parser.add_argument_group("keys")
    keys.add_argument("--jwks-file", help="check kid and signature against this JWKS JSON file instead of fetching")
    keys.add_argument("--no-fetch", action="store_true", help="do not fetch keys: skip the kid and signature checks")
    keys.add_argument("--timeout", type=float, default=5.0, help="seconds per key fetch (default 5)")
    parser.add_argument("--route", help='exit status for this route only, e.g. "GET /orders"')
    tenant = parser.add_argument_group("the request's tenant (routes with a tenant rule)").add_mutually_exclusive_group()
    tenant.add_argument("--tenant", metavar="ID", help="the tenant the request names in the route's {param}, as "
                        "API Gateway passes it (decoded): judge every tenant route for it (the exit status is for those "
                        "routes, unless --route)")
    tenant.add_argument("--path", metavar="[METHOD] PATH", help='a request path as sent, e.g. "/tenants/A/orders" '
                        'or "DELETE /tenants/%%41/orders": resolved against the routes as API Gateway matches them; '
                        "the exit status is for the routes it selects (unless --route)")
    mcp = parser.add_argument_group("an MCP endpoint's call (routes with an mcp rule)")
    mcp.add_argument("--mcp-method", metavar="METHOD", help="the call's Mcp-Method, e.g. tools/call")
    mcp.add_argument("--mcp-name", metavar="NAME", help="the call's Mcp-Name: the tool, prompt or resource URI")
    mcp.add_argument("--mcp-version", metavar="YYYY-MM-DD", default="2026-07-28",
                     help="the client's MCP-Protocol-Version (default 2026-07-28; earlier ones are held to every rule)")
    mcp.add_argument("--mcp-param", metavar="NAME=VALUE", action="append", default=[],
                     help="an Mcp-Param-<name> header (a tool's x-mcp-header argument), e.g. tenantId=T1")
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args: argparse.Namespace) -> int:
    try:
        token = clean_token(_read_token(args))
        if args.api_id:
            region = args.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
            if not region:
                raise DoctorError("--api-id needs --region (or AWS_REGION)")
            setup = setup_from_api(args.api_id, region)
        else:
            setup = setup_from_cdk_json(args.cdk_json)
        keys = KeySource(fetch=not args.no_fetch, jwks_document=_jwks_file(args.jwks_file), timeout=args.timeout)
        request = (request_for_tenant(setup, args.tenant) if args.tenant is not None else
                   request_for_path(setup, args.path) if args.path is not None else DoctorRequest((), {}))
    except DoctorError as problem:
        print(terminal_text(f"doctor: {problem}"), file=sys.stderr)
        return 2
    now = time.time()
    mcp_call = McpCall(args.mcp_method, args.mcp_name, args.mcp_version,
                       dict(p.partition("=")[::2] for p in args.mcp_param)) if args.mcp_method else None
    reports = diagnose(token, setup, keys, now, request.path_parameters, mcp_call)
    if args.json:
        print(json.dumps(as_json(reports, setup), indent=2))
    else:
        print(render(reports, setup, token, now))
    return 0 if accepted(reports, args.route or request.route_keys or None) else 1


def accepted(reports: Sequence[Report], route: str | Sequence[str] | None = None) -> bool:
    """Does every authorizer in use accept the token (and allow ``route``, or each of several, when given)?"""
    in_use = [r for r in reports if r.in_use] or list(reports)
    if not all(r.accepted for r in in_use):
        return False
    if route is None:
        return True
    keys = {route} if isinstance(route, str) else set(route)
    verdicts = [v for r in in_use for v in r.routes if v.route_key in keys]
    return bool(verdicts) and all(v.allowed for v in verdicts)


def _read_token(args: argparse.Namespace, stdin: Any = None) -> str:
    if args.token_env:
        value = os.environ.get(args.token_env)
        if not value:
            raise DoctorError(f"${args.token_env} is empty")
        return value
    if args.token and args.token != "-":
        return args.token
    stdin = stdin or sys.stdin
    if stdin.isatty():
        raise DoctorError("give the token as an argument, with --token-env NAME, or on standard input")
    return stdin.read()


def _jwks_file(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as problem:
        raise DoctorError(f"cannot read the JWKS file {path}: {problem}") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise DoctorError(f"{path} is not a JWKS (an object with a keys list)")
    return document
