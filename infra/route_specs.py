"""The route list as ``cdk.json`` (and the plain dicts of ``AuthorizationSettings.create``) write it → ``RouteSpec``s,
each rule checked by the authorizer's own parsers, so that the rule the stack accepts is the rule the Lambda reads.

    >>> [spec.route_key for spec in parse_route_specs([{"method": "get", "path": "/orders"}])]
    ['GET /orders']
"""

from __future__ import annotations

from typing import Any

from .context_values import claim_rules, scope_names
from .lambda_sources import ConfigError, check_route_key, parse_tenant_rule
from .lambda_sources import TenantRule as ParsedTenantRule
from .mcp_settings import mcp_endpoint
from .typed_settings import RouteSpec, TenantRule

ROUTE_FIELDS = {"method", "path", "scopes", "claims", "tenant", "public", "mcp"}


def parse_route_specs(value: list[Any]) -> tuple[RouteSpec, ...]:
    if not value:
        raise ConfigError("routes", "must list at least one route")
    specs: list[RouteSpec] = []
    seen: dict[str, str] = {}
    for index, item in enumerate(value):
        where = f"routes[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(where, 'must be an object like {"method": "GET", "path": "/orders", "scopes": [...]}')
        for name in item:
            if name not in ROUTE_FIELDS:
                raise ConfigError(f"{where}.{name}", f"is not a known field; expected some of {sorted(ROUTE_FIELDS)}")
        method = item.get("method")
        if not isinstance(method, str) or not method:
            raise ConfigError(f"{where}.method", "is required: GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS or ANY")
        path = item.get("path")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"{where}.path", "is required and must start with '/'")
        method = method.upper()
        check_route_key(f"{method} {path}", where)
        route_key = f"{method} {path}"
        if route_key in seen:
            raise ConfigError(where, f"{route_key} is already configured at {seen[route_key]}")
        seen[route_key] = where
        public = item.get("public", False)
        if not isinstance(public, bool):
            raise ConfigError(f"{where}.public", "must be true or false")
        scopes = scope_names(item.get("scopes", []), f"{where}.scopes")
        claims = claim_rules(item.get("claims", {}), f"{where}.claims")
        # The authorizer's own parser: the rule the stack accepts is the rule the Lambda reads (AUTH_ROUTES).
        tenant = (tenant_setting(parse_tenant_rule(item["tenant"], route_key, f"{where}.tenant"))
                  if "tenant" in item else None)
        mcp = mcp_endpoint(item["mcp"], route_key, f"{where}.mcp") if "mcp" in item else None
        if public and (scopes or claims or tenant or mcp):
            raise ConfigError(f"{where}.public", "a public route takes no token, so it cannot have scopes, claims, "
                                                 "a tenant rule or an MCP endpoint")
        specs.append(RouteSpec(method=method, path=path, scopes=scopes, claims=claims, public=public, tenant=tenant,
                               mcp=mcp))
    return tuple(specs)


def tenant_setting(rule: ParsedTenantRule | None) -> TenantRule | None:
    """The authorizer's parsed tenant rule (``authorizer.config.TenantRule``) as the typed setting, or None."""
    if rule is None:
        return None
    return TenantRule(param=rule.param, claim=rule.claim, roles=tuple(rule.roles),
                      permissions=tuple(rule.permissions))


