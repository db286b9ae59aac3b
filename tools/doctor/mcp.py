"""The doctor on an MCP endpoint's route: why a call is refused, as the authorizer's own MCP stage decides it
(``authorizer.mcp_guard``) — the token's audience against the resource, its issuer against the resource's
authorization servers, and, for the method and tool, resource or prompt a call names (``--mcp-method``,
``--mcp-name``), that rule; without them, which of the endpoint's methods and names this token may call.

    python -m tools doctor "$TOKEN" --route "ANY /mcp" --mcp-method tools/call --mcp-name create_order
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from authorizer.config import RouteRule, TrustedIssuer
from authorizer.errors import AuthorizationError, ClaimRuleError, InsufficientScopeError
from authorizer.mcp_guard import McpGuard, resource_problem
from authorizer.mcp_headers import HEADERS_VALIDATED_SINCE, NAME_KIND, encode_value
from authorizer.reuse import REQUEST
from authorizer.rules import granted_scopes, rule_problem
from authorizer.token import for_resource_only
from authorizer.verifier import VerifiedToken

from .explain import explain_rule
from .model import Finding

#: What a refusal's reason means to the one who called, and what to change.
_FIXES = {
    "mcp_header_missing": "an MCP client of 2026-07-28 sends Mcp-Method (and Mcp-Name for tools/call, resources/read, "
                          "prompts/get); an older client is held to every rule instead",
    "mcp_header_invalid": "send the value as the MCP specification encodes it (the Base64 sentinel for non-ASCII "
                          "text), once",
    "mcp_method_unknown": "Mcp-Method must be a method of the MCP specification",
    "mcp_older_client_denied": f"a client of a revision before {HEADERS_VALIDATED_SINCE} is held to every method and "
                               "tool rule: give it a token with every scope, or upgrade the client",
}


@dataclass(frozen=True)
class McpCall:
    """The call to judge: ``method``/``name`` as a 2026-07-28 client sends them (None: not given)."""

    method: str | None = None
    name: str | None = None
    version: str = HEADERS_VALIDATED_SINCE
    params: Mapping[str, str] = field(default_factory=dict)  # Mcp-Param-<name> values

    def event(self, route_key: str) -> dict[str, Any]:
        headers = {"mcp-protocol-version": self.version}
        if self.method is not None:
            headers["mcp-method"] = self.method
        if self.name is not None:
            headers["mcp-name"] = encode_value(self.name)
        headers.update((f"mcp-param-{k.lower()}", encode_value(v)) for k, v in self.params.items())
        return {"routeKey": route_key, "headers": headers, "identitySource": [], "requestContext": {}}


def resource_finding(rule: RouteRule, claims: Mapping[str, Any]) -> Finding:
    """Whether the token is for this MCP resource, from its issuer, as the authorizer decides it
    (``mcp_guard.resource_problem``): said in the doctor's words, with what to do."""
    mcp = rule.mcp
    assert mcp is not None
    problem = resource_problem(mcp, claims)
    if problem is None:
        return Finding("ok", "resource", f"aud holds the resource {mcp.resource}, from one of its authorization "
                                         "servers")
    if problem.reason == "resource_mismatch":
        return Finding("fail", "resource", f"{rule.route_key} is the MCP resource {mcp.resource}; the token's aud is "
                                           f"{claims.get('aud')!r}: it was issued for something else "
                                           "(resource_mismatch)",
                       f"ask the authorization server for a token with resource={mcp.resource} (RFC 8707): MCP "
                       "clients do when they read the resource's metadata")
    return Finding("fail", "resource", f"the token's issuer {claims.get('iss')!r} is not one of the resource's "
                                       f"authorization servers {list(mcp.authorization_servers)} ({problem.reason})",
                   "get the token from an authorization server the resource's metadata names")


def mcp_findings(rule: RouteRule, routes: Mapping[str, RouteRule], claims: Mapping[str, Any],
                 issuer: TrustedIssuer | None, call: McpCall | None) -> list[Finding]:
    """The MCP stage's findings for ``rule`` (an MCP endpoint's route) and a token's claims."""
    mcp = rule.mcp
    assert mcp is not None
    resource = resource_finding(rule, claims)
    if resource.status == "fail" or not mcp.has_rules:
        return [resource]
    findings = [resource]
    guard = McpGuard(routes)
    stand_in = issuer or TrustedIssuer(issuer=str(claims.get("iss")), audiences=())
    verified = VerifiedToken(dict(claims), stand_in, None, "RS256", True, for_resource_only(claims, stand_in))
    if call is None or call.method is None:
        return findings + _every_rule(mcp.rules, claims)
    problem = guard.decide(call.event(rule.route_key), rule.route_key, verified, REQUEST)
    if problem is None:
        what = f"{call.method} {call.name}" if call.name is not None else call.method
        return findings + [Finding("ok", "mcp", f"{what}: allowed for this token")]
    if problem.reason in ("mcp_method_denied", "mcp_name_denied") and problem.claim is not None:
        # The rule's own denial, as data: say it as a route rule's is said (what is needed, what the token has).
        kind = InsufficientScopeError if problem.claim == "scope" else ClaimRuleError
        as_rule = kind(problem.detail, claim=problem.claim, expected=problem.expected, actual=problem.actual)
        finding = explain_rule(problem.detail.partition(":")[0], as_rule)
        return findings + [Finding("fail", "mcp", f"{finding.message} ({problem.reason})", finding.fix)]
    return findings + [Finding("fail", "mcp", f"{problem.detail} ({problem.reason})", _FIXES.get(problem.reason, ""))]


def _every_rule(rules: Mapping[tuple[str, str], RouteRule], claims: Mapping[str, Any]) -> list[Finding]:
    """Without a call to judge: what this token may call, rule by rule."""
    scopes = granted_scopes(claims)
    allowed: list[tuple[str, AuthorizationError | None]] = []
    refused: list[tuple[str, AuthorizationError | None]] = []
    for (kind, name), rule in rules.items():
        problem = rule_problem(rule, claims, scopes)
        label = name if kind == "methods" else f"{_METHOD_OF[kind]} {name}"
        (refused if problem is not None else allowed).append((label, problem))
    findings = [Finding("ok", "mcp", f"may call: {', '.join(label for label, _ in allowed)}")] if allowed else []
    for label, problem in refused:
        assert problem is not None
        finding = explain_rule(label, problem)
        findings.append(Finding("warn", "mcp", finding.message, finding.fix))
    return findings


_METHOD_OF = {kind: method for method, kind in NAME_KIND.items()}
