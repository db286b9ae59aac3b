"""An MCP endpoint in the route list: the typed ``McpEndpoint`` (and its ``McpRule``) beside the plain ``cdk.json``
shape ``"mcp": {...}``, validated by the authorizer's own parser (``mcp_config.parse_mcp``), and the RFC 9728
Protected Resource Metadata each one publishes.

    RouteSpec("POST", "/mcp", mcp=McpEndpoint(
        tools={"create_order": McpRule(scopes=["orders:write"]), "list_orders": ["orders:read"]}))

``resource`` is the endpoint's canonical URI; left out, the construct uses the API's URL and the route's path (for
the ``$default`` stage: give it for a custom domain or a named stage). ``authorization_servers``: the issuers that
serve it (by default every configured issuer with a URL; Descope's agentic issuer names the MCP server's id, so name
it). Per-method and per-name rules are decided by the Lambda authorizer only (``jwt`` mode refuses them).

    >>> McpEndpoint(tools={"create_order": McpRule(scopes=["orders:write"])}).to_config()
    {'tools': {'create_order': {'scopes': ['orders:write']}}}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from .arguments import describe, string_list
from .lambda_sources import ConfigError, McpResource, parse_mcp, parse_routes, reject_unknown_fields, settle
from .typed_settings import ClaimValue, RouteSpec, StringList, TenantRule

if TYPE_CHECKING:
    from .config import AuthorizationSettings

#: Where an endpoint's resource URI stands while the API's URL is not known (synthesis checks, the local stack's
#: settings): a valid https URI that no token names.
STAND_IN_ORIGIN = "https://api.invalid"
_KINDS = ("methods", "tools", "resources", "prompts")


def mcp_stand_in(path: str) -> str:
    """The stand-in URI of an endpoint at ``path`` whose real one is the API's URL, not known yet."""
    return STAND_IN_ORIGIN + path


@dataclass(frozen=True, init=False)
class McpRule:
    """A method's or a tool's, resource's or prompt's rule: any one of ``scopes``, every claim rule, and (a tool's
    only) a ``tenant`` rule whose ``param`` names the ``Mcp-Param-<param>`` header of an ``x-mcp-header`` argument."""

    scopes: tuple[str, ...]
    claims: Mapping[str, ClaimValue | list[ClaimValue]]
    tenant: TenantRule | None

    def __init__(self, scopes: StringList = (), claims: Mapping[str, ClaimValue | list[ClaimValue]] | None = None,
                 tenant: TenantRule | None = None) -> None:
        object.__setattr__(self, "scopes", string_list(scopes, "scopes"))
        object.__setattr__(self, "claims", dict(claims or {}))
        object.__setattr__(self, "tenant", tenant)

    def to_config(self) -> dict[str, object]:
        config: dict[str, object] = {"scopes": list(self.scopes)} if self.scopes else {}
        if self.claims:
            config["claims"] = dict(self.claims)
        if self.tenant is not None:
            config["tenant"] = self.tenant.to_config()
        return config or {"scopes": []}


McpRuleLike: TypeAlias = McpRule | list[str] | tuple[str, ...] | Mapping[str, object]


@dataclass(frozen=True, init=False)
class McpEndpoint:
    """A route's MCP endpoint (see the module docstring). ``methods``: MCP method → rule; ``tools``, ``resources``
    (by URI), ``prompts``: name → rule. A rule is an ``McpRule``, a list of scopes, or its ``cdk.json`` dict."""

    resource: str | None
    authorization_servers: tuple[str, ...]
    rules: Mapping[str, Mapping[str, Any]]  # kind → name → the plain rule

    def __init__(self, *, resource: str | None = None, authorization_servers: StringList = (),
                 methods: Mapping[str, McpRuleLike] | None = None, tools: Mapping[str, McpRuleLike] | None = None,
                 resources: Mapping[str, McpRuleLike] | None = None,
                 prompts: Mapping[str, McpRuleLike] | None = None) -> None:
        if resource is not None and not isinstance(resource, str):
            raise ConfigError("resource", f"must be the endpoint's https URI (a string) or None, got "
                                          f"{describe(resource)}")
        rules: dict[str, dict[str, Any]] = {}
        for kind, table in zip(_KINDS, (methods, tools, resources, prompts), strict=True):
            if table is None:
                continue
            if not isinstance(table, Mapping):
                raise ConfigError(kind, f"must be a dict of name → McpRule or list of scopes, got {describe(table)}")
            rules[kind] = {name: _plain_rule(rule, f"{kind}[{name!r}]") for name, rule in table.items()}
        object.__setattr__(self, "resource", resource)
        object.__setattr__(self, "authorization_servers", string_list(authorization_servers,
                                                                       "authorization_servers"))
        object.__setattr__(self, "rules", rules)

    @property
    def has_rules(self) -> bool:
        return any(self.rules.values())

    def to_config(self, resource: str | None = None) -> dict[str, object]:
        """The ``mcp`` field of ``cdk.json`` and ``AUTH_ROUTES``; ``resource`` fills in the URI when not given."""
        config: dict[str, object] = {}
        if (resource or self.resource) is not None:
            config["resource"] = resource or self.resource
        if self.authorization_servers:
            config["authorization_servers"] = list(self.authorization_servers)
        config.update((kind, dict(table)) for kind, table in self.rules.items() if table)
        return config

    def parsed(self, route_key: str, where: str, resource: str | None = None) -> McpResource:
        """The authorizer's reading of it (``resource`` or a stand-in when the API's URL is not known yet)."""
        stand_in = mcp_stand_in(route_key.partition(" ")[2])
        return parse_mcp(self.to_config(resource or self.resource or stand_in), route_key, where)


def _plain_rule(rule: McpRuleLike, where: str) -> dict[str, Any]:
    if isinstance(rule, McpRule):
        return rule.to_config()
    if isinstance(rule, (list, tuple)):
        return {"scopes": list(string_list(rule, where))}
    if isinstance(rule, Mapping):
        return dict(rule)
    raise ConfigError(where, f"must be an McpRule, a list of scopes or a rule dict, got {describe(rule)}")


def mcp_endpoint(value: Any, route_key: str, where: str) -> McpEndpoint:
    """``cdk.json``'s ``"mcp": {...}`` → ``McpEndpoint``, checked by the authorizer's parser (errors name the key)."""
    if not isinstance(value, Mapping):
        raise ConfigError(where, 'must be an object like {"tools": {"create_order": ["orders:write"]}}')
    reject_unknown_fields(value, {"resource", "authorization_servers", *_KINDS}, where)
    try:
        endpoint = McpEndpoint(resource=value.get("resource"),
                               authorization_servers=value.get("authorization_servers", ()),
                               **{kind: value[kind] for kind in _KINDS if kind in value})
    except ConfigError as problem:  # named as cdk.json writes it
        raise ConfigError(f"{where}.{problem.field}", problem.problem) from None
    endpoint.parsed(route_key, where)
    return endpoint


def protected_resource_metadata(resource: str, servers: Sequence[str], scopes: Sequence[str]) -> dict[str, object]:
    """RFC 9728 §2's document for one MCP endpoint: ``resource``, ``authorization_servers`` (the configured issuers
    only), ``scopes_supported`` and ``bearer_methods_supported`` (a header: the only place API Gateway reads)."""
    return {"resource": resource, "authorization_servers": list(servers), "scopes_supported": list(scopes),
            "bearer_methods_supported": ["header"]}


def mcp_resource(spec: RouteSpec, http_api: Any) -> str:
    """An MCP endpoint's canonical URI: as configured, else the API's URL (``https://<api>.execute-api.<region>...``,
    a token at synthesis) and the route's path, as the ``$default`` stage serves it."""
    assert spec.mcp is not None
    if spec.mcp.resource is not None:
        return spec.mcp.resource
    try:
        endpoint = http_api.api_endpoint
    except Exception:  # an imported IHttpApi given without its apiEndpoint (jsii raises a plain error)
        raise ConfigError(f"routes[{spec.route_key!r}].mcp.resource", "give the endpoint's URI: the imported API "
                          "has no apiEndpoint to derive it from") from None
    return f"{endpoint}{spec.path}"


def metadata_documents(settings: AuthorizationSettings, resources: Mapping[str, str]) -> dict[str, dict[str, object]]:
    """Each MCP endpoint's RFC 9728 document, by path: its resource, its authorization servers (configured issuers
    only: the authorizer's own binding chooses and checks them; in ``jwt`` mode the one issuer the native authorizer
    checks for it), and the scopes its route and rules name."""
    _, bound = settle(settings.trusted_issuers, parse_routes(settings.auth_routes(), field_name="routes"))
    documents: dict[str, dict[str, object]] = {}
    for spec in settings.mcp_routes:
        parsed = bound[spec.route_key].mcp
        assert parsed is not None and spec.mcp is not None
        servers = parsed.authorization_servers
        if settings.mode == "jwt":
            servers = spec.mcp.authorization_servers[:1] or (
                (settings.native_issuer.issuer,) if settings.native_issuer else servers)
        documents[spec.path] = protected_resource_metadata(
            resources[spec.route_key], servers, tuple(dict.fromkeys((*spec.scopes, *parsed.scopes))))
    return documents
