"""The MCP stage of one decision (``McpGuard.decide``): on an MCP endpoint's route, the token must have been issued
for that resource by one of its authorization servers, and meet the rules of the method and the tool, resource or
prompt the request names in its Streamable HTTP headers; on any other route, a token issued for an MCP resource is
refused. Imported only for a configuration with an MCP route.

The order, each failure with its own reason code (``errors.py``):

1. ``aud`` holds the resource's URI (RFC 8707, the MCP authorization spec's MUST), whatever issuer signed it —
   ``resource_mismatch``; the issuer is one of the resource's authorization servers — ``resource_issuer_mismatch``.
2. With per-method or per-name rules: the headers are read only from clients of 2026-07-28 or later, whose server
   must reject a header that disagrees with the body. A client of an earlier revision sends none (or sends ones no
   server checks): its token must meet every method and name rule of the endpoint — ``mcp_older_client_denied`` —
   so leaving the headers out never widens access. Otherwise ``Mcp-Method`` must be there (``mcp_header_missing``),
   well formed (``mcp_header_invalid``: repeated, over 1,024 characters, control characters, a sentinel that does
   not decode), a method of the specification (``mcp_method_unknown``); its rule is met (``mcp_method_denied``);
   for ``tools/call``, ``resources/read`` and ``prompts/get``, ``Mcp-Name`` likewise, decoded from the Base64
   sentinel, compared exactly, and its rule met (``mcp_name_denied``) — a tool's tenant rule reading the tenant
   from its ``Mcp-Param-<param>`` header.
3. An answer decided on these headers may be reused only for requests with the same headers: the identity sources
   must hold ``$context.requestId`` (never reused: the construct's wiring) or the header values themselves; else
   ``cache_key_too_wide``. Header values never reach a policy: an MCP route's IAM answer is the route's usual one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .config import RouteRule
from .errors import (
    AuthorizationError,
    CacheKeyTooWideError,
    McpHeaderInvalidError,
    McpHeaderMissingError,
    McpMethodDeniedError,
    McpMethodUnknownError,
    McpNameDeniedError,
    McpOlderClientError,
    ResourceIssuerError,
    ResourceMismatchError,
)
from .mcp_config import NAME, McpResource
from .mcp_headers import (
    MAX_VALUE_LENGTH,
    METHOD_HEADER,
    METHODS,
    NAME_HEADER,
    NAME_KIND,
    PARAM_HEADER_PREFIX,
    PROTOCOL_VERSION_HEADER,
    decode_value,
    is_version,
    validates_headers,
)
from .reuse import REQUEST
from .rules import granted_scopes, rule_problem
from .verifier import VerifiedToken


def resource_problem(mcp: McpResource, claims: Mapping[str, Any]) -> AuthorizationError | None:
    """Whether the token was issued for this resource (``aud`` holds its URI) by one of its authorization servers."""
    aud = claims.get("aud")
    if not (aud == mcp.resource or (isinstance(aud, list) and mcp.resource in aud)):
        return ResourceMismatchError(f"{mcp.route_key}: aud does not hold the resource {mcp.resource}",
                                     claim="aud", expected=mcp.resource, actual=aud)
    if claims.get("iss") not in mcp.authorization_servers:
        return ResourceIssuerError(f"{mcp.route_key}: the token's issuer is not one of the resource's "
                                   "authorization servers", claim="iss", expected=mcp.authorization_servers,
                                   actual=claims.get("iss"))
    return None


class McpGuard:
    def __init__(self, routes: Mapping[str, RouteRule]) -> None:
        self.resources: dict[str, McpResource] = {key: rule.mcp for key, rule in routes.items() if rule.mcp}

    @property
    def scoped_routes(self) -> frozenset[str]:
        """Routes whose answers depend on the request's headers: their reuse scope is always read."""
        return frozenset(key for key, mcp in self.resources.items() if mcp.has_rules)

    def relabel(self, denial: AuthorizationError, route_key: str | None) -> AuthorizationError:
        """On an MCP route, a token whose ``aud`` holds none of the accepted audiences was issued for something
        else than this resource: its own reason, ``resource_mismatch``, whichever issuer signed it."""
        mcp = self.resources.get(route_key) if route_key is not None else None
        if mcp is None or denial.reason != "audience_mismatch" or denial.claim != "aud":
            return denial
        return ResourceMismatchError(f"{mcp.route_key}: aud does not hold the resource {mcp.resource}", claim="aud",
                                     expected=mcp.resource, actual=denial.actual)

    def decide(self, event: Any, route_key: str | None, verified: VerifiedToken,
               scope: str | None) -> AuthorizationError | None:
        mcp = self.resources.get(route_key) if route_key is not None else None
        if mcp is None:
            if verified.resource_only:
                return ResourceMismatchError("the token was issued for an MCP resource, not for this route",
                                             claim="aud", expected=None, actual=verified.claims.get("aud"))
            return None
        claims = verified.claims
        problem = resource_problem(mcp, claims)
        if problem is not None or not mcp.has_rules:
            return problem
        headers = _headers(event)
        version = headers.get(PROTOCOL_VERSION_HEADER)
        if version is not None and not is_version(version):
            return McpHeaderInvalidError("MCP-Protocol-Version is not a protocol version", claim="MCP-Protocol-Version",
                                         expected="YYYY-MM-DD", actual=version[:64])
        if not validates_headers(version):
            return _every_rule(mcp, claims, version)
        return _by_headers(mcp, claims, headers) or _cache_safe(event, mcp, headers, scope)


def _by_headers(mcp: McpResource, claims: Mapping[str, Any], headers: Mapping[str, str]) -> AuthorizationError | None:
    method, problem = _value(headers, METHOD_HEADER, "Mcp-Method")
    if method is None:
        return problem
    if method not in METHODS:
        return McpMethodUnknownError("Mcp-Method names no method of the MCP specification", claim="Mcp-Method",
                                     expected=None, actual=method)
    scopes = granted_scopes(claims)
    rule = mcp.rules.get(("methods", method))
    unmet = rule_problem(rule, claims, scopes) if rule is not None else None
    if rule is not None and unmet is not None:
        return McpMethodDeniedError(f"{rule.route_key}: {unmet.detail}", claim=unmet.claim,
                                    expected=unmet.expected, actual=unmet.actual)
    kind = NAME_KIND.get(method)
    if kind is None:
        return None
    name, problem = _value(headers, NAME_HEADER, "Mcp-Name")
    if name is None:
        return problem
    if kind != "resources" and not NAME.fullmatch(name):
        return McpHeaderInvalidError(f"Mcp-Name is not a {kind[:-1]} name (1 to 128 of A-Z, a-z, 0-9, _ - .)",
                                     claim="Mcp-Name", expected=None, actual=name[:128])
    rule = mcp.rules.get((kind, name))
    if rule is None:
        return None
    unmet = rule_problem(rule, claims, scopes) or _tenant_problem(rule, claims, headers)
    if unmet is not None:
        return McpNameDeniedError(f"{rule.route_key}: {unmet.detail}", claim=unmet.claim,
                                  expected=unmet.expected, actual=unmet.actual)
    return None


def _headers(event: Any) -> dict[str, str]:
    """The request's ``mcp-*`` headers, names lower-cased (payload 1.0 keeps the client's case)."""
    headers = event.get("headers") if isinstance(event, dict) else None
    if not isinstance(headers, dict):
        return {}
    return {name.lower(): value for name, value in headers.items()
            if isinstance(name, str) and name[:4].lower() == "mcp-" and isinstance(value, str)}


def _value(headers: Mapping[str, str], header: str, shown: str) -> tuple[str | None, AuthorizationError | None]:
    raw = headers.get(header)
    if raw is None:
        return None, McpHeaderMissingError(f"{shown} is required of a 2026-07-28 client on this endpoint",
                                           claim=shown, expected="the header", actual=None)
    value = decode_value(raw) if len(raw) <= MAX_VALUE_LENGTH else None
    if value is None or (header == METHOD_HEADER and "," in value):  # API Gateway joins repeated headers with ","
        return None, McpHeaderInvalidError(f"{shown} is not a value a client sends (repeated, too long, control "
                                           "characters, or a Base64 sentinel that does not decode)", claim=shown,
                                           expected=None, actual=raw[:128])
    return value, None


def _every_rule(mcp: McpResource, claims: Mapping[str, Any], version: str | None) -> AuthorizationError | None:
    """A client of an earlier revision: no header of its is trusted, so every method and name rule must hold."""
    scopes = granted_scopes(claims)
    for rule in mcp.rules.values():
        unmet = rule_problem(rule, claims, scopes) or (
            _tenant_problem(rule, claims, {}) if rule.tenant is not None else None)
        if unmet is not None:
            return McpOlderClientError(
                f"{mcp.route_key}: a client of MCP {version or 'before 2025-06-18'} sends no header its server checks, "
                f"so its token must meet every rule of the endpoint; {rule.route_key}: {unmet.detail}",
                claim=unmet.claim, expected=unmet.expected, actual=unmet.actual)
    return None


def _tenant_problem(rule: RouteRule, claims: Mapping[str, Any],
                    headers: Mapping[str, str]) -> AuthorizationError | None:
    """A tool's tenant rule: ``Mcp-Param-<param>`` (decoded) must be one of the token's tenants, with the roles."""
    if rule.tenant is None:
        return None
    from .tenancy import tenant_problem, tenants_of

    raw = headers.get(PARAM_HEADER_PREFIX + rule.tenant.param.lower())
    requested = decode_value(raw) if raw is not None and len(raw) <= MAX_VALUE_LENGTH else None
    return tenant_problem(rule, tenants_of(claims, rule.tenant.claim), requested)


def _cache_safe(event: Any, mcp: McpResource, headers: Mapping[str, str],
                scope: str | None) -> AuthorizationError | None:
    """Decided on the headers: the answer must never be reused for other ones (``headers`` were read: the method's
    is there, and the name's when its method has one)."""
    if scope == REQUEST:
        return None
    sources = event.get("identitySource") if isinstance(event, dict) else None
    needed = [value for name, value in headers.items() if name in (METHOD_HEADER, NAME_HEADER)
              or name.startswith(PARAM_HEADER_PREFIX)]
    if isinstance(sources, list) and all(value in sources for value in needed):
        return None
    return CacheKeyTooWideError(f"{mcp.route_key}: decided per MCP method and name, this answer could be reused for "
                                "another (the identity sources need $context.requestId, or the Mcp-Method and "
                                "Mcp-Name headers)")
