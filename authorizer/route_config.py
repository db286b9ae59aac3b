"""Route rules: the route keys API Gateway writes, what a route asks of a valid token (scopes any-of, claim rules,
a tenant rule), parsed from ``AUTH_ROUTES``, the SSM parameter's ``routes`` and — through ``infra`` — the stack's
route list, with one set of checks. ``ConfigError`` names the route and the field.

    >>> parse_routes({"GET /orders": ["orders:read"]})["GET /orders"].scopes
    ('orders:read',)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config_values import check_clean, is_claim_value, name_list, reject_unknown_fields
from .errors import ConfigError

if TYPE_CHECKING:
    from .mcp_config import McpResource

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY")
# Matched whole (fullmatch): "$" would also match before a trailing newline, and "GET /orders\n" is no route.
_ROUTE_KEY = re.compile(r"(?P<method>[A-Z]+) (?P<path>/\S*)")
_PATH_SEGMENT = re.compile(r"[^{}/\s]+|\{[A-Za-z0-9_.-]+\}|\{[A-Za-z0-9_.-]+\+\}")

#: Where Descope puts a user's tenants (tenant ID → ``{"roles": [...], "permissions": [...]}``): the default claim.
DEFAULT_TENANT_CLAIM = "tenants"
_TENANT_FIELDS = {"param", "claim", "roles", "permissions"}


@dataclass(frozen=True)
class TenantRule:
    """A route's tenant rule: its path parameter ``param`` must name one of the caller's tenants.

    ``claim`` holds the caller's tenants: an object whose keys are tenant IDs (Descope's ``tenants``, each value
    ``{"roles": [...], "permissions": [...]}``), a list of tenant IDs, or one tenant ID (``org_id``, ``tid``,
    ``dct``). ``roles`` and ``permissions``, when given, are required **within that tenant**, each any-of.
    """

    param: str
    claim: str = DEFAULT_TENANT_CLAIM
    roles: tuple[str, ...] = ()
    permissions: tuple[str, ...] = ()
    role_set: frozenset[str] = field(init=False, repr=False, compare=False)
    permission_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "role_set", frozenset(self.roles))
        object.__setattr__(self, "permission_set", frozenset(self.permissions))


@dataclass(frozen=True)
class RouteRule:
    """What a route asks of a valid token: any one of ``scopes``, every claim rule, and its ``tenant`` rule.

    Rules compare by the JSON types of their claim values (``typed_claims``): in Python ``1 == True == 1.0``, so
    comparing ``claims`` alone would take a rule for ``true`` to be the rule for ``1`` (and a warm authorizer would
    keep the old one when SSM changes it).
    """

    route_key: str
    scopes: tuple[str, ...] = ()
    claims: tuple[tuple[str, tuple[Any, ...]], ...] = field(default=(), compare=False)
    tenant: TenantRule | None = None
    typed_claims: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = field(init=False, repr=False)
    mcp: McpResource | None = field(default=None, hash=False)  # an MCP endpoint's resource (``mcp_config``)

    def __post_init__(self) -> None:
        typed = tuple((name, tuple(json_typed(v) for v in accepted)) for name, accepted in self.claims)
        object.__setattr__(self, "typed_claims", typed)


def json_typed(value: Any) -> tuple[str, Any]:
    """A scalar with its JSON type, so that ``1``, ``true`` and ``"1"`` are three different values.

    >>> json_typed(1) == json_typed(True), json_typed(1) == json_typed(1.0)
    (False, True)
    """
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, (int, float)):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return (type(value).__name__, value)


# --- routes -------------------------------------------------------------------------------------------------
def parse_routes(value: Any, field_name: str = "AUTH_ROUTES") -> dict[str, RouteRule]:
    """``{"GET /orders": ["orders:read"], "POST /x/{id}": {"scopes": [...], "claims": {...}, "tenant": {...}}}``."""
    if not isinstance(value, dict):
        raise ConfigError(field_name, "must be a JSON object of route key → rule")
    check_clean(value, field_name)
    rules: dict[str, RouteRule] = {}
    for route_key, rule in value.items():
        where = f"{field_name}[{route_key!r}]"
        check_route_key(route_key, where)
        if isinstance(rule, list):
            rule = {"scopes": rule}
        if not isinstance(rule, dict):
            raise ConfigError(where, "must be a list of scopes or an object with scopes, claims and/or tenant")
        reject_unknown_fields(rule, {"scopes", "claims", "tenant", "mcp"}, where)
        scopes = name_list(rule["scopes"], f"{where}.scopes", "scopes") if "scopes" in rule else ()
        claims = claim_rules(rule.get("claims", {}), f"{where}.claims")
        tenant = parse_tenant_rule(rule["tenant"], route_key, f"{where}.tenant") if "tenant" in rule else None
        mcp = None
        if "mcp" in rule:  # imported only for a configuration with an MCP route
            from .mcp_config import parse_mcp

            mcp = parse_mcp(rule["mcp"], route_key, f"{where}.mcp")
        rules[route_key] = RouteRule(route_key=route_key, scopes=scopes, claims=claims, tenant=tenant, mcp=mcp)
    return rules


def parse_tenant_rule(value: Any, route_key: str, where: str) -> TenantRule:
    """``{"param": "tenantId", "claim"?: "tenants", "roles"?: [...], "permissions"?: [...]}`` for ``route_key``.

    ``param`` must be one whole ``{param}`` segment of the route's path (not a greedy ``{proxy+}``, which may span
    several segments): otherwise API Gateway never hands the authorizer a value to check, and the error names the
    route. No other parameter may come before it (see ``tenancy.tenant_resources``).
    """
    fields = tenant_fields(value, where)
    param = fields["param"]
    segments = route_key.partition(" ")[2].split("/")
    if "{" + param + "}" not in segments:
        greedy = "{" + param + "+}" in segments
        raise ConfigError(f"{where}.param", f"route {route_key} has no path parameter {{{param}}}" + (
            " (a greedy {" + param + "+} may span several segments, so it cannot name one tenant)" if greedy else ""))
    before = [s for s in segments[:segments.index("{" + param + "}")] if s.startswith("{")]
    if before:
        raise ConfigError(f"{where}.param", f"route {route_key} has {before[0]} before {{{param}}}: a policy writes a "
                          "parameter as IAM's *, which spans '/', so it could not hold the tenant to its segment "
                          "(put the tenant's parameter before any other)")
    return TenantRule(**fields)


def tenant_fields(value: Any, where: str) -> dict[str, Any]:
    """A tenant rule's fields, checked: ``param`` (where the tenant is read), ``claim``, ``roles``, ``permissions``."""
    if not isinstance(value, dict):
        raise ConfigError(where, 'must be an object like {"param": "tenantId", "claim": "tenants", "roles": [...]}')
    reject_unknown_fields(value, _TENANT_FIELDS, where)
    param = value.get("param")
    if not isinstance(param, str) or not param:
        raise ConfigError(f"{where}.param", "is required: the name of the parameter that names the tenant")
    claim = value.get("claim", DEFAULT_TENANT_CLAIM)
    if not isinstance(claim, str) or not claim:
        raise ConfigError(f"{where}.claim", "must be the name of the claim that holds the caller's tenants")
    roles = name_list(value["roles"], f"{where}.roles", "roles") if "roles" in value else ()
    permissions = name_list(value["permissions"], f"{where}.permissions", "permissions") if "permissions" in value else ()
    return {"param": param, "claim": claim, "roles": roles, "permissions": permissions}


def check_route_key(route_key: Any, where: str) -> None:
    if route_key == "$default":
        return
    match = _ROUTE_KEY.fullmatch(route_key) if isinstance(route_key, str) else None
    if not match or match["method"] not in HTTP_METHODS:
        raise ConfigError(where, f"route key must look like 'GET /orders/{{id}}' with a method in {HTTP_METHODS}")
    segments = match["path"].split("/")[1:]
    if segments == [""]:
        return  # the root path "/"
    for position, segment in enumerate(segments):
        if not _PATH_SEGMENT.fullmatch(segment):
            raise ConfigError(where, f"path segment {segment!r} is not a literal, {{param}} or {{proxy+}}")
        if segment.endswith("+}") and position != len(segments) - 1:
            raise ConfigError(where, "a greedy {proxy+} segment must be the last one")


def claim_rules(value: Any, where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(where, "must be an object of claim name → value or list of accepted values")
    rules = []
    for name, accepted in value.items():
        accepted = tuple(accepted) if isinstance(accepted, list) else (accepted,)
        if not accepted or not all(is_claim_value(v) for v in accepted):
            raise ConfigError(f"{where}.{name}", "must be a string, number or boolean, or a non-empty list of them")
        rules.append((name, accepted))
    return tuple(rules)


