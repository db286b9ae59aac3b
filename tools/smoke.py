"""After cdk deploy: call the API's public and protected routes with no token, a bad one and yours; print a table.

The API URL comes from the stack's CloudFormation outputs (--stack-name, default from cdk.json's stackName or
JwtAuthorizerApi): the output whose key contains "ApiUrl", else one whose description mentions the API URL;
--output-key names it exactly, --url skips the lookup. Routes come from cdk.json (public: true or not), or
from --public/--protected ("GET /health"; {params} become "1"). On a route with a tenant rule, your token is sent
for the first tenant its tenant claim names, and once more for a tenant it does not name, which must be refused.

Expected: public routes answer without a token; protected routes reject a missing or bad token (401 or 403) and
accept yours (2xx, or any answer but 401/403 from the backend). A protected route that answers 2xx without a valid
token, or any 5xx, fails the run. Your token is read from --token-env or standard input and never printed.

    TOKEN=$(.venv/bin/python -m tools token ...) .venv/bin/python -m tools smoke --token-env TOKEN
    .venv/bin/python -m tools smoke --stack-name MyApi --region eu-west-1 --protected "GET /orders"
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from authorizer.config import DEFAULT_TENANT_CLAIM
from authorizer.errors import AuthorizationError
from authorizer.tenancy import tenants_of
from authorizer.token import parse_token
from tools.doctor import DoctorError, clean_token

DEFAULT_STACK_NAME = "JwtAuthorizerApi"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# A well-formed JWT from an issuer nobody trusts, with a signature that is not one: every authorizer refuses it.
BAD_TOKEN = ".".join(_b64(part) for part in (
    json.dumps({"alg": "RS256", "typ": "JWT", "kid": "smoke-test"}).encode(),
    json.dumps({"iss": "https://smoke.invalid", "sub": "smoke", "aud": "smoke", "exp": 4102444800}).encode(),
    b"smoke-test-not-a-signature"))


class SmokeError(Exception):
    pass


@dataclass(frozen=True)
class StackOutputs:
    api_url: str
    authorizer_mode: str | None


#: A tenant no token names: the "other tenant" call on a tenant route must be refused.
OTHER_TENANT = "smoke-not-your-tenant"


@dataclass(frozen=True)
class Probe:
    route_key: str
    public: bool
    tenant: tuple[str, str] | None = None  # a tenant route's (path parameter, claim holding the caller's tenants)


@dataclass
class Result:
    route_key: str
    public: bool
    calls: dict[str, tuple[int | None, bool, str]]  # column → (status, passed, note)

    @property
    def passed(self) -> bool:
        return all(passed for _, passed, _ in self.calls.values())


# --- where the API is ---------------------------------------------------------------------------------------
def find_outputs(outputs: Sequence[Mapping[str, Any]], output_key: str | None = None) -> StackOutputs:
    """The API URL and authorizer mode among a stack's outputs (``describe_stacks``' ``Outputs``)."""
    by_key = {o.get("OutputKey", ""): o for o in outputs}
    if output_key is not None:
        if output_key not in by_key:
            raise SmokeError(f"the stack has no output {output_key!r}; it has: {', '.join(sorted(by_key)) or 'none'}")
        url_output = by_key[output_key]
    else:
        candidates = [o for k, o in by_key.items() if "apiurl" in k.lower()] or [
            o for o in outputs if re.search(r"\bapi\b.*\burl\b|\burl\b.*\bapi\b", o.get("Description", ""), re.I)]
        if len(candidates) != 1:
            what = "several" if candidates else "no"
            raise SmokeError(f"{what} outputs look like the API URL ({', '.join(sorted(by_key)) or 'none'}); "
                             "name it with --output-key")
        url_output = candidates[0]
    url = url_output.get("OutputValue", "")
    if not re.match(r"https?://", url):
        raise SmokeError(f"output {url_output.get('OutputKey')!r} is not a URL: {url!r}")
    mode = next((o.get("OutputValue") for k, o in by_key.items() if "authorizermode" in k.lower()), None)
    return StackOutputs(url, mode)


def stack_outputs(stack_name: str, region: str | None, output_key: str | None = None,
                  session: Any = None) -> StackOutputs:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    session = session or boto3.session.Session()
    try:
        stacks = session.client("cloudformation", region_name=region).describe_stacks(StackName=stack_name)["Stacks"]
    except (BotoCoreError, ClientError) as problem:
        raise SmokeError(f"cannot read stack {stack_name!r}: {problem}") from None
    if not stacks:
        raise SmokeError(f"stack {stack_name!r} not found")
    return find_outputs(stacks[0].get("Outputs", []), output_key)


# --- which routes -----------------------------------------------------------------------------------------------
def probes_from_cdk_json(path: str | Path) -> tuple[list[Probe], str | None]:
    """The routes of cdk.json, and its stackName if set."""
    try:
        context = json.loads(Path(path).read_text()).get("context", {})
    except (OSError, ValueError, AttributeError) as problem:
        raise SmokeError(f"cannot read routes from {path}: {problem}") from None
    routes = context.get("routes", [])
    if isinstance(routes, str):
        routes = json.loads(routes)
    probes = []
    for route in routes if isinstance(routes, list) else []:
        if isinstance(route, dict) and isinstance(route.get("method"), str) and isinstance(route.get("path"), str):
            rule = route.get("tenant")
            tenant = (rule["param"], rule.get("claim", DEFAULT_TENANT_CLAIM)) if isinstance(rule, dict) \
                and isinstance(rule.get("param"), str) else None
            probes.append(Probe(f"{route['method'].upper()} {route['path']}", route.get("public") is True, tenant))
    return probes, context.get("stackName")


def parse_route(text: str, public: bool) -> Probe:
    method, _, path = text.strip().partition(" ")
    if not path:
        method, path = "GET", method
    if not path.startswith("/"):
        raise SmokeError(f"route {text!r} should look like 'GET /orders'")
    return Probe(f"{method.upper()} {path}", public)


def concrete_path(path: str, tenant: tuple[str, str] | None = None) -> str:
    """A request path for a route path: ``{id}`` → ``1``, ``{proxy+}`` → ``smoke``; ``tenant`` (param, value)."""
    def fill(match: re.Match[str]) -> str:
        if tenant is not None and match.group(0) == "{" + tenant[0] + "}":
            return tenant[1]
        return "smoke" if match.group(0).endswith("+}") else "1"
    return re.sub(r"\{[^}/]+\}", fill, path)


def your_tenant(token: str | None, claim: str) -> str | None:
    """The first tenant the token's claim names (read, not verified: it only picks the path to call)."""
    if token is None:
        return None
    try:
        grants = tenants_of(parse_token(token).claims, claim).grants
    except AuthorizationError:
        return None
    return next(iter(grants), None)


# --- calling it -------------------------------------------------------------------------------------------------
def smoke(api_url: str, probes: Sequence[Probe], token: str | None, *, timeout: float = 10.0,
          session: requests.Session | None = None) -> list[Result]:
    session = session or requests.Session()
    results = []
    for probe in probes:
        method, _, path = probe.route_key.partition(" ")
        method = "GET" if method == "ANY" else method
        mine = your_tenant(token, probe.tenant[1]) if probe.tenant else None
        url = api_url.rstrip("/") + concrete_path(path, (probe.tenant[0], mine) if probe.tenant and mine else None)
        if probe.public:
            status, note = _call(session, method, url, None, timeout)
            passed = status is not None and status < 500 and status not in (401, 403)
            results.append(Result(probe.route_key, True, {"no token": (status, passed, note or _public(status))}))
            continue
        calls = {}
        for column, credential in (("no token", None), ("bad token", BAD_TOKEN)):
            status, note = _call(session, method, url, credential, timeout)
            rejected = status in (401, 403)
            calls[column] = (status, rejected, note or ("rejected" if rejected else _leak(status)))
        if token is not None and probe.tenant is not None and mine is None:
            calls["your token"] = (None, False, f"your token names no tenant in {probe.tenant[1]!r}")
        elif token is not None:
            status, note = _call(session, method, url, token, timeout)
            accepted = status is not None and status < 500 and status not in (401, 403)
            calls["your token"] = (status, accepted, note or (
                "accepted" if accepted else "REJECTED: run .venv/bin/python -m tools doctor to see why"))
        if token is not None and probe.tenant is not None:
            other = api_url.rstrip("/") + concrete_path(path, (probe.tenant[0], OTHER_TENANT))
            status, note = _call(session, method, other, token, timeout)
            rejected = status in (401, 403)
            calls["other tenant"] = (status, rejected, note or ("rejected" if rejected else "OTHER TENANT ALLOWED"))
        results.append(Result(probe.route_key, False, calls))
    return results


def _call(session: requests.Session, method: str, url: str, token: str | None,
          timeout: float) -> tuple[int | None, str]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    body = b"{}" if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        response = session.request(method, url, headers=headers, data=body, timeout=timeout, allow_redirects=False)
    except requests.RequestException as problem:
        return None, f"no answer ({type(problem).__name__})"
    return response.status_code, ""


def _public(status: int | None) -> str:
    if status in (401, 403):
        return "REJECTED: this route should be public"
    return "server error" if status is not None and status >= 500 else "answered"


def _leak(status: int | None) -> str:
    if status is not None and status < 400:
        return "ALLOWED WITHOUT A VALID TOKEN"
    return "server error" if status is not None and status >= 500 else "unexpected answer"


def render(results: Sequence[Result], outputs: StackOutputs, token_given: bool) -> str:
    columns = ["no token", "bad token"] + (["your token"] if token_given else [])
    if token_given and any("other tenant" in r.calls for r in results):
        columns.append("other tenant")
    mode = f" (authorizer: {outputs.authorizer_mode})" if outputs.authorizer_mode else ""
    lines = [f"API {outputs.api_url}{mode}", ""]
    header = f"{'route':<30} {'access':<10} " + " ".join(f"{c:<34}" for c in columns) + "verdict"
    lines += [header, "-" * len(header)]
    for result in results:
        cells = []
        for column in columns:
            if column not in result.calls:
                cells.append(f"{'-':<34}")
                continue
            status, passed, note = result.calls[column]
            cells.append(f"{(str(status) if status is not None else '---') + ' ' + note:<34.34}")
        verdict = "PASS" if result.passed else "FAIL"
        lines.append(f"{result.route_key:<30} {'public' if result.public else 'protected':<10} "
                     + " ".join(cells) + verdict)
    failed = [r for r in results if not r.passed]
    lines += ["", f"{len(results) - len(failed)} of {len(results)} routes behave as expected"
              + ("" if not failed else f"; failing: {', '.join(r.route_key for r in failed)}")]
    return "\n".join(lines)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("the API")
    where.add_argument("--stack-name", help=f"the deployed stack (default: cdk.json stackName or {DEFAULT_STACK_NAME})")
    where.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
    where.add_argument("--output-key", help="the stack output holding the API URL (default: found by name)")
    where.add_argument("--url", help="the API URL itself (skips CloudFormation)")
    routes = parser.add_argument_group("routes (default: cdk.json)")
    routes.add_argument("--cdk-json", default="cdk.json", help="read routes (and stackName) from this cdk.json")
    routes.add_argument("--public", action="append", default=[], metavar="ROUTE", help='e.g. "GET /health"')
    routes.add_argument("--protected", action="append", default=[], metavar="ROUTE", help='e.g. "GET /orders"')
    token = parser.add_mutually_exclusive_group()
    token.add_argument("--token-env", metavar="NAME", help="environment variable holding your token")
    token.add_argument("--token-stdin", action="store_true", help="read your token from standard input")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")


def run(args: argparse.Namespace) -> int:
    try:
        if args.public or args.protected:
            probes = [parse_route(r, True) for r in args.public] + [parse_route(r, False) for r in args.protected]
            stack_name = None
        else:
            probes, stack_name = probes_from_cdk_json(args.cdk_json)
        if not probes:
            raise SmokeError("no routes to call: give --public/--protected or a cdk.json with routes")
        if args.url:
            outputs = StackOutputs(args.url, None)
        else:
            outputs = stack_outputs(args.stack_name or stack_name or DEFAULT_STACK_NAME, args.region, args.output_key)
        token = _read_token(args)
    except (SmokeError, DoctorError) as problem:
        print(f"smoke: {problem}", file=sys.stderr)
        return 2
    results = smoke(outputs.api_url, probes, token, timeout=args.timeout)
    print(render(results, outputs, token is not None))
    return 0 if all(r.passed for r in results) else 1


def _read_token(args: argparse.Namespace, environ: Mapping[str, str] = os.environ) -> str | None:
    if args.token_env:
        value = environ.get(args.token_env)
        if not value:
            raise SmokeError(f"${args.token_env} is empty")
        return clean_token(value)
    if args.token_stdin:
        return clean_token(sys.stdin.read())
    return None
