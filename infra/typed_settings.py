"""Typed values for ``AuthorizationSettings.create``, beside the plain JSON shapes of ``cdk.json``.

CDK users pass objects, not strings to be parsed: ``AuthorizerMode.JWT``, ``LambdaResponse.SIMPLE``,
``Duration.minutes(5)`` for the cache, ``RouteSpec`` for a route (``TenantRule`` for its tenant), ``Issuer`` or
``ProviderIssuer`` for a trusted issuer. Their types are what mypy checks (``scopes`` is a list or tuple of strings:
a bare string, itself a sequence of strings, is refused by mypy and again here at run time). Each is turned into the
plain shape here, and then validated by the same code as ``cdk.json``, so both ways give the same settings::

    AuthorizationSettings.create(
        mode=AuthorizerMode.LAMBDA,
        issuers=[ProviderIssuer.descope("P2abc..."), Issuer("https://idp.example.org", audience="orders-api")],
        routes=[RouteSpec("GET", "/orders", scopes=("orders:read",)), RouteSpec("GET", "/health", public=True),
                RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId", roles=("admin",)))],
        results_cache_ttl=Duration.minutes(5),
    )

    >>> ProviderIssuer.cognito("eu-west-1_AbC123", client_ids=["app"]).to_config()
    {'provider': 'cognito', 'user_pool_id': 'eu-west-1_AbC123', 'client_ids': ['app']}
    >>> plain_routes([RouteSpec("GET", "/orders", scopes=("orders:read",))], "routes")
    [{'method': 'GET', 'path': '/orders', 'scopes': ['orders:read']}]
    >>> TenantRule("tenantId", roles=("admin",)).to_config()
    {'param': 'tenantId', 'claim': 'tenants', 'roles': ['admin']}
    >>> RouteSpec("GET", "/items", scopes="items:read")
    Traceback (most recent call last):
    ...
    authorizer.errors.ConfigError: scopes: must be a list or tuple of strings, got the string 'items:read' (a bare string would be read one character at a time): write ['items:read']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, TypeAlias

from .arguments import describe, string_list
from .lambda_sources import DEFAULT_TENANT_CLAIM, ConfigError

if TYPE_CHECKING:
    from .mcp_settings import McpEndpoint

ProviderName = Literal["descope", "passage", "wso2", "cognito", "entra", "oidc"]
#: A list or tuple of strings: not ``Sequence[str]``, which a bare string also is.
StringList: TypeAlias = list[str] | tuple[str, ...]
#: A value a claim rule accepts: JSON's string, number or boolean.
ClaimValue: TypeAlias = str | int | float | bool
#: An issuer as ``cdk.json`` writes it (``{"issuer": ..., "audience": ...}`` or ``{"provider": ..., ...}``).
IssuerDict: TypeAlias = Mapping[str, object]
#: A route as ``cdk.json`` writes it (``{"method": "GET", "path": "/orders", "scopes": [...]}``).
RouteDict: TypeAlias = Mapping[str, object]


class AuthorizerMode(StrEnum):
    """``lambda``: our Lambda REQUEST authorizer; ``jwt``: API Gateway's native JWT authorizer."""

    LAMBDA = "lambda"
    JWT = "jwt"


class LambdaResponse(StrEnum):
    """The Lambda authorizer's answer: an IAM policy (cache-safe across routes) or a simple ``isAuthorized``."""

    IAM = "iam"
    SIMPLE = "simple"


@dataclass(frozen=True)
class Issuer:
    """A trusted issuer given by hand (the ``AUTH_ISSUERS`` entry shape)."""

    issuer: str
    audience: str | StringList
    jwks_uri: str | None = None
    algorithms: StringList | None = None
    token_types: StringList | None = None
    require_audience: bool | None = None
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        for name in ("algorithms", "token_types"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, string_list(value, name))

    def to_config(self) -> dict[str, object]:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: list(v) if isinstance(v, (tuple, list)) else v for name, v in values.items() if v is not None}


@dataclass(frozen=True)
class ProviderIssuer:
    """A provider preset; build it with the class method for the provider, e.g. ``ProviderIssuer.entra(...)``.
    ``options``: the preset's other fields (``audience``, ``algorithms``, ``jwks_uri``, ``base_url``, ...)."""

    provider: ProviderName
    options: Mapping[str, object] = field(default_factory=dict)

    @classmethod
    def descope(cls, project_id: str, **options: object) -> ProviderIssuer:
        return cls("descope", {"project_id": project_id, **options})

    @classmethod
    def passage(cls, app_id: str, **options: object) -> ProviderIssuer:
        return cls("passage", {"app_id": app_id, **options})

    @classmethod
    def wso2(cls, base_url: str, audience: str | StringList, **options: object) -> ProviderIssuer:
        return cls("wso2", {"base_url": base_url, "audience": audience, **options})

    @classmethod
    def cognito(cls, user_pool_id: str, client_ids: StringList, **options: object) -> ProviderIssuer:
        return cls("cognito", {"user_pool_id": user_pool_id, "client_ids": list(string_list(client_ids, "client_ids")),
                               **options})

    @classmethod
    def entra(cls, tenant_id: str, audience: str | StringList, **options: object) -> ProviderIssuer:
        return cls("entra", {"tenant_id": tenant_id, "audience": audience, **options})

    @classmethod
    def oidc(cls, issuer: str, audience: str | StringList, **options: object) -> ProviderIssuer:
        return cls("oidc", {"issuer": issuer, "audience": audience, **options})

    def to_config(self) -> dict[str, object]:
        return {"provider": self.provider,
                **{k: list(v) if isinstance(v, tuple) else v for k, v in self.options.items()}}


@dataclass(frozen=True, init=False)
class TenantRule:
    """A route's tenant rule (lambda mode): its path parameter ``param`` must name one of the caller's tenants.

    ``claim`` is where the token holds the caller's tenants: an object whose keys are tenant IDs (Descope's
    ``tenants``, the default, each ``{"roles": [...], "permissions": [...]}``), a list of tenant IDs, or one tenant ID
    (``org_id``, ``tid``, Descope's ``dct``). ``roles`` and ``permissions``, when given, are required **within that
    tenant**, each any-of. ``param`` must be a whole ``{param}`` segment of the route's path. Validated, like the
    ``cdk.json`` shape ``{"param", "claim"?, "roles"?, "permissions"?}``, by the authorizer's own parser::

        RouteSpec("GET", "/tenants/{tenantId}/orders", tenant=TenantRule("tenantId", roles=("admin",)))
    """

    param: str
    claim: str
    roles: tuple[str, ...]
    permissions: tuple[str, ...]

    def __init__(self, param: str, claim: str = DEFAULT_TENANT_CLAIM, roles: StringList = (),
                 permissions: StringList = ()) -> None:
        object.__setattr__(self, "param", param)
        object.__setattr__(self, "claim", claim)
        object.__setattr__(self, "roles", string_list(roles, "roles"))
        object.__setattr__(self, "permissions", string_list(permissions, "permissions"))

    def to_config(self) -> dict[str, object]:
        """The rule as ``cdk.json`` and ``AUTH_ROUTES`` write it (roles and permissions only when given)."""
        config: dict[str, object] = {"param": self.param, "claim": self.claim}
        for name in ("roles", "permissions"):
            value = getattr(self, name)
            if value:
                config[name] = list(value)
        return config


@dataclass(frozen=True, init=False)
class RouteSpec:
    """One API route and what it asks of a token. The route list is the single source of truth.

    ``scopes``: any-of, a list or tuple of scope names; ``claims``: claim name → accepted value or list of any-of
    values; ``public``: no token needed; ``tenant`` (lambda mode): the path parameter that must name one of the
    caller's tenants (``TenantRule``); ``mcp``: the route is an MCP endpoint (``McpEndpoint``: its resource, and
    rules per method and per tool).
    """

    method: str
    path: str
    scopes: tuple[str, ...]
    claims: Mapping[str, ClaimValue | list[ClaimValue]]
    public: bool
    tenant: TenantRule | None
    mcp: McpEndpoint | None

    def __init__(self, method: str, path: str, scopes: StringList = (),
                 claims: Mapping[str, ClaimValue | list[ClaimValue]] | None = None, public: bool = False,
                 tenant: TenantRule | None = None, mcp: McpEndpoint | None = None) -> None:
        from .mcp_settings import McpEndpoint


        for name, value in (("method", method), ("path", path)):
            if not isinstance(value, str):
                raise ConfigError(name, f"must be a string such as {'GET' if name == 'method' else '/orders'}, got "
                                        f"{describe(value)}")
        claims = {} if claims is None else claims
        if not isinstance(claims, Mapping):
            raise ConfigError("claims", f"must be a dict of claim name → accepted value or list of values, got "
                                        f"{describe(claims)}")
        if not isinstance(public, bool):
            raise ConfigError("public", f"must be True or False, got {describe(public)}")
        if tenant is not None and not isinstance(tenant, TenantRule):
            raise ConfigError("tenant", f"must be a TenantRule, got {describe(tenant)}")
        if mcp is not None and not isinstance(mcp, McpEndpoint):
            raise ConfigError("mcp", f"must be an McpEndpoint, got {describe(mcp)}")
        values: dict[str, object] = {"method": method, "path": path, "scopes": string_list(scopes, "scopes"),
                                     "claims": claims, "public": public, "tenant": tenant, "mcp": mcp}
        for attribute, given in values.items():
            object.__setattr__(self, attribute, given)

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    @property
    def has_rule(self) -> bool:
        return bool(self.scopes or self.claims or self.tenant or self.mcp)


def plain_issuers(value: Sequence[Issuer | ProviderIssuer | IssuerDict], argument: str) -> list[object]:
    """``Issuer``/``ProviderIssuer`` objects → their dicts; dicts as they are. Anything but a list or tuple is
    refused naming ``argument`` (a JSON string is for ``cdk.json`` and ``-c``, not for Python)."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(argument, "must be a list of Issuer, ProviderIssuer or issuer dicts, e.g. "
                                    f"[ProviderIssuer.descope('P2abc...')], got {describe(value)}")
    plain: list[object] = []
    for index, item in enumerate(value):
        if isinstance(item, (Issuer, ProviderIssuer)):
            plain.append(item.to_config())
        elif isinstance(item, Mapping):
            plain.append(dict(item))
        else:
            raise ConfigError(f"{argument}[{index}]", "must be an Issuer, a ProviderIssuer or an issuer dict, got "
                                                      f"{describe(item)}")
    return plain


def plain_routes(value: Sequence[RouteSpec | RouteDict], argument: str) -> list[object]:
    """``RouteSpec`` objects → the ``cdk.json`` route shape; dicts as they are; anything else refused."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError(argument, "must be a list of RouteSpec or route dicts, e.g. [RouteSpec('GET', '/orders', "
                                    f"scopes=['orders:read'])], got {describe(value)}")
    plain: list[object] = []
    for index, item in enumerate(value):
        if isinstance(item, RouteSpec):
            route: dict[str, object] = {"method": item.method, "path": item.path}
            if item.scopes:
                route["scopes"] = list(item.scopes)
            if item.claims:
                route["claims"] = dict(item.claims)
            if item.tenant is not None:
                route["tenant"] = item.tenant.to_config()
            if item.mcp is not None:
                route["mcp"] = item.mcp.to_config()
            if item.public:
                route["public"] = True
            plain.append(route)
        elif isinstance(item, Mapping):
            plain.append(dict(item))
        else:
            raise ConfigError(f"{argument}[{index}]", f"must be a RouteSpec or a route dict, got {describe(item)}")
    return plain
