"""An MCP resource on a route: its canonical URI, the authorization servers that serve it, and rules per method and
per tool, resource or prompt name — parsed from a route rule's ``mcp`` field (``AUTH_ROUTES``, the SSM parameter, and
through ``infra`` the stack's route list), and tied to the trusted issuers it is served by (``bind_resources``).

    {"POST /mcp": {"scopes": ["mcp"], "mcp": {
        "resource": "https://api.example.com/mcp",
        "authorization_servers": ["https://api.descope.com/v1/apps/agentic/P2abc/MS2def"],
        "methods": {"tools/list": ["orders:read"]},
        "tools": {"create_order": {"scopes": ["orders:write"]},
                  "tenant_report": {"tenant": {"param": "tenantId", "roles": ["admin"]}}}}}}

A method or name rule has a route rule's shape (a list of scopes, or ``scopes``/``claims``), and a tool's rule may
add ``tenant``, whose ``param`` names the ``Mcp-Param-<param>`` header a tool marks with ``x-mcp-header``. Imported
only for a configuration that has an MCP route.

    >>> resource = parse_mcp({"resource": "https://api.example.com/mcp", "tools": {"create_order": ["w"]}},
    ...                      "POST /mcp", "routes['POST /mcp'].mcp")
    >>> resource.rules[("tools", "create_order")].scopes, resource.has_rules
    (('w',), True)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .config import is_loopback_host
from .config_values import name_list, reject_unknown_fields, string_list
from .errors import ConfigError
from .mcp_headers import METHODS, NAME_KIND
from .route_config import RouteRule, TenantRule, claim_rules, tenant_fields

if TYPE_CHECKING:
    from .config import TrustedIssuer

_FIELDS = {"resource", "authorization_servers", "methods", "tools", "resources", "prompts"}
_RULE_FIELDS = {"scopes", "claims"}
#: A tool's or prompt's name as MCP advises it (2025-11-25 ``server/tools.mdx``, "Tool names"): 1–128 characters of
#: ASCII letters, digits, ``_``, ``-`` and ``.``. No ``*``, ``/`` or ``?`` — nothing IAM or a path could read twice.
NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
#: An ``Mcp-Param-<name>`` header's name part: an RFC 9110 token.
PARAM = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}")


@dataclass(frozen=True)
class McpResource:
    """What an MCP route requires beyond its route rule. ``rules`` maps ``(kind, name)`` — ``("methods", method)``,
    ``("tools", name)``, ``("resources", uri)``, ``("prompts", name)`` — to a ``RouteRule`` named after it."""

    route_key: str
    resource: str
    authorization_servers: tuple[str, ...] = ()  # () until bind_resources fills in the configured issuers
    rules: Mapping[tuple[str, str], RouteRule] = field(default_factory=dict)

    @property
    def has_rules(self) -> bool:
        """Whether anything is decided per method or per name: then an answer may not be reused across them."""
        return bool(self.rules)

    @property
    def scopes(self) -> tuple[str, ...]:
        """Every scope a rule of this resource names (``scopes_supported`` of its metadata)."""
        return tuple(dict.fromkeys(scope for rule in self.rules.values() for scope in rule.scopes))


def parse_mcp(value: Any, route_key: str, where: str) -> McpResource:
    if not isinstance(value, dict):
        raise ConfigError(where, 'must be an object like {"resource": "https://api.example.com/mcp", "tools": {...}}')
    reject_unknown_fields(value, _FIELDS, where)
    method = route_key.partition(" ")[0]
    if method not in ("POST", "ANY"):
        raise ConfigError(where, f"route {route_key}: an MCP endpoint is called with POST (use POST or ANY)")
    resource = canonical_resource(value.get("resource"), f"{where}.resource")
    servers = string_list(value["authorization_servers"], f"{where}.authorization_servers") \
        if "authorization_servers" in value else ()
    for index, server in enumerate(servers):
        canonical_resource(server, f"{where}.authorization_servers[{index}]")
    rules: dict[tuple[str, str], RouteRule] = {}
    for kind in ("methods", *NAME_KIND.values()):
        table = value.get(kind, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.{kind}", "must be an object of name → rule")
        for name, rule in table.items():
            rules[(kind, name)] = _rule(kind, name, rule, route_key, f"{where}.{kind}[{name!r}]")
    return McpResource(route_key, resource, servers, rules)


def _rule(kind: str, name: Any, value: Any, route_key: str, where: str) -> RouteRule:
    if kind == "methods" and name not in METHODS:
        raise ConfigError(where, f"is not a method of the MCP specification; expected one of {sorted(METHODS)}")
    if kind in ("tools", "prompts") and not NAME.fullmatch(name):
        raise ConfigError(where, "a tool or prompt name is 1 to 128 of A-Z, a-z, 0-9, '_', '-' and '.'")
    if kind == "resources" and (not name or not name.isprintable()):
        raise ConfigError(where, "a resource's URI must be printable text")
    if isinstance(value, list):
        value = {"scopes": value}
    if not isinstance(value, dict):
        raise ConfigError(where, "must be a list of scopes or an object with scopes and/or claims")
    allowed = _RULE_FIELDS | ({"tenant"} if kind == "tools" else set())
    reject_unknown_fields(value, allowed, where)
    scopes = name_list(value["scopes"], f"{where}.scopes", "scopes") if "scopes" in value else ()
    tenant = None
    if "tenant" in value:
        tenant = TenantRule(**tenant_fields(value["tenant"], f"{where}.tenant"))
        if not PARAM.fullmatch(tenant.param):
            raise ConfigError(f"{where}.tenant.param", "must name the tool's Mcp-Param-<param> header: an HTTP token")
    label = f"{route_key} {'tools/call ' + name if kind == 'tools' else name if kind == 'methods' else kind + ' ' + name}"
    return RouteRule(route_key=label, scopes=scopes, claims=claim_rules(value.get("claims", {}), f"{where}.claims"),
                     tenant=tenant)


def canonical_resource(value: Any, where: str) -> str:
    """An absolute https URI without a fragment (RFC 8707 §2; http only on loopback, for local runs)."""
    if not isinstance(value, str) or not value:
        raise ConfigError(where, "is required: the canonical URI of the MCP endpoint, e.g. https://api.example.com/mcp")
    parts = urlsplit(value)
    loopback = is_loopback_host(parts.hostname)
    if parts.fragment or "#" in value or not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)):
        raise ConfigError(where, f"must be an absolute https URI without a fragment (http only on loopback), "
                                 f"got {value!r}")
    return value


def bind_resources(issuers: tuple[TrustedIssuer, ...], routes: Mapping[str, RouteRule]
                   ) -> tuple[tuple[TrustedIssuer, ...], dict[str, RouteRule]]:
    """Tie the MCP resources to the trusted issuers: each resource's authorization servers must be issuers the
    configuration trusts (by default every configured issuer with a URL), and every trusted issuer also accepts
    tokens whose ``aud`` holds a resource's URI — which only that resource's route then accepts (``mcp_guard``)."""
    bound: dict[str, RouteRule] = dict(routes)
    resources = []
    for route_key, rule in routes.items():
        mcp = rule.mcp
        if mcp is None:
            continue
        where = f"routes[{route_key!r}].mcp.authorization_servers"
        servers = mcp.authorization_servers or tuple(
            issuer.issuer for issuer in issuers if issuer.issuer_match == "exact"
            and urlsplit(issuer.issuer).scheme in ("https", "http") and urlsplit(issuer.issuer).hostname)
        if not servers:
            raise ConfigError(where, "name the authorization servers that issue this resource's tokens (Descope's "
                                     "agentic issuer, for instance, ends in the MCP server's id)")
        for index, server in enumerate(servers):
            if not any(issuer.accepts_iss(server) for issuer in issuers):
                raise ConfigError(f"{where}[{index}]", f"{server!r} is not an issuer this configuration trusts")
        bound[route_key] = replace(rule, mcp=replace(mcp, authorization_servers=servers))
        resources.append(mcp.resource)
    audiences = tuple(dict.fromkeys(resources))
    return tuple(replace(issuer, resource_audiences=audiences) for issuer in issuers), bound
